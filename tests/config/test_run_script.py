"""scripts/run.sh, the README's first command, as a newcomer runs it: it
serves the demo on the port PORT names, the first address leads to the
admin, and a PORT that is not a port is refused before anything runs."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "scripts" / "run.sh"
#: Set-up (already bootstrapped), migrations, demo data, then the server.
START_SECONDS = 240


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(**extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "PYENV_ROOT")
    return {**{k: v for k, v in os.environ.items() if k in keep}, **extra}


@pytest.mark.parametrize("port", ["abc", "0", "70000", "80 80"])
def test_a_port_that_is_not_a_port_is_refused_first(port: str) -> None:
    done = subprocess.run(
        ["bash", str(RUN)], env=environment(PORT=port), cwd=REPO,
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip

    assert done.returncode == 2
    assert "PORT must be a port number" in done.stderr


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_the_demo_is_served_on_port_and_home_leads_to_the_admin(tmp_path) -> None:
    """One start of the script checks the lifecycle too: a worker that dies
    is started again, and a TERM to the script alone (not its process
    group) stops the server and the worker: nothing outlives it."""
    port = free_port()
    server = subprocess.Popen(
        ["bash", str(RUN)], env=environment(PORT=str(port), LIS_DATA_DIR=str(tmp_path)),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        status, location = _home(port)
        first_worker = _worker_pid(server.pid)
        os.kill(first_worker, signal.SIGKILL)
        second_worker = _worker_pid(server.pid, other_than=first_worker)
        server.send_signal(signal.SIGTERM)  # the script only
        output = server.communicate(timeout=60)[0]
        left = _processes_in_group(server.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.communicate(timeout=60)

    assert (status, location) == (302, "/admin/"), output
    assert f"http://127.0.0.1:{port}/admin/" in output
    assert second_worker != first_worker
    assert "the job worker exited (status 137); starting it again" in output
    assert server.returncode == 143
    assert left == [], f"still running after TERM: {left}\n{output}"


def _processes_in_group(group: int) -> list[str]:
    """Command lines of the processes still in process group `group`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == group and fields[0] != "Z":  # pgrp, not a zombie
            found.append(command.decode(errors="replace").strip())
    return found


def _worker_pid(group: int, other_than: int | None = None) -> int:
    """The pid of the fusion_worker process in `group` (waits for one)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == other_than:
                continue
            try:
                command = (entry / "cmdline").read_bytes()
                pgrp = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2])
            except OSError:
                continue
            if pgrp == group and b"fusion_worker" in command:
                return int(entry.name)
        time.sleep(0.5)
    raise AssertionError("no fusion_worker process in the script's group")


def _home(port: int) -> tuple[int, str]:
    opener = urllib.request.build_opener(_NoRedirect)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            opener.open(f"http://127.0.0.1:{port}/", timeout=5)
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers.get("Location", "")
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"nothing answered on port {port} in {START_SECONDS} s")
