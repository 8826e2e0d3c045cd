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
off), every limit at its default (--pdf-rate-limit and --pdf-rate-window
change the endpoint's rate limit).

The reader lab's staff member reads its patient list (20 patients) with wrk
(--connections 2: a light load, so its p99 is latency, not queueing; wrk's
timeout 10 s, so no slow answer leaves the distribution). The heavy lab's 8
clients (threads here, each with a keep-alive connection and the lab's API
key) each keep one request in flight: answered, they send it again at once;
after a 429 they wait its Retry-After, as HTTP asks. They start 0.5 s after
wrk and stop when it ends, so all they cause is measured. Every loaded run
has a heavy lab of its own (a fresh rate-limit window). Scenarios:

- review: the security review's request, patients.summary (max_pages=20)
  with 5,000 result rows, a 180 KB body (refused: over the context cap);
- largest: the heaviest patients.summary the limits still render: 1,950
  rows, within the context and element caps, laid out in a render process
  until page 21 stops it (413);
- reads (the control): the heavy lab reading its own patient list (20
  patients) the same way, 8 at a time: what 8 ordinary requests of one
  lab in flight cost the other.

Each round measures idle and each scenario loaded, the first rotating by
round (bench/rounds.py); gunicorn on the server CPUs, wrk and this process
(the heavy clients) on the load CPUs (bench/pinning.py). wrk's p99 per run,
medians over the rounds, and each scenario's loaded / idle p99 as the median
of per-round ratios with its interval. Target: loaded p99 <= 2x idle p99 for
the PDF scenarios (inconclusive when an interval straddles 2x). The heavy
clients' answers are counted by status and printed; the figures go to
var/bench/ (bench/results.py). `--quick`: 3 rounds of 3 s.
"""

import argparse
import http.client
import json
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

import django
from django.conf import settings

if not settings.configured:  # run as the bench (a test importing it has settings)
    os.environ.setdefault(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lis_bench_pdf_load"
    )
    os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.http_settings")
    django.setup()

import redis
from django.contrib.auth import get_user_model

from admin.account.models import Lab
from bench.bench_http import BenchData, fetch_json
from bench.bench_http import sign_in as sign_in_over_http
from bench.database import drop_database, prepare_database
from bench.gunicorn import Stack, start_server, stop_server, wait_until_up
from bench.pinning import LOAD, SERVER, Pinning
from bench.results import Record, parse_arguments, start
from bench.rounds import AtMost, combine, rotation
from bench.wrk import require_wrk, run_wrk
from core.models import ApiKey
from patients.models import Patient

TARGET = AtMost(2.0)
HEAVY_CLIENTS = 8
PATIENTS = 20
#: The heavy clients start this long after wrk.
LOAD_DELAY_SECONDS = 0.5
#: wrk's timeout: an answer slower than this would be left out of its figures.
WRK_TIMEOUT_SECONDS = 10
#: The production command's gunicorn settings (post_worker_init warm-up).
GUNICORN_CONFIG = "config/gunicorn.py"
PDF_PATH = "/core/pdf/"
CORE = Stack(
    "core",
    "config.wsgi:application",
    "bench.http_settings",
    "/core/view/live/",
    "/api/patients/",
)


def summary_body(rows: int) -> bytes:
    """patients.summary with `rows` short result rows, as JSON."""
    results = [{"test": f"T{n}", "result": str(n)} for n in range(rows)]
    body = {"report": "patients.summary", "context": {"results": results}}
    return json.dumps(body).encode()


@dataclass(frozen=True)
class Scenario:
    """What each heavy client sends, again and again."""

    name: str
    what: str
    method: str
    path: str
    body: bytes | None
    pdf: bool  # judged against the target (the control is not)


SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("review", "5,000 rows", "POST", PDF_PATH, summary_body(5_000), True),
        Scenario("largest", "1,950 rows", "POST", PDF_PATH, summary_body(1_950), True),
        Scenario("reads", "patient list", "GET", CORE.patient_path, None, False),
    )
}


def create_reader() -> BenchData:
    """The reader lab: a staff member and PATIENTS patients."""
    lab = create_lab("Reader Lab")
    username, password = "bench.reader", "bench-reader-password-1"
    get_user_model().objects.create_user(
        username=username, password=password, lab=lab, kind="staff"
    )
    last = Patient.objects.filter(lab=lab).order_by("-pk").first()
    assert last is not None
    return BenchData(lab.pk, last.pk, username, password)


def create_lab(name: str) -> Lab:
    """A lab with PATIENTS patients."""
    lab = Lab(name=name, time_zone="Asia/Kolkata", country="IN")
    lab.save()
    born = date(1988, 4, 12)
    for n in range(PATIENTS):
        patient = Patient(lab=lab, first_name=f"Asha {n}", last_name="Rao")
        patient.set_values({"sex": Patient.Sex.FEMALE, "date_of_birth": born})
        patient.save()
    return lab


def heavy_lab_key(name: str) -> str:
    """The API key of a new heavy lab `name` (each loaded run has its own, so
    each starts with the lab's whole rate-limit window)."""
    return ApiKey.create(create_lab(name), "bench heavy client")[1]


def send(
    connection: http.client.HTTPConnection, api_key: str, scenario: Scenario
) -> tuple[int, bytes, str | None]:
    """(status, body, Retry-After) of the scenario's request."""
    headers = {"Content-Type": "application/json", "X-API-Key": api_key}
    connection.request(
        scenario.method, scenario.path, body=scenario.body, headers=headers
    )
    answer = connection.getresponse()
    return answer.status, answer.read(), answer.getheader("Retry-After")


def connect(url: str, timeout: float) -> http.client.HTTPConnection:
    """A connection to the server of `url`."""
    parts = urlsplit(url)
    return http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=timeout
    )


@dataclass
class HeavyLoad:
    """HEAVY_CLIENTS threads sending `scenario`'s request until stopped;
    answers by status and the seconds each took."""

    base_url: str
    api_key: str
    scenario: Scenario
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> list[threading.Thread]:
        """Start the clients."""
        threads = [threading.Thread(target=self._client) for _ in range(HEAVY_CLIENTS)]
        for thread in threads:
            thread.start()
        return threads

    def _client(self) -> None:
        connection = connect(self.base_url, timeout=120)
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                status, _, retry_after = send(connection, self.api_key, self.scenario)
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


@dataclass(frozen=True)
class Reader:
    """The reader lab's patient list URL and signed-in Cookie header."""

    url: str
    cookie: str


def patients_p99(
    wrk: str, reader: Reader, args: argparse.Namespace, prefix: Sequence[str] = ()
) -> float:
    """wrk's p99 of the patient list, in ms, wrk behind `prefix` (a
    pinning's taskset); fail unless every answer was a 200."""
    result = run_wrk(
        wrk,
        reader.url,
        seconds=args.duration,
        connections=args.connections,
        cookie=reader.cookie,
        timeout_seconds=WRK_TIMEOUT_SECONDS,
        prefix=prefix,
    )
    problem = result.problem()
    if problem:
        raise SystemExit(f"GET {reader.url}: {problem}")
    return result.p99_ms


def loaded_p99(
    wrk: str,
    reader: Reader,
    load: HeavyLoad,
    args: argparse.Namespace,
    prefix: Sequence[str] = (),
) -> float:
    """patients_p99 with `load` running from LOAD_DELAY_SECONDS after wrk
    starts until it ends."""
    threads: list[threading.Thread] = []
    starter = threading.Timer(LOAD_DELAY_SECONDS, lambda: threads.extend(load.start()))
    starter.start()
    try:
        return patients_p99(wrk, reader, args, prefix)
    finally:
        starter.cancel()
        starter.join()
        load.stop.set()
        for thread in threads:
            thread.join()


#: p99s by scenario ("idle" included), and the heavy clients of each scenario.
Results = tuple[dict[str, list[float]], dict[str, HeavyLoad]]


def run_rounds(
    wrk: str, reader: Reader, args: argparse.Namespace, pinning: Pinning
) -> Results:
    """args.rounds rounds: idle and each scenario loaded, the first rotating
    by round (bench/rounds.py). p99s by scenario ("idle" included), in round
    order, and the heavy clients' answers, merged over rounds."""
    p99s: dict[str, list[float]] = {"idle": [], **{n: [] for n in args.scenarios}}
    heavy = {name: HeavyLoad("", "", SCENARIOS[name]) for name in args.scenarios}
    base_url = reader.url.removesuffix(CORE.patient_path)
    prefix = pinning.prefix(LOAD)
    for number in range(args.rounds):
        for name in rotation(list(p99s), number):
            if name == "idle":
                p99s["idle"].append(patients_p99(wrk, reader, args, prefix))
                print(f"  round {number + 1} idle     p99 {p99s['idle'][-1]:8.2f} ms")
                continue
            key = heavy_lab_key(f"Heavy Lab {name} {number + 1}")
            load = HeavyLoad(base_url, key, SCENARIOS[name])
            p99s[name].append(loaded_p99(wrk, reader, load, args, prefix))
            heavy[name].statuses.update(load.statuses)
            heavy[name].seconds.extend(load.seconds)
            answers = dict(sorted(load.statuses.items()))
            print(
                f"  round {number + 1} {name:<8} p99 {p99s[name][-1]:8.2f} ms  "
                f"heavy answers {answers}"
            )
    return p99s, heavy


def report(
    p99s: dict[str, list[float]], heavy: dict[str, HeavyLoad], record: Record
) -> str:
    """Print idle and loaded p99s (medians), the loaded / idle ratios (the
    median of per-round ratios, with interval and range) and the heavy
    answers; record them. The verdict on TARGET over every PDF scenario."""
    idle = record.figure("idle", "p99 of the patient list", p99s["idle"], "ms")
    runs = len(p99s["idle"])
    print(
        f"\nidle p99 of the patient list: {idle.spread.median:.2f} ms "
        f"(median of {runs} runs)"
    )
    verdicts = []
    for name, load in heavy.items():
        scenario = load.scenario
        loaded = record.figure(name, "p99 of the patient list", p99s[name], "ms")
        ratio = record.ratio(
            "p99 of the patient list", name, "idle", p99s[name], p99s["idle"],
            TARGET if scenario.pdf else None,
        )  # fmt: skip
        if ratio.verdict is not None:
            verdicts.append(ratio.verdict)
        size = f", {len(scenario.body) / 1000:.0f} KB" if scenario.body else ""
        median_ms = statistics.median(load.seconds) * 1000 if load.seconds else 0.0
        print(
            f"{name:<8} ({scenario.what}{size}): loaded p99 "
            f"{loaded.spread.median:.2f} ms; loaded / idle {ratio.describe()}; "
            f"heavy answers {dict(sorted(load.statuses.items()))}, median "
            f"{median_ms:.0f} ms each"
        )
    goal = f"loaded p99 {TARGET} idle p99 in every PDF scenario"
    outcome = record.conclude(goal, combine(verdicts))
    print(f"target: {goal}: {outcome}")
    return outcome


def check_setup(reader: Reader) -> None:
    """Fail unless the reader's list answers 200 with its patients and a
    small report renders (200, a PDF)."""
    status, body = fetch_json(reader.url, reader.cookie)
    if status != 200 or len(body.get("patients", [])) != PATIENTS:
        raise SystemExit(f"The patient list answered {status} {body!r:.300}.")
    small = Scenario("check", "", "POST", PDF_PATH, summary_body(3), True)
    connection = connect(reader.url, timeout=60)
    status, pdf, _ = send(connection, heavy_lab_key("Check Lab"), small)
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
        help="the server's PDF_RATE_LIMIT_PER_LAB (default: the setting's, 20)",
    )
    parser.add_argument(
        "--pdf-rate-window",
        type=int,
        help="the server's PDF_RATE_LIMIT_WINDOW_SECONDS (default: the setting's, 10)",
    )
    args = parse_arguments(parser, {"rounds": 3, "duration": 3})
    args.worker_class = "gthread"
    return args


