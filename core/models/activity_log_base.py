"""ActivityLogBase: every BaseModel change leaves an audit entry, automatically.

Mixed into BaseModel (which calls `log_change` inside the save or delete
transaction, so an entry exists if and only if the change committed). The
entry records:

- what: action, category (`category_id_mapper`), the changed fields with old
  and new values, computed against the state the instance was loaded with
  (no extra query); a create logs its initial values, a delete its last state;
- who and where: the actor and request of the current context
  (`core.utils.activity_log.context`), the lab and its parent;
- why: the reason passed to `save(reason=...)` / `delete(reason=...)`, which
  `change_reason_required()` can make mandatory.

Fields listed in `sensitive_fields` are logged as changed, masked; binary
fields as changed with their SHA-256. A field class can take part too
(core/models/encrypted_fields.py does): `activity_log_masked = True` masks it
like `sensitive_fields`, `activity_log_skipped = True` leaves it out, and a
`same_value(instance, old, new)` method decides whether it changed. A save
that changes nothing logs nothing. Each entry is queued for sealing into its
lab's hash chain (see core/activity_log/chain.py).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection
from typing import Any, ClassVar

from django.core.exceptions import ValidationError

from core.activity_log.models import ActivityLog
from core.activity_log.reading import get_activities
from core.models.loaded_state import LoadedStateMixin
from core.tenancy.hierarchy import first_parent_lab_id
from core.utils.activity_log.context import Actor, current_actor, current_request

#: Shown instead of the value of a field listed in `sensitive_fields`.
MASK = "***"
#: Fields whose changes are the log's own bookkeeping, not the record's.
UNLOGGED_FIELDS = frozenset({"created_at", "updated_at", "version"})


class ActivityLogBase(LoadedStateMixin):
    """Adds the activity log API of the architecture note to a model; the
    changes an entry records are measured against LoadedStateMixin's
    snapshot."""

    #: Action -> category id, for the log's category filter and reports.
    category_id_mapper: ClassVar[dict[str, int]] = {
        ActivityLog.Action.CREATE: 1,
        ActivityLog.Action.UPDATE: 2,
        ActivityLog.Action.DELETE: 3,
    }
    #: Fields whose values never reach the log (they are logged as changed).
    sensitive_fields: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True

    # -- the override points -------------------------------------------------

    def change_reason_required(self, action: str) -> bool:
        """Whether `action` ("update" or "delete") on this record needs a
        reason, e.g. once a report is released. Default: never."""
        return False

    def prepare_activity_log_payload(
        self, action: str, session: Any = None
    ) -> dict[str, Any]:
        """The entry's message and category for `action`; override to add a
        model's own wording. Keys: any ActivityLog field."""
        return {
            "message": f"{self._meta.verbose_name} {past_tense(action)}",
            "category_id": self.category_id_mapper.get(action),
        }

    # -- writing --------------------------------------------------------------

    def check_change_reason(self, action: str, reason: str) -> None:
        """Refuse a change that needs a reason and has none."""
        if not reason.strip() and self.change_reason_required(action):
            raise ValidationError(
                {
                    "reason": f"This {self._meta.verbose_name} can only be "
                    f"{past_tense(action)} with a reason; say why the change "
                    "is made."
                },
                code="reason_required",
            )

    def log_change(
        self,
        action: str,
        reason: str = "",
        update_fields: Collection[str] | None = None,
    ) -> ActivityLog | None:
        """Write the automatic entry for a save or delete that just happened
        (inside its transaction), its changes measured against the loaded
        state. Returns None, writing nothing, for an update that changed
        nothing."""
        changes = self._changes(action, update_fields)
        if action == ActivityLog.Action.UPDATE and not changes:
            return None
        entry = self._new_entry(action, changes=changes, reason=reason)
        entry.insert()
        return entry

    def add_activity_log(
        self,
        action: str,
        message: str | None = None,
        session: Any = None,
        changes: dict[str, Any] | None = None,
        reason: str = "",
    ) -> ActivityLog:
        """Write one entry about this record now (in the current transaction),
        queued for sealing into the lab's chain. Also for custom actions,
        e.g. `report.add_activity_log("print", "Printed for the patient")`."""
        fields: dict[str, Any] = {"changes": changes or {}, "reason": reason}
        if message is not None:
            fields["message"] = message
        entry = self._new_entry(action, session, **fields)
        entry.insert()
        return entry

    def _new_entry(
        self, action: str, session: Any = None, **fields: Any
    ) -> ActivityLog:
        """An entry about this record: the model's payload for `action`,
        then `fields` (changes, reason, message), not yet written."""
        payload = self.prepare_activity_log_payload(action, session)
        return new_entry(
            lab_id=self.__dict__.get("lab_id"),
            model_label=self._meta.label_lower,
            instance_id=self.pk,
            action=action,
            **{**payload, **fields},
        )

    # -- reading --------------------------------------------------------------

    @classmethod
    def get_activities(
        cls,
        instance_id: Any,
        start_date: Any = None,
        end_date: Any = None,
        *,
        lab_id: int | None = None,
        **filters: Any,
    ) -> Any:
        """This record's entries, newest first; see
        `core.activity_log.reading.get_activities` for the filters."""
        return get_activities(
            cls._meta.label_lower, instance_id, start_date, end_date,
            lab_id=lab_id, **filters,
        )  # fmt: skip

    # -- changes ------------------------------------------------------------------

    def _changes(
        self, action: str, update_fields: Collection[str] | None
    ) -> dict[str, Any]:
        before = self.loaded_state or {}
        after = self._current_state()
        changes = {}
        for field in self._meta.concrete_fields:
            name, attname = field.name, field.attname
            if (
                name in UNLOGGED_FIELDS
                or field.primary_key
                or getattr(field, "activity_log_skipped", False)
            ):
                continue
            if update_fields is not None and name not in update_fields:
                continue
            if action == ActivityLog.Action.CREATE:
                old, new = None, after.get(attname)
                if new in (None, "", b""):
                    continue
            elif action == ActivityLog.Action.DELETE:
                old, new = after.get(attname), None
            else:
                old, new = before.get(attname), after.get(attname)
                same_value = getattr(field, "same_value", None)
                if same_value(self, old, new) if same_value else old == new:
                    continue
            changes[name] = {
                "old": self._loggable(field, old),
                "new": self._loggable(field, new),
            }
        return changes

    def _loggable(self, field: Any, value: Any) -> Any:
        if value is None:
            return None
        if field.name in self.sensitive_fields or getattr(
            field, "activity_log_masked", False
        ):
            return MASK
        if isinstance(value, bytes | memoryview):
            return {
                "sha256": hashlib.sha256(bytes(value)).hexdigest(),
                "bytes": len(value),
            }
        if isinstance(value, bool | int | float | str | list | dict):
            return value
        return str(value)


