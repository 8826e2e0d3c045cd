"""The embedded defaults: no variables set means SQLite and a local secret key
under the data folder; production without a secret key refuses to start."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import json; from config.settings import base as s; "
    "print(json.dumps([s.DATABASES['default']['ENGINE'], "
    "str(s.DATABASES['default']['NAME']), s.DEBUG, len(s.SECRET_KEY)]))"
)


def run_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "LIS_"))
    }
    clean.update({"LIS_DATA_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def test_with_nothing_set_it_runs_on_sqlite_under_the_data_folder(tmp_path):
    result = run_settings(tmp_path)

    assert result.returncode == 0, result.stderr
    engine, name, debug, key_length = json.loads(result.stdout)
    assert engine == "django.db.backends.sqlite3"
    assert name == str(tmp_path / "db.sqlite3")
    assert debug is True
    assert key_length >= 50
    key_file = tmp_path / "development-secret-key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    # The key is kept, so sessions survive a restart.
    assert run_settings(tmp_path).stdout == result.stdout


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    result = run_settings(tmp_path, DJANGO_DEBUG="0")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_database_url_selects_postgresql(tmp_path):
    result = run_settings(tmp_path, DATABASE_URL="postgres://lab@db.internal:5432/lis")

    assert result.returncode == 0, result.stderr
    assert "django.db.backends.postgresql" in result.stdout


def test_processes_starting_together_share_one_whole_secret_key(tmp_path):
    """The class: a file generated on first start and read by every process.
    Processes starting at once (the web server and the worker of a new
    checkout, the two test runs of scripts/test.sh) must all read the same
    complete key, never an empty file another is still writing, and never
    each their own. Each process loads everything but the settings, waits
    for the others, then loads them; four rounds of sixteen."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "LIS_"))
    }
    go = tmp_path / "go"
    key_of = (
        "import os, time, dj_database_url, django.core.exceptions, "
        "config.settings.env, config.settings.services\n"
        "print('ready', flush=True)\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        "from config.settings import base; print(base.SECRET_KEY)"
    )
    for round_number in range(4):
        data_dir = tmp_path / str(round_number)
        starts = [
            subprocess.Popen(
                [sys.executable, "-c", key_of],
                cwd=REPO,
                env={**clean, "LIS_DATA_DIR": str(data_dir)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(16)
        ]
        for process in starts:  # each has loaded and waits for `go`
            assert process.stdout.readline() == "ready\n"
        go.touch()
        results = [process.communicate(timeout=60) for process in starts]

        keys = {out.strip() for out, _ in results}
        assert len(keys) == 1, results
        (key,) = keys
        assert len(key) >= 50, results
        assert (data_dir / "development-secret-key").read_text() == key
        assert [p.name for p in data_dir.iterdir()] == ["development-secret-key"]
        go.unlink()
