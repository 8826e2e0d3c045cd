"""gunicorn servers the HTTP benchmarks start: each on a loopback socket
it inherits, optionally pinned to CPUs (bench/pinning.py), its output in a
temporary log shown if it fails to start."""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT_SECONDS = 30
SERVER_STOP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Stack:
    """How one stack is served, and its two endpoints' paths (formatted
    with the bench's `lab_id` and `patient_id`)."""

    name: str
    app: str
    settings: str
    liveness_path: str
    patient_path: str


@dataclass
class Server:
    """A gunicorn server this bench started, and where its log goes."""

    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log: IO[bytes]


def listening_socket() -> socket.socket:
    """A socket listening on a loopback port the system picked, to hand to
    gunicorn: the port is never free between choosing and binding it, so no
    other process can take it meanwhile."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.set_inheritable(True)
    return listener


def gunicorn_command(app: str, fd: int, args: argparse.Namespace) -> list[str]:
    """The gunicorn command line serving `app` on the inherited listening
    socket `fd`.

    Example: `[python, "-m", "gunicorn", "config.wsgi:application", "--bind",
    "fd://5", "--workers", "2", "--worker-class", "gthread", "--threads", "4",
    "--log-level", "warning"]`.
    """
    command = [sys.executable, "-m", "gunicorn", app, "--bind", f"fd://{fd}"]
    command += ["--workers", str(args.workers), "--worker-class", args.worker_class]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    return [*command, "--log-level", "warning"]


def start_server(
    stack: Stack, args: argparse.Namespace, prefix: Sequence[str] = ()
) -> Server:
    """Start gunicorn serving `stack` on a loopback port, its command line
    behind `prefix` (a pinning's `taskset -c ...`, or nothing); its output
    goes to a temporary log, shown if it fails to start."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": stack.settings}
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop_server)
    with listening_socket() as listener:
        port = listener.getsockname()[1]
        process = subprocess.Popen(  # noqa: S603 (our own command line)
            [*prefix, *gunicorn_command(stack.app, listener.fileno(), args)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(listener.fileno(),),
        )
    return Server(stack.name, process, f"http://127.0.0.1:{port}", log)


def wait_until_up(server: Server, probe_path: str) -> None:
    """Return once `server` answers `probe_path`; fail with its log if it
    exits or does not answer within SERVER_START_TIMEOUT_SECONDS."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            url = server.base_url + probe_path
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310
                return
        except OSError:  # refused while booting, or a slow first answer
            time.sleep(0.2)
    raise SystemExit(
        f"The {server.name} server did not start within "
        f"{SERVER_START_TIMEOUT_SECONDS} s; its log:\n{server_log(server)}"
    )


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system, every thread) used so far by process
    `pid` and its children alive now: a gunicorn master and its workers.
    From /proc (Linux), in clock ticks, so about 10 ms fine.

    Example: `cpu_seconds(server.process.pid)` -> `12.43`.
    """
    tick = os.sysconf("SC_CLK_TCK")
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (field 2) may hold spaces: split after its ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # the process ended meanwhile
            continue
        process, parent = int(stat.parent.name), int(fields[1])
        if pid in (process, parent):
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / tick


def server_log(server: Server) -> str:
    """What the server wrote so far (its last 4000 characters)."""
    server.log.seek(0)
    return server.log.read().decode(errors="replace")[-4000:]


def stop_server(server: Server) -> None:
    """Stop gunicorn gracefully (SIGTERM), killing it if it lingers."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(SERVER_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    server.log.close()
