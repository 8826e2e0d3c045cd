"""The project's URLs plus `patients:export`, an endpoint
tests/fuzz/endpoints.py does not know, for tests/test_every_url_fuzzed.py."""

from django.urls import include, path

from config.urls import urlpatterns as project_urls
from patients.urls import urlpatterns as patient_urls
from patients.views import PatientListView

export = path("export/", PatientListView.as_view(), name="export")

urlpatterns = [
    *(pattern for pattern in project_urls if str(pattern.pattern) != "api/patients/"),
    path("api/patients/", include(([*patient_urls, export], "patients"))),
]
