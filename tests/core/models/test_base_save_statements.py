"""What a save sends to PostgreSQL: BEGIN, the row's INSERT or UPDATE, the
activity log entry's INSERT, COMMIT (inside a caller's transaction:
SAVEPOINT ... RELEASE SAVEPOINT), with the hooks' own queries inside.

What the server received is read from libpq's protocol trace, not Django's
query log, which records BEGIN and COMMIT when it toggles autocommit rather
than when psycopg sends them. These tests run in autocommit
(`transaction=True`): inside the test's own transaction every save would be
a savepoint.
"""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import pytest
from django.db import DataError, connection, transaction
from django.db.models import QuerySet
from psycopg.pq import Trace

from core.exceptions import VersionConflict
from core.models import ActivityLog
from core.utils.activity_log.context import Actor, ActorKind, acting_as
from tests.conftest import requires_postgresql
from tests.lifecycle.models import HookFailure, Instrument, Specimen

pytestmark = [pytest.mark.django_db(transaction=True), requires_postgresql]

#: An actor id longer than the entry's column: the entry cannot be written.
UNLOGGABLE = Actor(id="x" * 65, name="Too long", role="", kind=ActorKind.SYSTEM)
#: The tables the statements write, as `shapes` names them.
SPECIMEN, INSTRUMENT = Specimen._meta.db_table, Instrument._meta.db_table
ENTRY = ActivityLog._meta.db_table


def entries(instance: object) -> list[ActivityLog]:
    return list(
        ActivityLog.objects.filter(
            model_label=instance._meta.label_lower,  # type: ignore[attr-defined]
            instance_id=str(instance.pk),  # type: ignore[attr-defined]
        ).order_by("id")
    )


def specimen_entries() -> QuerySet[ActivityLog]:
    return ActivityLog.objects.filter(model_label="lifecycle_tests.specimen")


@contextmanager
def sent_to_postgresql() -> Iterator[list[str]]:
    """The statements this connection sends in the block, as the server
    receives them, without the reads of the cache's after-commit step
    (pending invalidations), which are not part of a save."""
    sent: list[str] = []
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile() as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        try:
            yield sent
        finally:
            pgconn.untrace()
            trace.seek(0)
            for line in trace.read().decode().splitlines():
                direction, _, message, *text = line.split("\t")
                if direction == "F" and message == "Query":
                    statement = text[0].strip().strip('"')
                    if "core_pendingcacheinvalidation" not in statement:
                        sent.append(statement)


