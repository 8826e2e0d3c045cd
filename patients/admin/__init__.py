"""The sample app's admin pages: patients (patient_admin.py) and reports
(report_admin.py, with the "Correct…" action in correction.py).

Django's admin discovery imports this package; importing each module here
registers its pages.
"""

from patients.admin import patient_admin, report_admin
from patients.admin.patient_admin import PatientAdmin
from patients.admin.report_admin import ReportAdmin

__all__ = ["PatientAdmin", "ReportAdmin", "patient_admin", "report_admin"]
