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
    dubai.staff    / demo-pass-123   lab staff, an Arabic lab (Dubai)
    jaipur.staff   / demo-pass-123   lab staff, a Hindi lab (Jaipur)
  Only `admin` can sign in to the admin site (the others are not is_staff).

  Background jobs run in a Fusion worker started beside the server.
  Stop both with Ctrl-C.

TXT

# The background job worker (Fusion) runs beside the server: the database
# engine by default, Celery with FUSION_ENGINE=celery (and FUSION_BROKER_URL).
# Both run in the background and this shell waits for them, so that its
# traps run as soon as a signal comes: Ctrl-C, `kill -TERM` of this script,
# or the server ending stops the worker, and nothing outlives the script.
# A worker that exits on its own is started again.

# keep_worker: run the job worker, and start it again if it exits on its
# own (a crash, a bug): jobs wait in the database meanwhile, nothing is
# lost. A TERM to this loop stops the worker and the loop.
keep_worker() {
    local child=""
    trap '[[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null; wait; exit 0' TERM
    while true; do
        python manage.py fusion_worker &
        child=$!
        wait "$child" && status=0 || status=$?
        echo "run: the job worker exited (status $status); starting it again in 2 s" >&2
        sleep 2
    done
}
keep_worker &
worker_pid=$!
python manage.py runserver "127.0.0.1:${PORT}" &
server_pid=$!

# stop: TERM the server and the worker (runserver's reloader takes its child
# with it) and wait for both.
stop() {
    trap - EXIT INT TERM
    for pid in "$server_pid" "$worker_pid"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    wait "$server_pid" "$worker_pid" 2>/dev/null || true
    echo "run: stopped the server and the job worker"
}
trap stop EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

# Returns when the server ends (or a trapped signal comes); EXIT stops the
# worker.
wait "$server_pid"
