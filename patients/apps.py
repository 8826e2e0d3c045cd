"""App configuration of `patients`."""

from django.apps import AppConfig


class PatientsConfig(AppConfig):
    """Sample domain app showing how a domain model uses core."""

    name = "patients"
    verbose_name = "Patients"