def shapes(sent: list[str]) -> list[str]:
    """Each statement's first word and the table it writes, if any:
    `["BEGIN", f"INSERT {SPECIMEN}", f"INSERT {ENTRY}",
    "COMMIT"]`."""
    result = []
    for statement in sent:
        words = statement.split()
        table = {"INSERT": 2, "UPDATE": 1}.get(words[0])
        if table is None:
            result.append(words[0])
        else:
            result.append(f"{words[0]} {words[table].strip('"')}")
    return result


class CheckedSpecimen(Specimen):
    """A before_save that queries the database."""

    class Meta:
        proxy = True
        app_label = "lifecycle_tests"

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        Specimen.objects.filter(label=self.label).exists()


class NotifyingSpecimen(Specimen):
    """A before_save that registers an after-commit callback, noting
    whether the save's transaction had committed when it ran."""

    notified: ClassVar[list[tuple[int, bool]]] = []

    class Meta:
        proxy = True
        app_label = "lifecycle_tests"

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        self.on_commit(
            lambda: self.notified.append((self.pk, connection.in_atomic_block))
        )


def test_a_save_sends_the_row_then_its_entry_between_begin_and_commit(labs):
    Specimen(lab=labs["north"], label="warm").save()  # remembers the lab's parent
    specimen = Specimen(lab=labs["north"], label="S-1", results={"hb": 13.5})

    with sent_to_postgresql() as create:
        specimen.save()
    specimen.label = "S-1b"
    with sent_to_postgresql() as update:
        specimen.save()

    assert shapes(create) == [
        "BEGIN", f"INSERT {SPECIMEN}", f"INSERT {ENTRY}", "COMMIT"
    ]  # fmt: skip
    assert shapes(update) == [
        "BEGIN", f"UPDATE {SPECIMEN}", f"INSERT {ENTRY}", "COMMIT"
    ]  # fmt: skip
    assert '"version" = 1' in update[1]  # the UPDATE matches the loaded version
    [created, updated] = entries(specimen)
    assert created.action == "create" and created.instance_id == str(specimen.pk)
    assert created.changes["results"] == {"old": None, "new": {"hb": 13.5}}
    assert created.lab_id == labs["north"].pk
    assert created.parent_lab_id == labs["central"].pk
    assert updated.changes == {"label": {"old": "S-1", "new": "S-1b"}}
    stored = Specimen.objects.get(pk=specimen.pk)
    assert (stored.label, stored.version) == ("S-1b", 2)


def test_inside_a_callers_transaction_a_save_is_a_savepoint(labs):
    with transaction.atomic():
        Specimen(lab=labs["north"], label="first").save()  # the caller's BEGIN
        with sent_to_postgresql() as sent:
            Specimen(lab=labs["north"], label="second").save()

    assert shapes(sent) == [
        "SAVEPOINT", f"INSERT {SPECIMEN}", f"INSERT {ENTRY}", "RELEASE"
    ]  # fmt: skip
    assert specimen_entries().count() == 2


def test_a_save_that_changes_nothing_sends_no_entry(labs):
    specimen = Specimen(lab=labs["north"], label="S-1")
    specimen.save()

    with sent_to_postgresql() as sent:
        specimen.save()

    assert shapes(sent) == ["BEGIN", f"UPDATE {SPECIMEN}", "COMMIT"]
    assert [e.action for e in entries(specimen)] == ["create"]


def test_a_before_save_that_queries_runs_inside_the_saves_transaction(labs):
    Specimen(lab=labs["north"], label="warm").save()

    with sent_to_postgresql() as sent:
        CheckedSpecimen(lab=labs["north"], label="S-1").save()

    assert shapes(sent) == [
        "BEGIN", "SELECT", f"INSERT {SPECIMEN}", f"INSERT {ENTRY}", "COMMIT"
    ]  # fmt: skip


def test_an_after_commit_callback_from_a_hook_runs_after_the_commit(labs):
    Specimen(lab=labs["north"], label="warm").save()
    specimen = NotifyingSpecimen(lab=labs["north"], label="S-1")

    with sent_to_postgresql() as sent:
        specimen.save()

    assert shapes(sent)[-1] == "COMMIT"
    assert NotifyingSpecimen.notified == [(specimen.pk, False)]


def test_after_save_runs_after_the_entry_and_before_the_commit():
    instrument = Instrument(name="Analyser", serial="S1")
    instrument.fail_in = "after_save"

    with sent_to_postgresql() as sent, pytest.raises(HookFailure):
        instrument.save()

    assert shapes(sent) == [
        "BEGIN", f"INSERT {INSTRUMENT}", f"INSERT {ENTRY}", "ROLLBACK"
    ]  # fmt: skip
    assert [hook for hook, in_atomic in instrument.calls if in_atomic] == [
        "validate", "before_save", "after_save"
    ]  # fmt: skip
    assert not ActivityLog.objects.exists()


def test_an_entry_that_cannot_be_written_fails_the_save_and_writes_nothing(labs):
    specimen = Specimen(lab=labs["north"], label="S-1")

    with acting_as(UNLOGGABLE), pytest.raises(DataError):
        specimen.save()

    assert not Specimen.objects.exists() and not specimen_entries().exists()
    assert specimen.pk is None and specimen._state.adding
    specimen.save()  # the instance is as it was: saving it again works
    assert Specimen.objects.count() == 1 and len(entries(specimen)) == 1


def test_an_update_whose_entry_cannot_be_written_leaves_the_row_unchanged(labs):
    specimen = Specimen(lab=labs["north"], label="S-1")
    specimen.save()
    specimen.label = "S-2"

    with acting_as(UNLOGGABLE), pytest.raises(DataError):
        specimen.save()

    assert Specimen.objects.get(pk=specimen.pk).label == "S-1"
    assert specimen.version == 1
    specimen.save()  # retried, the change is logged against the stored state
    assert entries(specimen)[-1].changes == {"label": {"old": "S-1", "new": "S-2"}}


def test_a_stale_copy_is_refused_before_any_entry_is_sent(labs):
    specimen = Specimen(lab=labs["north"], label="S-1")
    specimen.save()
    stale = Specimen.objects.get(pk=specimen.pk)
    specimen.label = "S-2"
    specimen.save()

    stale.label = "S-3"
    with sent_to_postgresql() as sent, pytest.raises(VersionConflict):
        stale.save()

    # The UPDATE matched no row; the SELECT reads the version for the error.
    assert shapes(sent) == ["BEGIN", f"UPDATE {SPECIMEN}", "SELECT", "ROLLBACK"]
    assert Specimen.objects.get(pk=specimen.pk).label == "S-2"
    assert [e.action for e in entries(specimen)] == ["create", "update"]
    assert stale.version == 1


def test_inside_a_transaction_a_failed_save_rolls_back_only_itself(labs):
    with transaction.atomic():
        Specimen(lab=labs["north"], label="before").save()
        with acting_as(UNLOGGABLE), pytest.raises(DataError):
            Specimen(lab=labs["north"], label="failed").save()
        Specimen(lab=labs["north"], label="after").save()

    labels = set(Specimen.objects.values_list("label", flat=True))
    assert labels == {"before", "after"}
    assert specimen_entries().count() == 2
