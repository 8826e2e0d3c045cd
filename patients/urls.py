"""The sample app's JSON API (patients/views.py), under /api/patients/."""

from django.urls import path

from patients.views import PatientDetailView, PatientListView, PatientSearchView

app_name = "patients"

urlpatterns = [
    path("", PatientListView.as_view(), name="list"),
    path("search/", PatientSearchView.as_view(), name="search"),
    path("<int:pk>/", PatientDetailView.as_view(), name="detail"),
]
