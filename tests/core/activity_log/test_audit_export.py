"""Exports that verify on their own, by two verifiers that do not import the
project (tools/verify_audit_export.py, standard-library Python on the
system interpreter; tools/verify_audit_export.mjs, Node): intact exports of
every kind of value pass, and every kind of tampering fails, with both
verifiers naming the same first problem."""

import datetime as dt
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.activity_log.chain import seal_lab
from core.activity_log.export import manifest_path
from core.activity_log.hashing import FORMAT_PYTHON_JSON
from core.activity_log.retention import prune_expired
from core.models import ActivityLog
from core.models.activity_log_base import write_entry
from core.utils.date import today_in
from patients.models import Patient
from tests.core.activity_log.test_chain import raw_sql

pytestmark = pytest.mark.django_db(transaction=True)

TOOLS = Path(__file__).resolve().parents[3] / "tools"
#: Values of every kind the hashed document must carry exactly.
AWKWARD_CHANGES = {
    "arabic": {"old": None, "new": "سكر الدم ١٣٫٢ ملمول/لتر"},  # noqa: RUF001
    "hindi": {"old": "रोगी", "new": "शर्करा"},
    "emoji_and_controls": {"old": "🧪\t\n\u0001\u007f", "new": '\u2028 "q" \\'},
    "numbers": {
        "old": [0, -0.0, 0.1, 1e-7, 1e21, 123.0, -5.5e-300],
        "new": [2**53 - 1, -(2**53 - 1), 2**60, 1.7976931348623157e308],
    },
    "nested": {"old": {"b": [True, False, None]}, "a\u00e9": {"z": 1, "A": 2}},
    "keys_in_utf16_order": {"\U0001f600": 1, "\ufb01": 2, "é": 3, "a": 4},
}


def python_verifier(export: Path) -> tuple[int, str]:
    """The stdlib verifier on the system's own Python, in isolated mode:
    no project, no virtualenv packages on its path."""
    interpreter = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    done = subprocess.run(
        [interpreter, "-I", str(TOOLS / "verify_audit_export.py"), str(export)],
        capture_output=True, text=True, timeout=60, cwd=export.parent, check=False,
    )  # fmt: skip
    return done.returncode, (done.stdout or done.stderr).strip()


def node_verifier(export: Path) -> tuple[int, str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    done = subprocess.run(
        [node, str(TOOLS / "verify_audit_export.mjs"), str(export)],
        capture_output=True, text=True, timeout=60, cwd=export.parent, check=False,
    )  # fmt: skip
    return done.returncode, (done.stdout or done.stderr).strip()


def read_lines(export: Path) -> list[dict]:
    """The export's lines, parsed (split on LF only: text may hold U+2028)."""
    text = export.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]


def both(export: Path) -> tuple[int, str]:
    """Both verifiers' verdicts, which must be the same."""
    python, node = python_verifier(export), node_verifier(export)
    assert python == node
    return python


