"""@job, its policy (backoff, limits) and the time limit, without a database."""

import os
import signal
import threading

import pytest
from django.tasks import Task, task
from django.tasks.exceptions import InvalidTaskBackend

from core.fusion.time_limit import time_limit
from core.utils.fusion import (
    FusionTask,
    JobPolicy,
    JobTimeLimitExceeded,
    job,
    policy_of,
)
from core.utils.fusion.jobs import DEFAULT_POLICY
from tests.core.fusion import jobs

pytestmark = pytest.mark.engine_independent


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 8, 20, 10_000])
def test_backoff_doubles_per_attempt_within_the_cap(attempt):
    policy = JobPolicy(backoff_base_seconds=2, backoff_cap_seconds=60)
    ceiling = min(60, 2 * 2 ** (attempt - 1))

    waits = [policy.backoff_seconds(attempt) for _ in range(50)]

    assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
    assert len(set(waits)) > 1  # jittered, so a burst of failures spreads out


def test_an_invalid_policy_names_every_problem():
    with pytest.raises(ValueError, match=r"max_attempts=0 .*time_limit_seconds=0"):
        JobPolicy(max_attempts=0, time_limit_seconds=0)
    with pytest.raises(ValueError, match=r"backoff_cap_seconds=1 \(>= backoff_base"):
        job(backoff_base_seconds=5, backoff_cap_seconds=1)(jobs.append)


def test_a_job_is_a_django_task_that_keeps_its_policy(tmp_path):
    rescheduled = jobs.always_fail.using(priority=5, queue_name="held")

    assert isinstance(jobs.always_fail, Task)
    assert isinstance(rescheduled, FusionTask)
    assert policy_of(rescheduled) == jobs.always_fail.policy
    assert rescheduled.policy.max_attempts == 3
    assert jobs.record.call(str(tmp_path / "out"), "x") == {"pid": os.getpid()}


def test_a_plain_django_task_gets_the_default_policy():
    plain = task(jobs.append)

    assert policy_of(plain) == DEFAULT_POLICY


def test_declaring_a_job_does_not_read_the_tasks_setting(settings):
    settings.TASKS = {"default": {"BACKEND": "core.utils.nowhere.Backend"}}

    declared = job(jobs.append)  # at import time, settings may not be final

    with pytest.raises(InvalidTaskBackend, match=r"core\.utils\.nowhere"):
        declared.enqueue("/dev/null", "x")


def test_an_attempt_past_its_time_limit_is_interrupted():
    limit = pytest.raises(JobTimeLimitExceeded, match=r"time limit of 0\.05 s")
    with limit, time_limit(0.05):
        threading.Event().wait(5)

    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_job_that_swallows_the_limit_meets_the_hard_limit():
    class HardLimit(Exception):
        pass

    def on_hard_limit() -> None:
        raise HardLimit

    swallowed = 0
    with (
        pytest.raises(HardLimit),
        time_limit(0.05, hard_grace_seconds=0.05, on_hard_limit=on_hard_limit),
    ):
        while True:
            try:
                threading.Event().wait(5)
            except JobTimeLimitExceeded:
                swallowed += 1

    assert swallowed == 1


def test_an_outer_timer_is_restored_after_the_limit():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        with time_limit(1):
            pass
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < remaining <= 30
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert fired == []


def test_outside_the_main_thread_the_limit_is_not_enforced_and_says_so(caplog):
    outcome = []

    def run() -> None:
        with time_limit(0.01):
            threading.Event().wait(0.05)
        outcome.append("finished")

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(5)

    assert outcome == ["finished"]
    assert "not enforced outside the main thread" in caplog.text
