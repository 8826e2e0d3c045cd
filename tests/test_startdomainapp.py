"""`manage.py startdomainapp`: a generated app is in the project's
conventions and works as generated: ruff-formatted, its migration matches
its model, it migrates, and its own tests (isolation, field errors, a
duplicate's 409, Slack through the job worker) pass with the project's
pytest plugin. A change to BaseModel or the generic views that breaks what
the scaffold makes fails here, before a new engineer finds it."""

import io
import os
import subprocess
import sys
from pathlib import Path

import dj_database_url
from django.conf import settings
from django.core.management import call_command

REPO = Path(__file__).resolve().parents[1]
APP = "samples"


def run(*command: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def environment(root: Path) -> dict[str, str]:
    """The generated app's settings (the test settings plus the app), its
    own PostgreSQL test database when the suite runs on PostgreSQL."""
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{root}"}
    env["DJANGO_SETTINGS_MODULE"] = "generated_settings"
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql"):
        config = dj_database_url.parse(os.environ.get("DATABASE_URL", ""))
        host, port = config.get("HOST") or "127.0.0.1", config.get("PORT") or 5432
        env["DATABASE_URL"] = (
            f"postgres://{config.get('USER') or 'postgres'}@{host}:{port}/scaffold"
        )
    return env


def test_a_generated_app_migrates_and_its_tests_pass(tmp_path):
    call_command("startdomainapp", APP, str(tmp_path / APP), stdout=io.StringIO())
    (tmp_path / "generated_settings.py").write_text(
        "from config.settings.test import *  # noqa: F403\n"
        f'INSTALLED_APPS = [*INSTALLED_APPS, "{APP}"]  # noqa: F405\n'
    )
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.plugin"]\n')
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nDJANGO_SETTINGS_MODULE = generated_settings\n"
    )
    env = environment(tmp_path)
    python = sys.executable

    run(
        python,
        "-m",
        "ruff",
        "format",
        "--check",
        str(tmp_path / APP),
        cwd=REPO,
        env=env,
    )
    run(
        python,
        "manage.py",
        "makemigrations",
        APP,
        "--check",
        "--dry-run",
        cwd=REPO,
        env=env,
    )
    migrated = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    run(python, "manage.py", "migrate", "--noinput", cwd=REPO, env=migrated)
    output = run(
        python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
        str(tmp_path), "-c", str(tmp_path / "pytest.ini"),
        str(tmp_path / APP / "tests"),
        cwd=tmp_path, env=env,
    )  # fmt: skip

    assert "4 passed" in output
    lines = sum(
        len(path.read_text().splitlines())
        for path in (tmp_path / APP).rglob("*.py")
        if "migrations" not in path.parts
    )
    print(f"the generated app: {lines} lines, migrations aside")
