"""Does one lab's heavy PDF load slow another lab down? Another lab's patient
list (`GET /api/patients/`) under wrk, idle and with 8 heavy `POST
/core/pdf/` requests of one lab in flight, in one run.

Run: `.venv/bin/python -m bench.bench_pdf_load [--rounds 3 --duration 10]`.
Needs wrk (`apt-get install -y wrk`). PostgreSQL from DATABASE_URL, by
default the machine's, database `lis_bench_pdf_load` (created, migrated,
dropped at the end unless --keep); Redis from BENCH_REDIS_URL, by default
redis://127.0.0.1:6379/14 (the bench's keys are deleted afterwards).

One gunicorn server, `config.wsgi` with bench.http_settings (sessions, the
instance cache and the render slots on Redis, DEBUG off), 2 processes x 4
threads (gthread), as the README's production command. Every limit is the
default but the endpoint's rate limit (PDF_RATE_LIMIT_PER_LAB), raised so
that what is measured is the render path, not the rate limiter refusing.

Two labs: the reader's staff member reads the patient list (20 patients)
with wrk (--connections 2: a light load, so its p99 is latency, not
queueing); the heavy lab's 8 clients (threads here, each with its own
keep-alive connection and the lab's API key) each keep one request in
flight: answered, they send it again at once, but after a 429 they wait its
Retry-After, as HTTP asks. Heavy requests, one kind per scenario:

- review: the security review's request, patients.summary (max_pages=20)
  with 5,000 result rows, a 180 KB body;
- largest: the heaviest patients.summary the limits still render: 1,950
  rows, under the context and element caps, laid out until page 21 stops
  it (413) in a render process.

Each round measures idle, then each scenario loaded; wrk's p99 per run,
medians over the rounds. Target: loaded p99 <= 2x idle p99 for every
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
from typing import Any
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
from bench.wrk import WrkResult, require_wrk, run_wrk  # noqa: E402
from core.models import ApiKey  # noqa: E402
from patients.models import Patient  # noqa: E402

TARGET_RATIO = 2.0
HEAVY_CLIENTS = 8
PATIENTS = 20
#: The heavy clients start this long before wrk does, to be in flight.
LOAD_SETTLE_SECONDS = 1.0
CORE = Stack("core", "config.wsgi:application", "bench.http_settings",
             "/core/view/live/", "/api/patients/")  # fmt: skip
SCENARIOS = {"review": 5_000, "largest": 1_950}  # patients.summary rows


@dataclass(frozen=True)
class Labs:
    """The reader's sign-in and the heavy lab's API key."""

    reader: BenchData
    heavy_lab_id: int
    heavy_api_key: str


def create_labs() -> Labs:
    """Two labs: the reader (a staff member, PATIENTS patients) and the
    heavy one (an API key)."""
    reader = Lab(name="Reader Lab", time_zone="Asia/Kolkata", country="IN")
    reader.save()
    heavy = Lab(name="Heavy Lab", time_zone="Asia/Kolkata", country="IN")
    heavy.save()
    username, password = "bench.reader", "bench-reader-password-1"
    get_user_model().objects.create_user(
        username=username, password=password, lab=reader, kind="staff"
    )
    patients = [
        Patient(lab=reader, first_name=f"Asha {n}", last_name="Rao",
                sex=Patient.Sex.FEMALE, date_of_birth=date(1988, 4, 12))
        for n in range(PATIENTS)
    ]  # fmt: skip
    for patient in patients:
        patient.save()
    _, key = ApiKey.create(heavy, "bench heavy client")
    return Labs(BenchData(reader.pk, patients[-1].pk, username, password),
                heavy.pk, key)  # fmt: skip


def heavy_body(rows: int) -> bytes:
    """patients.summary with `rows` short result rows, as JSON."""
    results = [{"test": f"T{n}", "result": str(n)} for n in range(rows)]
    body = {"report": "patients.summary", "context": {"results": results}}
    return json.dumps(body).encode()


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

    def run(self) -> list[threading.Thread]:
        """Start the clients."""
        threads = [threading.Thread(target=self._client) for _ in range(HEAVY_CLIENTS)]
        for thread in threads:
            thread.start()
        return threads

    def _client(self) -> None:
        parts = urlsplit(self.base_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        headers = {"Content-Type": "application/json", "X-API-Key": self.api_key}
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                connection.request(
                    "POST", "/core/pdf/", body=self.body, headers=headers
                )
                answer = connection.getresponse()
                answer.read()
            except (http.client.HTTPException, OSError):
                # the server closed an idle keep-alive connection: a new one
                connection.close()
                continue
            with self.lock:
                self.statuses[answer.status] += 1
                self.seconds.append(time.monotonic() - started)
            if answer.status == 429:
                self.stop.wait(float(answer.getheader("Retry-After") or 1))
        connection.close()


def measure_patients(
    wrk: str, url: str, cookie: str, args: argparse.Namespace
) -> WrkResult:
    """One wrk run on the patient list; fail unless every answer was a 200."""
    result = run_wrk(wrk, url, seconds=args.duration, connections=args.connections,
                     cookie=cookie)  # fmt: skip
    problem = result.problem()
    if problem:
        raise SystemExit(f"GET {url}: {problem} ({result})")
    return result


def run_rounds(wrk: str, base_url: str, labs: Labs, cookie: str,
               args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    """args.rounds rounds: idle, then each scenario loaded. p99s by
    scenario ("idle" included) and the heavy clients' answers."""
    url = base_url + CORE.patient_path
    p99s: dict[str, list[float]] = {"idle": [], **{name: [] for name in args.scenarios}}
    heavy: dict[str, HeavyLoad] = {}
    for number in range(args.rounds):
        p99s["idle"].append(measure_patients(wrk, url, cookie, args).p99_ms)
        print(f"  round {number + 1} idle     p99 {p99s['idle'][-1]:8.2f} ms")
        for name in args.scenarios:
            load = HeavyLoad(base_url, labs.heavy_api_key, heavy_body(SCENARIOS[name]))
            threads = load.run()
            time.sleep(LOAD_SETTLE_SECONDS)
            try:
                p99s[name].append(measure_patients(wrk, url, cookie, args).p99_ms)
            finally:
                load.stop.set()
                for thread in threads:
                    thread.join()
            merged = heavy.setdefault(name, HeavyLoad(base_url, "", b""))
            merged.statuses.update(load.statuses)
            merged.seconds.extend(load.seconds)
            print(f"  round {number + 1} {name:<8} p99 {p99s[name][-1]:8.2f} ms  "
                  f"heavy answers {dict(sorted(load.statuses.items()))}")  # fmt: skip
    return {"p99s": p99s, "heavy": heavy}


