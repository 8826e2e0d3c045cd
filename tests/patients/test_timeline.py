"""A report's timeline (patients/timeline.py) and its admin page: activity
entries, webhook deliveries and stored PDFs of every edition, merged in
order; nothing of another report; the PDFs downloadable through their links.

Releases run the real pipeline (`run_release.call`) with files in a
temporary folder and deliveries sent to a local receiver."""

import hashlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from admin.account.models import Lab, User
from core.models.webhook import WebhookDelivery, WebhookEndpoint
from core.utils.activity_log.context import Actor, ActorKind, acting_as
from core.utils.aws.client import LocalFileS3Client
from core.utils.clients import get_client, registry
from core.webhooks import emit_webhook
from core.webhooks.delivery import deliver_webhook
from patients.actions import correct_report, release_report, verify_report
from patients.models import Patient, Report, ReportRelease
from patients.release import run_release
from patients.timeline import (
    MAX_VALUE_CHARS,
    ActivityDetail,
    DeliveryDetail,
    FieldChange,
    Kind,
    PdfDetail,
    TimelineItem,
    display_value,
    field_changes,
    report_editions,
    report_timeline,
)
from tests.standins.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db

HB = {"test": "Haemoglobin", "value": 13.5, "unit": "g/dL", "low": 12, "high": 16}
PATHOLOGIST = Actor(id="7", name="Dr Mehta", role="pathologist", kind=ActorKind.STAFF)


@pytest.fixture
def storage(settings: Any, tmp_path: Any) -> LocalFileS3Client:
    """Files in a temporary folder, served by /core/files/."""
    settings.SERVICES = {
        **settings.SERVICES,
        "s3": {
            "BACKEND": "core.utils.aws.client.LocalFileS3Client",
            "OPTIONS": {"base_dir": str(tmp_path / "files")},
        },
    }
    registry.reset()
    client = get_client("s3")
    assert isinstance(client, LocalFileS3Client)
    return client


@pytest.fixture
def report(labs: dict[str, Lab], storage: LocalFileS3Client) -> Report:
    """A draft CBC of a North patient."""
    return new_report(labs["north"])


def new_report(lab: Lab, title: str = "CBC") -> Report:
    patient = Patient(lab=lab, first_name="Asha", sex="F")
    patient.save()
    made = Report(lab=lab, patient=patient, title=title, results=[HB])
    made.save()
    return made


def release(report: Report) -> ReportRelease:
    """Verify and release `report`, and run its release job now."""
    with acting_as(PATHOLOGIST):
        verify_report(report)
        release_report(report)
    done = ReportRelease.objects.get(report=report)
    run_release.call(done.pk)
    done.refresh_from_db()
    return done


def deliver_all() -> None:
    """Make the first attempt of every pending delivery."""
    for delivery in WebhookDelivery.objects.filter(status="pending"):
        deliver_webhook.call(delivery.pk)


def corrected(report: Report) -> Report:
    """Correct the released `report`; its second edition, retitled, released."""
    with acting_as(PATHOLOGIST):
        edition = correct_report(report, reason="Haemoglobin re-run")
        edition.title = "Complete blood count"
        edition.save()
    release(edition)
    report.refresh_from_db()
    return edition


def details[D](items: list[TimelineItem], kind: type[D]) -> list[D]:
    """The details of the items of one kind (ActivityDetail, ...), in order."""
    return [item.detail for item in items if isinstance(item.detail, kind)]


def kinds(items: list[TimelineItem]) -> list[str]:
    return [
        f"{item.kind}:{getattr(item.detail, 'action', '')}"
        f"{getattr(item.detail, 'event_type', '')}"
        for item in items
    ]


# -- the merged timeline ------------------------------------------------------


def test_a_released_report_shows_entries_delivery_and_pdf_in_order(
    report: Report,
    subscribe: Callable[..., WebhookEndpoint],
    receiver: WebhookReceiver,
) -> None:
    subscribe(report.lab, ["report.released"])
    released = release(report)
    deliver_all()

    items = report_timeline(report)

    assert kinds(items) == [
        "activity:create",
        "activity:update",  # verified
        "activity:update",  # released
        "activity:pdf_stored",
        "pdf:",
        "webhook:report.released",
    ]
    assert [item.at for item in items] == sorted(item.at for item in items)
    verified = details(items, ActivityDetail)[1]
    assert verified.actor == "Dr Mehta (staff)"
    assert verified.changes == (FieldChange("status", "Draft", "Verified"),)
    assert (items[4].edition, items[4].at) == (1, released.pdf_stored_at)
    [pdf] = details(items, PdfDetail)
    assert pdf.key == released.pdf_key


def test_the_pdf_stored_entry_shows_the_key_and_the_files_sha256(
    report: Report, storage: LocalFileS3Client
) -> None:
    released = release(report)

    [entry] = [
        detail
        for detail in details(report_timeline(report), ActivityDetail)
        if detail.action == "pdf_stored"
    ]

    stored = storage.download(released.pdf_key)
    assert entry.pdf_key == f"labs/{report.lab_id}/reports/{report.pk}/edition-1.pdf"
    assert entry.pdf_sha256 == hashlib.sha256(stored).hexdigest()
    assert entry.changes == ()


