"""Views of the core app: the GenericView base of lab-scoped JSON endpoints,
and the health checks at /core/view/.

Health checks (routes in core/urls.py):

- `GET /core/view/`: the health endpoint the architecture note names; the
  readiness report below, with the same access rules.
- `GET /core/view/live/` (liveness): 200 `{"status": "ok"}` while the
  process answers. Touches no database or service, reveals nothing, open to
  everyone: a load balancer or orchestrator restarts the process when it
  fails.
- `GET /core/view/ready/` (readiness): runs the checks of
  core/health/checks.py within HEALTH_CHECK_TIMEOUT_SECONDS each and
  HEALTH_CHECK_DEADLINE_SECONDS in all, and answers JSON with each check's
  status, latency and detail (`HealthReport.as_dict`): 503 when a critical
  check is down, else 200 (`"status": "degraded"` and `warnings` when an
  optional check is not ok). Readable only from HEALTH_CHECK_ALLOWED_IPS
  (addresses or networks; loopback by default) or with
  `Authorization: Bearer <HEALTH_CHECK_TOKEN>`; anyone else gets a 403
  without any check. (ApiKeyMiddleware takes only bearers that start with
  `lis_` for API keys, so the token must not.) A session or an API key
  grants nothing, so that deciding who may read never touches the session
  store or the database being checked.
- `GET /core/view/metrics/`: metrics in Prometheus's exposition format
  (core/metrics/: every process's counters and histograms, and the backlog
  gauges of core/health/gauges.py computed now), under readiness's access
  rule; anyone else gets the same 403.
"""

import hashlib
import hmac
import ipaddress
from collections.abc import Mapping
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from core.decorators import QUERY_METHODS, request_json, require_lab
from core.health.checks import readiness_report
from core.health.gauges import BacklogCollector
from core.health.runner import Status
from core.http import client_ip_for, json_error
from core.metrics import exposition
from core.tenancy import LabKind, LabScope
from core.tenancy.access import scope_for_session
from core.tenancy.facts import lab_facts
from core.utils.json_input import INTEGER, JsonField, check_fields, model_json_fields

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
M = TypeVar("M", bound=Model)


class GenericView(View):
    """Base view of lab-scoped JSON endpoints: every query goes through the
    request's lab and its child labs, so a domain view cannot forget.

    - Who may call (`core.decorators.require_lab`): a lab session or an API
      key, else 401; sessions pass the CSRF check, API keys carry no cookie
      to forge. `lab_kinds` narrows it (another kind: 403).
    - `self.scope` is the request's LabScope (core.tenancy), re-authorised
      by LabContextMiddleware on this request.
    - `scoped(Model)` is the model's rows of the request's labs
      (`Model.objects.in_scope(scope)`); `get_scoped(Model, pk)` one row
      (`Model.get_in_scope`: the instance cache first for INSTANCE-cached
      models), or Http404 whether the row is missing or another lab's:
      "not yours" looks exactly like "does not exist".
    - `data()`: the JSON object body, parsed by core.utils.json_input (a
      400 naming the place for anything malformed), with the JSON type of
      each value checked: a value under a field name of `model` must have
      the type that field expects (text for text fields, an integer, never
      true, for integer fields and foreign keys, "YYYY-MM-DD" for dates...),
      and `body_fields` declares the view's other fields. `version` is a
      JSON integer in every view. One 400 lists every mistyped field.

    Example: `class PatientView(GenericView): model = Patient; def get(self,
    request, pk): return JsonResponse(as_json(self.get_scoped(Patient, pk)))`.
    """

    lab_kinds: tuple[LabKind, ...] = (LabKind.STAFF, LabKind.DOCTOR, LabKind.API_KEY)
    #: The model whose fields the body may carry; their JSON types are checked.
    model: type[Model] | None = None
    #: The body's other fields and their JSON types (they override the
    #: model's), e.g. `{"reason": TEXT}`.
    body_fields: Mapping[str, JsonField] = {}

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        """Refuse a caller whose kind is not in `lab_kinds`; then the handler."""
        if getattr(request, "lab_kind", None) not in self.lab_kinds:
            return json_error("This endpoint is not open to this kind of caller.", 403)
        return super().dispatch(request, *args, **kwargs)

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        """The view behind `require_lab`: 401 without a lab, and the CSRF
        check for sessions only (API-key requests are exempt)."""
        return require_lab(super().as_view(**initkwargs))

    def get_lab_id_from_session(self, session: SessionBase) -> int | None:
        """The lab the session acts for after authorising it as every
        request is (core.tenancy.access), else None: never the raw session
        value. For this request's session, its scope's lab."""
        request = getattr(self, "request", None)
        if request is not None and session is getattr(request, "session", None):
            return request.lab_id
        scope = scope_for_session(session)
        return scope.lab_id if scope else None

    def get_child_lab_ids(self, parent_lab_id: int) -> list[int]:
        """Ids of every lab under `parent_lab_id`, at any depth, sorted
        (the labs whose data a parent lab sees), as authorisation sees them
        (core.tenancy.facts: one Redis call when cached)."""
        return list(lab_facts([parent_lab_id])[parent_lab_id].descendants)

    @property
    def scope(self) -> LabScope:
        """The request's scope (dispatch has refused requests without one)."""
        return self.request.scope  # type: ignore[attr-defined]

    @property
    def lab_id(self) -> int:
        """The request's lab."""
        return self.scope.lab_id

    def lab_ids(self) -> list[int]:
        """The request's lab and its child labs: the rows it may see."""
        return list(self.scope.lab_ids)

    def scoped(self, model: type[M]) -> QuerySet[M]:
        """`model`'s rows in the request's labs."""
        return model._default_manager.in_scope(self.scope)  # type: ignore[attr-defined]

    def get_scoped(self, model: type[M], pk: Any) -> M:
        """One row of the request's labs, or Http404 (missing or not yours).

        INSTANCE-cached models are read from the request lab's cache hash
        first (no query on a hit); rows of child labs from the database."""
        not_found = Http404(f"No {model._meta.verbose_name} with id {pk}.")
        return model.get_in_scope(self.scope, not_found, pk=pk)  # type: ignore[attr-defined]

    def data(self) -> dict[str, Any]:
        """The request's JSON object (query parameters for GET), its values
        of the JSON types `json_fields()` declares. Raises MalformedJson or
        ValidationError (400s naming the fields) otherwise."""
        data = request_json(self.request)
        if self.request.method not in QUERY_METHODS:
            check_fields(data, self.json_fields())
        return data

    def json_fields(self) -> dict[str, JsonField]:
        """The JSON type of each body field this view knows: `version`, the
        model's fields, then `body_fields`."""
        model_fields = model_json_fields(self.model) if self.model else {}
        return {"version": INTEGER, **model_fields, **self.body_fields}


