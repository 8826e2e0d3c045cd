"""The activity log's tables: entries, their seals, and each lab's chain head.

- `ActivityLog`: one entry per change (who, what, from what to what, why),
  written in the same transaction as the change. Append-only.
- `ActivityLogSeal`: an entry's place in its lab's hash chain (sequence,
  previous hash, own hash), written after commit by the sealer. Append-only.
  Kept apart from the entry so that sealing never updates an entry, and so a
  lab's writers are not serialised on the chain while they save.
- `ActivityLogChainHead`: the last sequence and hash of each lab's chain;
  bookkeeping for the sealer, never trusted by verification.
- `ActivityLogChain`: the registry of chains, one row per chain ever
  started; it only grows (append-only), so a chain deleted whole is still
  expected by verification (core/activity_log/completeness.py).
- `ActivityLogCheckpoint`: a chain head signed and stored outside the
  database (checkpoints.py). Append-only.
- `ActivityLogPrune`: where a retention prune cut a lab's chain (only when
  settings.ACTIVITY_LOG_DB_RETENTION_DAYS is set; by default nothing goes).

An entry's `sealed` and `shipped` flags are the only things that may change,
each once, from False to True: they are the sealer's and the shipper's
queues (partial indexes find the rest), they are not part of the hash, and
the trigger allows exactly those changes.

Append-only is enforced three times: the models refuse to save an existing
row or delete one, their querysets refuse update() and delete(), and on
PostgreSQL a trigger refuses UPDATE and DELETE (migrations 0004, 0008,
0010) and TRUNCATE (0022; the chain heads too). The one way out is the
retention prune of sealed, shipped entries.
These are plain Models, not BaseModels: the log does not log itself.
"""

from functools import cache
from typing import Any, NoReturn

from django.db import connections, models, router
from django.utils import timezone


class AppendOnlyError(Exception):
    """Someone tried to change or remove an audit record."""


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """Refuses the bulk writes that would change or remove rows."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(
            f"{self.model.__name__} rows are append-only; they cannot be updated."
        )

    def mark_sealed(self) -> int:
        """Flip `sealed` to True on these unsealed entries (the sealer)."""
        return models.QuerySet.update(self.filter(sealed=False), sealed=True)

    def mark_shipped(self) -> int:
        """Flip `shipped` to True on these entries (the shipper)."""
        return models.QuerySet.update(self.filter(shipped=False), shipped=True)

    def delete(self) -> NoReturn:
        raise AppendOnlyError(
            f"{self.model.__name__} rows are append-only; they cannot be deleted."
        )

    def prune(self) -> int:
        """Delete these entries if sealed and shipped (the retention prune;
        see core/activity_log/retention.py, which records each prune).
        On PostgreSQL the trigger lets these rows go only inside a
        transaction that set `lis.audit_prune`."""
        connection = connections[self.db]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('lis.audit_prune', 'on', true)")
        deleted, _ = models.QuerySet.delete(self.filter(sealed=True, shipped=True))
        return deleted


class AppendOnlyModel(models.Model):
    """Insert once; never update, never delete."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(
                f"{type(self).__name__} {self.pk} is an audit record; it cannot "
                "be changed. Write a new entry instead."
            )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(
            f"{type(self).__name__} {self.pk} is an audit record; it cannot be deleted."
        )


