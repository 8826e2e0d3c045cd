"""A released report in the admin, in a real browser: headless Chromium
(Debian's package, driven by Playwright) on a live server. A person edits
a released report (refused without a reason, saved with one), corrects it
with the "Correct…" action, reads its History on the lab's clock, and sees
its Timeline's PDF waiting for the job worker. Screenshots of each step
are kept in var/test-artifacts/admin-*.png (var/ is not committed).

The class of defect: a model rule that reached the admin as a 500, and a
History that read as the database stores it.
"""

from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from admin.account.models import Lab, User
from patients.actions import release_report, verify_report
from patients.models import Patient, Report
from tests.artifacts import shoot
from tests.patients.test_report_timeline_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    PNG_SIGNATURE,
    STEP_TIMEOUT_MILLISECONDS,
    sign_in,
)

# The live server answers from another thread, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

#: The screenshots this test keeps, in the order it takes them.
SCREENSHOTS = (
    "admin-edit-refused",
    "admin-edit-saved",
    "admin-correct-reason",
    "admin-corrected",
    "admin-history",
    "admin-timeline",
)


@pytest.fixture
def released() -> Report:
    """Asha Rao's CBC at a Kolkata lab, released (its PDF job not run)."""
    lab = Lab(name="North Collection Centre", time_zone="Asia/Kolkata", country="IN")
    lab.save()
    patient = Patient(lab=lab, first_name="Asha", last_name="Rao", sex="F")
    patient.save()
    report = Report(
        lab=lab, patient=patient, title="CBC",
        results=[{"test": "Haemoglobin", "value": 13.5, "unit": "g/dL"}],
    )  # fmt: skip
    report.save()
    verify_report(report)
    release_report(report)
    return report


def test_a_person_edits_corrects_and_reads_a_released_report(
    live_server: Any, released: Report
) -> None:
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    base = live_server.url
    change = reverse("admin:patients_report_change", args=[released.pk])
    changelist = reverse("admin:patients_report_changelist")
    history = reverse("admin:patients_report_history", args=[released.pk])
    timeline = reverse("admin:patients_report_timeline", args=[released.pk])
    taken: dict[str, bytes] = {}

    # No database access inside the block: Playwright's sync API runs an
    # asyncio loop in this thread, where Django refuses ORM calls.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(STEP_TIMEOUT_MILLISECONDS)
            sign_in(page, base, change)
            expect(page.locator("#site-name")).to_contain_text("LIS administration")

            # Edit without a reason: the form says so; nothing is saved.
            page.fill("#id_title", "Full blood count")
            page.click("input[name=_save]")
            expect(page.locator(".errornote")).to_be_visible()
            expect(page.locator(".field-change_reason .errorlist")).to_contain_text(
                "This field is required."
            )
            shoot(page, "admin-edit-refused", taken)

            # With a reason it is saved.
            page.fill("#id_change_reason", "Title per the new test menu")
            page.click("input[name=_save]")
            page.wait_for_url(f"{base}{changelist}")
            expect(page.locator(".messagelist")).to_contain_text("was changed")
            shoot(page, "admin-edit-saved", taken)

            # Correct it with the action: first the reason page.
            page.check(f"input[name=_selected_action][value='{released.pk}']")
            page.select_option("select[name=action]", "correct_reports")
            page.click("button[name=index]")
            expect(page.locator("h1")).to_have_text("Correct reports")
            expect(page.locator("#reports-to-correct")).to_contain_text(
                "Full blood count (edition 1)"
            )
            page.fill("#id_reason", "Haemoglobin re-run on a fresh sample")
            shoot(page, "admin-correct-reason", taken)
            page.click("input[name=apply]")
            page.wait_for_url(f"{base}{changelist}")
            expect(page.locator(".messagelist")).to_contain_text(
                "“Full blood count (edition 1)” was corrected. Its new edition 2 "
                "is a draft"
            )
            shoot(page, "admin-corrected", taken)

            # History: the lab's clock, labels, names, reasons, breadcrumbs.
            page.goto(f"{base}{history}")
            table = page.locator("#activity-history")
            expect(table).to_contain_text("When (Asia/Kolkata)")
            expect(table).to_contain_text("IST")
            expect(table).to_contain_text("status: Released → Corrected")
            expect(table).to_contain_text("title: CBC → Full blood count")
            expect(table).to_contain_text("patient: — → Asha Rao")
            expect(table).to_contain_text("lab: — → North Collection Centre")
            expect(table).to_contain_text("Haemoglobin re-run on a fresh sample")
            expect(table).to_contain_text("Title per the new test menu")
            crumbs = page.locator("ol.breadcrumbs li")
            expect(crumbs).to_have_count(5)
            expect(crumbs.last).to_have_text("History")
            # Styled as the admin's own: laid out in one line, not a list.
            expect(crumbs.first).to_have_css("display", "inline-block")
            shoot(page, "admin-history", taken)

            # The Timeline: the PDF waits for the job worker (none runs here).
            page.goto(f"{base}{timeline}")
            expect(page.locator("#report-timeline")).to_contain_text(
                "PDF waiting for the job worker"
            )
            shoot(page, "admin-timeline", taken)
        finally:
            browser.close()

    released.refresh_from_db()
    assert (released.title, released.status) == ("Full blood count", "corrected")
    assert Report.objects.get(previous=released).edition == 2
    assert list(taken) == list(SCREENSHOTS)
    for picture in taken.values():
        assert picture.startswith(PNG_SIGNATURE)
