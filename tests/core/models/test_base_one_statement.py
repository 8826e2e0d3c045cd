"""On PostgreSQL a save writes its row and its activity log entry in one
statement, and a save that sends nothing else (validate and before_save ran
no query, nothing follows the write, no caller's transaction) sends no
BEGIN or COMMIT either.

What the server received is read from libpq's protocol trace: Django's query
log records BEGIN and COMMIT whenever it toggles autocommit, even when
psycopg never sends them. These tests run in autocommit (`transaction=True`):
inside the test's own transaction every save takes the savepoint path.
"""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import pytest
from django.db import DataError, connection, transaction
from django.db.models import QuerySet
from django.db.models.signals import post_save
from psycopg.pq import Trace

from core.exceptions import VersionConflict
from core.models import ActivityLog
from core.utils.activity_log.context import Actor, ActorKind, acting_as
from tests.conftest import requires_postgresql
from tests.lifecycle.models import Instrument, Specimen

pytestmark = [pytest.mark.django_db(transaction=True), requires_postgresql]

#: An actor id longer than the entry's column: the entry cannot be written.
UNLOGGABLE = Actor(id="x" * 65, name="Too long", role="", kind=ActorKind.SYSTEM)


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
    """Each statement's first word, two for a WITH: `["BEGIN", "WITH
    written", "COMMIT"]`."""
    words = [statement.split() for statement in sent]
    return [" ".join(w[:2]) if w[0] == "WITH" else w[0] for w in words]


class TidySpecimen(Specimen):
    """A before_save of its own that runs no query."""

    class Meta:
        proxy = True
        app_label = "lifecycle_tests"

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        self.label = self.label.strip()


class CheckedSpecimen(Specimen):
    """A before_save that queries the database."""

    class Meta:
        proxy = True
        app_label = "lifecycle_tests"

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        Specimen.objects.filter(label=self.label).exists()


class NotifyingSpecimen(Specimen):
    """A before_save that registers an after-commit callback."""

    notified: ClassVar[list[int]] = []

    class Meta:
        proxy = True
        app_label = "lifecycle_tests"

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        self.on_commit(lambda: self.notified.append(self.pk))


def test_a_save_with_the_base_hooks_is_one_statement_row_and_entry(labs):
    Specimen(lab=labs["north"], label="warm").save()  # remembers the lab's parent
    specimen = Specimen(lab=labs["north"], label="S-1", results={"hb": 13.5})

    with sent_to_postgresql() as create:
        specimen.save()
    specimen.label = "S-1b"
    with sent_to_postgresql() as update:
        specimen.save()

    assert shapes(create) == shapes(update) == ["WITH written"]
    [created, updated] = entries(specimen)
    assert created.action == "create" and created.instance_id == str(specimen.pk)
    assert created.changes["results"] == {"old": None, "new": {"hb": 13.5}}
    assert created.lab_id == labs["north"].pk
    assert created.parent_lab_id == labs["central"].pk
    assert updated.changes == {"label": {"old": "S-1", "new": "S-1b"}}
    stored = Specimen.objects.get(pk=specimen.pk)
    assert (stored.label, stored.version) == ("S-1b", 2)


def test_a_before_save_without_queries_keeps_the_save_one_statement(labs):
    Specimen(lab=labs["north"], label="warm").save()
    specimen = TidySpecimen(lab=labs["north"], label="  S-1 ")

    with sent_to_postgresql() as sent:
        specimen.save()

    assert shapes(sent) == ["WITH written"]
    assert Specimen.objects.get(pk=specimen.pk).label == "S-1"


def test_a_before_save_that_queries_keeps_its_transaction(labs):
    Specimen(lab=labs["north"], label="warm").save()

    with sent_to_postgresql() as sent:
        CheckedSpecimen(lab=labs["north"], label="S-1").save()

    assert shapes(sent) == ["BEGIN", "SELECT", "WITH written", "COMMIT"]


def test_an_after_commit_callback_from_a_hook_runs_after_the_commit(labs):
    Specimen(lab=labs["north"], label="warm").save()
    specimen = NotifyingSpecimen(lab=labs["north"], label="S-1")

    with sent_to_postgresql() as sent:
        specimen.save()

    assert shapes(sent) == ["BEGIN", "WITH written", "COMMIT"]
    assert NotifyingSpecimen.notified == [specimen.pk]


def test_a_model_with_an_after_save_keeps_its_transaction():
    instrument = Instrument(name="Analyser", serial="S1")

    with sent_to_postgresql() as sent:
        instrument.save()

    assert all(in_atomic for _, in_atomic in instrument.calls)
    assert shapes(sent) == ["BEGIN", "WITH written", "COMMIT"]
    assert len(entries(instrument)) == 1


def test_a_model_with_a_post_save_receiver_keeps_its_transaction(labs):
    seen = []

    def receiver(sender: object, **kwargs: object) -> None:
        seen.append(connection.in_atomic_block)

    post_save.connect(receiver, sender=Specimen)
    try:
        Specimen(lab=labs["north"], label="S-1").save()
    finally:
        post_save.disconnect(receiver, sender=Specimen)

    assert seen == [True]


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


def test_a_stale_copy_is_refused_and_leaves_no_entry(labs):
    specimen = Specimen(lab=labs["north"], label="S-1")
    specimen.save()
    stale = Specimen.objects.get(pk=specimen.pk)
    specimen.label = "S-2"
    specimen.save()

    stale.label = "S-3"
    with pytest.raises(VersionConflict):
        stale.save()

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
