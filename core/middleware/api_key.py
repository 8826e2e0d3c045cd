"""API-key authentication: `Authorization: Bearer lis_...` or `X-API-Key: lis_...`.

`ApiKeyMiddleware` runs after AuthenticationMiddleware. On a request that
presents a key:

- a good key sets `request.api_key` (the ApiKey row, lab loaded); the request
  is then the key's alone: `request.user` becomes anonymous, so a browser
  session riding along cannot add its permissions, and the lab is the key's;
- a bad, revoked or malformed key is refused at once with 401 (JSON), on any
  route, and written to the activity log (`api_key_refused`); after
  settings.LOGIN_FAILURE_LIMIT_PER_IP failures from one address within the
  window, that address gets 429 without the key being looked up
  (`core.auth.throttle`, on the rate limits' counters: Redis, or in
  process; the throttle is skipped while Redis is down: keys are random
  256-bit secrets, guessing them is hopeless anyway).

Use is logged (`api_key_used`) when `last_used_at` is written, at most once
a minute per key: the changes a key makes carry it as their actor anyway.
Requests without a key get `request.api_key = None`.
"""

import logging
from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse

from core.auth.security_events import (
    API_KEY_MODEL_LABEL,
    SecurityEvent,
    record_security_event,
)
from core.auth.throttle import SignInThrottle
from core.cache.shared_redis import StoreUnavailable
from core.http import json_error
from core.metrics.families import SIGN_IN_THROTTLED
from core.models.api_key import KEY_PREFIX, ApiKey, ApiKeyRefused
from core.ratelimit.counters import counter_store
from core.utils.activity_log.context import actor_for_api_key, current_request

logger = logging.getLogger(__name__)

#: Scheme of the Authorization header that carries a key.
BEARER = "bearer"


def presented_api_key(request: HttpRequest) -> str | None:
    """The key the request presents, or None.

    `X-API-Key: <key>` wins over `Authorization: Bearer <key>`. A bearer
    token is ours only when it starts with `lis_`: other tokens (the health
    check's, a proxy's) and other schemes (Basic, ...) are left alone. Any
    X-API-Key value, even empty, is presented (and refused if bad): the
    client meant to send a key.
    """
    header = request.headers.get("X-API-Key")
    if header is not None:
        return header.strip()
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == BEARER and credentials.startswith(KEY_PREFIX):
        return credentials
    return None


class ApiKeyMiddleware:
    """Authenticates requests that present an API key; see the module docstring."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.api_key = None  # type: ignore[attr-defined]
        presented = presented_api_key(request)
        if presented is None:
            return self.get_response(request)
        throttle = SignInThrottle(
            username=None, client_ip=current_request().client_ip, store=counter_store()
        )
        blocked_for = _blocked_for(throttle)
        if blocked_for:
            SIGN_IN_THROTTLED.labels("api_key").inc()
            response = json_error(
                "Too many failed attempts from this address; try again in "
                f"{blocked_for} seconds.",
                429,
            )
            response["Retry-After"] = str(blocked_for)
            return response
        try:
            api_key = ApiKey.authenticate(presented)
        except ApiKeyRefused as refused:
            _refuse(refused, throttle)
            return json_error(str(refused), 401)
        request.api_key = api_key  # type: ignore[attr-defined]
        request.user = AnonymousUser()
        if api_key.record_use():
            record_security_event(
                SecurityEvent.API_KEY_USED,
                model_label=API_KEY_MODEL_LABEL,
                instance_id=api_key.pk,
                lab_id=api_key.lab_id,
                message="API key used",
                actor=actor_for_api_key(api_key),
            )
        return self.get_response(request)


def _blocked_for(throttle: SignInThrottle) -> int:
    try:
        return throttle.retry_after_seconds()
    except StoreUnavailable as exc:
        logger.warning("API-key failure throttle skipped: %s", exc)
        return 0


def _refuse(refused: ApiKeyRefused, throttle: SignInThrottle) -> None:
    try:
        throttle.record_failure()
    except StoreUnavailable as exc:
        logger.warning("API-key failure not counted: %s", exc)
    api_key = refused.api_key
    record_security_event(
        SecurityEvent.API_KEY_REFUSED,
        model_label=API_KEY_MODEL_LABEL,
        instance_id=api_key.pk if api_key else "",
        lab_id=api_key.lab_id if api_key else None,
        message=f"API key refused ({refused.reason})",
    )
