"""BaseModel: the abstract model every domain model inherits.

Save path, all in one transaction (a savepoint when nested):

    validate() -> before_save() -> INSERT/UPDATE (version checked) ->
    INSERT of its activity log entry -> after_save()

- `validate()` raising `ValidationError` aborts before anything is written.
- Anything raised later (a hook, the database, a stale version) rolls the whole
  save back and leaves the instance as it was before `save()` (primary key,
  `version`, timestamps, the state the activity log diffs against), so it
  can be corrected and saved again.
- The entry is written after the row, so a refused write logs nothing, and
  an update that changes no logged field writes no entry.
- Every save bumps `version`. An UPDATE only matches the row at the version the
  instance was loaded with; otherwise `VersionConflict` is raised, so an edit
  from a stale copy can never silently overwrite someone else's.
- Side effects that leave the process (jobs, notifications) are registered with
  `self.on_commit(...)` and run only once the transaction commits.

Delete mirrors it: `before_delete()` -> DELETE (version checked) ->
`after_delete()`. No Django signals are used: every effect is explicit here.
Bulk QuerySet writes that would skip this are refused; see `managers.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from contextvars import ContextVar
from typing import Any, ClassVar, Self

from django.core.exceptions import (
    FieldDoesNotExist,
    ImproperlyConfigured,
    MultipleObjectsReturned,
    ObjectDoesNotExist,
    ValidationError,
)
from django.db import IntegrityError, models, router, transaction
from django.db.models.base import ModelBase
from django.db.models.fields import Field
from django.db.models.fields.reverse_related import ForeignObjectRel
from django.utils import timezone

from core.exceptions import VersionConflict
from core.models.activity_log_base import ActivityLogBase
from core.models.caching import CachingMixin
from core.models.managers import BaseManager
from core.models.save_state import restored_on_failure
from core.models.validation import (
    constraint_errors,
    convert,
    field_errors,
    missing_mandatory,
    missing_relations,
    unique_violation,
)
from core.utils.slack.jobs import post_slack_message
from core.utils.transactions import run_after_commit

#: Fields that save() manages; set_values() and forms never set them.
MANAGED_FIELDS = frozenset({"created_at", "updated_at", "version"})


class BaseModel(ActivityLogBase, CachingMixin, models.Model):
    """Abstract base of every domain model: lifecycle hooks, versioned saves,
    `set_values`, `get`, mandatory fields.

    Class-level options (override in subclasses):

    - `mandatory_fields`: names that must have a value (not None, "", [] or {});
      `validate_mandatory_fields()` names every missing one in one error.
    - `cache_type` and `allow_individual_instance_caching`: declared by
      CachingMixin, which reads them (the instance cache).
    - `webhook_enabled` (default False): set by WebhookEventsMixin, which a
      model that sends webhook events lists in its bases (the flag is read
      here, by save() and delete()).

    The features compose from mixins, each declaring its own options:
    LoadedStateMixin (via ActivityLogBase) keeps the loaded state,
    ActivityLogBase logs every change, CachingMixin caches instances; a
    domain model adds LabScopedMixin, EncryptedFieldsMixin and
    WebhookEventsMixin as it needs them (README, "Model features").

    Hooks receive `created` (True for an insert) and `update_fields` (None, or
    the names passed to `save(update_fields=...)`) as keyword arguments.
    """

    mandatory_fields: ClassVar[tuple[str, ...]] = ()
    #: The seed's flag; WebhookEventsMixin sets it (see the class docstring).
    webhook_enabled: ClassVar[bool] = False

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    version = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Bumped by every save; a save from an older copy is refused.",
    )

    objects: BaseManager[Any] = BaseManager()

    #: Set by save() for the duration of an UPDATE; read by _do_update().
    _expected_version: int | None = None

    class Meta:
        abstract = True

    # -- save and delete ----------------------------------------------------

    def save(
        self,
        *,
        force_insert: bool | tuple[ModelBase, ...] = False,
        force_update: bool = False,
        using: str | None = None,
        update_fields: Any = None,
        reason: str = "",
    ) -> None:
        """Validate, run the hooks and write, in one transaction (see module doc).

        `reason` is stored in the activity log entry; models may require one
        (`change_reason_required`).

        A new instance is always INSERTed (a clashing primary key is an error,
        never an overwrite); a loaded one is always UPDATEd at its version.
        """
        if update_fields is not None and not update_fields:
            return  # Django's rule: an empty update_fields saves nothing.
        created = self._state.adding
        if created and (force_update or update_fields):
            raise ValueError(
                f"This {type(self).__name__} has not been saved yet; it cannot be "
                "saved with force_update or update_fields."
            )
        using = using or router.db_for_write(type(self), instance=self)
        hook_kwargs = {"created": created, "update_fields": update_fields}
        action = "create" if created else "update"
        try:
            with restored_on_failure([self]), transaction.atomic(using=using):
                if not created:
                    self.check_change_reason("update", reason)
                self.full_validate(**hook_kwargs)
                self.before_save(**hook_kwargs)
                try:
                    self._write(using, created, update_fields)
                except IntegrityError as exc:
                    refusal = unique_violation(type(self), exc)
                    if refusal is None:
                        raise
                    raise refusal from exc
                entry = self.log_change(action, reason, update_fields)
                # Before mark_state_saved: the cache needs the lab the row was
                # loaded with, after_save what changed.
                self.invalidate_cache_on_commit(self.pk, self.version)
                changes = self.changes()
                self.mark_state_saved()
                if self.webhook_enabled and (created or entry is not None):
                    self._send_change_webhook(
                        action, entry.changes if entry is not None else ()
                    )
                self.after_save(**hook_kwargs, changes=changes, reason=reason)
        finally:
            self._expected_version = None

    save.alters_data = True  # type: ignore[attr-defined]

    def _write(self, using: str, created: bool, update_fields: Any) -> None:
        """INSERT or UPDATE the row (an UPDATE at the loaded version, see
        `_do_update`), with the managed fields set."""
        now = timezone.now()
        self.updated_at = now
        if created:
            self.created_at = now
            self.version = 1
            super().save(using=using, force_insert=True)
            return
        self._expected_version = self.version
        self.version += 1
        if update_fields is not None:
            update_fields = {*update_fields, "updated_at", "version"}
        super().save(using=using, force_update=True, update_fields=update_fields)

    def _do_update(
        self,
        base_qs: models.QuerySet[Any],
        using: str | None,
        pk_val: Any,
        values: Any,
        update_fields: Any,
        forced_update: Any,
        returning_fields: Any,
    ) -> Any:
        """Django's UPDATE step, restricted to the row at the loaded version.

        Overriding this (private but stable since Django 1.x) keeps the check
        and the write in one statement: no SELECT FOR UPDATE round trip.
        """
        expected = self._expected_version
        if expected is None or not _has_local_version(base_qs.model):
            return super()._do_update(
                base_qs, using, pk_val, values, update_fields, forced_update,
                returning_fields,
            )  # fmt: skip
        # Django's own step is `base_qs.filter(pk=pk_val)._update(...)`; one
        # filter with both conditions saves a queryset clone per save.
        filtered = base_qs.filter(pk=pk_val, version=expected)
        results = filtered._update(values, returning_fields)  # type: ignore[attr-defined]
        if not results:
            current = base_qs.filter(pk=pk_val).values_list("version", flat=True)
            raise VersionConflict(
                type(self).__name__, pk_val, expected, current.first()
            )
        return results

    def delete(
        self, using: str | None = None, keep_parents: bool = False, reason: str = ""
    ) -> tuple[int, dict[str, int]]:
        """Delete in one transaction: lock the row, check the version,
        `before_delete()`, DELETE, `after_delete()`."""
        using = using or router.db_for_write(type(self), instance=self)
        with restored_on_failure([self]), transaction.atomic(using=using):
            self._lock_at_loaded_version(using)
            self.check_change_reason("delete", reason)
            self.before_delete(reason=reason)
            self.log_change("delete", reason)
            if self.webhook_enabled:
                self._send_change_webhook("delete")
            pk = self.pk
            result = super().delete(using=using, keep_parents=keep_parents)
            self.after_delete(reason=reason)
            # A deleted row's tombstone outranks every version it ever had.
            self.invalidate_cache_on_commit(pk, self.version + 1)
        return result

    delete.alters_data = True  # type: ignore[attr-defined]

    def _send_change_webhook(
        self, action: str, changed_fields: Collection[str] = ()
    ) -> None:
        # The feature lives above the models (core/webhooks/), so the mixin
        # is found by the method it adds rather than by class.
        emit = getattr(self, "emit_change_webhook", None)
        if emit is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} sets webhook_enabled but does not send "
                "webhooks: add core.webhooks.WebhookEventsMixin to its bases."
            )
        emit(action, changed_fields)

    def _lock_at_loaded_version(self, using: str) -> None:
        current = (
            type(self)
            ._base_manager.using(using)
            .select_for_update()
            .filter(pk=self.pk)
            .values_list("version", flat=True)
            .first()
        )
        if current != self.version:
            raise VersionConflict(type(self).__name__, self.pk, self.version, current)

    def notify_on_slack(
        self,
        channel: str,
        message: str,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        """Send `message` to a Slack channel about this record, in the
        background: a Fusion job is enqueued (inside the current transaction,
        so it exists only if the transaction commits) and posts with retries.
        Slack being slow or down never slows or fails the caller."""
        post_slack_message.enqueue(channel, message, blocks)

    def on_commit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run `func(*args, **kwargs)` once this instance's transaction commits,
        never if it rolls back; see `core.utils.transactions.run_after_commit`."""
        using = self._state.db or router.db_for_write(type(self), instance=self)
        run_after_commit(func, *args, using=using, **kwargs)

    # -- hooks ------------------------------------------------------------

    def validate(self, *args: Any, **kwargs: Any) -> None:
        """Check the instance before anything is written; raise ValidationError.

        The base checks (core/models/validation.py): mandatory fields (blank
        after stripping counts as missing), each changed field's own rules
        (type, max_length, choices, validators), changed foreign keys naming
        rows that exist, and the unique and other constraints of the fields
        that changed. Overrides call `super().validate(*args, **kwargs)`
        first and add their own checks: inside `save()` (through
        `full_validate`) the base's problems and the override's are reported
        together, in one error.
        """
        errors = self.base_validation_errors()
        if not errors:
            return
        collecting = _COLLECTING.get()
        if collecting is not None and collecting[0] is self:
            _merge(collecting[1], errors)
            return  # full_validate reports them with the override's own
        raise ValidationError(errors)

    def base_validation_errors(self) -> dict[str, list[ValidationError]]:
        """What the base checks of `validate()` find, by field name."""
        errors: dict[str, list[ValidationError]] = {}
        for check in (missing_mandatory, field_errors, missing_relations):
            _merge(errors, check(self))
        _merge(errors, constraint_errors(self, skip=set(errors)))
        return errors

    def full_validate(self, *args: Any, **kwargs: Any) -> None:
        """`validate()`, with the base checks' problems and the override's in
        one ValidationError (what `save()` runs). An override's check that
        trips over a value the base checks already refused (reading a lab
        that does not exist, a date that is not one) adds nothing: the
        refusal is already there."""
        errors: dict[str, list[ValidationError]] = {}
        token = _COLLECTING.set((self, errors))
        try:
            self.validate(*args, **kwargs)
        except ValidationError as exc:
            _merge(errors, exc.update_error_dict({}))
        except (ObjectDoesNotExist, LookupError, ValueError, TypeError, AttributeError):
            if not errors:
                raise
        finally:
            _COLLECTING.reset(token)
        if errors:
            raise ValidationError(errors)

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        """Prepare the instance after validation, inside the transaction
        (normalise, derive fields). Raising rolls the save back."""

    def after_save(self, *args: Any, **kwargs: Any) -> None:
        """Runs after the write, inside the transaction: raising rolls the
        save back. Anything leaving the process belongs in `self.on_commit()`.

        Keyword arguments: `created`, `update_fields`, `changes` (name ->
        (old, new) of what this save changed; old is None when created)
        and `reason`. The loaded state is already the saved one here, so
        `has_changed()` is False: read `changes`."""

    def before_delete(self, *args: Any, **kwargs: Any) -> None:
        """Runs inside the delete's transaction before the row is deleted;
        raise to refuse the delete. Keyword argument: `reason`."""

    def after_delete(self, *args: Any, **kwargs: Any) -> None:
        """Runs inside the delete's transaction after the row is deleted;
        raising rolls the delete back. Keyword argument: `reason`."""

    # -- validation ---------------------------------------------------------

    def validate_mandatory_fields(self) -> None:
        """Raise one ValidationError naming every mandatory field without a
        value (None, empty, or only whitespace).

        Example: `{"first_name": ["This field is required."], "lab": [...]}`.
        """
        missing = missing_mandatory(self)
        if missing:
            raise ValidationError(missing)

    def validate_field_values(self) -> None:
        """Run each filled, changed field's own validation (Django's
        `clean_fields`); see `core.models.validation.field_errors`."""
        errors = field_errors(self)
        if errors:
            raise ValidationError(errors)

    # -- setting and getting ------------------------------------------------

    def set_values(self, values: Mapping[str, Any]) -> Self:
        """Set several fields at once, each converted by its own field.

        Accepts field names and foreign-key attnames (`lab` with a Lab or its
        id, `lab_id` with an id). Returns the instance, for chaining.

        Example: `patient.set_values({"date_of_birth": "1990-04-01", "lab_id": "3"})`
        sets a `date` and an `int`.

        Strict about kinds (core/models/validation.py): text fields take
        text only, integer fields and ids whole numbers ("3" or 3, not 1.7
        or True), and a datetime without a time zone is read on the lab's
        clock (refused for a row without a lab). When any value is refused
        (an unknown or managed field, a value its field cannot take, None
        for a non-null field), nothing is set and the ValidationError,
        keyed by field name, also holds what `validate()` finds in the
        other values: every problem of the input in one answer.
        """
        converted: dict[str, Any] = {}
        errors: dict[str, list[ValidationError]] = {}
        lab_id = _lab_id_given(values, self)
        for name, value in values.items():
            try:
                field = self._settable_field(name)
                attname, converted_value = convert(self, field, name, value, lab_id)
                converted[attname] = converted_value
            except ValidationError as exc:
                errors[name] = exc.error_list
        if errors:
            found = self._errors_if_set(converted, hide=errors.keys())
            raise ValidationError({**errors, **found})
        for attname, value in converted.items():
            setattr(self, attname, value)
        return self

    def _errors_if_set(
        self, converted: Mapping[str, Any], hide: Collection[str]
    ) -> dict[str, list[ValidationError]]:
        """What `full_validate()` would find with `converted` set (put back
        afterwards), but for the fields in `hide` (their input was refused:
        the refusal says more than a check of their old value)."""
        saved = {attname: self.__dict__.get(attname, _UNSET) for attname in converted}
        cache = dict(self._state.fields_cache)
        try:
            for attname, value in converted.items():
                setattr(self, attname, value)
            self.full_validate(created=self._state.adding, update_fields=None)
        except ValidationError as exc:
            found = exc.update_error_dict({})
        else:
            found = {}
        finally:
            for attname, value in saved.items():
                if value is _UNSET:
                    self.__dict__.pop(attname, None)
                else:
                    self.__dict__[attname] = value
            self._state.fields_cache = cache
        hidden = set(hide) | {self._attname_or_name(name) for name in hide}
        return {k: v for k, v in found.items() if k not in hidden}

    @classmethod
    def _attname_or_name(cls, name: str) -> str:
        """`lab` for `lab_id` and `lab_id` for `lab`; `name` otherwise."""
        for field in cls._meta.concrete_fields:
            if name == field.attname:
                return field.name
            if name == field.name:
                return field.attname
        return name

    @classmethod
    def _settable_field(cls, name: str) -> Field[Any, Any]:
        field: Field[Any, Any] | ForeignObjectRel | None
        try:
            field = cls._meta.get_field(name)
        except FieldDoesNotExist:
            field = next(
                (f for f in cls._meta.concrete_fields if f.attname == name), None
            )
        if field is None:
            raise ValidationError(
                f"{cls.__name__} has no field {name!r}.", code="unknown_field"
            )
        if not isinstance(field, Field) or not field.concrete or field.many_to_many:
            raise ValidationError(
                f"{name!r} is a relation that set_values cannot set; set it on its "
                "own model.",
                code="not_settable",
            )
        if field.primary_key or not field.editable or name in MANAGED_FIELDS:
            raise ValidationError(
                f"{name!r} is managed by {cls.__name__} and cannot be set.",
                code="not_settable",
            )
        return field

    @classmethod
    def get(
        cls,
        exception_to_raise: type[Exception] | Exception | None = None,
        /,
        **filters: Any,
    ) -> Self:
        """The one row matching `filters`; otherwise raise `exception_to_raise`.

        `exception_to_raise` may be a class (instantiated with a message naming
        the model and the filter names, never their values) or an instance
        (raised as is). Without it, Django's `DoesNotExist` or
        `MultipleObjectsReturned` propagate. A filter value of the wrong type
        (`pk="x"`) is a row that does not exist, not an error.

        Example: `Patient.get(Http404, pk=patient_id, lab_id=lab_id)`.
        """
        try:
            try:
                return cls._default_manager.get(**filters)
            except (ValueError, TypeError, ValidationError) as malformed:
                # A value of the wrong type ("x" for an id) matches no row:
                # the same not-found as a missing row.
                raise cls.DoesNotExist(
                    f"{cls.__name__} matching query does not exist."
                ) from malformed
        except (ObjectDoesNotExist, MultipleObjectsReturned) as exc:
            if exception_to_raise is None:
                raise
            if isinstance(exception_to_raise, BaseException):
                raise exception_to_raise from exc
            names = ", ".join(sorted(filters)) or "no filters"
            problem = "No" if isinstance(exc, ObjectDoesNotExist) else "More than one"
            raise exception_to_raise(
                f"{problem} {cls.__name__} matches the given {names}."
            ) from exc