def export_of(lab, path: Path, since: dt.date, until: dt.date | None = None) -> Path:
    call_command(
        "export_activity_logs", "--lab", str(lab.pk), "--since", since.isoformat(),
        "--until", (until or since).isoformat(), "--output", str(path),
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    return path


def entry(lab, created_at: dt.datetime | None = None, **changes) -> ActivityLog:
    return write_entry(
        lab_id=lab.pk, model_label="tests.reading", instance_id=7, action="other",
        message="Reading corrected", changes=changes,
        **({"created_at": created_at} if created_at else {}),
    )  # fmt: skip


@pytest.fixture
def varied_history(labs) -> None:
    """North (format 1, then format 2, awkward values, a masked field) and
    its clinic (a second chain)."""
    patient = Patient(
        lab=labs["north"], first_name="Old", sex="F", phone="+919876543210"
    )
    patient.save()
    seal_lab(labs["north"].pk, format=FORMAT_PYTHON_JSON)  # before the change
    entry(labs["north"], **AWKWARD_CHANGES)
    patient.first_name = "आशा"
    patient.phone = "+919876543211"
    patient.save(reason="नाम सही किया")
    Patient(lab=labs["north_clinic"], first_name="Clinic", sex="M").save()


def today(lab) -> dt.date:
    return today_in(lab.zone)


# -- intact exports verify ---------------------------------------------------------


def test_an_export_of_every_kind_of_value_verifies_in_both(
    varied_history, labs, tmp_path
):
    export = export_of(labs["north"], tmp_path / "north.jsonl", today(labs["north"]))

    code, verdict = both(export)

    assert (code, verdict) == (0, "OK 4 entries in 2 chains, 0 checkpoints")
    lines = read_lines(export)
    assert [line["format"] for line in lines] == [1, 2, 2, 2]
    masked = lines[2]["entry"]["changes"]["phone"]
    assert "9876543211" not in json.dumps(masked, ensure_ascii=False)


def test_an_export_starting_mid_chain_verifies_from_its_first_link(labs, tmp_path):
    days = [timezone.now() - dt.timedelta(days=d) for d in (3, 2, 1)]
    for n, moment in enumerate(days):
        entry(labs["north"], created_at=moment, reading=n)
    middle = timezone.localtime(days[1], labs["north"].zone).date()

    export = export_of(labs["north"], tmp_path / "middle.jsonl", middle)

    assert both(export) == (0, "OK 1 entries in 1 chains, 0 checkpoints")
    manifest = json.loads(manifest_path(export).read_text())
    (run,) = manifest["chains"]
    assert run["first_sequence"] == 2 and run["head_sequence"] == 3
    assert run["previous_hash"] != "0" * 64


def test_an_export_after_a_retention_prune_verifies_from_the_cut(
    labs, settings, tmp_path
):
    settings.ACTIVITY_LOG_DB_RETENTION_DAYS = 30
    old = timezone.now() - dt.timedelta(days=40)
    entries = [entry(labs["north"], created_at=old, n=n) for n in range(3)]
    recent = entry(labs["north"], n=3)
    seal_lab(labs["north"].pk)
    ActivityLog.objects.filter(id__in=[e.id for e in entries]).mark_shipped()
    prune_expired()
    assert not ActivityLog.objects.filter(id=entries[0].id).exists()

    export = export_of(
        labs["north"], tmp_path / "cut.jsonl", old.date(), today(labs["north"])
    )

    assert both(export) == (0, "OK 1 entries in 1 chains, 0 checkpoints")
    (line,) = read_lines(export)
    assert line["entry"]["id"] == recent.id and line["sequence"] == 4


def test_the_manifest_says_what_the_export_holds(varied_history, labs, tmp_path):
    export = export_of(labs["north"], tmp_path / "north.jsonl", today(labs["north"]))

    manifest = json.loads(manifest_path(export).read_text())

    assert manifest["lab"] == labs["north"].pk and manifest["count"] == 4
    assert manifest["file"] == "north.jsonl"
    assert [run["chain"] for run in manifest["chains"]] == sorted(
        [labs["north"].pk, labs["north_clinic"].pk]
    )
    north = next(r for r in manifest["chains"] if r["chain"] == labs["north"].pk)
    assert (north["first_sequence"], north["last_sequence"]) == (1, 3)
    assert north["previous_hash"] == "0" * 64
    assert north["head_hash"] == north["last_hash"]


# -- tampering fails, the same way in both ---------------------------------------------


Lines = list[dict]


def rewrite(export: Path, change: Callable[[Lines], Lines], fix_manifest: bool) -> None:
    """Apply `change` to the export's lines; with `fix_manifest`, also make
    the manifest's SHA-256 match, as a forger who edits both would."""
    lines = read_lines(export)
    export.write_text(
        "".join(
            json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n"
            for line in change(lines)
        ),
        encoding="utf-8",
    )
    if fix_manifest:
        import hashlib

        manifest = json.loads(manifest_path(export).read_text())
        manifest["sha256"] = hashlib.sha256(export.read_bytes()).hexdigest()
        manifest_path(export).write_text(json.dumps(manifest))


def edit_text(lines: Lines) -> Lines:
    lines[1]["entry"]["changes"]["hindi"]["new"] = "शर्ष रा"
    return lines


def edit_format_1_entry(lines: Lines) -> Lines:
    lines[0]["entry"]["message"] = "nothing happened"
    return lines


def edit_a_number_into_a_bool(lines: Lines) -> Lines:
    lines[0]["entry"]["version_like"] = True
    lines[0]["canonical"] = lines[0]["canonical"][:-1] + ',"version_like":1}'
    return lines


def delete_line(lines: Lines) -> Lines:
    return lines[:1] + lines[2:]


def insert_line(lines: Lines) -> Lines:
    return [*lines[:2], lines[1], *lines[2:]]


def reorder(lines: Lines) -> Lines:
    lines[1], lines[2] = lines[2], lines[1]
    return lines


def truncate(lines: Lines) -> Lines:
    return lines[:-1]


def downgrade_format(lines: Lines) -> Lines:
    lines[2]["format"] = 1
    return lines


TAMPERING = {
    "edit": (edit_text, "edited", 2),
    "edit a format-1 entry": (edit_format_1_entry, "edited", 1),
    "edit a format-1 entry and its text": (edit_a_number_into_a_bool, "edited", 1),
    "delete": (delete_line, "link", 3),
    "insert": (insert_line, "link", 2),
    "reorder": (reorder, "link", 3),
    "truncate": (truncate, "truncated", None),
    "downgrade the format": (downgrade_format, "format", 3),
}


@pytest.mark.parametrize("name", TAMPERING)
def test_tampering_is_found_by_both_at_the_same_place(
    varied_history, labs, tmp_path, name
):
    change, kind, sequence = TAMPERING[name]
    export = export_of(labs["north"], tmp_path / "north.jsonl", today(labs["north"]))

    rewrite(export, change, fix_manifest=True)
    code, verdict = both(export)

    assert code == 1
    assert verdict.startswith(f"FAIL {kind} ")
    if sequence is not None:
        assert f" sequence={sequence}:" in verdict


@pytest.mark.parametrize("name", ["edit", "truncate"])
def test_any_change_to_the_file_alone_breaks_the_manifest(
    varied_history, labs, tmp_path, name
):
    export = export_of(labs["north"], tmp_path / "north.jsonl", today(labs["north"]))

    rewrite(export, TAMPERING[name][0], fix_manifest=False)

    code, verdict = both(export)
    assert code == 1 and verdict.startswith("FAIL manifest ")
    assert "SHA-256" in verdict


@pytest.mark.parametrize(
    ("field", "value"),
    [("count", 99), ("last_hash", "f" * 64), ("head_sequence", 1)],
)
def test_a_manifest_that_differs_from_the_file_fails(
    varied_history, labs, tmp_path, field, value
):
    export = export_of(labs["north"], tmp_path / "north.jsonl", today(labs["north"]))
    manifest = json.loads(manifest_path(export).read_text())
    target = manifest if field == "count" else manifest["chains"][0]
    target[field] = value
    manifest_path(export).write_text(json.dumps(manifest))

    code, verdict = both(export)

    assert code == 1 and verdict.startswith("FAIL manifest ")


def test_an_entry_deleted_from_the_database_shows_in_the_export(labs, tmp_path):
    entries = [entry(labs["north"], n=n) for n in range(3)]
    seal_lab(labs["north"].pk)
    raw_sql("DELETE FROM core_activitylog WHERE id = %s", [entries[1].id])

    export = export_of(labs["north"], tmp_path / "gone.jsonl", today(labs["north"]))

    assert both(export) == (
        1,
        f"FAIL missing chain={labs['north'].pk} sequence=2: the sealed entry is "
        "missing from the database",
    )
