"""`manage.py fusion_status`: an operator reads Fusion's queues in a
terminal, once, as JSON, or redrawn until Ctrl-C."""

import io
import json
import signal

import pytest
from django.core.management import CommandError, call_command

from core.management.commands.fusion_status import CLEAR_SCREEN
from tests.core.fusion.processes import WorkerProcess, wait_for, worker_env
from tests.core.fusion.queue_mix import EXPECTED, fill_queues


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("fusion_status", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(params=["database_engine", "celery_engine"])
def engine(request: pytest.FixtureRequest) -> str:
    """Each engine in turn, as its name in the report."""
    request.getfixturevalue(request.param)
    return "database" if request.param == "database_engine" else "celery"


@pytest.mark.django_db
def test_the_table_shows_each_queue_by_state_and_the_totals(engine, job_file):
    fill_queues(job_file)

    lines = run().splitlines()

    assert lines[0].startswith(f'Fusion: {engine} engine (backend "default") at ')
    assert lines[1].split() == [
        "queue", "ready", "oldest", "ready", "scheduled", "running",
        "successful", "failed", "dead", "letters",
    ]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in lines[2:6]}
    assert rows["default"][1] == "2" and rows["default"][3] == "s"
    assert float(rows["default"][2]) >= 0
    assert rows["default"][4:] == ["1", "0", "0", "0", "0"]
    assert rows["held"][1] == "1" and rows["held"][4:] == ["0", "1", "0", "0", "0"]
    assert rows["spare"] == ["spare", "0", "-", "0", "0", "1", "1", "1"]
    assert rows["total"][1] == "3" and rows["total"][4:] == ["1", "1", "1", "1", "1"]
    assert lines[6] == "within the readiness limits"


@pytest.mark.django_db
def test_queues_past_the_readiness_limits_are_named(
    database_engine, job_file, settings
):
    fill_queues(job_file)
    settings.HEALTH_CHECK_BACKLOG_MAX_READY_JOBS = 1

    last_line = run().splitlines()[-1]

    assert last_line == "over the readiness limits: default: 2 ready (limit 1)"


@pytest.mark.django_db
def test_json_has_the_same_numbers(engine, job_file, settings):
    fill_queues(job_file)
    settings.HEALTH_CHECK_BACKLOG_MAX_READY_JOBS = 1

    report = json.loads(run("--json"))

    assert report["engine"] == engine and report["finished_counted"] is True
    queues = {q.pop("queue"): q for q in report["queues"]}
    ages = {
        name: queue.pop("oldest_ready_age_seconds") for name, queue in queues.items()
    }
    assert queues == EXPECTED
    assert ages["spare"] is None and ages["default"] >= 0
    assert report["totals"] == {
        "ready": 3,
        "scheduled": 1,
        "running": 1,
        "successful": 1,
        "failed": 1,
        "dead_letters": 1,
        "oldest_ready_age_seconds": max(ages["default"], ages["held"]),
    }
    assert report["over_limits"] == ["default: 2 ready (limit 1)"]


@pytest.mark.django_db
def test_watch_redraws_the_table_each_time(database_engine):
    output = run("--watch", "0.01", "--iterations", "3")

    assert output.count(CLEAR_SCREEN) == 3
    assert output.count("Fusion: database engine") == 3


@pytest.mark.django_db
def test_watch_with_json_prints_one_object_per_line(database_engine):
    lines = run("--watch", "0.01", "--iterations", "2", "--json").splitlines()

    assert [json.loads(line)["engine"] for line in lines] == ["database"] * 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--watch", "0"], "--watch needs a positive number of seconds; got 0"),
        (["--iterations", "2"], "--iterations N (N >= 1) goes with --watch"),
        (["--watch", "1", "--iterations", "0"], "--iterations N (N >= 1)"),
    ],
)
def test_bad_options_say_what_would_be_right(database_engine, args, message):
    with pytest.raises(CommandError) as excinfo:
        run(*args)

    assert message in str(excinfo.value)


@pytest.mark.django_db(transaction=True)  # its process reads the database
def test_watch_runs_until_interrupted(tmp_path):
    # Given the command watching every 0.1 s in its own process
    command = WorkerProcess(
        ["manage.py", "fusion_status", "--watch", "0.1"],
        worker_env("database"),
        tmp_path / "status.log",
    )
    try:
        wait_for(
            lambda: command.output().count("Fusion: database engine") >= 2,
            "two snapshots",
            workers=(command,),
        )
        # When the operator presses Ctrl-C
        command.process.send_signal(signal.SIGINT)
        code = command.process.wait(timeout=10)
    finally:
        command.kill()

    # Then it ends quietly
    assert code == 0, command.output()
    assert "Traceback" not in command.output()
