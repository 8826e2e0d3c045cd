#!/usr/bin/env bash
# Check the project: chromium, wrk, poppler-utils and qpdf for some tests
# (installed when missing),
# ruff (lint and format), mypy on the project's apps, the import contracts
# (lint-imports, pyproject.toml), then the whole test suite twice, on
# PostgreSQL and on SQLite side by side, and a quick pass of two benchmarks
# whose figures are kept as CI artifacts (docs/benchmarks.md).
#
#   scripts/test.sh                       # everything
#   scripts/test.sh -k version -x         # extra arguments go to both pytest runs
#
# Environment:
#   TEST_POSTGRES_URL   server for the PostgreSQL run
#                       (default postgres://postgres@127.0.0.1:5432/test;
#                       pytest-django creates and drops test_<name> itself)
#   TEST_SKIP_POSTGRES  1 to skip the PostgreSQL run (e.g. no server at hand)
#                       and the quick benchmarks (they need PostgreSQL)
#   BENCH_RESULTS_DIR   where the quick benchmarks write their JSON figures
#                       (default .ci/artifacts/bench/, CI's artifact directory)
#
# Tests marked engine_independent touch no database (tests/engine_independent.py):
# once the PostgreSQL run has run them, the SQLite run skips them
# (TEST_ENGINE_INDEPENDENT_COVERED=1). Without a PostgreSQL run, SQLite runs all.
#
# Every step runs even if an earlier one failed; the exit status is non-zero
# if any failed. pytest's "no tests collected" (exit 5) counts as a failure.
set -euo pipefail

# The development lock: the runtime packages plus the test and lint tools.
LIS_LOCK_FILE=requirements-dev.lock
# shellcheck source=scripts/bootstrap.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/bootstrap.sh"
# Now in the repository root, with .venv/bin first on PATH.
REPO_ROOT="$PWD"

failed=()
summary=()

# run_step NAME COMMAND...: run, record the outcome, never abort the script.
run_step() {
    local name="$1" rc=0
    shift
    printf '\n==> %s: %s\n' "$name" "$*"
    "$@" || rc=$?
    record_step "$name" "$rc" "$1"
}

# record_step NAME EXIT-STATUS COMMAND: add the outcome to the summary.
record_step() {
    local name="$1" rc="$2" command="$3"
    if [[ $rc -eq 0 ]]; then
        summary+=("ok      $name")
    elif [[ $rc -eq 5 && "$command" == "pytest" ]]; then
        summary+=("FAILED  $name (pytest collected no tests, exit 5)")
        failed+=("$name")
    else
        summary+=("FAILED  $name (exit $rc)")
        failed+=("$name")
    fi
}

# quick_benchmarks URL: bench_save and bench_cache with --quick (short
# alternating rounds, about 20 s together) on the PostgreSQL server of URL
# (database lis_bench_ci) and the machine's Redis, their figures written as
# JSON to BENCH_RESULTS_DIR for CI to keep (docs/benchmarks.md). A missed or
# inconclusive target does not fail the step (the machine is shared and
# noisy); a benchmark that crashes does.
quick_benchmarks() {
    local bench database_url="${1%/*}/lis_bench_ci"
    local results="${BENCH_RESULTS_DIR:-$REPO_ROOT/.ci/artifacts/bench}"
    mkdir -p "$results"
    for bench in bench_save bench_cache; do
        printf -- '--- %s --quick\n' "$bench"
        DATABASE_URL="$database_url" BENCH_RESULTS_DIR="$results" \
            python -m "bench.$bench" --quick || return 1
    done
}

# Is the PostgreSQL server in $1 reachable? Tries the named database, then the
# "postgres" maintenance database (the one Django uses to create test_<name>).
postgres_reachable() {
    python - "$1" <<'PY'
import sys

import dj_database_url
import psycopg

config = dj_database_url.parse(sys.argv[1])
if config["ENGINE"] != "django.db.backends.postgresql":
    sys.exit(f"TEST_POSTGRES_URL is not a PostgreSQL URL (engine {config['ENGINE']}).")
errors = []
for dbname in dict.fromkeys([config["NAME"] or "postgres", "postgres"]):
    try:
        psycopg.connect(
            host=config["HOST"] or None,
            port=config["PORT"] or None,
            user=config["USER"] or None,
            password=config["PASSWORD"] or None,
            dbname=dbname,
            connect_timeout=5,
        ).close()
    except psycopg.Error as exc:
        errors.append(f"  {dbname}: {str(exc).strip()}")
    else:
        sys.exit(0)
host = f"{config['HOST'] or 'local socket'}:{config['PORT'] or 5432}"
sys.exit(f"cannot connect to PostgreSQL at {host}:\n" + "\n".join(errors))
PY
}

