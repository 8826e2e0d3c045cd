"""scripts/run.sh, the README's first command, as a newcomer runs it: it
serves the demo on the port PORT names, the first address leads to the
admin, and a PORT that is not a port is refused before anything runs."""

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

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
    port = free_port()
    server = subprocess.Popen(
        ["bash", str(RUN)], env=environment(PORT=str(port), LIS_DATA_DIR=str(tmp_path)),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        status, location = _home(port)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=60)[0]

    assert (status, location) == (302, "/admin/"), output
    assert f"http://127.0.0.1:{port}/admin/" in output


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
