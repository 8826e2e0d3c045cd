"""App configuration of `core`."""

from django.apps import AppConfig

from core.utils.sentry import init_sentry


class CoreConfig(AppConfig):
    """Shared infrastructure: BaseModel, lab scoping, transactions helpers."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        """Start error reporting (a no-op unless settings.SENTRY_DSN is set)."""
        init_sentry()