def test_the_download_link_serves_the_stored_pdf(
    report: Report, client: Client
) -> None:
    released = release(report)
    [pdf] = details(report_timeline(report), PdfDetail)

    response = client.get(pdf.download_url)

    assert response.status_code == 200
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body.startswith(b"%PDF")
    assert hashlib.sha256(body).hexdigest() == released.pdf_sha256


def unsigned(items: list[TimelineItem]) -> list[TimelineItem]:
    """`items` with each PDF's download link cut to its path."""
    cut = []
    for item in items:
        if isinstance(item.detail, PdfDetail):
            path = item.detail.download_url.split("?")[0]
            item = replace(item, detail=replace(item.detail, download_url=path))
        cut.append(item)
    return cut


def test_every_edition_is_included_from_either_end(
    report: Report,
    subscribe: Callable[..., WebhookEndpoint],
    receiver: WebhookReceiver,
) -> None:
    subscribe(report.lab, ["report.released"])
    release(report)
    second = corrected(report)
    deliver_all()

    from_first = report_timeline(report)
    from_second = report_timeline(second)

    # the same items (a download link's expiry is signed from the clock,
    # which may tick between the two reads)
    assert unsigned(from_first) == unsigned(from_second)
    assert [e.pk for e in report_editions(second)] == [report.pk, second.pk]
    pdfs = [(i.edition, i.report_id) for i in from_first if i.kind == Kind.PDF]
    assert pdfs == [(1, report.pk), (2, second.pk)]
    hooks = [(i.edition, i.kind) for i in from_first if i.kind == Kind.WEBHOOK]
    assert hooks == [(1, Kind.WEBHOOK), (2, Kind.WEBHOOK)]
    changes = [
        (item.edition, change, item.detail.reason)
        for item in from_first
        if isinstance(item.detail, ActivityDetail)
        for change in item.detail.changes
    ]
    assert (
        1,
        FieldChange("status", "Released", "Corrected"),
        "Haemoglobin re-run",
    ) in (changes)
    assert (2, FieldChange("title", "CBC", "Complete blood count"), "") in changes


def test_another_reports_entries_deliveries_and_pdfs_are_absent(
    report: Report,
    labs: dict[str, Lab],
    subscribe: Callable[..., WebhookEndpoint],
    receiver: WebhookReceiver,
) -> None:
    subscribe(labs["north"], ["*"])
    subscribe(labs["south"], ["*"])
    release(report)
    neighbour = new_report(labs["north"], "Lipid profile")
    release(neighbour)
    stranger = new_report(labs["south"], "Lipid profile")
    release(stranger)
    # An event about another kind of record that has the report's id.
    emit_webhook(
        report.lab_id, "patient.updated", {"id": report.pk},
        model_label="patients.patient", object_id=report.pk,
    )  # fmt: skip

    items = report_timeline(report)

    assert {item.report_id for item in items} == {report.pk}
    # .updated (verified), .updated (released), .released; it was created
    # before the subscriptions.
    types = [delivery.event_type for delivery in details(items, DeliveryDetail)]
    assert types == ["report.updated", "report.updated", "report.released"]
    assert len(details(items, PdfDetail)) == 1
    for other in (neighbour, stranger):
        about_other = WebhookDelivery.objects.filter(
            event__model_label="patients.report", event__object_id=str(other.pk)
        )
        assert about_other.count() == 4
        assert ReportRelease.objects.get(report=other).pdf_stored_at is not None


def test_model_events_of_the_report_are_listed_with_their_outcome(
    report: Report,
    subscribe: Callable[..., WebhookEndpoint],
    receiver: WebhookReceiver,
) -> None:
    subscribe(report.lab, ["report.updated"])
    receiver.answer_next(410, "gone")
    with acting_as(PATHOLOGIST):
        verify_report(report)
    deliver_all()

    [delivery] = details(report_timeline(report), DeliveryDetail)

    assert delivery.event_type == "report.updated"
    assert delivery.endpoint_url == f"http://127.0.0.1:{receiver.port}/…"
    assert (delivery.status, delivery.attempts) == ("Failed", 1)
    assert delivery.last_response_status == 410


def test_every_page_of_the_activity_log_is_read(report: Report) -> None:
    for number in range(5):
        report.add_activity_log("print", f"Printed copy {number}")

    items = report_timeline(report, page_size=2)

    assert items == report_timeline(report)
    messages = [detail.message for detail in details(items, ActivityDetail)]
    assert messages == ["report created"] + [f"Printed copy {n}" for n in range(5)]


def test_a_loop_of_editions_made_in_the_database_ends_the_walk(
    report: Report, labs: dict[str, Lab]
) -> None:
    other = new_report(labs["north"])
    Report.objects.filter(pk=report.pk).update_without_hooks(previous=other)
    Report.objects.filter(pk=other.pk).update_without_hooks(previous=report)
    report.refresh_from_db()

    editions = report_editions(report)

    assert sorted(e.pk for e in editions) == sorted([report.pk, other.pk])


