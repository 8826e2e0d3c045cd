"""A production host for one test module: the processes of deploy/Procfile,
run as real subprocesses with exactly the environment of a `lis.env` built
from deploy/lis.env.example, and stopped the way deploy/systemd's units
stop them.

    host = ProductionHost(env_file, logs)
    host.release()                 # the Procfile's release line
    host.start("web", "worker")
    host.stop("worker")            # as `systemctl stop lis-worker` would
    host.manage("create_api_key", "--lab", "1", "--name", "HIS")

Nothing here reads the test's own settings: a process sees the system's
PATH (the virtualenv's bin first, where `python` and `gunicorn` live),
HOME and LANG, the environment file, and `PORT` for the web process.
"""

import configparser
import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
#: The unit that runs each Procfile process under systemd.
UNITS = {"web": "lis-web.service", "worker": "lis-worker.service"}
#: How long a process may take to answer after its start.
START_TIMEOUT_SECONDS = 60.0
#: The most a test waits for a stopped process (the units allow more).
STOP_TIMEOUT_SECONDS = 60.0
_ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


def procfile() -> dict[str, str]:
    """The Procfile's processes, e.g. `{"web": "gunicorn ...", ...}`."""
    processes = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and not line.startswith("#"):
            processes[name.strip()] = command.strip()
    return processes


def read_environment_file(text: str) -> dict[str, str]:
    """`KEY=value` lines as systemd's EnvironmentFile= reads the simple
    ones (comments and blank lines skipped, values taken verbatim)."""
    variables = {}
    for line in text.splitlines():
        match = _ASSIGNMENT.match(line.strip())
        if match:
            variables[match.group(1)] = match.group(2)
    return variables


def unit_service(name: str) -> dict[str, str]:
    """The [Service] section of one of deploy/systemd's units."""
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return dict(parser["Service"])


def system_env() -> dict[str, str]:
    """What a service manager gives a process besides its environment file."""
    system = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG")}
    venv_bin = str(Path(sys.executable).parent)
    return {**system, "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}"}


@dataclass
class Started:
    """A running Procfile process, in its own process group."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class ProductionHost:
    """See the module docstring."""

    def __init__(self, env_file: Path, logs: Path, web_port: int) -> None:
        self.env = {**system_env(), **read_environment_file(env_file.read_text())}
        self.logs = logs
        self.web_port = web_port
        self.running: dict[str, Started] = {}
        self.starts = 0

    def run(self, command: str) -> str:
        """Run a shell command line with the host's environment; its output
        (stdout and stderr), after failing on a non-zero exit."""
        result = subprocess.run(
            ["bash", "-c", command], cwd=REPO, env=self.env,
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{command!r} failed:\n{output[-4000:]}"
        return output

    def manage(self, *args: str) -> str:
        """`python manage.py <args>`, as an operator runs it on the host."""
        return self.run(shlex.join(["python", "manage.py", *args]))

    def release(self) -> str:
        """The Procfile's release line (migrations, then static files)."""
        return self.run(procfile()["release"])

    def start(self, *names: str) -> None:
        """Start the Procfile's `names` processes at once, as systemd starts
        the units, and wait until each answers. Each is `exec`ed, so that
        the process a signal reaches is the command's own, as under systemd."""
        for name in names:
            self.starts += 1
            log = self.logs / f"{name}-{self.starts}.log"
            with log.open("ab") as output:
                process = subprocess.Popen(
                    ["bash", "-c", f"exec {procfile()[name]}"], cwd=REPO,
                    env={**self.env, "PORT": str(self.web_port)},
                    stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
            self.running[name] = Started(name, process, log)
        for name in names:
            self._wait_ready(self.running[name])

    def _wait_ready(self, started: Started) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._ready(started):
            if started.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"{started.name} did not start:\n{started.output()[-4000:]}"
                )
            time.sleep(0.1)

    def _ready(self, started: Started) -> bool:
        if started.name == "worker":
            return " ready." in started.output()  # Celery's "celery@host ready."
        url = f"http://127.0.0.1:{self.web_port}/core/view/live/"
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self, name: str) -> int:
        """Stop `name` as its systemd unit does: SIGTERM to the main process
        only (KillMode=mixed or process) or to every process of the unit
        (the default, control-group); wait; SIGKILL whatever is left. The
        main process's exit code."""
        started = self.running.pop(name)
        service = unit_service(UNITS[name])
        pid = started.process.pid
        if service.get("KillMode", "control-group") in ("mixed", "process"):
            os.kill(pid, signal.SIGTERM)
        else:
            os.killpg(pid, signal.SIGTERM)
        try:
            code = started.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            code = -signal.SIGKILL
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # what systemd does to the rest
        started.process.wait()
        return code

    def kill_all(self) -> None:
        """SIGKILL every process this host started (teardown)."""
        for started in self.running.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(started.process.pid, signal.SIGKILL)
            started.process.wait()
        self.running.clear()
