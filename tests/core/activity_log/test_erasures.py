"""Erasures verification must detect (issue 20 point 3): a cut tail with its
head rewound, the last links deleted, a whole lab's chain deleted, a
TRUNCATE of the trail, and an entry edited with every later link re-hashed.
And a `sealed` flag set back breaks only its own lab's sealing.

Each erasure is made as someone with write access to the database would
make it (the append-only triggers turned off, where PostgreSQL has them),
against checkpoints signed by the maintenance round into a real S3 server
(moto) with Object Lock; `verify_activity_logs` must print a `FAIL <kind>
chain=<c> sequence=<s>: ...` line and exit 1.
"""

import datetime as dt
import io
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from config.settings import base as project_settings
from core.activity_log.chain import seal_all
from core.activity_log.checkpoints import checkpoint_due, stored_checkpoints
from core.models import (
    ActivityLog,
    ActivityLogChain,
    ActivityLogChainHead,
    ActivityLogCheckpoint,
    ActivityLogSeal,
)
from core.models.activity_log_base import write_entry
from tests.conftest import requires_postgresql
from tests.core.activity_log.test_checkpoints import rewrite_consistently, use_bucket
from tests.core.utils.aws.conftest import MotoServer

pytestmark = pytest.mark.django_db(transaction=True)

#: Every table of the trail, as a database owner would empty it.
AUDIT_TABLES = (
    "core_activitylog", "core_activitylogseal", "core_activitylogchainhead",
    "core_activitylogchain", "core_activitylogcheckpoint", "core_activitylogprune",
)  # fmt: skip
#: A busy chain's next maintenance round, some minutes on: past the default
#: checkpoint interval (five minutes), well within the old one (an hour).
SIX_MINUTES_LATER = dt.timedelta(minutes=6)


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def anchored(signing, settings, moto) -> None:
    """Checkpoints signed into a locked moto bucket, at the default interval."""
    use_bucket(settings, moto, locked=True)
    settings.ACTIVITY_LOG_CHECKPOINT_INTERVAL_SECONDS = (
        project_settings.ACTIVITY_LOG_CHECKPOINT_INTERVAL_SECONDS
    )


def write(lab, count: int) -> list[ActivityLog]:
    """`count` entries in `lab`'s chain, not yet sealed."""
    return [
        write_entry(lab_id=lab.pk, model_label="tests.reading", instance_id=n,
                    action="other", message=f"reading {n}")
        for n in range(count)
    ]  # fmt: skip


def maintenance_round(now: dt.datetime | None = None) -> None:
    """What each Fusion worker's round does for the trail: seal, checkpoint."""
    seal_all()
    checkpoint_due(now=now)


def behind_the_back(*statements: str) -> None:
    """Run SQL as the tables' owner would, PostgreSQL's triggers off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for statement in statements:
            cursor.execute(statement)
        if connection.vendor == "postgresql":
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def head_of(lab) -> tuple[int, str]:
    head = ActivityLogChainHead.objects.get(pk=lab.pk)
    return head.sequence, head.last_hash


def verify(capsys) -> tuple[int, str, str]:
    """`manage.py verify_activity_logs`: exit code, stdout, stderr."""
    try:
        call_command("verify_activity_logs")
        code = 0
    except CommandError as exc:
        code = exc.returncode
    out = capsys.readouterr()
    return code, out.out, out.err


def cut_tail(lab, keep: int, *, rewind_head: bool) -> None:
    """Delete lab's links after #keep, entries and seals; maybe rewind the head."""
    seals = f"chain_lab_id = {lab.pk} AND sequence > {keep}"
    statements = [
        "DELETE FROM core_activitylog WHERE id IN "  # noqa: S608
        f"(SELECT entry_id FROM core_activitylogseal WHERE {seals})",
        f"DELETE FROM core_activitylogseal WHERE {seals}",  # noqa: S608
    ]
    if rewind_head:
        kept = ActivityLogSeal.objects.get(chain_lab_id=lab.pk, sequence=keep)
        statements.append(
            f"UPDATE core_activitylogchainhead SET sequence = {keep}, "  # noqa: S608
            f"last_hash = '{kept.entry_hash}' WHERE chain_lab_id = {lab.pk}"
        )
    behind_the_back(*statements)