# -- values shown ---------------------------------------------------------------


@pytest.mark.parametrize(
    "value, shown",
    [
        (None, "—"),
        ("Complete blood count", "Complete blood count"),
        (13.5, "13.5"),
        (False, "false"),
        ([{"test": "Hb", "value": 13}], '[{"test": "Hb", "value": 13}]'),
        ("x" * (MAX_VALUE_CHARS + 1), "x" * (MAX_VALUE_CHARS - 1) + "…"),
    ],
)
def test_logged_values_are_shown_as_text(value: Any, shown: str) -> None:
    assert display_value(value) == shown


def test_a_change_that_is_not_an_old_new_pair_is_shown_as_the_new_value() -> None:
    shown = field_changes({"title": {"old": "CBC", "new": "FBC"}, "copies": 2})

    assert shown == (
        FieldChange("title", "CBC", "FBC"),
        FieldChange("copies", "—", "2"),
    )


def test_a_pdf_stored_entry_without_its_file_details_shows_none(
    report: Report,
) -> None:
    report.add_activity_log("pdf_stored", "PDF stored", changes={"pdf": "lost"})
    report.add_activity_log("pdf_stored", "PDF stored again")

    stored = details(report_timeline(report), ActivityDetail)[1:]

    assert [(d.pdf_key, d.pdf_sha256, d.changes) for d in stored] == [("", "", ())] * 2


# -- the admin page -------------------------------------------------------------


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root", "r@example.com", "pw"))
    return client


def timeline_url(report: Report) -> str:
    return reverse("admin:patients_report_timeline", args=[report.pk])


def test_the_change_page_links_to_the_timeline(
    admin_client: Client, report: Report
) -> None:
    page = admin_client.get(reverse("admin:patients_report_change", args=[report.pk]))
    adding = admin_client.get(reverse("admin:patients_report_add"))

    assert page.status_code == adding.status_code == 200
    assert f'href="{timeline_url(report)}"' in page.content.decode()
    assert "Timeline" not in adding.content.decode()


def test_the_timeline_page_shows_every_kind_of_item(
    admin_client: Client,
    report: Report,
    subscribe: Callable[..., WebhookEndpoint],
    receiver: WebhookReceiver,
) -> None:
    subscribe(report.lab, ["report.released"])
    released = release(report)
    deliver_all()

    page = admin_client.get(timeline_url(report))

    assert page.status_code == 200
    content = page.content.decode()
    assert "status: Draft &rarr; Verified" in content
    assert "by Dr Mehta (staff)" in content
    assert f"SHA-256 {released.pdf_sha256}" in content
    assert "report.released to http://127.0.0.1:" in content
    assert "Succeeded</a>\n        after 1 attempt, last response HTTP 200" in content
    assert f'href="/core/files/{released.pdf_key}?expires=' in content


def test_staff_without_report_permission_cannot_see_the_timeline(
    client: Client, report: Report
) -> None:
    clerk = User.objects.create_user("clerk", "c@example.com", "pw", is_staff=True)
    client.force_login(clerk)

    refused = client.get(timeline_url(report))
    clerk.user_permissions.add(Permission.objects.get(codename="view_report"))
    allowed = client.get(timeline_url(report))

    assert (refused.status_code, allowed.status_code) == (403, 200)


def test_people_not_signed_in_are_sent_to_the_login_page(
    client: Client, report: Report
) -> None:
    response = client.get(timeline_url(report))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_missing_report_sends_back_to_the_list_with_a_message(
    admin_client: Client, report: Report
) -> None:
    response = admin_client.get(
        reverse("admin:patients_report_timeline", args=[report.pk + 1000]),
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("admin:patients_report_changelist")
    assert f"No report has ID &#x27;{report.pk + 1000}&#x27;" in (
        response.content.decode()
    )


def run_action(admin_client: Client, action: str, *reports: Report) -> str:
    response = admin_client.post(
        reverse("admin:patients_report_changelist"),
        {"action": action, "_selected_action": [r.pk for r in reports]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def test_the_verify_and_release_actions_change_the_status(
    admin_client: Client, report: Report
) -> None:
    verified = run_action(admin_client, "verify_reports", report)
    released = run_action(admin_client, "release_reports", report)

    report.refresh_from_db()
    assert "1 report(s) verified." in verified
    assert "1 report(s) released." in released
    assert report.status == Report.Status.RELEASED
    assert ReportRelease.objects.filter(report=report).exists()
    entry = Report.get_activities(report.pk, lab_id=report.lab_id).entries[0]
    assert (entry.actor_name, entry.changes["status"]["new"]) == ("root", "released")


def test_a_report_the_action_does_not_fit_is_named_and_the_others_change(
    admin_client: Client, report: Report, labs: dict[str, Lab]
) -> None:
    verified = new_report(labs["north"], "Lipid profile")
    verify_report(verified)

    content = run_action(admin_client, "release_reports", report, verified)

    report.refresh_from_db()
    verified.refresh_from_db()
    assert (report.status, verified.status) == ("draft", "released")
    assert "CBC (edition 1) was not released: A draft report cannot become " in content
    assert "1 report(s) released." in content
