"""`ReadOnlyAdminMixin`: admin pages of ledgers nobody edits by hand."""

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Nothing is added, changed or deleted by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
