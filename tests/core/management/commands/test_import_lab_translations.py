"""`manage.py import_lab_translations`: every row checked first, all or
nothing, row numbers in the errors, idempotent re-imports."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.models import ActivityLog, LabTranslation

pytestmark = pytest.mark.django_db

GOOD_CSV = (
    "key,language,text\n"
    "report.title,ar,تقرير مختبر الشمال\n"
    "report.title,hi,उत्तर लैब रिपोर्ट\n"
    'report.referred_by,en,"Consultant, referring"\n'
)


def write(tmp_path: Path, content: str | bytes, name: str = "north.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def import_file(lab_id: int, path: Path) -> str:
    out = io.StringIO()
    call_command("import_lab_translations", "--lab", str(lab_id), str(path), stdout=out)
    return out.getvalue()


def overrides(lab) -> dict[tuple[str, str], str]:
    rows = LabTranslation.objects.filter(lab=lab)
    return {(row.key, row.language): row.text for row in rows}


def test_an_import_creates_the_labs_overrides_logged_as_the_import(labs, tmp_path):
    path = write(tmp_path, GOOD_CSV)

    out = import_file(labs["north"].pk, path)

    assert out == f"lab {labs['north'].pk}: 3 created, 0 updated, 0 unchanged\n"
    assert overrides(labs["north"]) == {
        ("report.title", "ar"): "تقرير مختبر الشمال",
        ("report.title", "hi"): "उत्तर लैब रिपोर्ट",
        ("report.referred_by", "en"): "Consultant, referring",
    }
    entries = ActivityLog.objects.filter(model_label="core.labtranslation")
    assert {(e.action, e.actor_id, e.reason) for e in entries} == {
        ("create", "command:import_lab_translations", "Imported from north.csv")
    }
    assert not overrides(labs["south"]) and not overrides(labs["north_clinic"])


def test_importing_the_same_file_again_changes_nothing(labs, tmp_path):
    path = write(tmp_path, GOOD_CSV)
    import_file(labs["north"].pk, path)
    versions = set(LabTranslation.objects.values_list("id", "version"))
    logged = ActivityLog.objects.count()

    out = import_file(labs["north"].pk, path)

    assert out.endswith("0 created, 0 updated, 3 unchanged\n")
    assert set(LabTranslation.objects.values_list("id", "version")) == versions
    assert ActivityLog.objects.count() == logged


def test_an_import_updates_changed_texts_and_keeps_overrides_not_in_the_file(
    labs, tmp_path
):
    LabTranslation(
        lab=labs["north"], key="report.title", language="ar", text="قديم"
    ).save()
    LabTranslation(
        lab=labs["north"], key="report.unit", language="en", text="Units"
    ).save()

    out = import_file(labs["north"].pk, write(tmp_path, GOOD_CSV))

    assert out.endswith("2 created, 1 updated, 0 unchanged\n")
    assert overrides(labs["north"])[("report.title", "ar")] == "تقرير مختبر الشمال"
    assert overrides(labs["north"])[("report.unit", "en")] == "Units"
    update = ActivityLog.objects.get(action="update")
    assert update.changes["text"] == {"old": "قديم", "new": "تقرير مختبر الشمال"}


def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_row(labs, tmp_path):
    path = write(
        tmp_path,
        "key,language,text\n"
        "report.title,ar,تقرير مختبر الشمال\n"  # row 2: fine
        "report.nope,en,Whatever\n"  # row 3: unknown key
        "report.title,fr,Rapport\n"  # row 4: unknown language
        "report.unit,hi,   \n"  # row 5: blank text
        "report.page_of,en,Page %(page)s\n"  # row 6: a placeholder missing
        "report.title,ar,تقرير آخر\n"  # row 7: same key and language as row 2
        "report.result,en\n"  # row 8: a value missing
        "report.unit,en,Unit,extra\n",  # row 9: a comma not quoted
    )

    with pytest.raises(CommandError) as error:
        import_file(labs["north"].pk, path)

    lines = str(error.value).splitlines()
    assert lines[0].startswith("Nothing was imported from north.csv")
    problems = lines[1:]
    assert [line.split(":")[0] for line in problems] == [
        f"row {n}" for n in (3, 4, 5, 6, 7, 8, 9)
    ]
    assert "key: Value 'report.nope' is not a valid choice" in problems[0]
    assert "language: Value 'fr' is not a valid choice" in problems[1]
    assert "Choose one of: en, ar, hi" in problems[1]
    assert "text: This field is required." in problems[2]
    assert "%(page)s, %(pages)s" in problems[3]
    assert "report.title in ar is already on row 2" in problems[4]
    assert "2 values; expected 3" in problems[5]
    assert "4 values; expected 3" in problems[6] and "double quotes" in problems[6]
    assert not LabTranslation.objects.exists()
    assert not ActivityLog.objects.filter(model_label="core.labtranslation").exists()


@pytest.mark.parametrize(
    "content",
    [
        "key,lang,text\nreport.title,en,Report\n",
        "key,language\nreport.title,en\n",
        "key,language,text,note\nreport.title,en,Report,x\n",
        "report.title,en,Report\n",
        "",
    ],
)
def test_a_bad_header_is_refused(labs, tmp_path, content):
    with pytest.raises(CommandError, match=r"row 1: the header is .*; expected key,"):
        import_file(labs["north"].pk, write(tmp_path, content))

    assert not LabTranslation.objects.exists()


def test_a_spreadsheets_bom_blank_rows_and_column_order_are_accepted(labs, tmp_path):
    content = "\ufefftext,KEY,language\n\nपरिणाम,report.result,hi\n,,\n\n"

    out = import_file(labs["north"].pk, write(tmp_path, content))

    assert out.endswith("1 created, 0 updated, 0 unchanged\n")
    assert overrides(labs["north"]) == {("report.result", "hi"): "परिणाम"}


def test_malformed_csv_is_refused_with_its_row(labs, tmp_path):
    content = 'key,language,text\nreport.unit,en,Unit\nreport.title,en,"Report\n'

    with pytest.raises(CommandError, match=r"row 3: the CSV is malformed"):
        import_file(labs["north"].pk, write(tmp_path, content))

    assert not LabTranslation.objects.exists()


def test_a_file_that_is_not_utf8_is_refused(labs, tmp_path):
    # Excel's "CSV" on Windows saves Hindi or Arabic in a legacy code page.
    content = b"key,language,text\nreport.title,ar," + "تقرير".encode("cp1256")

    with pytest.raises(CommandError, match=r"north.csv is not UTF-8 text"):
        import_file(labs["north"].pk, write(tmp_path, content))


def test_a_missing_file_or_unknown_lab_is_an_error(labs, tmp_path):
    with pytest.raises(CommandError, match=r"There is no file .*absent.csv"):
        import_file(labs["north"].pk, tmp_path / "absent.csv")
    with pytest.raises(CommandError, match=r"There is no lab with id 999999"):
        import_file(999_999, write(tmp_path, GOOD_CSV))


def test_an_export_imported_into_another_lab_copies_its_wording(labs, tmp_path):
    import_file(labs["north"].pk, write(tmp_path, GOOD_CSV))
    exported = io.StringIO()
    call_command(
        "export_lab_translations",
        "--lab",
        str(labs["north"].pk),
        stdout=exported,
        stderr=io.StringIO(),
    )
    path = tmp_path / "exported.csv"
    path.write_text(exported.getvalue(), encoding="utf-8", newline="")

    into_other = import_file(labs["other"].pk, path)
    back_into_north = import_file(labs["north"].pk, path)

    assert into_other.endswith("3 created, 0 updated, 0 unchanged\n")
    assert back_into_north.endswith("0 created, 0 updated, 3 unchanged\n")
    assert overrides(labs["other"]) == overrides(labs["north"])
