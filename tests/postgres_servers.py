"""A private PostgreSQL server for fault tests: initdb in a temporary
folder, started on a free loopback port, killed and started again by the
test (the machine's shared server is never touched). Run as the
`postgres` user when the tests run as root (initdb refuses root)."""

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.redis_servers import free_port

BIN = Path("/usr/lib/postgresql")


def _binaries() -> Path:
    """The newest installed PostgreSQL's bin folder."""
    versions = sorted(BIN.glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not versions:
        raise RuntimeError(f"no PostgreSQL server under {BIN} (Debian's layout)")
    return versions[-1].parent


def _alive(pid: int) -> bool:
    """Whether process `pid` exists (a zombie counts as gone)."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


class PostgresServer:
    """One PostgreSQL server of its own; `kill()` SIGKILLs it (as a crash
    would), `start()` starts it again (crash recovery)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bin = _binaries()
        self.dir = Path(tempfile.mkdtemp(prefix="pg-test-"))
        self.data = self.dir / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self, tries: int = 5) -> None:
        """Start (again); a server just killed may need a moment to let go."""
        for attempt in range(tries):
            try:
                self._start()
                return
            except subprocess.CalledProcessError:
                if attempt == tries - 1:
                    log = (self.dir / "server.log").read_text(errors="replace")
                    raise RuntimeError(
                        f"PostgreSQL did not start:\n{log[-2000:]}"
                    ) from None
                time.sleep(1)

    def _start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l",
            str(self.dir / "server.log"), "-w", "start",
        )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend: a crash."""
        lock = self.data / "postmaster.pid"
        if not lock.exists():
            return
        pid = int(lock.read_text().splitlines()[0])
        children = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        killed = (pid, *map(int, children))
        for process in killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while any(_alive(p) for p in killed) and time.monotonic() < deadline:
            time.sleep(0.05)
        # The dead postmaster may stay a zombie (nothing here reaps orphans),
        # which its successor would take for a live one: its lock file goes.
        (self.data / "postmaster.pid").unlink(missing_ok=True)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            self.kill()

    def __enter__(self) -> "PostgresServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
