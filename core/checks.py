"""System checks: a misconfigured service is reported by `manage.py check`
(and at start-up), not at its first use in a request."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from core.utils.clients import ServiceClient
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
