"""The admin of core's own records: the activity log (read-only), labs'
translations and API keys (listed, renamed and revoked; keys are created
by `manage.py create_api_key`, never here)."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.activity_log.models import ActivityLog
from core.admin.base import BaseModelAdmin
from core.models.api_key import ApiKey
from core.models.translation import LabTranslation


@admin.register(ActivityLog)
class ActivityLogAdmin(admin.ModelAdmin):
    """The audit trail, read-only: nobody adds, changes or deletes entries
    here (the model and, on PostgreSQL, the database refuse it anyway)."""

    list_display = (
        "created_at",
        "lab_id",
        "model_label",
        "instance_id",
        "action",
        "actor_name",
    )
    list_filter = ("action", "actor_kind", "model_label")
    search_fields = ("instance_id", "message", "reason", "actor_name", "request_id")
    date_hierarchy = "created_at"
    ordering = ("-id",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LabTranslation)
class LabTranslationAdmin(BaseModelAdmin):
    """Labs' own wording of report texts, one row per lab, key and language.
    Saves go through the model (validation, activity log, cache
    invalidation), so the admin and the CSV import behave alike."""

    list_display = ("key", "language", "lab", "text")
    list_filter = ("language", "key", "lab")
    list_select_related = ("lab",)
    search_fields = ("key", "text")


@admin.register(ApiKey)
class ApiKeyAdmin(BaseModelAdmin):
    """Labs' API keys: listed, renamed and revoked here, never created (a key
    is shown once, by `manage.py create_api_key`) nor deleted (a revoked key
    stays for the audit trail). The stored digest is never shown."""

    list_display = ("name", "lab", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    list_select_related = ("lab",)
    search_fields = ("name", "prefix")
    fields = (
        "lab",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
        "version",
    )
    actions = ("revoke_keys",)

    def get_readonly_fields(
        self, request: HttpRequest, obj: Any = None
    ) -> tuple[str, ...]:
        """Everything but the name: the rest is set by the key's lifecycle."""
        return tuple(field for field in self.fields if field != "name")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke the selected API keys", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        """Revoke each selected key (each revocation activity-logged)."""
        revoked = sum(key.revoke(reason="Revoked in the admin") for key in queryset)
        self.message_user(request, f"{revoked} API key(s) revoked.")
