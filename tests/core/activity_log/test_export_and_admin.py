"""Inspectors' tools: the CSV / JSON-lines export and the read-only admin."""

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from admin.account.models import User
from core.activity_log.chain import seal_lab
from core.models import ActivityLog
from core.utils.date import today_in
from patients.models import Patient

pytestmark = pytest.mark.django_db


def export(lab, fmt: str) -> str:
    today = today_in(lab.zone).isoformat()
    out = io.StringIO()
    call_command(
        "export_activity_logs", "--lab", str(lab.pk), "--since", today,
        "--until", today, "--format", fmt, stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    return out.getvalue()


def test_the_export_holds_the_labs_and_its_childrens_entries_with_their_seals(labs):
    Patient(lab=labs["north"], first_name="North", sex="F").save()
    Patient(lab=labs["south"], first_name="South", sex="F").save()
    seal_lab(labs["north"].pk)

    rows = list(csv.DictReader(io.StringIO(export(labs["north"], "csv"))))
    lines = [json.loads(line) for line in export(labs["central"], "jsonl").splitlines()]

    assert [r["action"] for r in rows] == ["create"]
    assert json.loads(rows[0]["changes"])["first_name"]["new"] == "North"
    assert rows[0]["sequence"] == "1" and len(rows[0]["entry_hash"]) == 64
    assert {line["entry"]["lab_id"] for line in lines} == {
        labs["north"].pk,
        labs["south"].pk,
    }


def test_the_admin_lists_entries_but_cannot_change_them(client, labs):
    user = User.objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(user)
    Patient(lab=labs["north"], first_name="Asha", sex="F").save()
    entry = ActivityLog.objects.filter(model_label="patients.patient").get()

    listing = client.get(reverse("admin:core_activitylog_changelist"))
    detail = client.post(
        reverse("admin:core_activitylog_change", args=[entry.pk]), {"message": "x"}
    )
    delete = client.post(
        reverse("admin:core_activitylog_delete", args=[entry.pk]), {"post": "yes"}
    )

    assert listing.status_code == 200 and b"patients.patient" in listing.content
    assert detail.status_code == 403
    assert delete.status_code == 403
    entry.refresh_from_db()
    assert entry.message != "x"


def test_a_records_history_page_shows_its_field_changes(client, labs):
    user = User.objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(user)
    patient = Patient(lab=labs["north"], first_name="Asha", sex="F")
    patient.save()
    patient.first_name = "Asha Devi"
    patient.save(reason="Spelling corrected from the ID card")

    page = client.get(reverse("admin:patients_patient_history", args=[patient.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Asha &rarr; Asha Devi" in html or "Asha → Asha Devi" in html
    assert "Spelling corrected from the ID card" in html
