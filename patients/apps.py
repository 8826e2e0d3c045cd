"""App configuration of `patients`."""

from django.apps import AppConfig

from core.utils.pdf.registry import register_report

#: The name clients ask POST /core/pdf/ for, and the template it renders.
SUMMARY_REPORT = "patients.summary"
SUMMARY_TEMPLATE = "patients/reports/summary.html"
#: A summary is one patient's details and latest results: a few pages at
#: most; more means the client sent the wrong data.
SUMMARY_MAX_PAGES = 20
#: The PDF of a released report (patients/release.py): rendered by the
#: server from the report's rows, so no client may ask for it.
RELEASE_REPORT = "patients.release"
RELEASE_TEMPLATE = "patients/reports/report.html"


class PatientsConfig(AppConfig):
    """Sample domain app showing how a domain model uses core."""

    name = "patients"
    verbose_name = "Patients"

    def ready(self) -> None:
        """Register the app's PDF reports (see core.utils.pdf.registry)."""
        register_report(SUMMARY_REPORT, SUMMARY_TEMPLATE, max_pages=SUMMARY_MAX_PAGES)
        register_report(RELEASE_REPORT, RELEASE_TEMPLATE, requestable=False)
