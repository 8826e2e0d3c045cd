"""The sample app's models, one module each: `Patient` (patient.py), and a
patient's `Report` with its `ReportRelease` (reports.py). Importing this
package registers them all with Django."""

from patients.models.patient import (
    Patient,
    PatientManager,
    PatientQuerySet,
    normalise_phone,
)
from patients.models.reports import Report, ReportRelease

__all__ = [
    "Patient",
    "PatientManager",
    "PatientQuerySet",
    "Report",
    "ReportRelease",
    "normalise_phone",
]
