"""deploy/: the production process definitions. The web server and the job
worker are started again whenever they exit (issue 20 point 1: a worker
that exits must not leave jobs waiting), migrations and collectstatic run
as their own step before them, every command they run exists, and the
environment file names every variable the README's production command
sets."""

import configparser
import re
from pathlib import Path

import pytest
from django.core.management import get_commands

from tests.config.test_deploy_check import variables_the_readme_sets

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


def commands_run(text: str) -> set[str]:
    """The `manage.py` commands a unit or the Procfile runs."""
    return set(re.findall(r"manage\.py (\w+)", text))


def test_the_web_server_and_the_worker_are_started_again_when_they_exit():
    for name in ("lis-web.service", "lis-worker.service"):
        service = unit(name)["Service"]
        assert service["Restart"] == "always", name
        assert service["EnvironmentFile"] == "/etc/lis/lis.env"
        assert "lis-migrate.service" in unit(name)["Unit"]["Requires"]


def test_stopping_the_worker_signals_its_main_process_only():
    # Celery's prefork children die at once on a SIGTERM of their own,
    # killing the jobs they run; the main process's warm shutdown lets them
    # finish (tests/deploy/test_production_flow.py shows both).
    assert unit("lis-worker.service")["Service"]["KillMode"] == "mixed"


def test_migrations_and_static_files_are_their_own_step():
    migrate = (DEPLOY / "systemd" / "lis-migrate.service").read_text()

    assert unit("lis-migrate.service")["Service"]["Type"] == "oneshot"
    assert {"migrate", "collectstatic", "check"} <= commands_run(migrate)


def test_every_command_the_definitions_run_exists():
    texts = [p.read_text() for p in (DEPLOY / "systemd").glob("*.service")]
    texts.append((DEPLOY / "Procfile").read_text())

    run = set().union(*(commands_run(text) for text in texts))
    assert run >= {"migrate", "collectstatic", "fusion_worker"}
    assert run - set(get_commands()) == set()
    assert "config.wsgi:application" in (DEPLOY / "Procfile").read_text()


def test_the_environment_file_names_every_production_variable():
    example = (DEPLOY / "lis.env.example").read_text()
    named = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))

    assert variables_the_readme_sets() <= named
