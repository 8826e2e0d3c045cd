"""The sample app's JSON endpoints: list, read, create and update patients.

Each view is a core `GenericView`, so every query is scoped to the
request's lab and its child labs, and a patient of another lab answers the
same 404 as a missing one. Reads of one patient come from the instance
cache. Writes go through the model (validation -> 400 with field errors,
activity log, cache invalidation), and an update must carry the `version`
the client read (a stale one -> 409).

    GET   /api/patients/?limit=50&after=<id>                 a page, by id
    POST  /api/patients/                                      create
    POST  /api/patients/search/  {"phone": ..., "email": ...}  search, paged
    GET   /api/patients/<id>/                                 read
    PATCH /api/patients/<id>/  {"version": 3, ...}            update

Phone numbers and emails are searched in a POST body, never in a URL: URLs
are written to proxy and gunicorn access logs, bodies are not. The list
refuses `?phone=` and `?email=` with a 400 that points to the search.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from admin.account.models import Lab
from core.generics import ListCreateView, PagedView, RetrieveUpdateView
from core.utils.json_input import INTEGER, TEXT
from patients.models import Patient

#: Fields a client may set.
WRITABLE_FIELDS = (
    "first_name", "last_name", "sex", "date_of_birth", "phone", "email",
)  # fmt: skip
MAX_PAGE_SIZE = 200
#: What the search finds patients by (in a POST body, never a URL).
SEARCH_TERMS = ("phone", "email")


def patient_json(patient: Patient) -> dict[str, Any]:
    """A patient as the API shows it (contact details decrypted)."""
    age = patient.age
    return {
        "id": patient.pk,
        "lab_id": patient.lab_id,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "sex": patient.sex,
        "date_of_birth": patient.date_of_birth,
        "age": None if age is None else vars(age),
        "phone": patient.phone,
        "email": patient.email,
        "version": patient.version,
        "updated_at": patient.updated_at,
    }


class PatientListView(ListCreateView):
    """A page of the lab's patients (newest id first, `?sex=` to filter),
    or a new patient (in a child lab given as `lab_id`)."""

    model = Patient
    writable_fields = WRITABLE_FIELDS
    filter_fields = ("sex",)
    list_key = "patients"
    max_page_size = MAX_PAGE_SIZE
    body_fields = {"lab_id": INTEGER.or_null(), "reason": TEXT}

    def as_json(self, instance: Patient) -> dict[str, Any]:
        return patient_json(instance)

    def check_params(self, params: dict[str, Any]) -> None:
        _refuse_contact_details_in_url(params)
        super().check_params(params)


class PatientDetailView(RetrieveUpdateView):
    """One patient of the request's labs: read or update."""

    model = Patient
    writable_fields = WRITABLE_FIELDS

    def as_json(self, instance: Patient) -> dict[str, Any]:
        return patient_json(instance)


class PatientSearchView(PagedView):
    """Patients of the request's labs by phone and/or email, given in a JSON
    body so that they stay out of URLs (and so out of access logs):
    `{"phone": "98765 43210", "email": "asha@example.com", "limit": 50,
    "after": 120}`. Both given: patients matching both. The phone is read
    like `find_by_phone` reads it (any format; a local number of the
    request lab's country). Answers a page like the list:
    `{"patients": [...], "next": <id or null>}`; an undiallable phone or an
    unknown email finds nobody, as does another lab's patient."""

    http_method_names = ["post", "options"]
    list_key = "patients"
    max_page_size = MAX_PAGE_SIZE
    body_fields = {
        "phone": TEXT.or_null(),
        "email": TEXT.or_null(),
        "limit": INTEGER,
        "after": INTEGER,
    }

    def post(self, request: HttpRequest) -> JsonResponse:
        """One page of the patients matching the body's phone and/or email."""
        data = self.data()
        unknown = set(data) - {*SEARCH_TERMS, "limit", "after"}
        if unknown:
            raise ValidationError({
                name: ["Not a search field; send phone, email, limit or after."]
                for name in sorted(unknown)
            })  # fmt: skip
        terms = _search_terms(data)
        lab_ids = self.lab_ids()
        patients = Patient.objects.in_scope(self.scope)
        if "phone" in terms:
            country = Lab.get_cached_instance(self.lab_id).country
            patients = patients.with_phone(terms["phone"], [country], lab_ids)
        if "email" in terms:
            patients = patients.with_email(terms["email"], lab_ids)
        return self.page(patients, data)

    def as_json(self, instance: Patient) -> dict[str, Any]:
        return patient_json(instance)


def _search_terms(data: dict[str, Any]) -> dict[str, str]:
    """The phone and/or email to search by (text: `data()` checked the
    types); a 400 when neither is given. Never echoes a value (it is
    patient data)."""
    terms = {name: data[name] for name in SEARCH_TERMS if data.get(name) is not None}
    terms = {name: value for name, value in terms.items() if value.strip()}
    if not terms:
        raise ValidationError(
            "Send a phone or an email (or both) to search by, e.g. "
            '{"phone": "+91 98765 43210"}.'
        )
    return terms


def _refuse_contact_details_in_url(params: dict[str, Any]) -> None:
    """A 400 for `?phone=` or `?email=`, pointing to the search: a value in
    a URL is written to access logs. (This request's value already is; the
    client learns to stop sending more.)"""
    given = sorted(name for name in SEARCH_TERMS if name in params)
    if given:
        search = reverse("patients:search")
        raise ValidationError({
            name: [
                f"Not accepted in a URL, where it would be written to access "
                f'logs; search with POST {search} and a JSON body {{"{name}": ...}}.'
            ]
            for name in given
        })  # fmt: skip
