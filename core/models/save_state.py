"""Putting a model instance back as it was when its save is rolled back.

A rollback restores the database but not the Python object: after a failed
INSERT the instance would keep its new primary key and look saved, and a
retry would UPDATE a row that does not exist. `restored_on_failure` captures
what `save()` changes on the instance and puts it back if anything in the
block raises.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.models.base import BaseModel


@dataclass(slots=True)
class SaveState:
    """The bookkeeping `save()` and `delete()` change on an instance,
    including the loaded state the activity log diffs against: a save rolled
    back after its write must log its changes again when retried."""

    pk: Any
    adding: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    #: What the activity log measures the next save's changes against.
    loaded_state: dict[str, Any] | None

    @classmethod
    def capture(cls, instance: BaseModel) -> SaveState:
        return cls(
            pk=instance.pk,
            adding=instance._state.adding,
            version=instance.version,
            created_at=instance.created_at,
            updated_at=instance.updated_at,
            loaded_state=instance._loaded_state,
        )

    def restore(self, instance: BaseModel) -> None:
        instance.pk = self.pk
        instance._state.adding = self.adding
        instance.version = self.version
        instance.created_at = self.created_at
        instance.updated_at = self.updated_at
        instance._loaded_state = self.loaded_state


@contextmanager
def restored_on_failure(instances: Iterable[BaseModel]) -> Iterator[None]:
    """Restore each instance's save bookkeeping if the block raises."""
    captured = [(instance, SaveState.capture(instance)) for instance in instances]
    try:
        yield
    except BaseException:
        for instance, state in captured:
            state.restore(instance)
        raise
