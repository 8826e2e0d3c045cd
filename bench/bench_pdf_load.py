"""Does one lab's heavy PDF load slow another lab down? Another lab's patient
list (`GET /api/patients/`) under wrk, idle and with 8 heavy `POST
/core/pdf/` requests of one lab in flight, in one run.

Run: `.venv/bin/python -m bench.bench_pdf_load [--rounds 3 --duration 10]`.
Needs wrk (`apt-get install -y wrk`). PostgreSQL from DATABASE_URL, by
default the machine's, database `lis_bench_pdf_load` (created, migrated,
dropped at the end unless --keep); Redis from BENCH_REDIS_URL, by default
redis://127.0.0.1:6379/14 (the bench's keys are deleted before and after).

One gunicorn server as the README's production command has it:
`config.wsgi` with config/gunicorn.py (each worker warms its PDF renderer
up when it starts), 2 processes x 4 threads (gthread), bench.http_settings
(sessions, the instance cache, rate limits and render slots on Redis, DEBUG
off), every limit at its default (--pdf-rate-limit changes the endpoint's).

The reader lab's staff member reads the patient list (20 patients) with wrk
(--connections 2: a light load, so its p99 is latency, not queueing; wrk's
timeout 10 s, so no slow answer leaves the distribution). The heavy lab's 8
clients (threads here, each with a keep-alive connection and the lab's API
key) each keep one request in flight: answered, they send it again at once;
after a 429 they wait its Retry-After, as HTTP asks. They start 0.5 s after
wrk and stop when it ends, so all they cause is measured. Every loaded run
has a heavy lab of its own (a fresh rate-limit window). Heavy requests, one
kind per scenario:

- review: the security review's request, patients.summary (max_pages=20)
  with 5,000 result rows, a 180 KB body (refused: over the context cap);
- largest: the heaviest patients.summary the limits still render: 1,950
  rows, within the context and element caps, laid out in a render process
  until page 21 stops it (413).

Each round measures idle, then each scenario loaded; wrk's p99 per run,
medians over the rounds. Target: loaded p99 <= 2x idle p99 in every
scenario. The heavy clients' answers are counted by status and printed.
"""

import argparse
import http.client
import json
import os
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

os.environ.setdefault(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lis_bench_pdf_load"
)
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.http_settings")

import django

django.setup()

import redis  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from admin.account.models import Lab  # noqa: E402
from bench.bench_http import (  # noqa: E402
    BenchData,
    Stack,
    fetch_json,
    start_server,
    stop_server,
    wait_until_up,
)
from bench.bench_http import sign_in as sign_in_over_http  # noqa: E402
from bench.database import drop_database, prepare_database  # noqa: E402
from bench.wrk import require_wrk, run_wrk  # noqa: E402
from core.models import ApiKey  # noqa: E402
from patients.models import Patient  # noqa: E402

TARGET_RATIO = 2.0
HEAVY_CLIENTS = 8
PATIENTS = 20
#: The heavy clients start this long after wrk.
LOAD_DELAY_SECONDS = 0.5
#: wrk's timeout: an answer slower than this would be left out of its figures.
WRK_TIMEOUT_SECONDS = 10
#: The production command's gunicorn settings (post_worker_init warm-up).
GUNICORN_CONFIG = "config/gunicorn.py"
CORE = Stack(
    "core",
    "config.wsgi:application",
    "bench.http_settings",
    "/core/view/live/",
    "/api/patients/",
)
SCENARIOS = {"review": 5_000, "largest": 1_950}  # patients.summary rows


@dataclass(frozen=True)
class Reader:
    """The reader lab's sign-in (BenchData) and its patient list's URL."""

    data: BenchData
    url: str = ""


def create_reader() -> BenchData:
    """The reader lab: a staff member and PATIENTS patients."""
    lab = Lab(name="Reader Lab", time_zone="Asia/Kolkata", country="IN")
    lab.save()
    username, password = "bench.reader", "bench-reader-password-1"
    get_user_model().objects.create_user(
        username=username, password=password, lab=lab, kind="staff"
    )
    patients = [
        Patient(
            lab=lab,
            first_name=f"Asha {n}",
            last_name="Rao",
            sex=Patient.Sex.FEMALE,
            date_of_birth=date(1988, 4, 12),
        )
        for n in range(PATIENTS)
    ]
    for patient in patients:
        patient.save()
    return BenchData(lab.pk, patients[-1].pk, username, password)


