"""BaseModelAdmin: the admin of every BaseModel, which never answers a model
rule with a server error.

- Its form (core/admin/forms.py) checks the version the user loaded, runs
  the model's `validate()` and, for a model that can require one, asks for
  the reason of a change, which is passed to `save(reason=...)`.
- Its add and change pages read on the record's lab's clock: dates shown,
  and dates typed, are in the lab's time zone.
- A `ValidationError` (or a version conflict) raised by `save()` itself,
  after the form was valid (a hook's rule, a race), is shown on the same
  form, as the form's own errors are; nothing is written.
- A record that may not be deleted says why in plain words
  (`deletion_refusal`), on its delete page and in the "Delete selected"
  action, instead of Django's list of "protected related objects"; a
  delete the model refuses anyway becomes a message, never a 500.
- Selected rows are deleted through `delete_each()` (each row's own
  delete()).
- History (core/admin/history.py) reads the activity log on the record's
  lab's clock, with choice labels and related rows' names.
"""

import dataclasses
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db import router, transaction
from django.db.models import ProtectedError, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from core.admin.change_display import record_zone
from core.admin.forms import (
    BaseModelForm,
    may_require_reason,
    refusing,
    with_reason_field,
)
from core.admin.history import history_response
from core.exceptions import VersionConflict

#: The request attribute carrying what save() refused to the form shown again.
_REFUSED_ATTRIBUTE = "_core_admin_refused_save"


class BaseModelAdmin(admin.ModelAdmin):
    """ModelAdmin for BaseModel subclasses; see the module docstring."""

    form = BaseModelForm
    readonly_fields = ("version", "created_at", "updated_at")

    # -- the form -------------------------------------------------------------

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm]:
        """The admin's form, with the reason field on a change form of a
        model that may require one, and showing what save() refused when
        the form is shown again after a refused save."""
        if obj is not None and may_require_reason(self.model):
            kwargs.setdefault("form", with_reason_field(self.form))
        form = super().get_form(request, obj, change, **kwargs)
        refused = getattr(request, _REFUSED_ATTRIBUTE, None)
        if refused is not None and issubclass(form, BaseModelForm):
            return refusing(form, refused)
        return form

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any, change: bool
    ) -> None:
        """Save with the reason typed on the form (kept in the History)."""
        reason = form.change_reason if isinstance(form, BaseModelForm) else ""
        obj.save(reason=reason)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Django's add/change page, on the record's lab's clock (its dates
        shown, and typed ones read, in the lab's time zone; `page_zone`).
        When save() refuses the valid form's data (its transaction is rolled
        back), the same page is shown again from the posted data with the
        refusal as the form's errors."""
        with timezone.override(self.page_zone(request, object_id)):
            try:
                response = super().changeform_view(
                    request, object_id, form_url, extra_context
                )
            except (ValidationError, VersionConflict) as refused:
                if request.method != "POST" or hasattr(request, _REFUSED_ATTRIBUTE):
                    raise
                setattr(request, _REFUSED_ATTRIBUTE, as_validation_error(refused))
                response = super().changeform_view(
                    request, object_id, form_url, extra_context
                )
            # Rendered here, while the lab's zone is the current one.
            if isinstance(response, TemplateResponse):
                response.render()
        return response

    def page_zone(self, request: HttpRequest, object_id: str | None) -> ZoneInfo:
        """The clock a record's page reads on: its lab's (`record_zone`);
        for a new record, or none found, the reader's lab's, else UTC."""
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        return record_zone(obj, request)

    # -- deleting ---------------------------------------------------------------

    def deletion_refusal(self, request: HttpRequest, obj: Any) -> str | None:
        """Why `obj` may not be deleted, in plain words, or None. Override to
        state a domain's rule (a released report stays on record)."""
        return None

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        """Django's delete page, unless the record may not be deleted: then
        its change page with the reason, as it is when the model refuses."""
        obj = self.get_object(request, unquote(object_id))
        refusal = self.deletion_refusal(request, obj) if obj is not None else None
        if refusal is None:
            try:
                return super().delete_view(request, object_id, extra_context)
            except (ValidationError, ProtectedError, VersionConflict) as refused:
                refusal = f"{obj} was not deleted: {plain_refusal(refused)}"
        self.message_user(request, refusal, messages.ERROR)
        return HttpResponseRedirect(
            reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                args=[object_id],
                current_app=self.admin_site.name,
            )
        )

    def get_actions(
        self,
        request: HttpRequest,
        action_location: ActionLocation = ActionLocation.CHANGE_LIST,
    ) -> dict[str, Any]:
        """The admin's actions, "Delete selected" checking each row's
        `deletion_refusal` first."""
        actions: dict[str, Any] = super().get_actions(request, action_location)
        delete = actions.get("delete_selected")
        if delete is not None:
            actions["delete_selected"] = dataclasses.replace(
                delete, func=checked_delete_selected(self)
            )
        return actions

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        queryset.delete_each()  # type: ignore[attr-defined]

    # -- history ----------------------------------------------------------------

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> TemplateResponse:
        """The record's timeline from the activity log (see history.py),
        instead of Django's LogEntry, which knows only the admin's changes."""
        return history_response(self, request, object_id, extra_context)


def checked_delete_selected(
    model_admin: BaseModelAdmin,
) -> Callable[[Any, HttpRequest, QuerySet[Any]], Any]:
    """Django's "Delete selected" action, refusing (with each row's reason,
    and deleting nothing) when a selected row may not be deleted."""

    def action(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        refusals = [
            refusal
            for obj in queryset
            if (refusal := model_admin.deletion_refusal(request, obj)) is not None
        ]
        if not refusals:
            return delete_refused_as_message(modeladmin, request, queryset)
        for refusal in refusals:
            model_admin.message_user(request, refusal, messages.ERROR)
        model_admin.message_user(request, "Nothing was deleted.", messages.WARNING)
        return None

    action.allowed_permissions = ("delete",)  # type: ignore[attr-defined]
    return action


def delete_refused_as_message(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]
) -> Any:
    """Django's "Delete selected" in one transaction: a row the model
    refuses to delete (a rule in `before_delete`, rows still referring to
    it, a concurrent edit) leaves every row and Django's own log as they
    were, and is a message, never a 500."""
    try:
        with transaction.atomic(using=router.db_for_write(queryset.model)):
            return delete_selected(modeladmin, request, queryset)
    except (ValidationError, ProtectedError, VersionConflict) as refused:
        modeladmin.message_user(
            request, f"Nothing was deleted: {plain_refusal(refused)}", messages.ERROR
        )
        return None


def as_validation_error(error: Exception) -> ValidationError:
    """A save's refusal as a ValidationError the form can show."""
    if isinstance(error, ValidationError):
        return error
    return ValidationError(str(error))


def plain_refusal(error: Exception) -> str:
    """A refused delete's reason in words: the model's messages, or for rows
    that still refer to it, which ones (never a stack trace)."""
    if isinstance(error, ProtectedError):
        kinds = sorted({str(row._meta.verbose_name) for row in error.protected_objects})
        return (
            "other records still refer to it "
            f"({', '.join(kinds)}); they would have to go first."
        )
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


__all__ = ["BaseModelAdmin", "BaseModelForm"]
