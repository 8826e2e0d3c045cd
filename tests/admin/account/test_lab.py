"""Labs: name, time zone, language, digits, country."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from admin.account.models import Lab

pytestmark = pytest.mark.django_db


def test_a_lab_is_saved_with_a_tidy_name_and_upper_case_country():
    lab = Lab(name="  Central   Lab ", time_zone="Asia/Kolkata", country="in")
    lab.save()

    lab.refresh_from_db()
    assert (lab.name, lab.country, lab.language) == ("Central Lab", "IN", "en")
    new_year = dt.datetime(2026, 1, 1, tzinfo=lab.zone)
    assert new_year.utcoffset() == dt.timedelta(hours=5, minutes=30)


def test_an_unknown_time_zone_or_language_is_refused_with_what_would_be_right():
    lab = Lab(name="Lab", time_zone="India/Mumbai", language="xx")

    with pytest.raises(ValidationError) as excinfo:
        lab.save()

    errors = excinfo.value.message_dict
    assert "use an IANA name such as 'Asia/Kolkata'" in errors["time_zone"][0]
    assert errors["language"] == [
        "Value 'xx' is not a valid choice. Choose one of: en, ar, hi."
    ]
    assert not Lab.objects.exists()


def test_a_lab_writes_latin_digits_unless_it_chooses_its_languages_own():
    arabic = Lab(name="Lab", language="ar")
    arabic.save()
    assert arabic.number_style.digits == "0123456789"

    arabic.digits = "native"
    arabic.save()

    arabic.refresh_from_db()
    assert (arabic.digits, arabic.number_style.digits) == ("native", "٠١٢٣٤٥٦٧٨٩")


def test_native_digits_are_refused_for_a_language_without_its_own():
    lab = Lab(name="Lab", language="en", digits="native")

    with pytest.raises(ValidationError) as excinfo:
        lab.save()

    assert excinfo.value.message_dict["digits"] == [
        "Language 'en' has no digits of its own; choose Latin digits, or a "
        "language such as Arabic or Hindi."
    ]
