"""`manage.py checkpoint_activity_logs` (the periodic job for cron, or a
checkpoint now), what an inspector is handed for a range, and what checking
many checkpoints costs the database."""

import io

import pytest
from django.core.management import CommandError, call_command

from core.activity_log.checkpoint_keys import key_id, public_key_pem
from core.activity_log.checkpoints import (
    checkpoint_chain,
    checkpoint_due,
    inspector_bundle,
    stored_checkpoints,
    verify_checkpoints,
)
from core.models import ActivityLogChainHead, ActivityLogCheckpoint
from core.models.activity_log_base import write_entry
from tests.core.activity_log.test_checkpoints import down_storage, entries

pytestmark = pytest.mark.django_db(transaction=True)


def pending(lab, count: int) -> None:
    """Entries written but not yet sealed."""
    for n in range(count):
        write_entry(
            lab_id=lab.pk, model_label="tests.reading", instance_id=n, action="other"
        )


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("checkpoint_activity_logs", *args, stdout=out)
    return out.getvalue()


# -- the command ------------------------------------------------------------------


def test_the_command_seals_pending_entries_and_signs_the_heads(signing, labs):
    pending(labs["north"], 2)
    pending(labs["south"], 1)

    out = run()

    # every chain that moved (the labs' own creation is logged too) is signed
    # at its head, the pending entries included
    heads = dict(ActivityLogChainHead.objects.values_list("chain_lab_id", "sequence"))
    assert out == f"{len(heads)} checkpoints written\n"
    for lab, sealed in ((labs["north"], 2), (labs["south"], 1)):
        (document,) = stored_checkpoints(lab.pk)
        assert document["payload"]["sequence"] == heads[lab.pk] >= sealed
        assert verify_checkpoints(lab.pk) is None


def test_the_command_keeps_the_interval_unless_told_now(signing, labs):
    entries(labs["north"], 1)
    run()
    pending(labs["north"], 1)

    assert run() == "0 checkpoints written\n"  # within the hour
    assert run("--now") == "1 checkpoints written\n"
    assert run("--now") == "0 checkpoints written\n"  # the head did not move


def test_the_command_checkpoints_one_lab_on_request(signing, labs):
    pending(labs["north"], 1)
    pending(labs["south"], 1)

    assert run("--lab", str(labs["south"].pk)) == "1 checkpoints written\n"

    assert list(
        ActivityLogCheckpoint.objects.values_list("chain_lab_id", flat=True)
    ) == [labs["south"].pk]
    assert stored_checkpoints(labs["north"].pk) == []


def test_the_command_without_a_key_fails(labs, settings):
    settings.ACTIVITY_LOG_SIGNING_KEY = ""

    with pytest.raises(CommandError, match="ACTIVITY_LOG_SIGNING_KEY"):
        run()


def test_the_command_fails_loudly_and_records_nothing_when_storage_is_down(
    signing, labs, settings
):
    entries(labs["north"], 1)
    down_storage(settings)

    with pytest.raises(CommandError, match="could not be stored") as excinfo:
        run("--now")

    assert excinfo.value.returncode == 1
    assert not ActivityLogCheckpoint.objects.exists()


# -- what an inspector is handed --------------------------------------------------


def test_the_inspector_bundle_holds_the_key_and_the_checkpoints_of_the_range(
    signing, labs
):
    chain = labs["north"].pk
    for _ in range(3):
        entries(labs["north"], 2)
        checkpoint_chain(chain)  # at #2, #4, #6

    bundle = inspector_bundle(chain, 3, 6)

    public = signing.public_key()
    assert bundle["public_keys"] == {key_id(public): public_key_pem(public)}
    assert [d["payload"]["sequence"] for d in bundle["checkpoints"]] == [4, 6]
    assert inspector_bundle(chain, 7, 9)["checkpoints"] == []


def test_without_a_key_the_inspector_bundle_is_empty(labs, settings):
    settings.ACTIVITY_LOG_SIGNING_KEY = ""

    assert inspector_bundle(labs["north"].pk, 1, 10) == {
        "public_keys": {},
        "checkpoints": [],
    }


# -- cost -------------------------------------------------------------------------


@pytest.mark.parametrize("checkpoints", [1, 6])
def test_checking_checkpoints_costs_two_queries_however_many(
    signing, labs, checkpoints, django_assert_num_queries
):
    for _ in range(checkpoints):
        entries(labs["north"], 1)
        checkpoint_chain(labs["north"].pk)

    # the seals at the checkpoints' sequences; the recorded checkpoints
    with django_assert_num_queries(2):
        assert verify_checkpoints(labs["north"].pk) is None


@pytest.mark.parametrize("labs_signed", [1, 4])
def test_a_round_with_nothing_due_costs_two_queries_however_many_labs(
    signing, labs, labs_signed, django_assert_num_queries
):
    for name in ["central", "north", "south", "other"][:labs_signed]:
        entries(labs[name], 1)
        checkpoint_chain(labs[name].pk)

    # the last checkpoint of every chain; the chain heads
    with django_assert_num_queries(2):
        assert checkpoint_due() == 0
