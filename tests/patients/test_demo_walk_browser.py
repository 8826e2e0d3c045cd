"""The demo as a newcomer walks it (issue 18 point 6), in a real browser:
headless Chromium on a live server with `load_demo_data`'s data, each
release's job run as the worker runs it. From `/` to the admin, the report
list (every state, three languages), the Arabic lab's released report, its
Timeline, and its stored PDF downloaded. Screenshots of each step are kept
in var/test-artifacts/demo-*.png (var/ is not committed).

The class of defect: a demo that shows none of the flows, or a first
address that leads nowhere.
"""

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import expect, sync_playwright

from patients.management.commands.load_demo_data import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    ARABIC_LAB,
)
from patients.models import Report, ReportRelease
from patients.release import run_release
from tests.artifacts import shoot
from tests.health_fixtures import use_service
from tests.patients.test_report_timeline_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PNG_SIGNATURE,
    STEP_TIMEOUT_MILLISECONDS,
)
from tests.pdf_fixtures import LOCAL_CLIENT

pytestmark = pytest.mark.django_db(transaction=True)

STEPS = ("demo-home", "demo-reports", "demo-report", "demo-timeline")


@pytest.fixture
def demo(settings: Any, tmp_path: Path) -> Report:
    """The demo data, its releases run (PDFs stored locally); the Arabic
    lab's released report."""
    settings.DEBUG = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    use_service(settings, "s3", LOCAL_CLIENT, base_dir=str(tmp_path / "files"))
    call_command("load_demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115
    for release in ReportRelease.objects.all():
        run_release.call(release.pk)
    return Report.objects.get(lab__name=ARABIC_LAB, status=Report.Status.RELEASED)


def test_a_newcomer_walks_from_home_to_a_released_reports_pdf(
    live_server: Any, demo: Report
) -> None:
    title = demo.title
    taken: dict[str, bytes] = {}
    # No database access inside the browser block (Playwright's event loop).
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(STEP_TIMEOUT_MILLISECONDS)
            page.goto(f"{live_server.url}/")  # the first address a newcomer opens
            page.fill("#id_username", ADMIN_USERNAME)
            page.fill("#id_password", ADMIN_PASSWORD)
            page.click("input[type=submit]")
            expect(page.locator("#site-name")).to_contain_text("LIS")
            shoot(page, "demo-home", taken)

            page.get_by_role("link", name="Reports").first.click()
            listing = page.locator("#result_list")
            for state in ("Draft", "Verified", "Released", "Corrected"):
                expect(listing).to_contain_text(state)
            shoot(page, "demo-reports", taken)

            page.get_by_role("link", name=title).first.click()
            shoot(page, "demo-report", taken)
            page.get_by_role("link", name="Timeline").click()
            timeline = page.locator("#report-timeline")
            expect(timeline).to_contain_text("stored")
            shoot(page, "demo-timeline", taken)
            with page.expect_download() as started:
                page.get_by_role("link", name="Download PDF").first.click()
            pdf = Path(started.value.path()).read_bytes()
        finally:
            browser.close()

    assert pdf.startswith(b"%PDF")
    assert list(taken) == list(STEPS)
    for picture in taken.values():
        assert picture.startswith(PNG_SIGNATURE)
