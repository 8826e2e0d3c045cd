"""Starting and stopping the Sentry SDK.

`init_sentry()` runs from `CoreConfig.ready()` and does nothing unless
settings.SENTRY_DSN is set: without a DSN, errors go to logging only.
"""

import logging

import sentry_sdk
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from sentry_sdk.integrations.django import DjangoIntegration

from core.utils.sentry.scrubbing import scrub_breadcrumb, scrub_event

logger = logging.getLogger(__name__)

#: How long shutdown waits for queued events to be sent.
SHUTDOWN_TIMEOUT_SECONDS = 2.0


def init_sentry() -> bool:
    """Start the SDK with the Django integration and the patient-data
    scrubbers when settings.SENTRY_DSN is set; return whether it started.

    The SDK's no-PII default keeps it from adding users, cookies and IP
    addresses; `scrub_event` / `scrub_breadcrumb` remove the rest.
    """
    dsn = getattr(settings, "SENTRY_DSN", "")
    if not dsn:
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=getattr(settings, "SENTRY_ENVIRONMENT", "") or None,
        traces_sample_rate=_sample_rate(
            getattr(settings, "SENTRY_TRACES_SAMPLE_RATE", 0)
        ),
        integrations=[DjangoIntegration()],
        # send_default_pii is left unset, which the SDK treats as False: no
        # users, cookies or IP addresses. (Setting it, even to False, is
        # deprecated since sentry-sdk 2.7x in favour of data_collection.)
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
    )
    logger.info("Sentry started")
    return True


def shutdown_sentry(timeout: float = SHUTDOWN_TIMEOUT_SECONDS) -> None:
    """Send what is queued (within `timeout` seconds) and stop reporting:
    afterwards the SDK records nothing until `init_sentry()` runs again."""
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=timeout)
    sentry_sdk.get_global_scope().set_client(None)


def _sample_rate(value: object) -> float:
    """SENTRY_TRACES_SAMPLE_RATE as a float in [0, 1]."""
    try:
        rate = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ImproperlyConfigured(
            f"SENTRY_TRACES_SAMPLE_RATE={value!r} must be a number from 0 (no "
            "performance traces) to 1 (every request)."
        )
    return rate