# -- the window ------------------------------------------------------------------------


def test_the_default_interval_keeps_the_unanchored_window_at_five_minutes(settings):
    # docs/audit-checkpoints.md, "What verification detects": a busy chain's
    # newest links wait at most this long (plus one maintenance round).
    assert settings.ACTIVITY_LOG_CHECKPOINT_INTERVAL_SECONDS <= 300


# -- the erasures -------------------------------------------------------------------


def test_a_cut_tail_with_its_head_rewound_is_reported_down_to_the_checkpoint(
    anchored, labs, capsys
):
    north = labs["north"]
    write(north, 3)
    maintenance_round()  # the chain's first checkpoint: signed at once
    write(north, 5)
    maintenance_round(now=timezone.now() + SIX_MINUTES_LATER)
    signed, _ = head_of(north)
    assert stored_checkpoints(north.pk)[-1]["payload"]["sequence"] == signed

    cut_tail(north, signed - 5, rewind_head=True)

    code, out, err = verify(capsys)
    assert code == 1
    assert (
        f"FAIL truncated chain={north.pk} sequence={signed}: the chain ends at "
        f"#{signed - 5}, but checkpoint #{signed} signed "
    ) in err
    assert err.count("FAIL ") == 1  # the other chains verify
    assert "lab 0: chain intact" in out


def test_the_last_50_entries_and_seals_deleted_are_reported(anchored, labs, capsys):
    north = labs["north"]
    write(north, 10)
    maintenance_round()
    write(north, 50)
    seal_all()  # sealed, but within the interval: not signed yet
    sequence, _ = head_of(north)

    cut_tail(north, sequence - 50, rewind_head=False)

    code, _, err = verify(capsys)
    assert code == 1
    assert (
        f"FAIL truncated chain={north.pk} sequence={sequence - 50}: the chain ends "
        f"at #{sequence - 50} but its head is at #{sequence}" in err
    )


def test_a_whole_chain_deleted_is_reported_missing(anchored, labs, capsys):
    north, south = labs["north"], labs["south"]
    write(north, 3)
    write(south, 2)
    maintenance_round()
    write(north, 2)
    seal_all()

    where = f"chain_lab_id = {north.pk}"
    behind_the_back(
        f"DELETE FROM core_activitylog WHERE lab_id = {north.pk}",  # noqa: S608
        f"DELETE FROM core_activitylogseal WHERE {where}",  # noqa: S608
        f"DELETE FROM core_activitylogchainhead WHERE {where}",  # noqa: S608
    )

    code, out, err = verify(capsys)
    assert code == 1
    assert (
        f"FAIL missing chain={north.pk} sequence=0: lab {north.pk}'s chain is "
        "gone: no seal is left, though registry, recorded checkpoints, "
        "signed checkpoints say it exists"
    ) in err
    assert f"lab {south.pk}: chain intact" in out


def test_a_chain_erased_with_its_registry_row_is_named_by_storage(
    anchored, labs, capsys
):
    north = labs["north"]
    write(north, 3)
    maintenance_round()

    behind_the_back(
        *(f"DELETE FROM {table}" for table in AUDIT_TABLES)  # noqa: S608
    )

    code, _, err = verify(capsys)
    assert code == 1
    assert (
        f"FAIL missing chain={north.pk} sequence=0: lab {north.pk}'s chain is "
        "gone: no seal is left, though signed checkpoints say it exists"
    ) in err


@requires_postgresql
@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_postgresql_refuses_truncate_on_every_audit_table(anchored, labs, table):
    write(labs["north"], 2)
    maintenance_round()
    before = ActivityLog.objects.count(), ActivityLogSeal.objects.count()

    with transaction.atomic(), connection.cursor() as cursor:
        # Only the test suite's sessions may flush (config/settings/test.py).
        cursor.execute("SET LOCAL lis.audit_flush = 'off'")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute(f"TRUNCATE {table} CASCADE")

    assert (ActivityLog.objects.count(), ActivityLogSeal.objects.count()) == before


@requires_postgresql
def test_postgresql_refuses_to_remove_a_chain_from_the_registry(anchored, labs):
    write(labs["north"], 1)
    seal_all()

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "DELETE FROM core_activitylogchain WHERE chain_lab_id = %s",
            [labs["north"].pk],
        )

    assert ActivityLogChain.objects.filter(chain_lab_id=labs["north"].pk).exists()


