"""The two lock files: requirements.lock, what the app runs on (what
production and `scripts/run.sh` install), and requirements-dev.lock, that
plus the test and lint tools (what `scripts/test.sh` installs). A test or
lint tool that lands in the runtime lock, or a runtime package pinned
differently in the two, fails here."""

import re
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[2]
RUNTIME, DEVELOPMENT = REPO / "requirements.lock", REPO / "requirements-dev.lock"
#: "name==version" with its hash lines.
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)((?:\s*\\\n\s+--hash=\S+)+)", re.M)


def pins(lock: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (version, hashes) of every package the lock pins."""
    return {
        name.lower(): (version, frozenset(re.findall(r"--hash=(\S+)", hashes)))
        for name, version, hashes in PIN.findall(lock.read_text())
    }


def development_tools() -> set[str]:
    """The names of pyproject's `dev` extra (what only tests and linters use)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = (re.split(r"[\[<>=!~ ]", spec, maxsplit=1)[0] for spec in project[
        "optional-dependencies"]["dev"])  # fmt: skip
    return {name.lower() for name in names}


def test_the_runtime_lock_holds_no_test_or_lint_tool():
    runtime = pins(RUNTIME)

    assert {"django", "psycopg", "weasyprint", "gunicorn"} <= set(runtime)
    assert development_tools() & set(runtime) == set()
    assert {"pytest", "playwright", "moto", "ruff", "mypy"} & set(runtime) == set()


def test_the_development_lock_pins_each_runtime_package_the_same_way():
    runtime, development = pins(RUNTIME), pins(DEVELOPMENT)

    assert development_tools() <= set(development)
    differing = {name for name, pin in runtime.items() if development.get(name) != pin}
    assert differing == set()
    assert "--constraint=requirements.lock" in DEVELOPMENT.read_text()[:600]


def test_the_scripts_install_the_lock_they_need():
    run, test = (REPO / "scripts" / name for name in ("run.sh", "test.sh"))

    assert "LIS_LOCK_FILE" not in run.read_text()  # the runtime lock, the default
    assert "LIS_LOCK_FILE=requirements-dev.lock" in test.read_text()