def heavy_lab_key(name: str) -> str:
    """The API key of a new heavy lab `name` (each loaded run has its own, so
    each starts with the lab's whole rate-limit window)."""
    lab = Lab(name=name, time_zone="Asia/Kolkata", country="IN")
    lab.save()
    return ApiKey.create(lab, "bench heavy client")[1]


def heavy_body(rows: int) -> bytes:
    """patients.summary with `rows` short result rows, as JSON."""
    results = [{"test": f"T{n}", "result": str(n)} for n in range(rows)]
    body = {"report": "patients.summary", "context": {"results": results}}
    return json.dumps(body).encode()


def post_report(
    connection: http.client.HTTPConnection, api_key: str, body: bytes
) -> tuple[int, bytes, str | None]:
    """(status, body, Retry-After) of POST /core/pdf/ with `body`."""
    headers = {"Content-Type": "application/json", "X-API-Key": api_key}
    connection.request("POST", "/core/pdf/", body=body, headers=headers)
    answer = connection.getresponse()
    return answer.status, answer.read(), answer.getheader("Retry-After")


@dataclass
class HeavyLoad:
    """HEAVY_CLIENTS threads posting `body` until stopped; answers by status
    and the seconds each took."""

    base_url: str
    api_key: str
    body: bytes
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, clients: int = HEAVY_CLIENTS) -> list[threading.Thread]:
        """Start `clients` clients."""
        threads = [threading.Thread(target=self._client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        return threads

    def _client(self) -> None:
        parts = urlsplit(self.base_url)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=120
        )
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                status, _, retry_after = post_report(
                    connection, self.api_key, self.body
                )
            except (http.client.HTTPException, OSError):
                # the server closed an idle keep-alive connection: a new one
                connection.close()
                continue
            with self.lock:
                self.statuses[status] += 1
                self.seconds.append(time.monotonic() - started)
            if status == 429:
                self.stop.wait(float(retry_after or 1))
        connection.close()


def patients_p99(
    wrk: str, reader: Reader, cookie: str, args: argparse.Namespace
) -> float:
    """wrk's p99 of the patient list, in ms; fail unless every answer was a 200."""
    result = run_wrk(
        wrk,
        reader.url,
        seconds=args.duration,
        connections=args.connections,
        cookie=cookie,
        timeout_seconds=WRK_TIMEOUT_SECONDS,
    )
    problem = result.problem()
    if problem:
        raise SystemExit(f"GET {reader.url}: {problem}")
    return result.p99_ms


def loaded_p99(
    wrk: str, reader: Reader, cookie: str, load: HeavyLoad, args: argparse.Namespace
) -> float:
    """patients_p99 with `load` running from LOAD_DELAY_SECONDS after wrk
    starts until it ends."""
    starter = threading.Timer(LOAD_DELAY_SECONDS, lambda: threads.extend(load.start()))
    threads: list[threading.Thread] = []
    starter.start()
    try:
        return patients_p99(wrk, reader, cookie, args)
    finally:
        starter.cancel()
        starter.join()
        load.stop.set()
        for thread in threads:
            thread.join()


#: p99s by scenario ("idle" included), and the heavy clients of each scenario.
Results = tuple[dict[str, list[float]], dict[str, HeavyLoad]]


def run_rounds(
    wrk: str, reader: Reader, cookie: str, args: argparse.Namespace
) -> Results:
    """args.rounds rounds: idle, then each scenario loaded. p99s by scenario
    ("idle" included) and the heavy clients' answers, merged over rounds."""
    p99s: dict[str, list[float]] = {"idle": [], **{name: [] for name in args.scenarios}}
    heavy = {name: HeavyLoad("", "", b"") for name in args.scenarios}
    base_url = reader.url.removesuffix(CORE.patient_path)
    for number in range(args.rounds):
        p99s["idle"].append(patients_p99(wrk, reader, cookie, args))
        print(f"  round {number + 1} idle     p99 {p99s['idle'][-1]:8.2f} ms")
        for name in args.scenarios:
            key = heavy_lab_key(f"Heavy Lab {name} {number + 1}")
            load = HeavyLoad(base_url, key, heavy_body(SCENARIOS[name]))
            p99s[name].append(loaded_p99(wrk, reader, cookie, load, args))
            heavy[name].statuses.update(load.statuses)
            heavy[name].seconds.extend(load.seconds)
            print(
                f"  round {number + 1} {name:<8} p99 {p99s[name][-1]:8.2f} ms  "
                f"heavy answers {dict(sorted(load.statuses.items()))}"
            )
    return p99s, heavy


def report(p99s: dict[str, list[float]], heavy: dict[str, HeavyLoad]) -> bool:
    """Print idle and loaded p99s (medians), their ratios and the heavy
    answers; whether every scenario met TARGET_RATIO."""
    idle = statistics.median(p99s["idle"])
    print(
        f"\nidle p99 of the patient list: {idle:.2f} ms (median of "
        f"{len(p99s['idle'])} runs)"
    )
    met = True
    for name, load in heavy.items():
        rows = SCENARIOS[name]
        loaded = statistics.median(p99s[name])
        ratio = loaded / idle
        met = met and ratio <= TARGET_RATIO
        median_answer = statistics.median(load.seconds) if load.seconds else 0.0
        print(
            f"{name:<8} ({rows:,} rows, {len(heavy_body(rows)) / 1000:.0f} KB): "
            f"loaded p99 {loaded:.2f} ms, {ratio:.2f}x idle; heavy answers "
            f"{dict(sorted(load.statuses.items()))}, median "
            f"{median_answer * 1000:.0f} ms each"
        )
    verdict = "met" if met else "NOT met"
    print(
        f"target: loaded p99 <= {TARGET_RATIO:.0f}x idle p99 in every scenario: "
        f"{verdict}"
    )
    return met


def check_setup(reader: Reader, cookie: str) -> None:
    """Fail unless the reader's list answers 200 with its patients and a
    small report renders (200, a PDF)."""
    status, body = fetch_json(reader.url, cookie)
    if status != 200 or len(body.get("patients", [])) != PATIENTS:
        raise SystemExit(f"The patient list answered {status} {body!r:.300}.")
    parts = urlsplit(reader.url)
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=60
    )
    status, pdf, _ = post_report(connection, heavy_lab_key("Check Lab"), heavy_body(3))
    connection.close()
    if status != 200 or not pdf.startswith(b"%PDF-"):
        raise SystemExit(f"A small report answered {status} {pdf[:300]!r}.")


