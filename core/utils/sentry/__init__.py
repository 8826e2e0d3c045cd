"""Error reporting to Sentry, with patient data removed before sending.

`init_sentry()` (called by `CoreConfig.ready()`) starts the SDK only when
settings.SENTRY_DSN is set; `scrubbing` holds the `before_send` and
`before_breadcrumb` hooks.
"""

from core.utils.sentry.scrubbing import scrub_breadcrumb, scrub_event, scrub_text
from core.utils.sentry.setup import init_sentry, shutdown_sentry

__all__ = [
    "init_sentry",
    "scrub_breadcrumb",
    "scrub_event",
    "scrub_text",
    "shutdown_sentry",
]
