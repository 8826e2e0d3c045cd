"""App configuration of `core`."""

from django.apps import AppConfig

from core.utils.sentry import init_sentry


class CoreConfig(AppConfig):
    """Shared infrastructure: BaseModel, lab scoping, transactions helpers."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        """Register the system checks; start error reporting (a no-op unless
        settings.SENTRY_DSN is set)."""
        # Imported for its @register side effect (the checks of SERVICES).
        from core import checks  # noqa: F401

        init_sentry()