_HAS_LOCAL_VERSION: dict[type[models.Model], bool] = {}


def _has_local_version(model: type[models.Model]) -> bool:
    """Whether `model`'s own table has the version column (with multi-table
    inheritance only the first BaseModel table has it). Memoised per class."""
    if model not in _HAS_LOCAL_VERSION:
        _HAS_LOCAL_VERSION[model] = any(
            f.name == "version" for f in model._meta.local_concrete_fields
        )
    return _HAS_LOCAL_VERSION[model]


#: A field missing from an instance's __dict__ (deferred), for putting back.
_UNSET = object()
#: (instance, errors) while full_validate() collects the base checks' errors.
_COLLECTING: ContextVar[tuple[object, dict[str, list[ValidationError]]] | None] = (
    ContextVar("base_model_collecting_errors", default=None)
)


def _merge(
    into: dict[str, list[ValidationError]], more: Mapping[str, list[ValidationError]]
) -> None:
    for name, found in more.items():
        into.setdefault(name, []).extend(found)


def _lab_id_given(values: Mapping[str, Any], instance: models.Model) -> Any:
    """The lab id the row will have after `values` (as given: the
    conversion checks it), for reading wall-clock times on its clock."""
    for name in ("lab", "lab_id"):
        if name in values:
            given = values[name]
            return getattr(given, "pk", given)
    return instance.__dict__.get("lab_id")