#: How long a lab's parent is remembered. The parent recorded on an entry
#: is for display and reports; who may read entries is decided by the live
#: hierarchy at read time, so a minute of staleness after a re-parenting is
#: harmless, and it saves a query on every save.
PARENT_LAB_TTL_SECONDS = 60.0
_PARENTS: dict[int, tuple[float, int | None]] = {}


def forget_parent_labs() -> None:
    """Drop the remembered parents (after the hierarchy changes)."""
    _PARENTS.clear()


def write_entry(**arguments: Any) -> ActivityLog:
    """Insert the entry `new_entry(**arguments)` now, in the current
    transaction.

    Example: `write_entry(lab_id=3, model_label="account.user",
    instance_id=7, action="login", message="Signed in")`.
    """
    entry = new_entry(**arguments)
    entry.insert()
    return entry


def new_entry(
    *,
    lab_id: int | None,
    model_label: str,
    instance_id: Any,
    action: str,
    actor: Actor | None = None,
    **fields: Any,
) -> ActivityLog:
    """One entry, built and not yet written: attributed to `actor` or the
    context's actor, with the context's request, the lab and its parent.
    `fields` are the entry's other columns (message, changes, reason,
    category_id)."""
    who, request = actor or current_actor(), current_request()
    return ActivityLog(
        lab_id=lab_id,
        parent_lab_id=_parent_lab(lab_id),
        model_label=model_label,
        instance_id=str(instance_id),
        action=action,
        actor_id=who.id,
        actor_name=who.name,
        actor_role=who.role,
        actor_kind=str(who.kind),
        request_id=request.request_id,
        client_ip=request.client_ip,
        user_agent=request.user_agent[:300],
        **fields,
    )


def _parent_lab(lab_id: int | None) -> int | None:
    """The lab's first parent (memoised for PARENT_LAB_TTL_SECONDS)."""
    if lab_id is None:
        return None
    now = time.monotonic()
    cached = _PARENTS.get(lab_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    parent = first_parent_lab_id(lab_id)
    _PARENTS[lab_id] = (now + PARENT_LAB_TTL_SECONDS, parent)
    return parent


#: The past tense of actions whose "-d" / "-ed" rule does not hold.
IRREGULAR_PAST_TENSES = {"verify": "verified", "copy": "copied", "send": "sent"}


def past_tense(action: str) -> str:
    """The past tense of an entry's `action` verb, for messages.

    Example: "create" -> "created", "print" -> "printed", "verify" ->
    "verified"; an action that is not a plain verb ("pdf_stored") is kept.
    """
    if action in IRREGULAR_PAST_TENSES:
        return IRREGULAR_PAST_TENSES[action]
    if not action.isalpha():
        return action
    return f"{action}d" if action.endswith("e") else f"{action}ed"
