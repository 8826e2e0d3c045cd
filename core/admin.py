"""Admin support for BaseModel: the same validation and version check as save().

`BaseModelAdmin` gives a form that
- carries the version the user loaded in a hidden field, so saving a page that
  someone else changed meanwhile shows an error instead of overwriting, and
- runs the model's `validate()`, so its errors show beside the fields instead
  of as a server error;
and deletes selected rows through `delete_each()` (each row's own delete()).
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from core.models.activity_log import ActivityLog
from core.models.api_key import ApiKey
from core.models.base import BaseModel
from core.models.translation import LabTranslation

#: Entries per page of a record's History.
HISTORY_PAGE_SIZE = 50


class BaseModelForm(forms.ModelForm):
    """ModelForm for BaseModel: version check and `validate()` at clean time."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["loaded_version"].initial = self.instance.version

    # Django's private hook that builds the instance and runs full_clean();
    # the documented clean() runs too early (before the instance is built).
    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        instance: BaseModel = self.instance
        if instance.pk is not None:
            loaded = self.cleaned_data.get("loaded_version")
            if loaded is not None and loaded != instance.version:
                self.add_error(
                    None,
                    "Someone else changed this record after you opened it "
                    f"(you opened version {loaded}, it is now at version "
                    f"{instance.version}). Reload the page and apply your change "
                    "again.",
                )
                return
            if loaded is not None:
                instance.version = loaded
        try:
            instance.validate(created=instance._state.adding, update_fields=None)
        except ValidationError as exc:
            self._update_errors(exc)  # type: ignore[attr-defined]


class BaseModelAdmin(admin.ModelAdmin):
    """ModelAdmin for BaseModel subclasses."""

    form = BaseModelForm
    readonly_fields = ("version", "created_at", "updated_at")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        queryset.delete_each()  # type: ignore[attr-defined]

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> TemplateResponse:
        """The record's timeline from the activity log (who changed which
        field from what to what, and why), instead of Django's admin LogEntry,
        which knows only of changes made in the admin."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        cursor = request.GET.get("cursor")
        entries = ActivityLog.objects.filter(
            model_label=obj._meta.label_lower, instance_id=str(obj.pk)
        )
        if cursor and cursor.isdigit():
            entries = entries.filter(id__lt=int(cursor))
        page = list(entries.order_by("-id")[: HISTORY_PAGE_SIZE + 1])
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {obj}",
            "opts": self.opts,
            "object": obj,
            "entries": page[:HISTORY_PAGE_SIZE],
            "next_cursor": page[HISTORY_PAGE_SIZE - 1].id
            if len(page) > HISTORY_PAGE_SIZE
            else None,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/core/activity_history.html", context)


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


# Webhook endpoints and deliveries have their own module; imported last (it
# uses BaseModelAdmin above) so that Django's admin discovery registers them.
from core import admin_webhooks  # noqa: E402, F401
