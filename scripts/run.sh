#!/usr/bin/env bash
# Run the project locally: prepare .venv, migrate, load the demo data, serve.
#
#   scripts/run.sh
#   PORT=8080 scripts/run.sh
#
# With no DATABASE_URL it runs on the embedded defaults: SQLite in var/
# (or $LIS_DATA_DIR), DEBUG on, a generated development secret key. Set
# DATABASE_URL yourself to use another database, e.g.
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/lis scripts/run.sh
set -euo pipefail

# The port to serve on: PORT=8080 scripts/run.sh (8000 by default). Checked
# before anything is installed.
PORT="${PORT:-8000}"
if ! [[ "$PORT" =~ ^[0-9]+$ ]] || (( PORT < 1 || PORT > 65535 )); then
    echo "run: PORT must be a port number (1-65535), not '$PORT'." >&2
    exit 2
fi

# shellcheck source=scripts/bootstrap.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/bootstrap.sh"
# Now in the repository root, with .venv/bin first on PATH.

if [[ -n "${DATABASE_URL:-}" ]]; then
    echo "run: database from DATABASE_URL (${DATABASE_URL%%:*})"
else
    echo "run: database: SQLite in ${LIS_DATA_DIR:-var}/db.sqlite3 (set DATABASE_URL to use another)"
fi

python manage.py migrate --noinput
python manage.py load_demo_data

printf '\n  LIS is starting at  http://127.0.0.1:%s/admin/\n' "$PORT"
cat <<'TXT'

  Demo logins (development only; never use these anywhere real):
    admin          / admin           superuser, for the admin site
    central.staff  / demo-pass-123   lab staff, Central Reference Lab
    north.staff    / demo-pass-123   lab staff, North Collection Centre
    south.staff    / demo-pass-123   lab staff, South Collection Centre
    dr.mehta       / demo-pass-123   doctor, Central Reference Lab
  Only `admin` can sign in to the admin site (the others are not is_staff).

  Background jobs run in a Fusion worker started beside the server.
  Stop both with Ctrl-C.

TXT

# The background job worker (Fusion) runs beside the server: the database
# engine by default, Celery with FUSION_ENGINE=celery (and FUSION_BROKER_URL).
# It is stopped when the server stops, however that happens. The server is
# not started with `exec`: that would replace this shell and its trap, and
# the worker would outlive the server.
python manage.py fusion_worker &
worker_pid=$!
stop_worker() {
    trap - EXIT INT TERM
    if kill -0 "$worker_pid" 2>/dev/null; then
        echo "run: stopping the job worker (pid $worker_pid)"
        kill -TERM "$worker_pid" 2>/dev/null || true
        wait "$worker_pid" 2>/dev/null || true
    fi
}
trap stop_worker EXIT INT TERM

python manage.py runserver "127.0.0.1:${PORT}"
