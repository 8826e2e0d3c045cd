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
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse

from admin.account.models import Lab
from core.exceptions import VersionConflict
from core.utils.json_input import INTEGER, TEXT
from core.view import GenericView
from patients.models import Patient

#: Fields a client may set.
WRITABLE_FIELDS = (
    "first_name", "last_name", "sex", "date_of_birth", "phone", "email",
)  # fmt: skip
DEFAULT_PAGE_SIZE = 50
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


class PatientListView(GenericView):
    """A page of the lab's patients (newest id first), or a new patient."""

    model = Patient
    body_fields = {"lab_id": INTEGER.or_null(), "reason": TEXT}

    def get(self, request: HttpRequest) -> JsonResponse:
        """`limit` (1-200), `after` (an id: the page after it)."""
        params = self.data()
        _refuse_contact_details_in_url(params)
        return _page(self.scoped(Patient), params)

    def post(self, request: HttpRequest) -> JsonResponse:
        """Create a patient in the request's lab, or in one of its child
        labs given as `lab_id` (another lab's id: 404, like a missing one)."""
        data = self.data()
        given = data.pop("lab_id", None)
        lab_id = self.lab_id if given in (None, "") else _as_int(given)
        if lab_id is None or lab_id not in self.lab_ids():
            raise Http404(f"No lab with id {given}.")
        patient = Patient(lab_id=lab_id)
        _set_writable(patient, data)
        patient.save(reason=data.get("reason", ""))
        return JsonResponse(patient_json(patient), status=201)


class PatientDetailView(GenericView):
    """One patient of the request's labs: read or update."""

    model = Patient
    body_fields = {"reason": TEXT}

    def get(self, request: HttpRequest, pk: int) -> JsonResponse:
        """The patient, from the instance cache when it is there."""
        return JsonResponse(patient_json(self.get_scoped(Patient, pk)))

    def patch(self, request: HttpRequest, pk: int) -> JsonResponse:
        """Change the fields given; `version` is the version read."""
        data = self.data()
        patient = self.get_scoped(Patient, pk)
        read = _int_param(data, "version", None, 0, None)
        if read is None:
            raise ValidationError({"version": ["Send the version you read."]})
        if read != patient.version:
            raise VersionConflict("Patient", pk, read, patient.version)
        _set_writable(patient, data)
        patient.save(reason=data.get("reason", ""))
        return JsonResponse(patient_json(patient))


class PatientSearchView(GenericView):
    """Patients of the request's labs by phone and/or email, given in a JSON
    body so that they stay out of URLs (and so out of access logs):
    `{"phone": "98765 43210", "email": "asha@example.com", "limit": 50,
    "after": 120}`. Both given: patients matching both. The phone is read
    like `find_by_phone` reads it (any format; a local number of the
    request lab's country). Answers a page like the list:
    `{"patients": [...], "next": <id or null>}`; an undiallable phone or an
    unknown email finds nobody, as does another lab's patient."""

    http_method_names = ["post", "options"]
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
        return _page(patients, data)


def _page(patients: QuerySet[Patient], params: dict[str, Any]) -> JsonResponse:
    """One page of `patients`, newest id first: `limit` of them (1-200,
    default 50) with ids below `after` when given, and the `next` id to ask
    `after` for (None on the last page)."""
    limit = _int_param(params, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    after = _int_param(params, "after", None, 1, None)
    if after is not None:
        patients = patients.filter(pk__lt=after)
    page = list(patients.order_by("-pk")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return JsonResponse(
        {
            "patients": [patient_json(p) for p in page],
            "next": page[-1].pk if more else None,
        }
    )


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


def _set_writable(patient: Patient, data: dict[str, Any]) -> None:
    """Set the settable fields of `data` on `patient`. Unknown ones are a
    400, not ignored, reported with every other problem of the input (what
    set_values and validate() find), not before them."""
    refused: dict[str, Any] = {
        name: [ValidationError("This field cannot be set.", code="not_settable")]
        for name in sorted(set(data) - {*WRITABLE_FIELDS, "version", "reason"})
    }
    try:
        patient.set_values(
            {name: data[name] for name in WRITABLE_FIELDS if name in data}
        )
        if refused:
            patient.full_validate(created=patient._state.adding, update_fields=None)
    except ValidationError as exc:
        refused = exc.update_error_dict(refused)
    if refused:
        raise ValidationError(refused)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _int_param(
    params: dict[str, Any], name: str, default: Any, low: int, high: int | None
) -> Any:
    """An integer parameter within [low, high], or a 400 naming it."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    value = _as_int(raw)
    if value is None or value < low or (high is not None and value > high):
        upper = f" and {high}" if high is not None else " or more"
        raise ValidationError({name: [f"Must be a whole number between {low}{upper}."]})
    return value