class ActivityLog(AppendOnlyModel):
    """One change to one record: the audit trail inspectors read."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"
        OTHER = "other", "Other"

    lab_id = models.BigIntegerField(null=True, blank=True)
    parent_lab_id = models.BigIntegerField(null=True, blank=True)
    model_label = models.CharField(max_length=100)
    instance_id = models.CharField(max_length=64)
    action = models.CharField(max_length=16)
    category_id = models.IntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    actor_id = models.CharField(max_length=64)
    actor_name = models.CharField(max_length=200, blank=True)
    actor_role = models.CharField(max_length=100, blank=True)
    actor_kind = models.CharField(max_length=16)
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sealed = models.BooleanField(default=False, editable=False)
    shipped = models.BooleanField(default=False, editable=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["lab_id", "id"],
                condition=models.Q(sealed=False),
                name="activity_unsealed",
            ),
            models.Index(
                fields=["id"],
                condition=models.Q(shipped=False),
                name="activity_unshipped",
            ),
            models.Index(
                fields=["model_label", "instance_id", "-created_at"],
                name="activity_record_time",
            ),
            models.Index(fields=["lab_id", "-created_at"], name="activity_lab_time"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.model_label} {self.instance_id}"

    def insert(self) -> None:
        """INSERT this new entry with SQL built once per connection.

        Every BaseModel save writes an entry, and for a twenty-column row
        Django's per-save INSERT compilation costs more than the database
        round trip; this path reuses the statement and converts only the
        values the driver cannot take as they are (`_insert_plan`). Databases
        without `INSERT ... RETURNING` fall back to `save()`.
        """
        connection = connections[router.db_for_write(ActivityLog)]
        if not connection.features.can_return_columns_from_insert:
            self.save()
            return
        params = [
            value
            if as_is and type(value) in _DRIVER_TYPES
            else field.get_db_prep_save(value, connection)
            for field, as_is in _insert_plan()
            for value in (self.__dict__[field.attname],)
        ]
        with connection.cursor() as cursor:
            cursor.execute(_insert_sql(connection), params)
            self.pk = cursor.fetchone()[0]
        self._state.adding = False
        self._state.db = connection.alias


class ActivityLogSeal(AppendOnlyModel):
    """An entry's link in its lab's chain: hash = SHA-256(canonical entry +
    previous hash), the canonical form being that of the seal's `format`
    (core/activity_log/hashing.py, docs/audit-trail.md). `entry_id` is a
    plain integer, not a foreign key, so a deleted entry leaves its seal
    behind as evidence."""

    entry_id = models.BigIntegerField(unique=True)
    chain_lab_id = models.BigIntegerField(help_text="0 for records without a lab.")
    sequence = models.BigIntegerField()
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)
    format = models.PositiveSmallIntegerField(
        default=2,
        help_text="The chain format: 1 = Python's json.dumps, 2 = RFC 8785 (JCS).",
    )
    sealed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain_lab_id", "sequence"], name="activity_seal_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"lab {self.chain_lab_id} #{self.sequence}"


class ActivityLogPrune(AppendOnlyModel):
    """A retention prune of one lab's chain: entries up to `through_sequence`
    left the database (they live on in Elasticsearch). Verification trusts
    the chain up to here through the seals, which are never pruned, and
    checks `through_hash` against the seal it names."""

    chain_lab_id = models.BigIntegerField(help_text="0 for records without a lab.")
    through_sequence = models.BigIntegerField()
    through_hash = models.CharField(max_length=64)
    removed = models.PositiveIntegerField()
    cutoff = models.DateTimeField(help_text="Only entries older than this went.")
    pruned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain_lab_id", "through_sequence"], name="activity_prune_point"
            )
        ]

    def __str__(self) -> str:
        return f"lab {self.chain_lab_id} through #{self.through_sequence}"


class ActivityLogCheckpoint(AppendOnlyModel):
    """A signed checkpoint of a chain's head (core/activity_log/checkpoints.py):
    the database's index of the signed objects in storage. Verification
    trusts the objects and the public key, never these rows."""

    chain_lab_id = models.BigIntegerField(help_text="0 for records without a lab.")
    sequence = models.BigIntegerField()
    entry_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=16, help_text="The signing key's id.")
    signature = models.CharField(max_length=100, help_text="Base64 Ed25519.")
    storage_key = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain_lab_id", "sequence"], name="activity_checkpoint_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"lab {self.chain_lab_id} #{self.sequence} signed {self.signed_at}"


class ActivityLogChain(AppendOnlyModel):
    """One chain that was ever started (0 = records without a lab): written
    with the chain's head, never changed or removed. Verification expects a
    chain for every row here, so deleting a lab's whole chain (entries,
    seals and head) still leaves it reported as missing."""

    chain_lab_id = models.BigIntegerField(
        unique=True, help_text="0 for records without a lab."
    )
    started_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"lab {self.chain_lab_id}'s chain"


class ActivityLogChainHead(models.Model):
    """The last sealed sequence and hash of one lab's chain (0 = no lab)."""

    chain_lab_id = models.BigIntegerField(primary_key=True)
    sequence = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"lab {self.chain_lab_id} at #{self.sequence}"


