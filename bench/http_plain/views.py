"""Views of the plain baseline: the reads the core stack serves, written as
plain Django would write them (no session, no lab context, no cache).
"""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from patients.models import Patient
from patients.views import patient_json


@never_cache
def liveness(request: HttpRequest) -> JsonResponse:
    """200 `{"status": "ok"}`, as core's liveness answers (and as uncached)."""
    return JsonResponse({"status": "ok"})


def patient(request: HttpRequest, lab_id: int, patient_id: int) -> JsonResponse:
    """One patient of `lab_id`, read from the database every time with its
    lab (one SELECT with a join: the age needs the lab's time zone), as the
    same JSON as core's `GET /api/patients/<id>/`; a JSON 404 when there is
    no such patient.

    Example: `{"id": 1, "lab_id": 1, "first_name": "Asha", ...}`.
    """
    try:
        row = Patient.objects.select_related("lab").get(pk=patient_id, lab_id=lab_id)
    except Patient.DoesNotExist:
        return JsonResponse(
            {"error": f"No patient {patient_id} in lab {lab_id}."}, status=404
        )
    return JsonResponse(patient_json(row))
