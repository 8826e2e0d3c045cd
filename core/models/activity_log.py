"""The activity log's tables: entries, their seals, and each lab's chain head.

- `ActivityLog`: one entry per change (who, what, from what to what, why),
  written in the same transaction as the change. Append-only.
- `ActivityLogSeal`: an entry's place in its lab's hash chain (sequence,
  previous hash, own hash), written after commit by the sealer. Append-only.
  Kept apart from the entry so that sealing never updates an entry, and so a
  lab's writers are not serialised on the chain while they save.
- `ActivityLogChainHead`: the last sequence and hash of each lab's chain;
  bookkeeping for the sealer, never trusted by verification.
- `ActivityLogPrune`: where a retention prune cut a lab's chain (only when
  settings.ACTIVITY_LOG_DB_RETENTION_DAYS is set; by default nothing goes).

An entry's `sealed` and `shipped` flags are the only things that may change,
each once, from False to True: they are the sealer's and the shipper's
queues (partial indexes find the rest), they are not part of the hash, and
the trigger allows exactly those changes.

Append-only is enforced three times: the models refuse to save an existing
row or delete one, their querysets refuse update() and delete(), and on
PostgreSQL a trigger refuses UPDATE and DELETE (migrations 0004, 0008,
0010). The one way out is the retention prune of sealed, shipped entries.
These are plain Models, not BaseModels: the log does not log itself.
"""

from collections.abc import Sequence
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
        see core/utils/activity_log/retention.py, which records each prune).
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
        round trip; this path prepares the same values with each field's own
        `pre_save` / `get_db_prep_save` and reuses the statement. Databases
        without `INSERT ... RETURNING` fall back to `save()`.
        """
        connection = connections[router.db_for_write(ActivityLog)]
        if not connection.features.can_return_columns_from_insert:
            self.save()
            return
        with connection.cursor() as cursor:
            params = self._insert_params(connection, _insert_fields())
            cursor.execute(_insert_sql(connection), params)
            self._inserted(cursor.fetchone()[0], connection)

    def insert_with(
        self, write: tuple[str, Sequence[Any]], returned: int, using: str
    ) -> list[tuple[Any, ...]]:
        """Run `write`, an INSERT or UPDATE of one record ending in
        `RETURNING` `returned` columns (the last one the record's primary
        key), and INSERT this entry in the same statement; return the rows
        the write returned.

        One statement is atomic on its own: the entry exists exactly when the
        write changed a row (an UPDATE that matched nothing returns no rows
        and inserts no entry), and an entry that cannot be written fails the
        write. The entry's `instance_id` is taken from the returned key, so a
        new record's id is known to its entry. PostgreSQL only (data-modifying
        WITH); see `can_insert_with_write`.

        The returned row is the write's columns without the primary key; the
        entry gets its id and `instance_id`.
        """
        connection = connections[using]
        sql = _insert_with_sql(connection, write[0], returned)
        params = self._insert_params(connection, _fields_beside_write())
        with connection.cursor() as cursor:
            cursor.execute(sql, (*write[1], *params))
            rows = cursor.fetchall()
        if not rows:
            return []
        *written, record_pk, entry_id = rows[0]
        self.instance_id = str(record_pk)
        self._inserted(entry_id, connection)
        return [tuple(written)]

    def _insert_params(self, connection: Any, fields: list[Any]) -> list[Any]:
        return [
            field.get_db_prep_save(field.pre_save(self, add=True), connection)
            for field in fields
        ]

    def _inserted(self, pk: int, connection: Any) -> None:
        self.pk = pk
        self._state.adding = False
        self._state.db = connection.alias


def can_insert_with_write(using: str) -> bool:
    """Whether `ActivityLog.insert_with` works on this database (PostgreSQL:
    SQLite has no INSERT or UPDATE inside WITH)."""
    return connections[using].vendor == "postgresql"


class ActivityLogSeal(AppendOnlyModel):
    """An entry's link in its lab's chain: hash = SHA-256(canonical entry +
    previous hash). `entry_id` is a plain integer, not a foreign key, so a
    deleted entry leaves its seal behind as evidence."""

    entry_id = models.BigIntegerField(unique=True)
    chain_lab_id = models.BigIntegerField(help_text="0 for records without a lab.")
    sequence = models.BigIntegerField()
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)
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


@cache
def _fields_beside_write() -> list[Any]:
    """The entry's columns given as parameters by `insert_with`: all but
    `instance_id`, which comes from the write's returned key."""
    return [f for f in _insert_fields() if f.attname != "instance_id"]


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


def _insert_with_sql(connection: Any, write_sql: str, returned: int) -> str:
    """`write_sql` and the entry INSERT as one statement: the write in a WITH
    (its `returned` columns named c0, c1, ... and record_pk, the last), the
    entry inserted from its row, and both rows selected together."""
    names = [f"c{n}" for n in range(returned - 1)] + ["record_pk"]
    return (
        f"WITH written ({', '.join(names)}) AS ({write_sql}), "
        f"{_entry_from_written_sql(connection)}"
    )


_ENTRY_FROM_WRITTEN_SQL: dict[str, str] = {}


def _entry_from_written_sql(connection: Any) -> str:
    """The part of `_insert_with_sql` after the write, built once per
    connection. Each value is cast to its column's type, which a SELECT list
    does not infer; text goes as `text`, since an explicit cast to
    varchar(n) would silently truncate where storing it is an error."""
    if connection.alias not in _ENTRY_FROM_WRITTEN_SQL:
        quote = connection.ops.quote_name
        columns, values = [], []
        for field in _insert_fields():
            columns.append(quote(field.column))
            if field.attname == "instance_id":
                values.append("CAST(written.record_pk AS text)")
            else:
                values.append(f"CAST(%s AS {_cast_type(field, connection)})")
        table = quote(ActivityLog._meta.db_table)
        pk = quote(ActivityLog._meta.pk.column)
        _ENTRY_FROM_WRITTEN_SQL[connection.alias] = (
            f"entry AS (INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(values)} FROM written RETURNING {pk}) "
            f"SELECT written.*, entry.{pk} FROM written CROSS JOIN entry"
        )
    return _ENTRY_FROM_WRITTEN_SQL[connection.alias]


def _cast_type(field: Any, connection: Any) -> str:
    if field.get_internal_type() in ("CharField", "TextField"):
        return "text"
    return str(field.cast_db_type(connection))