def configure_server(args: argparse.Namespace) -> None:
    """The server's environment (it is started with this process's), and
    the line describing the run."""
    os.environ["GUNICORN_CMD_ARGS"] = f"--config={GUNICORN_CONFIG}"
    if args.pdf_rate_limit is not None:
        os.environ["PDF_RATE_LIMIT_PER_LAB"] = str(args.pdf_rate_limit)
    if args.pdf_rate_window is not None:
        os.environ["PDF_RATE_LIMIT_WINDOW_SECONDS"] = str(args.pdf_rate_window)
    limit = os.environ.get("PDF_RATE_LIMIT_PER_LAB", "20")
    window = os.environ.get("PDF_RATE_LIMIT_WINDOW_SECONDS", "10")
    print(
        f"gunicorn gthread -c {GUNICORN_CONFIG}, {args.workers} workers x "
        f"{args.threads} threads; wrk -c{args.connections} -d{args.duration}s on "
        f"the patient list; {HEAVY_CLIENTS} heavy clients of one lab; "
        f"{args.rounds} rounds; {os.cpu_count()} CPUs; PDF rate limit {limit} "
        f"per {window} s"
    )


def main() -> None:
    args = parse_args()
    wrk = require_wrk()
    configure_server(args)
    record = start("bench_pdf_load", args)
    prepare_database()
    clean_redis("")
    server, cookie = None, ""
    try:
        data = create_reader()
        server = start_server(CORE, args, record.pinning.prefix(SERVER))
        wait_until_up(server, CORE.liveness_path)
        cookie = sign_in_over_http(server.base_url, data)
        reader = Reader(server.base_url + CORE.patient_path, cookie)
        check_setup(reader)
        report(*run_rounds(wrk, reader, args, record.pinning), record)
    finally:
        if server is not None:
            stop_server(server)
        clean_redis(cookie)
        if not args.keep:
            drop_database()
    record.write()


if __name__ == "__main__":
    main()
