"""run_forked: a function called in a forked child process that answers
back, is niced, is killed at its time limit (and kills itself should its
parent die), keeps none of the parent's sockets, refuses database queries,
and hands its log records and exceptions back to the parent. Real
processes throughout; the functions the children run are defined here."""

import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

import pytest

from admin.account.models import Lab
from core.utils.forked import (
    ForkedCrash,
    ForkedDatabaseUse,
    ForkedTimeout,
    run_forked,
)
from tests.pdf_render_fixtures import process_gone, wait_for_file

pytestmark = pytest.mark.engine_independent

LIMIT = 30  # seconds: a time limit no test below should reach


def note_pid_and_wait(pid_file: str, gate: str | None = None) -> int:
    """Write this process's id to `pid_file`, then wait for the file
    `gate` (None: a minute, in one-second steps)."""
    # Written aside and renamed, so a reader never sees the file empty.
    Path(f"{pid_file}.part").write_text(str(os.getpid()))
    os.replace(f"{pid_file}.part", pid_file)
    for _ in range(60 * 50):
        if gate is not None and Path(gate).exists():
            break
        time.sleep(0.02)
    return os.getpid()


class Unpicklable(Exception):
    def __init__(self, detail: str, code: int) -> None:  # two arguments: no pickle
        super().__init__(f"{detail} ({code})")


def raise_unpicklable() -> NoReturn:
    raise Unpicklable("a reason", 7)


def test_the_result_comes_back_and_arguments_need_not_pickle() -> None:
    lock = threading.Lock()  # cannot be pickled

    answer = run_forked(lambda held, n: (os.getpid(), n * 2, held.locked()), lock, 21,
                        time_limit_seconds=LIMIT)  # fmt: skip

    child, doubled, locked = answer
    assert child != os.getpid()
    assert (doubled, locked) == (42, False)


def test_an_exception_comes_back_as_itself_with_the_childs_traceback() -> None:
    def fail() -> None:
        raise KeyError("missing field")

    with pytest.raises(KeyError, match="missing field") as raised:
        run_forked(fail, time_limit_seconds=LIMIT)

    [note] = raised.value.__notes__
    assert note.startswith("Raised in forked process ")
    assert "in fail" in note and "KeyError: 'missing field'" in note


def test_an_exception_that_cannot_come_back_is_a_crash_naming_it() -> None:
    with pytest.raises(ForkedCrash) as raised:
        run_forked(raise_unpicklable, time_limit_seconds=LIMIT)

    assert str(raised.value).endswith("Unpicklable: a reason (7)")
    assert "raise_unpicklable" in raised.value.__notes__[0]


def test_a_result_that_cannot_come_back_is_an_error_saying_so() -> None:
    with pytest.raises(TypeError, match="pickle"):
        run_forked(threading.Lock, time_limit_seconds=LIMIT)


def test_a_child_killed_by_a_signal_is_a_crash_saying_how() -> None:
    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(ForkedCrash, match="ended by signal SIGKILL without an answer"):
        run_forked(die, time_limit_seconds=LIMIT)


def test_the_child_runs_at_lower_priority() -> None:
    mine = os.nice(0)

    assert run_forked(os.nice, 0, time_limit_seconds=LIMIT, nice=5) == mine + 5
    assert run_forked(os.nice, 0, time_limit_seconds=LIMIT) == mine
    policy = os.sched_getscheduler
    assert run_forked(policy, 0, time_limit_seconds=LIMIT, idle=True) == os.SCHED_IDLE
    assert run_forked(policy, 0, time_limit_seconds=LIMIT) == policy(0)


def test_a_child_past_its_time_limit_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"

    with pytest.raises(ForkedTimeout, match="stopped after 1 s"):
        run_forked(note_pid_and_wait, str(pid_file), time_limit_seconds=1)

    assert process_gone(int(pid_file.read_text()), seconds=0.5)


@pytest.mark.filterwarnings(  # the forked parent only waits on its child
    "ignore:This process .* is multi-threaded, use of fork:DeprecationWarning"
)
def test_a_child_whose_parent_died_kills_itself_after_its_limit(tmp_path: Path) -> None:
    # Given a parent process (forked from this test) waiting on a child
    # with a 1-second limit
    pid_file = tmp_path / "pid"
    parent = os.fork()
    if parent == 0:
        try:
            run_forked(note_pid_and_wait, str(pid_file), time_limit_seconds=1)
        finally:
            os._exit(0)
    wait_for_file(pid_file)
    child = int(pid_file.read_text())

    # when the parent is killed before it can kill the child
    os.kill(parent, signal.SIGKILL)
    os.waitpid(parent, 0)

    # then the child ends by itself (its alarm: the limit plus 5 s)
    assert process_gone(child, seconds=15)


def test_the_child_keeps_none_of_the_parents_sockets(tmp_path: Path) -> None:
    # Given a connection of the parent's, and a child running meanwhile
    ours, theirs = socket.socketpair()
    theirs.settimeout(10)
    pid_file, gate = tmp_path / "pid", tmp_path / "gate"
    done: list[Any] = []
    worker = threading.Thread(
        target=lambda: done.append(
            run_forked(
                note_pid_and_wait, str(pid_file), str(gate), time_limit_seconds=LIMIT
            )
        )
    )
    worker.start()
    wait_for_file(pid_file)

    # when the parent closes its end while the child still runs
    ours.close()

    # then the other end sees it closed now, not when the child ends
    try:
        assert theirs.recv(1) == b""
    finally:
        gate.touch()
        worker.join()
        theirs.close()
    assert done


@pytest.mark.engine_independent(False)  # it queries
@pytest.mark.django_db
def test_a_query_in_the_child_is_refused_and_the_parents_connection_is_unharmed(
    labs: dict[str, Lab],
) -> None:
    with pytest.raises(ForkedDatabaseUse, match="belongs to the parent"):
        run_forked(lambda: Lab.objects.count(), time_limit_seconds=LIMIT)

    assert Lab.objects.filter(pk=labs["central"].pk).exists()


def test_the_childs_log_records_are_logged_by_the_parent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def log() -> int:
        logger = logging.getLogger("tests.forked")
        logger.warning("rendering %s", "report 42")
        try:
            raise ValueError("bad value")
        except ValueError:
            logger.exception("it failed")
        logger.debug("too fine to keep")
        return os.getpid()

    with caplog.at_level(logging.INFO, logger="tests.forked"):
        child = run_forked(log, time_limit_seconds=LIMIT)

    records = [r for r in caplog.records if r.name == "tests.forked"]
    assert [r.getMessage().splitlines()[0] for r in records] == [
        "rendering report 42",
        "it failed",
    ]
    assert "ValueError: bad value" in records[1].getMessage()
    assert records[1].levelno == logging.ERROR
    assert {r.process for r in records} == {child}