@method_decorator(never_cache, name="dispatch")
class LivenessView(View):
    """Liveness: the process answers. See the module docstring."""

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest) -> JsonResponse:
        """200 `{"status": "ok"}`, without touching anything."""
        return JsonResponse({"status": str(Status.OK)})


@method_decorator(never_cache, name="dispatch")
class ReadinessView(View):
    """Readiness: the dependencies answer. See the module docstring."""

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest) -> JsonResponse:
        """The health report (200 or 503), or 403 for a caller not allowed."""
        if not may_read_readiness(request):
            return json_error(
                "Readiness is readable only from an allowed address or with "
                "the health check token.",
                403,
            )
        report = readiness_report()
        return JsonResponse(
            report.as_dict(), status=503 if report.status is Status.DOWN else 200
        )


@method_decorator(never_cache, name="dispatch")
class MetricsView(View):
    """Metrics for Prometheus. See the module docstring."""

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest) -> HttpResponse:
        """The exposition (in the format the Accept header asks for), or 403
        for a caller not allowed."""
        if not may_read_readiness(request):
            return json_error(
                "Metrics are readable only from an allowed address or with "
                "the health check token.",
                403,
            )
        body, content_type = exposition(
            request.headers.get("Accept"), [BacklogCollector()]
        )
        return HttpResponse(body, content_type=content_type)


def may_read_readiness(request: HttpRequest) -> bool:
    """True for a request from HEALTH_CHECK_ALLOWED_IPS, or carrying
    `Authorization: Bearer <HEALTH_CHECK_TOKEN>` (when a token is set)."""
    return _from_allowed_address(request) or _has_health_token(request)


def allowed_networks() -> list[IPNetwork]:
    """HEALTH_CHECK_ALLOWED_IPS as networks (an address is a /32 or /128).

    Example: `["127.0.0.1", "10.0.0.0/8"]` gives
    `[IPv4Network("127.0.0.1/32"), IPv4Network("10.0.0.0/8")]`.
    """
    networks = []
    for entry in settings.HEALTH_CHECK_ALLOWED_IPS:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"HEALTH_CHECK_ALLOWED_IPS has {entry!r}, which is not an IP "
                "address or network; use e.g. 10.0.0.5, 10.0.0.0/8 or ::1."
            ) from None
    return networks


def _from_allowed_address(request: HttpRequest) -> bool:
    networks = allowed_networks()
    # The address as the activity log reads it (REMOTE_ADDR, or the trusted
    # proxy's header), so both agree on who asked.
    raw = client_ip_for(request) or ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:  # a proxy header such as "unknown": not an address
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 from a dual-stack server
    return any(address in network for network in networks)


def _has_health_token(request: HttpRequest) -> bool:
    token = settings.HEALTH_CHECK_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    given = given.strip()
    if not token or scheme.lower() != "bearer" or not given:
        return False
    # Digests of equal length, so the comparison reveals neither the token
    # nor its length.
    return hmac.compare_digest(
        hashlib.sha256(given.encode()).digest(), hashlib.sha256(token.encode()).digest()
    )
