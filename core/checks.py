"""System checks: a misconfigured service is reported by `manage.py check`
(and at start-up), not at its first use in a request."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from core.activity_log.checkpoint_keys import (
    key_id,
    retired_keys,
    signing_key,
    verify_key,
)
from core.fusion.schedules import schedule_problems
from core.utils.clients import ServiceClient, unchosen_stand_ins
from core.utils.encryption import configuration_problem


@register()
def check_services(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Each settings.SERVICES entry names an importable ServiceClient class
    and gives its OPTIONS as a dict."""
    errors: list[CheckMessage] = []
    for name, config in getattr(settings, "SERVICES", {}).items():
        where = f"settings.SERVICES[{name!r}]"
        if not isinstance(config, dict) or "BACKEND" not in config:
            errors.append(
                Error(f"{where} must be a dict with a BACKEND.", id="core.E001")
            )
            continue
        try:
            backend = import_string(config["BACKEND"])
        except ImportError as exc:
            errors.append(
                Error(
                    f"{where}['BACKEND'] = {config['BACKEND']!r} cannot be imported.",
                    hint=str(exc),
                    id="core.E002",
                )
            )
            continue
        if not (isinstance(backend, type) and issubclass(backend, ServiceClient)):
            errors.append(
                Error(
                    f"{where}['BACKEND'] is not a ServiceClient subclass.",
                    hint="Service clients subclass core.utils.clients.ServiceClient.",
                    id="core.E003",
                )
            )
        if not isinstance(config.get("OPTIONS", {}), dict):
            errors.append(Error(f"{where}['OPTIONS'] must be a dict.", id="core.E004"))
    return errors


@register()
def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The patient-data encryption keys are set (or, in DEBUG, a development
    key file is or can be made) and well formed. The message names the
    variable and what is expected, never a key."""
    problem = configuration_problem()
    if problem is None:
        return []
    return [
        Error(
            problem,
            hint="See the README section on encryption for the key format.",
            id="core.E020",
        )
    ]


@register(Tags.security, deploy=True)
def check_https_behind_a_proxy(
    app_configs: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """`check --deploy`: HTTPS redirection is on, but no header tells a request
    that came through a TLS-terminating proxy from plain HTTP, so behind one
    every request would be redirected to itself, endlessly."""
    if not settings.SECURE_SSL_REDIRECT or settings.SECURE_PROXY_SSL_HEADER:
        return []
    return [
        Warning(
            "SECURE_SSL_REDIRECT is on and SECURE_PROXY_SSL_HEADER is not set: "
            "behind a TLS-terminating proxy every request looks like plain HTTP "
            "and is redirected to HTTPS again and again.",
            hint=(
                "Set DJANGO_SECURE_PROXY_SSL_HEADER to the header the proxy sets, "
                "overwriting the client's, e.g. HTTP_X_FORWARDED_PROTO,https; or "
                "DJANGO_SECURE_SSL_REDIRECT=0 if the proxy redirects to HTTPS "
                "itself. Without a proxy (TLS ends in gunicorn) ignore this."
            ),
            id="core.W030",
        )
    ]


#: What each service does when it only stands in for the real one.
STAND_IN_EFFECTS = {
    "slack": "Slack messages (critical results, disabled webhook endpoints) "
    "would only be written to the log",
    "pusher": "real-time events (report.ready, pdf.ready) would only be "
    "written to the log",
    "s3": "files would be kept on this machine's disk, not shared between "
    "hosts and lost with it",
    "cache": "the instance cache, rate limits and render slots would be per "
    "process, and sessions would live in the database",
    "es": "no search server: the activity log would stay in the database "
    "only, unshipped",
    "docdb": "integration logs would go to a database table, not DocumentDB",
}


@register()
def check_stand_ins(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """With DEBUG off, no service may run on a log-only or local stand-in
    (core.utils.capabilities: STAND_IN) that the environment did not choose
    in LIS_LOCAL_SERVICES, and that list names only known services."""
    errors: list[CheckMessage] = [
        Error(
            f"settings.SERVICES[{name!r}] is {backend}, a stand-in: "
            f"{STAND_IN_EFFECTS.get(name, 'the service would not be reached')}.",
            hint=(
                f"Configure the real service (README, Configuration), or choose "
                f"the stand-in explicitly: LIS_LOCAL_SERVICES={name} (comma-"
                "separated with others)."
            ),
            id="core.E040",
        )
        for name, backend in unchosen_stand_ins().items()
    ]
    unknown = sorted(set(settings.LOCAL_SERVICES) - set(settings.SERVICES))
    if unknown:
        errors.append(
            Error(
                f"LIS_LOCAL_SERVICES names {', '.join(unknown)}, which "
                f"settings.SERVICES does not have.",
                hint=f"Use names among: {', '.join(sorted(settings.SERVICES))}.",
                id="core.E041",
            )
        )
    return errors


@register()
def check_checkpoint_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The audit trail's checkpoint keys: required with DEBUG off (core.E050),
    readable Ed25519 keys, the retired ones included (core.E051), and a
    verify key that is the signing key's public half when both are set
    (core.E052). Never shows a key."""
    try:
        private, public = signing_key(), verify_key()
        retired_keys()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="core.E051")]
    if private is None and not settings.DEBUG:
        return [
            Error(
                "No ACTIVITY_LOG_SIGNING_KEY (or ACTIVITY_LOG_SIGNING_KEY_FILE): "
                "the audit trail's chain heads would not be signed outside the "
                "database, so a database administrator could rewrite history "
                "unnoticed.",
                hint="Make one with `openssl genpkey -algorithm ed25519 -out "
                "signing.pem`; see docs/audit-checkpoints.md.",
                id="core.E050",
            )
        ]
    if private is not None and public is not None and _mismatched(private, public):
        return [
            Error(
                "ACTIVITY_LOG_VERIFY_KEY is not the public half of "
                "ACTIVITY_LOG_SIGNING_KEY: every checkpoint would fail.",
                id="core.E052",
            )
        ]
    return []


def _mismatched(private: Any, public: Any) -> bool:
    return bool(key_id(private.public_key()) != key_id(public))


@register()
def check_schedules(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Each entry of settings.FUSION_SCHEDULES names a job, a five-field cron
    expression, a time zone ("UTC", an IANA name or "lab"), a catch-up
    policy and a queue its job's backend has (core.fusion.schedules)."""
    return [
        Error(
            problem,
            hint="See docs/jobs.md, Schedules.",
            id="core.E060",
        )
        for problem in schedule_problems()
    ]