@requires_postgresql
def test_a_truncate_by_the_tables_owner_is_reported_for_every_chain(
    anchored, labs, capsys
):
    write(labs["north"], 3)
    write(labs["south"], 1)
    maintenance_round()
    signed = sorted(
        ActivityLogCheckpoint.objects.values_list("chain_lab_id", flat=True)
    )

    behind_the_back(f"TRUNCATE {', '.join(AUDIT_TABLES)}")

    code, _, err = verify(capsys)
    assert code == 1
    missing = [line for line in err.splitlines() if line.startswith("FAIL missing")]
    assert [int(line.split("chain=")[1].split()[0]) for line in missing] == signed
    assert {labs["north"].pk, labs["south"].pk} <= set(signed)


def test_an_entry_edited_and_every_later_link_rehashed_fails_at_the_checkpoint(
    anchored, labs, capsys
):
    north = labs["north"]
    write(north, 3)
    maintenance_round()
    later = write(north, 3)
    maintenance_round(now=timezone.now() + SIX_MINUTES_LATER)
    signed, _ = head_of(north)

    rewrite_consistently(later[0], "nothing happened")

    code, _, err = verify(capsys)
    assert code == 1
    assert (
        f"FAIL checkpoint chain={north.pk} sequence={signed}: checkpoint "
        f"#{signed} signed "
    ) in err
    assert "the chain no longer has this hash" in err


# -- a sealed flag set back -----------------------------------------------------------


def test_a_sealed_flag_set_back_stops_only_its_own_labs_sealing(anchored, labs, capsys):
    north, south = labs["north"], labs["south"]
    victim = write(north, 3)[1]
    write(south, 1)
    maintenance_round()
    sealed_at = ActivityLogSeal.objects.get(entry_id=victim.id).sequence
    behind_the_back(
        f"UPDATE core_activitylog SET sealed = false WHERE id = {victim.id}"  # noqa: S608
    )
    waiting = write(south, 2)

    err = io.StringIO()
    with pytest.raises(CommandError) as sealing:
        call_command("seal_activity_logs", stdout=io.StringIO(), stderr=err)

    assert sealing.value.returncode == 1
    assert (
        f"FAIL seal chain={north.pk} sequence={sealed_at}: entry {victim.id} "
        f"is marked unsealed but is already sealed at #{sealed_at}"
    ) in err.getvalue()
    assert (
        ActivityLogSeal.objects.filter(entry_id__in=[e.id for e in waiting]).count()
        == 2
    )

    code, out, verify_err = verify(capsys)
    assert code == 1
    assert f"FAIL seal chain={north.pk} sequence={sealed_at}:" in verify_err
    assert f"lab {south.pk}: chain intact" in out


def test_a_head_rewound_behind_its_seals_is_reported_and_other_labs_seal(
    anchored, labs, capsys
):
    north, south = labs["north"], labs["south"]
    write(north, 3)
    write(south, 1)
    maintenance_round()
    first = ActivityLogSeal.objects.get(chain_lab_id=north.pk, sequence=1)
    behind_the_back(
        f"UPDATE core_activitylogchainhead SET sequence = 1, "  # noqa: S608
        f"last_hash = '{first.entry_hash}' WHERE chain_lab_id = {north.pk}"
    )
    write(north, 1)
    waiting = write(south, 1)

    code, out, err = verify(capsys)

    assert code == 1
    assert (
        f"FAIL seal chain={north.pk} sequence=1: the chain head says #1 but seals "
        "run to #"
    ) in err
    assert f"FAIL head chain={north.pk} sequence=1: the chain head says #1" in err
    assert ActivityLogSeal.objects.filter(entry_id=waiting[0].id).exists()
    assert f"lab {south.pk}: chain intact" in out


def test_an_intact_trail_verifies_with_every_chain_listed(anchored, labs, capsys):
    write(labs["north"], 2)
    write(labs["south"], 2)
    maintenance_round()

    code, out, err = verify(capsys)

    assert (code, err) == (0, "")
    for lab in ("north", "south"):
        assert f"lab {labs[lab].pk}: chain intact" in out
