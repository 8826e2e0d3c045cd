"""Calling a function in a forked child process that is killed at a time limit.

A Python thread cannot be stopped from outside; a process can.
`run_forked(function, *args, time_limit_seconds=..., nice=..., idle=...)` forks the
calling process, runs `function(*args)` in the child and returns what it
returned (pickled back over a pipe), or raises what it raised. The child:

- starts as a copy of the caller (settings and their test overrides,
  loaded templates, registries), so the arguments need not pickle; only
  the result does;
- runs `nice` steps below the caller's CPU priority and, with `idle` on
  Linux, under the SCHED_IDLE policy: it then gets only CPU time no other
  process wants, and any other process that wakes up takes the CPU from it
  at once (a niced process keeps it for the rest of its time slice), so it
  adds almost nothing to other requests' latency;
- is killed (SIGKILL) when `time_limit_seconds` pass without its answer
  (ForkedTimeout), and kills itself (SIGALRM) CHILD_GRACE_SECONDS later in
  case its parent died first and nobody is left to kill it;
- does not use the caller's connections: inherited sockets (clients, the
  listening socket, the database, Redis) are swapped for /dev/null so that
  the child neither writes to them nor keeps them open after the parent
  closes them, and a database query raises ForkedDatabaseUse;
- sends nothing to Sentry and hands its log records to the parent, which
  logs them as its own (with the request id, to Sentry's breadcrumbs and
  events);
- ends with os._exit: no atexit handler or finalizer of the parent runs.

An exception raised in the child is raised again in the parent, with the
child's traceback as a note, when it pickles; otherwise as ForkedCrash
naming its type and message. A child that dies without answering (killed
by a signal, a crash in C code) raises ForkedCrash with how it ended.

Forking a process that runs threads (gunicorn's gthread workers) copies
only the calling thread, and a lock another thread held at that moment
stays locked in the child. Python resets its own (imports, logging) after a
fork; the rest is up to what the function touches. So a caller runs in the
child only code that the parent's other threads do not run at the same
time (core.pdf_sync: WeasyPrint, which web processes run only in children
after one warm-up before the first fork), and a child that hangs anyway is
killed at the time limit like a slow one. (Python warns about exactly this
with a DeprecationWarning on such a fork, shown only where deprecation
warnings are; the test suite ignores it for this module, the reasoning
being here.)
"""

import contextlib
import logging
import math
import os
import pickle
import select
import signal
import stat
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

import sentry_sdk
from django.db import connections

#: How long after its time limit a child whose parent is gone kills itself.
CHILD_GRACE_SECONDS = 5
#: Log records a child hands back at most (the rest are counted, not kept).
MAX_CHILD_LOG_RECORDS = 200
#: Exit status of a child that failed before it could answer.
CHILD_FAILED_STATUS = 70
#: Signals a copy of a server process must not handle as the server does
#: (gunicorn's workers catch TERM, INT, QUIT, USR1, ABRT, WINCH).
RESET_SIGNALS = ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2",
                 "SIGABRT", "SIGALRM", "SIGWINCH")  # fmt: skip
_READ_CHUNK_BYTES = 1 << 16


class ForkedTimeout(Exception):
    """The child gave no answer within its time limit and was killed."""

    def __init__(self, time_limit_seconds: float) -> None:
        super().__init__(
            f"The forked process was stopped after {time_limit_seconds:g} s "
            "without an answer."
        )
        self.time_limit_seconds = time_limit_seconds


class ForkedCrash(RuntimeError):
    """The child died without answering, or raised an exception that could
    not be brought back as itself; the message says which and how."""


class ForkedDatabaseUse(RuntimeError):
    """Code in a forked child tried to query the database."""


def run_forked[T](
    function: Callable[..., T],
    /,
    *args: Any,
    time_limit_seconds: float,
    nice: int = 0,
    idle: bool = False,
) -> T:
    """`function(*args)` called in a forked child; see the module docstring.

    Example: `run_forked(render_report, request, lab, time_limit_seconds=30,
    nice=19, idle=True)` -> b"%PDF-1.7 ...". Raises ForkedTimeout,
    ForkedCrash, or what the function raised.
    """
    if time_limit_seconds <= 0:
        raise ValueError(f"time_limit_seconds must be > 0, not {time_limit_seconds}.")
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:
        os.close(read_fd)
        _child(write_fd, function, args, time_limit_seconds, (nice, idle))
    os.close(write_fd)
    answer = _wait_for_answer(pid, read_fd, time_limit_seconds)
    if answer is None:
        raise ForkedTimeout(time_limit_seconds)
    kind, value, records = answer
    _replay(records)
    if kind == "returned":
        result: T = value
        return result
    raise _error_from(value, pid)


def _wait_for_answer(
    pid: int, read_fd: int, time_limit_seconds: float
) -> tuple[str, Any, list[dict[str, Any]]] | None:
    """The child's answer, or None when it was killed at the time limit.
    The child is reaped (and killed first, if need be) whatever happens."""
    answered = False
    try:
        payload = _read_until(read_fd, time.monotonic() + time_limit_seconds)
        answered = payload is not None
    finally:
        os.close(read_fd)
        if not answered:
            _kill(pid)
        status = _reap(pid)
    if payload is None:
        return None
    if not payload:
        ending = _ending(status)
        raise ForkedCrash(f"The forked process {pid} {ending} without an answer.")
    # Our own child's pickle: trusted as this process's own memory is.
    answer: tuple[str, Any, list[dict[str, Any]]] = pickle.loads(payload)  # noqa: S301
    return answer


