"""The report timeline in a real browser: headless Chromium (Debian's
package, driven by Playwright) signs in to the admin on a live server,
opens a corrected report's Timeline from its change page, reads what a
person sees, downloads both editions' PDFs and keeps a screenshot in
var/test-artifacts/report-timeline.png (var/ is not committed).

The data is made through the real paths first: the release job
(`run_release.call`) stores the PDFs in a temporary folder served by
/core/files/, and the `report.released` deliveries go to a local receiver.
"""

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect, sync_playwright

from admin.account.models import Lab, User
from core.models.webhook import WebhookDelivery, WebhookEndpoint
from core.utils.activity_log.context import Actor, ActorKind, acting_as
from core.utils.clients import registry
from core.webhooks.delivery import deliver_webhook
from patients.actions import correct_report, release_report, verify_report
from patients.models import Patient, Report, ReportRelease
from patients.release import run_release
from tests.artifacts import keep
from tests.standins.webhook_receiver import WebhookReceiver

# The live server answers from another thread, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = "/usr/bin/chromium"
#: Without the background-networking flags Chromium reaches for the
#: internet (updates, sync), which is closed here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
#: Each browser step waits at most this long (a shared, busy machine).
STEP_TIMEOUT_MILLISECONDS = 30_000
PASSWORD = "a long test password"
PATHOLOGIST = Actor(id="7", name="Dr Mehta", role="pathologist", kind=ActorKind.STAFF)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def release(report: Report) -> ReportRelease:
    """Verify and release `report`, and run its release job now."""
    with acting_as(PATHOLOGIST):
        verify_report(report)
        release_report(report)
    done = ReportRelease.objects.get(report=report)
    run_release.call(done.pk)
    done.refresh_from_db()
    return done


@pytest.fixture
def corrected_report(
    settings: Any,
    tmp_path: Path,
    labs: dict[str, Lab],
    subscribe: Callable[..., WebhookEndpoint],
    receiver: WebhookReceiver,
) -> tuple[Report, list[ReportRelease]]:
    """A CBC released, corrected as "Complete blood count" and released
    again: its second edition and both releases, PDFs stored locally and
    `report.released` delivered to the receiver."""
    settings.SERVICES = {
        **settings.SERVICES,
        "s3": {
            "BACKEND": "core.utils.aws.client.LocalFileS3Client",
            "OPTIONS": {"base_dir": str(tmp_path / "files")},
        },
    }
    registry.reset()
    subscribe(labs["north"], ["report.released"])
    patient = Patient(lab=labs["north"], first_name="Asha", sex="F")
    patient.save()
    first = Report(
        lab=labs["north"], patient=patient, title="CBC",
        results=[{"test": "Haemoglobin", "value": 13.5, "unit": "g/dL"}],
    )  # fmt: skip
    first.save()
    releases = [release(first)]
    with acting_as(PATHOLOGIST):
        second = correct_report(first, reason="Haemoglobin re-run")
        second.title = "Complete blood count"
        second.save()
    releases.append(release(second))
    for delivery in WebhookDelivery.objects.filter(status="pending"):
        deliver_webhook.call(delivery.pk)
    return second, releases


def sign_in(page: Page, base_url: str, next_path: str) -> None:
    """Sign in through the admin's login form, landing on `next_path`."""
    page.goto(f"{base_url}{reverse('admin:login')}?next={next_path}")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}{next_path}")


def test_a_person_reads_a_reports_timeline_and_downloads_its_pdfs(
    live_server: Any,
    corrected_report: tuple[Report, list[ReportRelease]],
    receiver: WebhookReceiver,
) -> None:
    report, releases = corrected_report
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    change_path = reverse("admin:patients_report_change", args=[report.pk])
    timeline_path = reverse("admin:patients_report_timeline", args=[report.pk])
    expected_digests = [done.pdf_sha256 for done in releases]
    downloads: list[tuple[str, bytes]] = []

    # No database access from here to the end of the `with` block:
    # Playwright's sync API runs an asyncio event loop in this thread, and
    # Django refuses ORM calls while one runs (the live server's own thread
    # is not affected). Everything the checks need was read above.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(STEP_TIMEOUT_MILLISECONDS)
            sign_in(page, live_server.url, change_path)
            page.get_by_role("link", name="Timeline").click()
            page.wait_for_url(f"{live_server.url}{timeline_path}")

            expect(page.locator("h1")).to_have_text(
                "Timeline: Complete blood count (edition 2)"
            )
            table = page.locator("#report-timeline")
            expect(table).to_contain_text("status: Draft → Verified")
            expect(table).to_contain_text("title: CBC → Complete blood count")
            expect(table).to_contain_text("Reason: Haemoglobin re-run")
            expect(table).to_contain_text("by Dr Mehta (staff)")
            for digest in expected_digests:
                expect(table).to_contain_text(f"SHA-256 {digest}")
            hooks = page.locator("tr.timeline-webhook")
            expect(hooks).to_have_count(2)
            expect(hooks.first).to_contain_text(
                f"report.released to http://127.0.0.1:{receiver.port}/…"
            )
            expect(hooks.first).to_contain_text("Succeeded after 1 attempt")
            expect(hooks.first).to_contain_text("last response HTTP 200")
            pdfs = page.locator("tr.timeline-pdf")
            expect(pdfs).to_have_count(2)
            expect(pdfs.nth(0)).to_contain_text("PDF of edition 1 stored")
            expect(pdfs.nth(1)).to_contain_text("PDF of edition 2 stored")
            buttons = page.get_by_role("link", name="Download PDF")
            expect(buttons).to_have_count(2)

            picture = page.screenshot(full_page=True)
            keep("report-timeline.png", picture)
            for index in range(2):
                with page.expect_download() as started:
                    buttons.nth(index).click()
                download = started.value
                downloads.append(
                    (download.suggested_filename, Path(download.path()).read_bytes())
                )
        finally:
            browser.close()

    # Named by the file server after the stored key's last part.
    assert [name for name, _ in downloads] == ["edition-1.pdf", "edition-2.pdf"]
    for (_, body), digest in zip(downloads, expected_digests, strict=True):
        assert body.startswith(b"%PDF")
        assert hashlib.sha256(body).hexdigest() == digest
    assert picture.startswith(PNG_SIGNATURE)
