"""The sample app's JSON endpoints: list, read, create and update patients.

Each view is a core `GenericView`, so every query is scoped to the
request's lab and its child labs, and a patient of another lab answers the
same 404 as a missing one. Reads of one patient come from the instance
cache. Writes go through the model (validation -> 400 with field errors,
activity log, cache invalidation), and an update must carry the `version`
the client read (a stale one -> 409).

    GET   /api/patients/?limit=50&after=<id>&phone=<phone>   a page, by id
    POST  /api/patients/                                      create
    GET   /api/patients/<id>/                                 read
    PATCH /api/patients/<id>/  {"version": 3, ...}            update
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, JsonResponse

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
        """`limit` (1-200), `after` (an id: the page after it), `phone`."""
        params = self.data()
        limit = _int_param(params, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        patients = self.scoped(Patient)
        if params.get("phone"):
            patients = patients & Patient.objects.find_by_phone(
                self.lab_id, params["phone"]
            )
        after = params.get("after")
        if after not in (None, ""):
            patients = patients.filter(pk__lt=_int_param(params, "after", 0, 1, None))
        page = list(patients.order_by("-pk")[: limit + 1])
        more = len(page) > limit
        page = page[:limit]
        return JsonResponse(
            {
                "patients": [patient_json(p) for p in page],
                "next": page[-1].pk if more else None,
            }
        )

    def post(self, request: HttpRequest) -> JsonResponse:
        """Create a patient in the request's lab, or in one of its child
        labs given as `lab_id` (another lab's id: 404, like a missing one)."""
        data = self.data()
        given = data.pop("lab_id", None)
        lab_id = self.lab_id if given in (None, "") else _as_int(given)
        if lab_id is None or lab_id not in self.lab_ids():
            raise Http404(f"No lab with id {given}.")
        patient = Patient(lab_id=lab_id)
        patient.set_values(_writable(data))
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
        patient.set_values(_writable(data))
        patient.save(reason=data.get("reason", ""))
        return JsonResponse(patient_json(patient))


def _writable(data: dict[str, Any]) -> dict[str, Any]:
    """The settable fields of `data`; unknown ones are a 400, not ignored."""
    unknown = set(data) - {*WRITABLE_FIELDS, "version", "reason"}
    if unknown:
        raise ValidationError(
            {name: ["This field cannot be set."] for name in sorted(unknown)}
        )
    return {name: data[name] for name in WRITABLE_FIELDS if name in data}


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
