"""Interrupt signals for the processes the tests start.

A process started with SIGINT or SIGQUIT ignored passes the ignore on to
every process it starts, and Python then installs no KeyboardInterrupt
handler in them. pytest is started that way as a background job of a
script (scripts/test.sh's SQLite run; bash ignores both signals in its
background jobs) or under nohup: a test that stops a command with Ctrl-C's
signal (`fusion_status --watch`) would then wait for an exit that never
comes. This plugin gives the run the handlers an interactive start gives
it, so the processes its tests start begin with the defaults.
"""

import signal

import pytest


def restore_interrupts() -> None:
    """Python's SIGINT handler and the default SIGQUIT, where ignored."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGQUIT) is signal.SIG_IGN:
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Before any test starts a process."""
    restore_interrupts()
