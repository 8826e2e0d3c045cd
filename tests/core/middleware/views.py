"""Test-only views using the core decorators, under /api/test/ (an API
route) and /html/test/ (not one), plus the project's own URLs."""

import logging
from typing import Any

from django.core.exceptions import (
    BadRequest,
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns
from core.auth.sessions import SessionStoreUnavailable
from core.decorators import (
    allowed_methods,
    json_view,
    rate_limit,
    require_api_key,
    require_lab_session,
    require_permission,
)
from core.exceptions import VersionConflict
from core.middleware.lab_context import LabRequest
from core.utils.json_input import DATE, INTEGER, NUMBER, TEXT, list_of
from core.view import GenericView
from tests.lifecycle.models import Specimen

logger = logging.getLogger("tests.core.middleware.views")

#: What the failing view raises, by name.
FAILURES: dict[str, Exception] = {
    "field": ValidationError({"label": ["Give the specimen a label."]}),
    "plain": ValidationError("The sample was collected after it was received."),
    "bad": BadRequest("Send the barcode as text."),
    "bad-empty": BadRequest(),
    "permission": PermissionDenied("Only pathologists release reports."),
    "permission-empty": PermissionDenied(),
    "http404": Http404("No such report."),
    "http404-empty": Http404(),
    "missing": Specimen.DoesNotExist("Specimen matching query does not exist."),
    "missing-plain": ObjectDoesNotExist(),
    "conflict": VersionConflict("Specimen", 7, 3, 4),
    "duplicate": ValidationError(
        {
            "barcode": [
                ValidationError("A tube with this barcode exists.", code="unique")
            ]
        }
    ),
    "duplicate-and-bad": ValidationError(
        {
            "barcode": [
                ValidationError("A tube with this barcode exists.", code="unique")
            ],
            "label": [ValidationError("Give the specimen a label.", code="required")],
        }
    ),
    "sessions-down": SessionStoreUnavailable("Redis call failed (ConnectionError)."),
    "suspicious": SuspiciousOperation("Host header not allowed: evil.example"),
    "too-big": RequestDataTooBig("Request body exceeded the limit."),
    "crash": RuntimeError("patient Asha Rao, mobile 98765 43210, db password hunter2"),
}


def fail(request: HttpRequest, name: str) -> JsonResponse:
    raise FAILURES[name]


def lab(request: LabRequest) -> JsonResponse:
    """The lab context, children included (one query for them)."""
    return JsonResponse(
        {
            "lab_id": request.lab_id,
            "lab_kind": request.lab_kind,
            "child_lab_ids": list(request.child_lab_ids),
        }
    )


def lab_only(request: LabRequest) -> JsonResponse:
    """The lab id without touching the children."""
    return JsonResponse({"lab_id": request.lab_id})


@require_lab_session("staff")
def staff_only(request: LabRequest) -> JsonResponse:
    return JsonResponse({"lab_id": request.lab_id})


@require_lab_session("doctor")
def doctor_only(request: LabRequest) -> JsonResponse:
    return JsonResponse({"lab_id": request.lab_id})


@require_lab_session("any")
def any_lab(request: LabRequest) -> JsonResponse:
    return JsonResponse({"lab_id": request.lab_id, "kind": request.lab_kind})


@require_api_key
@allowed_methods("POST")
@json_view(required=("label",))
def key_creates_specimen(request: LabRequest, data: dict[str, Any]) -> Any:
    """An integration posting a specimen into its key's lab."""
    assert request.lab_id is not None  # require_api_key: there is a key
    specimen = Specimen(lab_id=request.lab_id, label=data["label"])
    specimen.save()
    return {"id": specimen.pk, "lab_id": specimen.lab_id}


@allowed_methods("GET", "POST")
def methods(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"method": request.method})


@require_permission("lifecycle_tests.view_specimen")
def needs_permission(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"allowed": True})


@json_view(required=("name", "count"))
def echo(request: HttpRequest, data: dict[str, Any]) -> Any:
    return {"got": data}


@json_view(
    required=("name",),
    fields={
        "name": TEXT,
        "count": INTEGER,
        "day": DATE.or_null(),
        "tags": list_of(TEXT),
    },
)
def typed(request: HttpRequest, data: dict[str, Any]) -> Any:
    return {"got": data}


class SpecimenView(GenericView):
    """Echoes the body: a GenericView whose body carries Specimen's fields."""

    model = Specimen
    body_fields = {"reason": TEXT, "volume_ml": NUMBER}

    def post(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"got": self.data()})

    get = post


class PlainView(GenericView):
    """Echoes the body: a GenericView with no model."""

    def post(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"got": self.data()})


@json_view()
def as_list(request: HttpRequest, data: dict[str, Any]) -> Any:
    return [1, 2, 3]


@json_view()
def as_response(request: HttpRequest, data: dict[str, Any]) -> Any:
    return JsonResponse({"own": True}, status=201)


@json_view()
def wrong_return(request: HttpRequest, data: dict[str, Any]) -> Any:
    return "not JSON-able by contract"


def _limited(per: str, **options: Any) -> Any:
    """A view allowing 3 requests a minute per `per`, a limit of its own."""

    @rate_limit(3, 60, per=per, scope=f"limited-{per}-{options}", **options)
    def view(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"ok": True})

    return view


@rate_limit(2, 60, scope="shared-quota")
def shared_a(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": "a"})


@rate_limit(2, 60, scope="shared-quota")
def shared_b(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": "b"})


def whoami(request: HttpRequest) -> JsonResponse:
    """Who request.user is: a username, or None."""
    return JsonResponse({"user": request.user.get_username() or None})


def log_something(request: HttpRequest) -> JsonResponse:
    logger.warning("something worth a look")
    return JsonResponse({"logged": True})


urlpatterns = [
    *project_urlpatterns,
    path("api/test/fail/<str:name>/", fail),
    path("html/test/fail/<str:name>/", fail),
    path("api/test/lab/", lab),
    path("api/test/lab-only/", lab_only),
    path("api/test/staff/", staff_only),
    path("api/test/doctor/", doctor_only),
    path("api/test/any-lab/", any_lab),
    path("api/test/specimens/", key_creates_specimen),
    path("api/test/methods/", methods),
    path("api/test/permission/", needs_permission),
    path("api/test/echo/", echo),
    path("api/test/typed/", typed),
    path("api/test/generic/specimen/", SpecimenView.as_view()),
    path("api/test/generic/plain/", PlainView.as_view()),
    path("api/test/list/", as_list),
    path("api/test/response/", as_response),
    path("api/test/wrong-return/", wrong_return),
    path("api/test/limited/lab/", _limited("lab")),
    path("api/test/limited/user/", _limited("user")),
    path("api/test/limited/ip/", _limited("ip")),
    path("api/test/limited/closed/", _limited("ip", fail_open=False)),
    path("api/test/limited/open/", _limited("ip", fail_open=True)),
    path("api/test/shared/a/", shared_a),
    path("api/test/shared/b/", shared_b),
    path("api/test/log/", log_something),
    path("api/test/whoami/", whoami),
]
