"""Labs: name, time zone, language, country."""

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
