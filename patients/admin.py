"""Admin pages for patients."""

from django.contrib import admin

from core.admin import BaseModelAdmin
from patients.models import Patient


@admin.register(Patient)
class PatientAdmin(BaseModelAdmin):
    list_display = ("__str__", "lab", "sex", "date_of_birth", "phone")
    list_filter = ("lab", "sex")
    list_select_related = ("lab",)
    search_fields = ("first_name", "last_name", "phone")