def _read_until(fd: int, deadline: float) -> bytes | None:
    """All bytes until end of file, or None when `deadline` comes first."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP)
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(math.ceil(left * 1000)):
            return None
        chunk = os.read(fd, _READ_CHUNK_BYTES)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.kill(pid, signal.SIGKILL)


def _reap(pid: int) -> int:
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return 0  # reaped by someone else (a SIGCHLD handler)


def _ending(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"was ended by signal {signal.Signals(-code).name}"
    return f"exited with status {code}"


def _error_from(value: dict[str, Any], pid: int) -> BaseException:
    """The child's exception, as itself when it unpickles, with its traceback."""
    note = f"Raised in forked process {pid}:\n{value['traceback']}"
    try:
        error = pickle.loads(value["pickled"])  # noqa: S301 (as in _wait_for_answer)
    except Exception:
        error = None
    if not isinstance(error, BaseException):
        error = ForkedCrash(f"{value['type']}: {value['message']}")
    error.add_note(note)
    return error


def _replay(records: list[dict[str, Any]]) -> None:
    """Log the child's records here, as if this process had made them."""
    for fields in records:
        record = logging.makeLogRecord(fields)
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


# -- in the child ---------------------------------------------------------------


def _child(
    write_fd: int,
    function: Callable[..., Any],
    args: tuple[Any, ...],
    time_limit_seconds: float,
    priority: tuple[int, bool],
) -> NoReturn:
    status = CHILD_FAILED_STATUS
    try:
        kept = _isolate(time_limit_seconds, *priority)
        try:
            outcome: tuple[str, Any] = ("returned", function(*args))
        except BaseException as error:
            outcome = ("raised", _portable_error(error))
        try:
            payload = pickle.dumps((*outcome, kept.records))
        except Exception as error:  # a result that does not pickle
            payload = pickle.dumps(("raised", _portable_error(error), kept.records))
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
        status = 0
    finally:
        os._exit(status)


def _isolate(time_limit_seconds: float, nice: int, idle: bool) -> "_KeepRecords":
    """Make this fresh child safe to run in; see the module docstring."""
    for name in RESET_SIGNALS:
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.alarm(math.ceil(time_limit_seconds) + CHILD_GRACE_SECONDS)
    if nice > 0:
        os.nice(nice)
    if idle and hasattr(os, "SCHED_IDLE"):  # Linux only; elsewhere nice alone
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    _drop_sockets()
    for scope in (
        sentry_sdk.get_global_scope(),
        sentry_sdk.get_isolation_scope(),
        sentry_sdk.get_current_scope(),
    ):
        scope.set_client(None)
    for alias in connections:
        connections[alias].execute_wrappers.append(_refuse_query)
    return _KeepRecords.install()


def _drop_sockets() -> None:
    """Swap every inherited socket for /dev/null at the same descriptor: the
    socket is released here (the parent's close then really closes it), and
    a Python object of the parent that closes "its" descriptor later closes
    /dev/null, not a file this child opened meanwhile."""
    folder = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for name in os.listdir(folder):
            fd = int(name)
            if fd <= 2:
                continue  # stdin, stdout, stderr: C libraries may write there
            try:
                is_socket = stat.S_ISSOCK(os.fstat(fd).st_mode)
            except OSError:
                continue  # the listing's own descriptor, closed by now
            if is_socket:
                os.dup2(null, fd)
    finally:
        os.close(null)


def _refuse_query(*args: Any, **kwargs: Any) -> NoReturn:
    raise ForkedDatabaseUse(
        "Code running in a forked process queried the database; its connection "
        "belongs to the parent. Load what it needs before calling run_forked."
    )


def _portable_error(error: BaseException) -> dict[str, Any]:
    """The error as the parent can rebuild it: pickled when it can be, and
    its type, message and traceback as text in any case."""
    try:
        pickled: bytes | None = pickle.dumps(error)
    except Exception:
        pickled = None
    return {
        "type": f"{type(error).__module__}.{type(error).__qualname__}",
        "message": str(error)[:2000],
        "traceback": "".join(traceback.format_exception(error)),
        "pickled": pickled,
    }


class _KeepRecords(logging.Handler):
    """Keeps the child's log records, made picklable, for the parent."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []
        self.traceback_formatter = logging.Formatter()

    @classmethod
    def install(cls) -> "_KeepRecords":
        """Route every record of this process here, and only here."""
        keeper = cls()
        for logger in logging.Logger.manager.loggerDict.values():
            if isinstance(logger, logging.Logger):
                logger.handlers = []
                logger.propagate = True
        logging.root.handlers = [keeper]
        return keeper

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) >= MAX_CHILD_LOG_RECORDS:
            return
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.traceback_formatter.formatException(record.exc_info)
        if record.stack_info:
            message += "\n" + record.stack_info
        fields = {
            key: value
            for key, value in record.__dict__.items()
            if isinstance(value, str | int | float | bool | None)
        }
        fields.update(msg=message, args=None, exc_info=None, exc_text=None)
        self.records.append(fields)
