"""bench/pinning.py: servers and the load generator on disjoint CPUs, with
real child processes (and their own children, as gunicorn's workers), or a
note saying why nothing is pinned."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.pinning import LOAD, SERVER, plan_pinning, split_cpus

pytestmark = pytest.mark.engine_independent


REPO = Path(__file__).resolve().parents[2]
#: A child that prints its CPUs and those of a process it starts itself.
REPORT_CPUS = (
    "import json, os, subprocess, sys\n"
    "grandchild = subprocess.run([sys.executable, '-c', 'import os; "
    "print(sorted(os.sched_getaffinity(0)))'], capture_output=True, text=True)\n"
    "print(json.dumps([sorted(os.sched_getaffinity(0)), "
    "json.loads(grandchild.stdout)]))\n"
)


def cpus_of_child(prefix: list[str]) -> tuple[set[int], set[int]]:
    """The CPUs a child started behind `prefix` runs on, and its child's."""
    done = subprocess.run(
        [*prefix, sys.executable, "-c", REPORT_CPUS],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    child, grandchild = json.loads(done.stdout)
    return set(child), set(grandchild)


def test_the_load_gets_the_last_quarter_and_the_servers_the_rest() -> None:
    assert split_cpus({0, 1}) == ({0}, {1})
    assert split_cpus(range(8)) == (set(range(6)), {6, 7})
    assert split_cpus({0, 2, 5}) == ({0, 2}, {5})


def test_with_one_cpu_nothing_is_pinned_and_the_note_says_why() -> None:
    pinning = plan_pinning(cpus={3}, taskset="/usr/bin/taskset")

    assert not pinning.active
    assert pinning.prefix(SERVER) == pinning.prefix(LOAD) == []
    assert pinning.note == "pinning: none (1 CPU available: nothing to separate)"


def test_no_pin_leaves_every_process_alone() -> None:
    pinning = plan_pinning(enabled=False)

    assert not pinning.active and pinning.note == "pinning: none (--no-pin)"


def test_children_run_on_disjoint_cpus_and_their_children_inherit_them() -> None:
    pinning = plan_pinning()
    if not pinning.active:
        pytest.skip(f"this machine cannot pin: {pinning.note}")

    server, server_child = cpus_of_child(pinning.prefix(SERVER))
    load, load_child = cpus_of_child(pinning.prefix(LOAD))

    assert server == server_child == pinning.server
    assert load == load_child == pinning.load
    assert server.isdisjoint(load)
    assert server | load <= os.sched_getaffinity(0)


def test_the_benchmark_process_pins_itself_to_the_load_cpus() -> None:
    pinning = plan_pinning()
    if not pinning.active:
        pytest.skip(f"this machine cannot pin: {pinning.note}")
    script = (
        "import os; from bench.pinning import plan_pinning; "
        "plan_pinning().pin_self(); print(sorted(os.sched_getaffinity(0)))"
    )

    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
        check=True,
    )  # fmt: skip

    assert set(json.loads(done.stdout)) == pinning.load