def clean_redis(cookie: str) -> None:
    """Delete the bench's session, the PDF endpoint's rate-limit counters
    and render leases from the bench's Redis database (before a run too: the
    labs' ids repeat from run to run)."""
    client = redis.Redis.from_url(os.environ["CACHE_REDIS_URL"])
    try:
        keys = [
            *client.scan_iter("counter:rate:core.pdf:*"),
            *client.scan_iter("lease:{pdf-render}*"),
        ]
        if cookie:
            keys.append(f"session:{cookie.split(';')[0].removeprefix('sessionid=')}")
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def parse_args() -> argparse.Namespace:
    """The command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=4, help="per gthread worker")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS)
    )
    parser.add_argument(
        "--pdf-rate-limit",
        type=int,
        help="the server's PDF_RATE_LIMIT_PER_LAB (default: the setting's, 120 "
        "per 60 s)",
    )
    args = parser.parse_args()
    args.worker_class = "gthread"
    return args


def main() -> None:
    args = parse_args()
    wrk = require_wrk()
    # The server is started with this process's environment.
    os.environ["GUNICORN_CMD_ARGS"] = f"--config={GUNICORN_CONFIG}"
    if args.pdf_rate_limit is not None:
        os.environ["PDF_RATE_LIMIT_PER_LAB"] = str(args.pdf_rate_limit)
    print(
        f"gunicorn gthread -c {GUNICORN_CONFIG}, {args.workers} workers x "
        f"{args.threads} threads; wrk -c{args.connections} -d{args.duration}s on "
        f"the patient list; {HEAVY_CLIENTS} heavy clients of one lab; "
        f"{args.rounds} rounds; {os.cpu_count()} CPUs; PDF_RATE_LIMIT_PER_LAB "
        f"{os.environ.get('PDF_RATE_LIMIT_PER_LAB', 'default')}"
    )
    prepare_database()
    clean_redis("")
    server, cookie = None, ""
    try:
        data = create_reader()
        server = start_server(CORE, args)
        wait_until_up(server, CORE.liveness_path)
        reader = Reader(data, server.base_url + CORE.patient_path)
        cookie = sign_in_over_http(server.base_url, data)
        check_setup(reader, cookie)
        report(*run_rounds(wrk, reader, cookie, args))
    finally:
        if server is not None:
            stop_server(server)
        clean_redis(cookie)
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
