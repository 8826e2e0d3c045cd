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

from core.activity_log.models import ActivityLog
from core.models.base import BaseModel

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
