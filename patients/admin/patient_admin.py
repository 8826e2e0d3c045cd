"""The admin page of patients.

The phone and email are encrypted, so the database cannot search them; a
search term is also looked up through their blind indexes (computed under
every lab, as each lab's rows hold that lab's own): as a phone number (read
as a local number of every lab's country when it has no country code) and as
an email address.
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from admin.account.models import Lab
from core.admin import BaseModelAdmin
from patients.models import Patient, PatientQuerySet


@admin.register(Patient)
class PatientAdmin(BaseModelAdmin):
    """Patients: listed with their decrypted phone, found by name, phone
    or email."""

    list_display = ("__str__", "lab", "sex", "date_of_birth", "phone_number")
    list_filter = ("lab", "sex")
    list_select_related = ("lab",)
    search_fields = ("first_name", "last_name")

    @admin.display(description="phone")
    def phone_number(self, patient: Patient) -> str:
        """The decrypted phone (not sortable: the column holds ciphertext)."""
        return patient.phone

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """Name matches, plus exact phone or email matches by blind index."""
        found, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        term = search_term.strip()
        if not term:
            return found, may_have_duplicates
        patients: PatientQuerySet = queryset  # type: ignore[assignment]
        countries = Lab.objects.values_list("country", flat=True).distinct()
        # Operators search every lab; each lab's rows hold that lab's index.
        lab_ids = list(Lab.objects.values_list("pk", flat=True))
        by_contact = patients.with_phone(term, countries, lab_ids)
        if "@" in term:
            by_contact = by_contact | patients.with_email(term, lab_ids)
        return found | by_contact, may_have_duplicates
