"""The processes tests start can be interrupted, however the run was started
(tests/interrupts.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parent.parent

#: Started with SIGINT and SIGQUIT ignored, as bash starts a background job;
#: prints how a process it starts finds them, after `restore` ran or not.
PROBE = """
import signal, subprocess, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGQUIT, signal.SIG_IGN)
if sys.argv[1] == "restore":
    from tests.interrupts import restore_interrupts
    restore_interrupts()
child = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
print(child.stdout)
"""
#: How a started process finds SIGINT and SIGQUIT: ignored, default, or
#: Python's KeyboardInterrupt handler.
CHILD = """
import signal
names = {signal.SIG_IGN: "ignored", signal.SIG_DFL: "default",
         signal.default_int_handler: "keyboard-interrupt"}
print(names[signal.getsignal(signal.SIGINT)],
      names[signal.getsignal(signal.SIGQUIT)])
"""


def dispositions_in_a_child(restore: bool) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"CHILD = {CHILD!r}\n{PROBE}",
            "restore" if restore else "leave",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_a_run_started_with_interrupts_ignored_passes_the_ignore_on_by_itself():
    assert dispositions_in_a_child(restore=False).split() == ["ignored", "ignored"]


def test_restored_the_processes_it_starts_take_ctrl_c_and_quit():
    assert dispositions_in_a_child(restore=True).split() == [
        "keyboard-interrupt",
        "default",
    ]


def test_this_run_has_them_restored():
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True
    )

    assert done.stdout.split() == ["keyboard-interrupt", "default"]
