"""The `engine_independent` marker (tests/engine_independent.py), on a small
suite run by a fresh pytest: without TEST_ENGINE_INDEPENDENT_COVERED every
test runs; with it =1 a marked test is skipped before its fixtures, with
the reason, unless `engine_independent(False)` overrules its module's
marker; a marked test that asks for the database stops every run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[1]
# The database fixtures by name, as pytest-django gives them (no plugin is
# loaded in the small suite but ours: no Django project there).
CONFTEST = """
import pytest

@pytest.fixture
def django_db_setup():
    yield

@pytest.fixture
def db(django_db_setup):
    yield

@pytest.fixture
def lab(db):
    return "a lab"

@pytest.fixture
def explodes():
    raise AssertionError("set up although skipped")
"""
SUITE = """
import pytest

pytestmark = pytest.mark.engine_independent

def test_marked(explodes_unless_run):
    pass

@pytest.mark.parametrize("n", [1, 2, 3])
def test_marked_many(n):
    pass

@pytest.mark.engine_independent(False)
def test_kept():
    pass

@pytest.mark.engine_independent(False)
def test_kept_with_the_database(db):
    pass
"""


def run_suite(tmp_path: Path, suite: str, covered: str | None) -> tuple[int, str]:
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\naddopts = --strict-markers\n"
        "markers =\n    engine_independent\n    django_db\n"
    )
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_suite.py").write_text(suite)
    env = {
        k: v for k, v in os.environ.items() if k != "TEST_ENGINE_INDEPENDENT_COVERED"
    }
    if covered is not None:
        env["TEST_ENGINE_INDEPENDENT_COVERED"] = covered
    env["PYTHONPATH"] = str(REPO)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the plugin alone; quicker
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-ra", "-p", "no:cacheprovider",
         "-p", "tests.engine_independent", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_without_the_variable_every_test_runs(tmp_path):
    suite = SUITE.replace("explodes_unless_run", "tmp_path")

    for covered in (None, "0"):  # by hand; scripts/test.sh's PostgreSQL run
        code, output = run_suite(tmp_path, suite, covered)

        assert code == 0, output
        assert "6 passed" in output
        assert "skipped" not in output


def test_when_covered_marked_tests_are_skipped_before_their_fixtures(tmp_path):
    suite = SUITE.replace("explodes_unless_run", "explodes")

    code, output = run_suite(tmp_path, suite, "1")

    assert code == 0, output
    assert "2 passed, 4 skipped" in output
    assert "TEST_ENGINE_INDEPENDENT_COVERED=1: tests marked" in output
    # One summary line for all four, naming the reason.
    assert (
        "SKIPPED [4] " in output
        and "engine-independent; ran in the PostgreSQL run" in output
    )


ASKING = """
import pytest

@pytest.mark.engine_independent
@pytest.mark.django_db
def test_marker():
    pass

@pytest.mark.engine_independent
def test_fixture(db):
    pass

@pytest.mark.engine_independent
def test_through_a_fixture_built_on_db(lab):
    pass

@pytest.mark.engine_independent
def test_setup(django_db_setup):  # e.g. to start a worker on the test database
    pass

def test_unmarked(db):
    pass
"""


@pytest.mark.parametrize("covered", [None, "1"])
def test_a_marked_test_that_asks_for_the_database_stops_the_run(tmp_path, covered):
    code, output = run_suite(tmp_path, ASKING, covered)

    assert code == pytest.ExitCode.USAGE_ERROR, output
    assert "4 test(s) marked engine_independent ask for the database" in output
    for name in ("marker", "fixture", "through_a_fixture_built_on_db", "setup"):
        assert f"test_suite.py::test_{name}\n" in output
    assert "test_unmarked" not in output
