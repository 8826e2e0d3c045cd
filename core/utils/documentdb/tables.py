"""The tables the DocumentDB clients use, found through Django's app
registry, as `get_user_model()` finds the user model.

The clients are service clients (core/utils/), and utilities sit below
core's models and import none of them (README, "Layers"). The embedded
client stores logs in `IntegrationLog`; the DocumentDB client reads its
account's `DocumentDBConnection`.
"""

from typing import TYPE_CHECKING

from django.apps import apps

if TYPE_CHECKING:
    from core.models.documentdb import DocumentDBConnection, IntegrationLog


def connection_table() -> "type[DocumentDBConnection]":
    """The `DocumentDBConnection` model: one connection URL per account."""
    return apps.get_model("core", "DocumentDBConnection")


def log_table() -> "type[IntegrationLog]":
    """The `IntegrationLog` model: the embedded client's table."""
    return apps.get_model("core", "IntegrationLog")