# System tools some tests drive: Debian's chromium (the browser tests, through
# Playwright), wrk (the HTTP benchmark's own tests), poppler-utils (pdftotext
# and pdftoppm: the reports' text extraction and pictures) and qpdf (the
# structural check of merged and archived PDFs). Installed (by Debian
# package name) when missing and we may (root with apt-get); otherwise the
# step says how.
ensure_test_tools() {
    local missing=()
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    { command -v pdftotext && command -v pdftoppm; } >/dev/null 2>&1 || missing+=(poppler-utils)
    command -v qpdf >/dev/null 2>&1 || missing+=(qpdf)
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "test: installing ${missing[*]} (Debian packages) for the tests"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q "${missing[@]}" >/dev/null ||
            { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
        return
    fi
    echo "test: some tests need ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
    return 1
}
run_step "system tools for the tests" ensure_test_tools

run_step "ruff check" ruff check .
run_step "ruff format" ruff format --check .
run_step "mypy" mypy core/ admin/ patients/
run_step "import contracts" lint-imports

# The two pytest runs go side by side: they share nothing (each test starts
# the servers it kills on free ports, broker queues carry a prefix of their
# own, the databases differ, and each run has a data folder of its own
# under var/test-data/ for the local files and development keys) and spend
# most of their time waiting on worker processes and sockets, so together
# they take about as long as the PostgreSQL run alone. The PostgreSQL run's output streams; the SQLite
# run's is printed when it ends. The quick benchmarks come after both, on a
# machine no test is using.
postgres_url="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
run_postgres=0
if [[ "${TEST_SKIP_POSTGRES:-}" == "1" ]]; then
    summary+=("skipped pytest on PostgreSQL and the quick benchmarks (TEST_SKIP_POSTGRES=1)")
else
    printf '\n==> checking PostgreSQL\n'
    if postgres_reachable "$postgres_url"; then
        run_postgres=1
    else
        echo "test: PostgreSQL is not reachable. Start it, point TEST_POSTGRES_URL at" \
            "a server, or set TEST_SKIP_POSTGRES=1 to run on SQLite only." >&2
        summary+=("FAILED  pytest on PostgreSQL (server not reachable)")
        failed+=("pytest on PostgreSQL")
    fi
fi

# With a PostgreSQL run beside it, the SQLite run skips the engine-independent
# tests (the PostgreSQL run runs them). pytest-django runs the SQLite tests on
# its own test database; the URL only names the configured one.
sqlite_step="pytest on SQLite"
[[ $run_postgres -eq 1 ]] && sqlite_step+=" (engine-independent tests ran on PostgreSQL)"
sqlite_log="$(mktemp "${TMPDIR:-/tmp}/lis-test-sqlite.XXXXXX")"
TEST_ENGINE_INDEPENDENT_COVERED=$run_postgres \
    DATABASE_URL="sqlite:///$REPO_ROOT/var/test-sqlite.db" \
    LIS_DATA_DIR="$REPO_ROOT/var/test-data/sqlite" \
    pytest "$@" >"$sqlite_log" 2>&1 &
sqlite_pid=$!
# Whatever ends this script ends the SQLite run too. (bash starts a background
# job with SIGINT ignored; tests/interrupts.py gives pytest its handler back.)
trap 'kill "$sqlite_pid" 2>/dev/null || true; rm -f "$sqlite_log"' EXIT
printf '\n==> %s: started beside the PostgreSQL run, output below when it ends\n' \
    "$sqlite_step"

if [[ $run_postgres -eq 1 ]]; then
    TEST_ENGINE_INDEPENDENT_COVERED=0 DATABASE_URL="$postgres_url" \
        LIS_DATA_DIR="$REPO_ROOT/var/test-data/postgresql" \
        run_step "pytest on PostgreSQL" pytest "$@"
fi

sqlite_rc=0
wait "$sqlite_pid" || sqlite_rc=$?
printf '\n==> %s: pytest %s\n' "$sqlite_step" "$*"
cat "$sqlite_log"
record_step "$sqlite_step" "$sqlite_rc" pytest

# The figures of a whole run only: a -k or -x run is a developer's.
if [[ $run_postgres -eq 1 && $# -eq 0 ]]; then
    run_step "quick benchmarks (figures in .ci/artifacts/bench/)" \
        quick_benchmarks "$postgres_url"
fi

printf '\n==> summary\n'
printf '  %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'test: FAILED:' >&2
    printf ' [%s]' "${failed[@]}" >&2
    printf '\n' >&2
    exit 1
fi
echo "test: all passed"
