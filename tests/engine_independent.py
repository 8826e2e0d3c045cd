"""The `engine_independent` marker: a test that never reaches a database
runs once per `scripts/test.sh`, not once per database engine.

scripts/test.sh runs the whole suite on PostgreSQL and on SQLite, side by
side. A test that touches no database (a pure function, PDF rendering and text
extraction, a browser on a static page, a stand-in's self-test, a check of
the docs or of a lock file) proves the same thing in both runs. When there
is a PostgreSQL run, scripts/test.sh sets
`TEST_ENGINE_INDEPENDENT_COVERED=1` for the SQLite run, and that run skips
the marked tests ("engine-independent; ran in the PostgreSQL run"). Without
it (pytest run by hand, `TEST_SKIP_POSTGRES=1`) every test runs.

The marker is checked, not trusted, in every run: a marked test that asks
for the database (the `django_db` marker, or a fixture that needs the test
database: `db`, `transactional_db`, `live_server`, `django_db_setup`, or
one built on them) stops the run with a usage error, and pytest-django's
blocker fails a marked test that queries anyway. Tests that start workers,
servers or commands on the test database need `django_db_setup`, so they
cannot be marked either. Mark a module (`pytestmark =
pytest.mark.engine_independent`) or a test; in a marked module, a test
that needs the database says `@pytest.mark.engine_independent(False)` (the
closest marker wins). Leave a test unmarked when in doubt: it then runs
twice, which costs time and never coverage.
"""

import os

import pytest

#: Set to "1" by scripts/test.sh for its SQLite run beside a PostgreSQL run.
COVERED_VARIABLE = "TEST_ENGINE_INDEPENDENT_COVERED"
MARKER = "engine_independent"
SKIP_REASON = "engine-independent; ran in the PostgreSQL run"
#: Fixtures that give a test the test database; every fixture built on one
#: of them shows in the test's fixture closure too.
DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "live_server", "django_db_setup"}
)


def is_marked(item: pytest.Item) -> bool:
    """Marked `engine_independent`, and not overruled closer to the test by
    `engine_independent(False)`."""
    marker = item.get_closest_marker(MARKER)
    return marker is not None and bool(marker.args[0] if marker.args else True)


def asks_for_database(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return item.get_closest_marker("django_db") is not None or bool(
        fixtures & DATABASE_FIXTURES
    )


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    wrong = [
        item.nodeid for item in items if is_marked(item) and asks_for_database(item)
    ]
    if wrong:
        raise pytest.UsageError(
            f"{len(wrong)} test(s) marked {MARKER} ask for the database; "
            "unmark them, or in a marked module mark them "
            f"{MARKER}(False): they must run on every engine:\n  " + "\n  ".join(wrong)
        )


def covered_elsewhere() -> bool:
    return os.environ.get(COVERED_VARIABLE) == "1"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip before any fixture is set up, from this line, so `-ra` folds
    every such skip into one summary line."""
    if is_marked(item) and covered_elsewhere():
        pytest.skip(SKIP_REASON)


def pytest_report_header(config: pytest.Config) -> str | None:
    if covered_elsewhere():
        return f"{COVERED_VARIABLE}=1: tests marked {MARKER} are skipped"
    return None
