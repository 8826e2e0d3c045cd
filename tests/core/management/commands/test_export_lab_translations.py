"""`manage.py export_lab_translations`: a lab's own overrides as CSV."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from core.models import LabTranslation

pytestmark = pytest.mark.django_db


def export(lab_id: int, *extra: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "export_lab_translations", "--lab", str(lab_id), *extra, stdout=out, stderr=err
    )
    return out.getvalue(), err.getvalue()


def override(lab, key: str, language: str, text: str) -> None:
    LabTranslation(lab=lab, key=key, language=language, text=text).save()


def test_the_export_holds_the_labs_own_overrides_sorted(labs):
    override(labs["north"], "report.title", "hi", "उत्तर लैब रिपोर्ट")
    override(labs["north"], "report.title", "ar", "تقرير، مختبر الشمال")
    override(labs["north"], "message.critical_value", "en", 'Call "Dr. Rao" at once.')
    override(labs["central"], "report.unit", "en", "Units")  # its parent's
    override(labs["north_clinic"], "report.unit", "en", "Unit(s)")  # its child's

    out, err = export(labs["north"].pk)

    assert list(csv.reader(io.StringIO(out))) == [
        ["key", "language", "text"],
        ["message.critical_value", "en", 'Call "Dr. Rao" at once.'],
        ["report.title", "ar", "تقرير، مختبر الشمال"],
        ["report.title", "hi", "उत्तर लैब रिपोर्ट"],
    ]
    assert err == f"exported 3 overrides of lab {labs['north'].pk}\n"


def test_the_export_can_be_limited_to_one_language(labs):
    override(labs["north"], "report.title", "hi", "उत्तर लैब रिपोर्ट")
    override(labs["north"], "report.title", "ar", "تقرير مختبر الشمال")

    out, _ = export(labs["north"].pk, "--language", "ar")

    assert out.splitlines() == [
        "key,language,text",
        "report.title,ar,تقرير مختبر الشمال",
    ]


def test_a_lab_without_overrides_exports_the_header_alone(labs):
    out, _ = export(labs["south"].pk)

    assert out == "key,language,text\r\n"


@pytest.mark.parametrize(
    ("lab", "extra", "message"),
    [
        (999_999, (), "There is no lab with id 999999."),
        (None, ("--language", "fr"), "'fr' is not a language of this site"),
    ],
)
def test_an_unknown_lab_or_language_is_an_error(labs, lab, extra, message):
    with pytest.raises(CommandError, match=message):
        export(lab or labs["north"].pk, *extra)