_INSERT_SQL: dict[str, str] = {}


@cache
def _insert_fields() -> list[Any]:
    return [f for f in ActivityLog._meta.concrete_fields if not f.primary_key]


#: Fields whose values always need converting for the driver: JSON is
#: wrapped, datetimes made aware, addresses normalised.
_PREPARED_TYPES = (models.JSONField, models.DateTimeField, models.GenericIPAddressField)
#: Python types the other (text, integer, boolean) fields would only pass
#: through to the driver unchanged.
_DRIVER_TYPES = frozenset({str, int, bool, type(None)})


@cache
def _insert_plan() -> list[tuple[Any, bool]]:
    """Each inserted field, and whether a value of a `_DRIVER_TYPES` type
    may go to the driver as it is.

    `new_entry` builds entries from str, int, bool and None values, which
    the text, integer and boolean fields' `get_db_prep_save` would return
    unchanged; skipping those calls halves the cost of the 19 parameters on
    every save. Anything else (a lazy translation, a Decimal) still goes
    through its field. Entries get their defaults (created_at, the flags)
    when constructed, so no field's `pre_save` is needed.
    """
    return [
        (field, not isinstance(field, _PREPARED_TYPES)) for field in _insert_fields()
    ]


def _insert_sql(connection: Any) -> str:
    """The entry INSERT for one database connection, built on first use."""
    if connection.alias not in _INSERT_SQL:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in _insert_fields())
        marks = ", ".join(["%s"] * len(_insert_fields()))
        table, pk = ActivityLog._meta.db_table, str(ActivityLog._meta.pk.column)
        _INSERT_SQL[connection.alias] = (
            f"INSERT INTO {quote(table)} ({columns}) "  # noqa: S608
            f"VALUES ({marks}) RETURNING {quote(pk)}"
        )
    return _INSERT_SQL[connection.alias]


# -- the shipper's quarantine --------------------------------------------------
#
# `ActivityLogShipQuarantine`: entries Elasticsearch refused for good.
#
# Elasticsearch answers a bulk request item by item. An item refused with 400
# (`document_parsing_exception`, `mapper_parsing_exception`,
# `illegal_argument_exception`, ...) is refused for what the document holds:
# sending it again unchanged fails again, and as the oldest unshipped entry it
# would head every batch for ever. The shipper records such an entry here,
# with Elasticsearch's reason, and stops picking it; the rest ship. The entry
# itself stays in the (append-only) log table, unshipped, so nothing is lost
# and no retention prune removes it. `manage.py quarantined_activity_logs
# --retry` sends it again after the mapping or the data is fixed; once
# Elasticsearch takes it, its row here is deleted.
#
# A plain Model, not an append-only one: this is the shipper's bookkeeping
# (attempts, the latest reason), not evidence. `entry_id` is a plain integer,
# as in ActivityLogSeal, so nothing here constrains the log table.

#: Longest reason kept, in characters (Elasticsearch's can quote a value).
MAX_REASON_CHARS = 2000


class ActivityLogShipQuarantine(models.Model):
    """One entry Elasticsearch refused permanently, and why.

    Example: `entry_id=912, lab_id=3, status=400,
    error_type="document_parsing_exception", reason="[1:40] failed to parse
    field [client_ip] of type [ip] ...", attempts=2`.
    """

    entry_id = models.BigIntegerField(unique=True)
    lab_id = models.BigIntegerField(null=True, blank=True)
    status = models.PositiveSmallIntegerField(help_text="Elasticsearch's HTTP status.")
    error_type = models.CharField(max_length=200)
    reason = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    quarantined_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["entry_id"]

    def __str__(self) -> str:
        return f"entry {self.entry_id}: {self.error_type}"
