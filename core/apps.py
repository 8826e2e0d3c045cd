"""App configuration of `core`."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared infrastructure: BaseModel, lab scoping, transactions helpers."""

    name = "core"
    verbose_name = "Core"
