"""Building blocks of a domain app's actions: the functions in
`<app>/actions.py` that make one state change spanning several writes (rows,
activity-log entries, webhook events, jobs) in one transaction.

    @transaction.atomic
    def release_report(report, *, actor=None, reason=""):
        with unchanged_on_failure(report), acting(actor):
            report.status = Report.Status.RELEASED
            report.save(reason=reason)
            start_release(report)

`transaction.atomic` rolls the database back when the action raises;
`unchanged_on_failure` does the same for the instances the action was
given, so the caller can fix the cause and call it again with the same
object (otherwise it would hold a status and a version the database never
committed, and the retry would fail with a VersionConflict). See
patients/actions.py for the pattern and why it is an actions module.
"""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from django.db import models

from core.utils.activity_log.context import Actor, acting_as


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What an action can change on an instance: its field values (primary
    key, version and timestamps included), the state the activity log diffs
    against, and whether it is saved yet."""

    instance: models.Model
    values: dict[str, Any]
    loaded_state: dict[str, Any] | None
    adding: bool
    db: str | None

    @classmethod
    def of(cls, instance: models.Model) -> "_Snapshot":
        attnames = {field.attname for field in instance._meta.concrete_fields}
        values = {k: v for k, v in instance.__dict__.items() if k in attnames}
        # Copied: a save may update the loaded state in place.
        loaded = getattr(instance, "loaded_state", None)
        return cls(
            instance,
            values,
            None if loaded is None else dict(loaded),
            instance._state.adding,
            instance._state.db,
        )

    def restore(self) -> None:
        self.instance.__dict__.update(self.values)
        if hasattr(self.instance, "loaded_state"):
            # LoadedStateMixin's snapshot, put back as it was (the one owner
            # of the snapshot lives in the same models package).
            self.instance._loaded_state = self.loaded_state  # type: ignore[attr-defined]
        self.instance._state.adding = self.adding
        self.instance._state.db = self.db


@contextmanager
def unchanged_on_failure(*instances: models.Model) -> Iterator[None]:
    """Put each instance back as it was (every field value, its version and
    its saved state) if the block raises; the exception propagates.

    Values are restored, not copied deeply: an action assigns new values
    (`report.status = ...`) rather than editing a list or dict in place.
    """
    snapshots = [_Snapshot.of(instance) for instance in instances]
    try:
        yield
    except BaseException:
        for snapshot in snapshots:
            snapshot.restore()
        raise


def acting(actor: Actor | None) -> AbstractContextManager[object]:
    """`acting_as(actor)`, or nothing when `actor` is None: the action is
    then attributed to whoever the context names (the request's user, set
    by the middleware; a job's or command's `acting_as`)."""
    return nullcontext() if actor is None else acting_as(actor)
