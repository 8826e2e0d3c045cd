"""On PostgreSQL a save writes its row and its activity log entry in one
statement, and a save that is nothing but that statement (a model with the
base hooks, outside any transaction) sends no BEGIN or COMMIT of its own.

These tests run in autocommit (`transaction=True`): inside the test's own
transaction every save would take the savepoint path.
"""

import pytest
from django.db import DataError, connection, transaction
from django.db.models import QuerySet
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

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


def writes(captured: CaptureQueriesContext) -> list[str]:
    """The statements of a save, without the reads the cache's after-commit
    step makes (pending invalidations), which are not part of the save."""
    return [
        query["sql"]
        for query in captured.captured_queries
        if "core_pendingcacheinvalidation" not in query["sql"]
    ]


def test_a_save_with_the_base_hooks_is_one_statement_row_and_entry(labs):
    Specimen(lab=labs["north"], label="warm").save()  # remembers the lab's parent
    specimen = Specimen(lab=labs["north"], label="S-1", results={"hb": 13.5})

    with CaptureQueriesContext(connection) as create:
        specimen.save()
    specimen.label = "S-1b"
    with CaptureQueriesContext(connection) as update:
        specimen.save()

    for captured in (create, update):
        [statement] = writes(captured)
        assert statement.startswith("WITH written")
    [created, updated] = entries(specimen)
    assert created.action == "create" and created.instance_id == str(specimen.pk)
    assert created.changes["results"] == {"old": None, "new": {"hb": 13.5}}
    assert created.lab_id == labs["north"].pk
    assert created.parent_lab_id == labs["central"].pk
    assert updated.changes == {"label": {"old": "S-1", "new": "S-1b"}}
    stored = Specimen.objects.get(pk=specimen.pk)
    assert (stored.label, stored.version) == ("S-1b", 2)


def test_a_model_with_hooks_keeps_its_transaction_and_still_one_write_statement():
    instrument = Instrument(name="Analyser", serial="S1")

    with CaptureQueriesContext(connection) as captured:
        instrument.save()

    assert all(in_atomic for _, in_atomic in instrument.calls)
    statements = [query["sql"] for query in captured.captured_queries]
    assert [s for s in statements if s not in ("BEGIN", "COMMIT")] == [statements[1]]
    assert statements[1].startswith("WITH written")
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
