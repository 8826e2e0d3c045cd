"""LoadedStateMixin: what an instance held when it was loaded or last saved,
and what has changed since. The one owner of that snapshot: the activity
log diffs against it, the instance cache invalidates the hash of the lab a
row was loaded with, webhooks and domain models compare a field's old and
new value through `initial_value()` / `has_changed()`.

    patient = Patient.objects.get(pk=7)
    patient.first_name = "Asha"
    patient.has_changed("first_name")    # True
    patient.initial_value("first_name")  # "Ashaa"
    patient.changed_fields()             # {"first_name"}
    patient.changes()                    # {"first_name": ("Ashaa", "Asha")}

The snapshot is taken in `from_db` and again by `mark_state_saved()` once a
save has written the row (BaseModel.save calls it before `after_save`, so
`after_save` sees the new state as loaded: it receives the save's
`changes` instead; compare in `before_save`). A new,
unsaved instance has none: every field counts as changed and its initial
value is None.
"""

from collections.abc import Collection, Mapping
from typing import Any, Self

from django.db import models


class LoadedStateMixin(models.Model):
    """Keeps the loaded state; see the module docstring. Values are keyed by
    attname (`lab_id`, not `lab`); names given to the methods may be either."""

    #: attname -> value as loaded from the database (set by from_db / save).
    _loaded_state: dict[str, Any] | None = None

    class Meta:
        abstract = True

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Collection[str], values: Collection[Any],
        **kwargs: Any,
    ) -> Self:  # fmt: skip
        """Django's from_db, keeping the loaded state."""
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._loaded_state = instance._current_state()
        return instance

    @property
    def loaded_state(self) -> Mapping[str, Any] | None:
        """The snapshot (attname -> value), or None for an unsaved instance."""
        return self._loaded_state

    def initial_value(self, name: str) -> Any:
        """The field's value when loaded or last saved (None when new)."""
        return (self._loaded_state or {}).get(self._attname(name))

    def has_changed(self, name: str) -> bool:
        """Whether the field differs from its loaded value (always, when new)."""
        if self._loaded_state is None:
            return True
        attname = self._attname(name)
        return self._loaded_state.get(attname) != self.__dict__.get(attname)

    def changed_fields(self) -> set[str]:
        """Names of the concrete fields that differ from their loaded values."""
        return {
            field.name
            for field in self._meta.concrete_fields
            if self.has_changed(field.name)
        }

    def changes(self) -> dict[str, tuple[Any, Any]]:
        """Each changed field's name -> (loaded value, current value); for a
        new instance every field with a value, loaded as None. Values by
        attname, keys by name (`lab`: (3, 5) for a moved row)."""
        current = self._current_state()
        if self._loaded_state is None:
            return {
                field.name: (None, current[field.attname])
                for field in self._meta.concrete_fields
                if current[field.attname] is not None
            }
        loaded = self._loaded_state
        return {
            field.name: (loaded.get(field.attname), current[field.attname])
            for field in self._meta.concrete_fields
            if loaded.get(field.attname) != current[field.attname]
        }

    def mark_state_saved(self) -> None:
        """The instance now matches its row: the next comparisons are
        measured from here (save() calls this once the write is done)."""
        self._loaded_state = self._current_state()

    def refresh_loaded_values(self, **values: Any) -> None:
        """Record that the row now holds `values` (attnames), written outside
        save() (e.g. a key rotation), so they do not count as changes."""
        if self._loaded_state is not None:
            self._loaded_state.update(values)

    def _attname(self, name: str) -> str:
        field = self._meta.get_field(name)
        if not isinstance(field, models.Field):
            raise ValueError(f"{name!r} is a reverse relation, not a field of its own.")
        return field.attname

    def _current_state(self) -> dict[str, Any]:
        return {
            field.attname: self.__dict__.get(field.attname)
            for field in self._meta.concrete_fields
        }
