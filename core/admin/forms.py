"""BaseModelForm: the admin form of a BaseModel, with the model's own rules.

Invariants:

- The form carries the version the user loaded (`loaded_version`, hidden);
  saving a page someone else changed meanwhile is an error on the form,
  never an overwrite.
- The model's `validate()` runs at clean time, so its errors show beside
  the fields.
- Every model error becomes a form error, never an exception: an error
  on a field the form shows goes on that field, any other (a read-only
  field, a rule about the whole record) is a non-field error that names
  the field in words (`model_errors_on_form`).
- A model that can require a reason for a change
  (`change_reason_required`) gets a "Reason for this change" field on its
  change form, required when the rule applies to the record as loaded, and
  checked again once the edits are applied (a rule may depend on the new
  values). BaseModelAdmin passes it to `save(reason=...)`.
"""

from functools import cache
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    FieldDoesNotExist,
    ValidationError,
)
from django.db import models
from django.utils.text import capfirst

from core.models.activity_log_base import ActivityLogBase
from core.models.base import BaseModel

#: The form field holding the reason, and the key the model's own reason
#: check (`check_change_reason`) raises its error under.
REASON_FIELD = "change_reason"
MODEL_REASON_KEY = "reason"


class BaseModelForm(forms.ModelForm):
    """ModelForm for BaseModel; see the module docstring."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    #: An error the model raised when the admin saved this form's data (set
    #: on a subclass by BaseModelAdmin to show it on the re-rendered form).
    refused: ClassVar[ValidationError | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["loaded_version"].initial = self.instance.version
        reason = self.fields.get(REASON_FIELD)
        if reason is not None and self.instance.pk is not None:
            reason.required = self.instance.change_reason_required("update")

    @property
    def change_reason(self) -> str:
        """The reason typed for this change ("" when none)."""
        return str(self.cleaned_data.get(REASON_FIELD) or "").strip()

    # Django's private hook that builds the instance and runs full_clean();
    # the documented clean() runs too early (before the instance is built).
    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        instance: BaseModel = self.instance
        if self.refused is not None:
            self._update_errors(self.refused)
            return
        if instance.pk is not None and not self._version_matches(instance):
            return
        if instance.pk is not None and REASON_FIELD in self.fields:
            self._check_reason(instance)
        try:
            instance.validate(created=instance._state.adding, update_fields=None)
        except ValidationError as exc:
            self._update_errors(exc)

    def _version_matches(self, instance: BaseModel) -> bool:
        loaded = self.cleaned_data.get("loaded_version")
        if loaded is None:
            return True
        if loaded != instance.version:
            self.add_error(
                None,
                "Someone else changed this record after you opened it "
                f"(you opened version {loaded}, it is now at version "
                f"{instance.version}). Reload the page and apply your change "
                "again.",
            )
            return False
        instance.version = loaded
        return True

    def _check_reason(self, instance: BaseModel) -> None:
        if REASON_FIELD in self.errors or self.change_reason:
            return
        try:
            instance.check_change_reason("update", "")
        except ValidationError as exc:
            self._update_errors(exc)

    def _update_errors(self, errors: ValidationError) -> None:
        """Django's mapping of model errors onto the form, made total: see
        `model_errors_on_form`."""
        shown, other = model_errors_on_form(self, errors)
        if shown:
            super()._update_errors(ValidationError(shown))  # type: ignore[misc]
        for message in other:
            self.add_error(None, message)


def model_errors_on_form(
    form: forms.ModelForm, error: ValidationError
) -> tuple[dict[str, list[ValidationError]], list[str]]:
    """Split a model's `error` into the errors of fields `form` shows
    (`{name: [errors]}`, the model's "reason" going to the reason field)
    and messages for the rest, each naming its field in words.

    Example: `{"status": ["A released report cannot become draft."]}` on a
    form without a status field -> `({}, ["Status: A released report cannot
    become draft."])`.
    """
    if not hasattr(error, "error_dict"):
        return {}, list(error.messages)
    shown: dict[str, list[ValidationError]] = {}
    other: list[str] = []
    for key, errors in error.error_dict.items():
        name = _form_field_name(form, key)
        if name is not None:
            shown.setdefault(name, []).extend(errors)
            continue
        label = _field_label(form._meta.model, key)
        for message in ValidationError(errors).messages:
            other.append(f"{label}: {message}" if label else message)
    return shown, other


def _form_field_name(form: forms.ModelForm, key: str) -> str | None:
    if key == MODEL_REASON_KEY and REASON_FIELD in form.fields:
        return REASON_FIELD
    if key != NON_FIELD_ERRORS and key in form.fields:
        return key
    return None


def _field_label(model: type[models.Model], key: str) -> str:
    """The field's name as people read it ("" for a whole-record error)."""
    if key == NON_FIELD_ERRORS:
        return ""
    if key == MODEL_REASON_KEY:
        return "Reason"
    try:
        return str(capfirst(model._meta.get_field(key).verbose_name))  # type: ignore[union-attr]
    except (FieldDoesNotExist, AttributeError):
        return str(capfirst(key.replace("_", " ")))


def may_require_reason(model: type[models.Model]) -> bool:
    """Whether `model` overrides `change_reason_required` (may ever need
    a reason); only those models get the reason field."""
    rule = getattr(model, "change_reason_required", None)
    return rule is not None and rule is not ActivityLogBase.change_reason_required


@cache
def with_reason_field(form: type[BaseModelForm]) -> type[BaseModelForm]:
    """`form` with the "Reason for this change" field (one class per form)."""
    field = forms.CharField(
        label="Reason for this change",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Kept in the record's History with the change. Required when "
        "the record can only be changed with a reason (a released report).",
    )
    return type(f"{form.__name__}WithReason", (form,), {REASON_FIELD: field})


def refusing(form: type[BaseModelForm], error: ValidationError) -> type[BaseModelForm]:
    """`form` showing `error` (what the model refused on save) as its errors."""
    return type(form.__name__, (form,), {"refused": error})


__all__ = [
    "REASON_FIELD",
    "BaseModelForm",
    "may_require_reason",
    "model_errors_on_form",
    "refusing",
    "with_reason_field",
]