def report(results: dict[str, Any]) -> bool:
    """Print idle and loaded p99s (medians), their ratios and the heavy
    answers; whether every scenario met TARGET_RATIO."""
    p99s, heavy = results["p99s"], results["heavy"]
    idle = statistics.median(p99s["idle"])
    print(f"\nidle p99 of the patient list: {idle:.2f} ms (median of "
          f"{len(p99s['idle'])} runs)")  # fmt: skip
    met = True
    for name in heavy:
        rows = SCENARIOS[name]
        loaded = statistics.median(p99s[name])
        ratio = loaded / idle
        met = met and ratio <= TARGET_RATIO
        load = heavy[name]
        median_answer = statistics.median(load.seconds) if load.seconds else 0.0
        print(f"{name:<8} ({rows:,} rows, {len(heavy_body(rows)) / 1000:.0f} KB): "
              f"loaded p99 {loaded:.2f} ms, {ratio:.2f}x idle; heavy answers "
              f"{dict(sorted(load.statuses.items()))}, median "
              f"{median_answer * 1000:.0f} ms each")  # fmt: skip
    verdict = "met" if met else "NOT met"
    print(f"target: loaded p99 <= {TARGET_RATIO:.0f}x idle p99 in every scenario: "
          f"{verdict}")  # fmt: skip
    return met


def check_setup(base_url: str, labs: Labs, cookie: str) -> None:
    """Fail unless the reader's list answers 200 with its patients and a
    small report of the heavy lab renders (200, a PDF)."""
    status, body = fetch_json(base_url + CORE.patient_path, cookie)
    if status != 200 or len(body.get("patients", [])) != PATIENTS:
        raise SystemExit(f"The patient list answered {status} {body!r:.300}.")
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = {"Content-Type": "application/json", "X-API-Key": labs.heavy_api_key}
    connection.request("POST", "/core/pdf/", body=heavy_body(3), headers=headers)
    answer = connection.getresponse()
    pdf = answer.read()
    connection.close()
    if answer.status != 200 or not pdf.startswith(b"%PDF-"):
        raise SystemExit(f"A small report answered {answer.status} {pdf[:300]!r}.")


def clean_redis(cookie: str) -> None:
    """Delete the bench's session, the PDF endpoint's rate-limit counters
    and render leases from the bench's Redis database (before a run too: the
    labs' ids repeat from run to run)."""
    client = redis.Redis.from_url(os.environ["CACHE_REDIS_URL"])
    try:
        keys = [*client.scan_iter("counter:rate:core.pdf:*"),
                *client.scan_iter("lease:{pdf-render}*")]  # fmt: skip
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
        help="the server's PDF_RATE_LIMIT_PER_LAB (default: the setting's "
        "default, 120 per minute); raise it to load the server with the heavy "
        "lab's refused requests too",
    )
    args = parser.parse_args()
    args.worker_class = "gthread"
    return args


def main() -> None:
    args = parse_args()
    wrk = require_wrk()
    print(f"gunicorn gthread, {args.workers} workers x {args.threads} threads; "
          f"wrk -c{args.connections} -d{args.duration}s on the patient list; "
          f"{HEAVY_CLIENTS} heavy clients; {args.rounds} rounds; "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    if args.pdf_rate_limit is not None:  # the server reads its environment
        os.environ["PDF_RATE_LIMIT_PER_LAB"] = str(args.pdf_rate_limit)
    print(f"PDF_RATE_LIMIT_PER_LAB: {os.environ.get('PDF_RATE_LIMIT_PER_LAB', 120)}")
    prepare_database()
    clean_redis("")
    server, cookie = None, ""
    try:
        labs = create_labs()
        server = start_server(CORE, args)
        wait_until_up(server, CORE.liveness_path)
        cookie = sign_in_over_http(server.base_url, labs.reader)
        check_setup(server.base_url, labs, cookie)
        report(run_rounds(wrk, server.base_url, labs, cookie, args))
    finally:
        if server is not None:
            stop_server(server)
        clean_redis(cookie)
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
