"""HTTP throughput of the core stack against plain Django projects doing the
same read, served by gunicorn and loaded by wrk, in one run.

Run: `.venv/bin/python -m bench.bench_http [--rounds 10 --duration 3]`
(`--quick`: 3 rounds of 1 s; `--no-pin`; `--results DIR`). Needs
wrk (`apt-get install -y wrk`; without it: that message and exit status 2).
PostgreSQL from DATABASE_URL, by default the machine's, database
`lis_bench_http` (created, migrated, dropped at the end unless --keep); Redis
from BENCH_REDIS_URL, by default redis://127.0.0.1:6379/15 (the bench's keys
are deleted afterwards).

A gunicorn server per stack (STACKS: one line each) on loopback, all
alive, loaded one at a time:
- core: `config.wsgi` with bench.http_settings: settings.MIDDLEWARE as in
  production, sessions and the instance cache on Redis, DEBUG off;
- plain (the target's baseline): bench/http_plain/ with no middleware,
  views doing the same read with the ORM;
- django: the same views under the middleware of Django's `startproject`
  template, to tell Django's share of core's cost from core's own.

Endpoints, checked to answer 200 with the expected JSON (the patient's the
same on every stack) before they are measured; every measured answer is
counted by status (bench/wrk/status.lua) and any but 200 fails the run:
- liveness, without cookies as a load balancer asks: core
  `/core/view/live/`, the others `/live/`;
- one patient, with a lab staff session signed in over HTTP (CSRF token,
  POST /core/auth/login/): core `/api/patients/<id>/` through
  `Patient.get_cached_instance` (and refusing the request without the
  session); the others `/labs/<lab>/patients/<id>/`, one SELECT each.

Workers: gthread, 2 processes x 4 threads (2 cores), keep-alive, as the
README's production command; `--worker-class sync` for sync workers. The 2
cores are shared by the workers, wrk (1 thread, 8 connections), PostgreSQL
and Redis: figures are noisy, so the stacks alternate in short rounds (the
first rotating, bench/rounds.py), gunicorn on one CPU and wrk on the other
(bench/pinning.py); medians of requests per second and of wrk's p99 are
printed, and core's ratios to every other stack as medians of per-round
ratios with their interval and range; the figures go to var/bench/
(bench/results.py). Target (TARGETS): core serves at least 0.8x the plain
project's requests per second on both endpoints; "inconclusive" when an
interval straddles 0.8x.

Every run also reads the server's CPU time (its master and workers, from
/proc) before and after, and prints requests answered per second of server
CPU ("req/CPU-s"). Equal to req/s, it says the server was CPU bound: wrk
loaded it fully, and a difference in req/s is a difference in what a
request costs. Well below req/s, the server was waiting (on wrk, the
database, Redis), and req/s measures that as much as the stack.

`--metrics-cost` measures core against `core-nometrics` only: core without
MetricsMiddleware (bench/http_settings_no_metrics.py), both servers in
prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, a
temporary directory), as production's gunicorn does. core/core-nometrics
is the middleware's price, target at least 0.95x (it costs at most 5% of
req/s). The price is microseconds in milliseconds, and the req/s of one
run on 2 shared cores moves by up to 30% from the next: run it as
`--metrics-cost --rounds 60 --duration 1` (about 5 minutes), since 20
rounds of 3 s gave intervals 0.93-1.15 wide, and many short alternating
runs narrow them to 0.98-1.03. Liveness, answered before the middleware
and so the same code on both stacks, shows the run's own noise around 1x.
"""

import argparse
import http.cookiejar
import json
import os
import secrets
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import date
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.http_settings")

import django

django.setup()

import redis  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from admin.account.models import Lab  # noqa: E402
from bench import rounds  # noqa: E402
from bench.database import drop_database, prepare_database  # noqa: E402
from bench.gunicorn import (  # noqa: E402
    Server,
    Stack,
    cpu_seconds,
    start_server,
    stop_server,
    wait_until_up,
)
from bench.pinning import LOAD, SERVER, Pinning  # noqa: E402
from bench.results import Record, parse_arguments, start  # noqa: E402
from bench.rounds import AtLeast, combine, rotation  # noqa: E402
from bench.wrk import WrkResult, require_wrk, run_wrk  # noqa: E402
from patients.models import Patient  # noqa: E402

#: A short unmeasured run per target first: connections, caches, bytecode.
WARM_UP_SECONDS = 2

_PLAIN_APP = "bench.http_plain.wsgi:application"
_PLAIN_READ = "/labs/{lab_id}/patients/{patient_id}/"
STACKS = (
    Stack("core", "config.wsgi:application", "bench.http_settings",
          "/core/view/live/", "/api/patients/{patient_id}/"),
    Stack("plain", _PLAIN_APP, "bench.http_plain.settings", "/live/", _PLAIN_READ),
    Stack("django", _PLAIN_APP, "bench.http_plain.django_settings", "/live/",
          _PLAIN_READ),
)  # fmt: skip
#: --metrics-cost: core without its metrics middleware.
NO_METRICS = Stack("core-nometrics", "config.wsgi:application",
                   "bench.http_settings_no_metrics", "/core/view/live/",
                   "/api/patients/{patient_id}/")  # fmt: skip
ENDPOINTS = ("liveness", "patient")
#: The stack measured against the others: each of its endpoints' req/s and
#: p99 are printed as ratios to every other stack's, round by round. A new
#: stack (one line in STACKS) gets its ratios printed and recorded.
SUBJECT = "core"
#: Targets on SUBJECT's figures as ratios to another stack's, on every
#: endpoint, by (the other stack, the figure). The least share of the plain
#: project's requests per second core must serve; with --metrics-cost, the
#: metrics middleware costs at most 5% of req/s.
TARGETS: dict[tuple[str, str], rounds.Target] = {
    ("plain", "req/s"): AtLeast(0.8),
    (NO_METRICS.name, "req/s"): AtLeast(0.95),
}


def stacks_of(names: Container[str]) -> list[Stack]:
    """The stacks (of STACKS and NO_METRICS) named in `names`, in order."""
    return [stack for stack in (*STACKS, NO_METRICS) if stack.name in names]


def measured_stacks(results: "Results") -> list[Stack]:
    """The stacks with figures in `results`, in order."""
    return stacks_of({name for _, name in results})


# -- data and sign-in ----------------------------------------------------------
@dataclass(frozen=True)
class BenchData:
    """The rows the bench reads, and the staff member's sign-in."""

    lab_id: int
    patient_id: int
    username: str
    password: str


def create_data() -> BenchData:
    """A lab, a staff member of it (random password) and one patient."""
    lab = Lab(name="Bench Lab", time_zone="Asia/Kolkata", country="IN")
    lab.save()
    username, password = f"bench.{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    get_user_model().objects.create_user(
        username=username, password=password, lab=lab, kind="staff"
    )
    patient = Patient(
        lab=lab,
        first_name="Asha",
        last_name="Rao",
        sex=Patient.Sex.FEMALE,
        date_of_birth=date(1988, 4, 12),
        phone="+91 98765 43210",
        email="asha.rao@example.com",
    )
    patient.save()
    return BenchData(lab.pk, patient.pk, username, password)


def sign_in(base_url: str, data: BenchData) -> str:
    """Sign the staff member in over HTTP as a browser does (CSRF token,
    then POST /core/auth/login/); the Cookie header of the signed-in session.

    Example: `"sessionid=k3j...; csrftoken=Xq9..."`.
    """
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base_url + "/core/auth/csrf/") as answer:
        token = json.load(answer)["csrfToken"]
    body = {"username": data.username, "password": data.password}
    request = urllib.request.Request(  # noqa: S310 (our own loopback server)
        base_url + "/core/auth/login/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-CSRFToken": token},
        method="POST",
    )
    with opener.open(request) as answer:
        signed_in = json.load(answer)
    if signed_in.get("lab_id") != data.lab_id:
        raise SystemExit(
            f"Signed in to lab {signed_in.get('lab_id')}; expected {data.lab_id}."
        )
    cookies = {cookie.name: cookie.value for cookie in jar}
    return f"sessionid={cookies['sessionid']}; csrftoken={cookies['csrftoken']}"


def clean_redis(session_cookie: str, lab_id: int) -> None:
    """Delete the bench lab's patient cache, and the session of
    `session_cookie` (a Cookie header, or "" before any sign-in), from Redis."""
    keys = [Patient.get_cache_key(lab_id)]
    if session_cookie:
        session_key = session_cookie.split(";")[0].removeprefix("sessionid=")
        keys.append(f"session:{session_key}")
    client = redis.Redis.from_url(os.environ["CACHE_REDIS_URL"])
    try:
        client.delete(*keys)
    finally:
        client.close()


# -- the run -------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """One URL to load: which endpoint, on which stack, the Cookie header
    sent ("" for none) and what its JSON must hold.

    Example: `Target("liveness", "plain", "http://127.0.0.1:8123/live/", "",
    {"status": "ok"})`.
    """

    endpoint: str
    stack: str
    url: str
    cookie: str
    expected: dict[str, Any]
    #: The serving gunicorn master's process id (for its CPU time).
    pid: int


def targets_for(
    servers: dict[str, Server], data: BenchData, cookie: str
) -> list[Target]:
    """Each endpoint on each stack. Liveness is asked without cookies, as a
    load balancer's probe asks; the patient read with the session cookie on
    every stack (the plain ones ignore it), so all get the same headers."""
    ids = {"lab_id": data.lab_id, "patient_id": data.patient_id}
    patient = {"id": data.patient_id, "first_name": "Asha", "last_name": "Rao"}
    targets = []
    for stack in stacks_of(servers):
        base_url = servers[stack.name].base_url
        live = base_url + stack.liveness_path
        pid = servers[stack.name].process.pid
        targets.append(Target("liveness", stack.name, live, "", {"status": "ok"}, pid))
        read = base_url + stack.patient_path.format(**ids)
        targets.append(Target("patient", stack.name, read, cookie, patient, pid))
    return targets


def fetch_json(url: str, cookie: str) -> tuple[int, Any]:
    """(status, body) of GET `url`, with the Cookie header `cookie` unless it
    is ""; the body as JSON, or as text when it is not JSON.

    Example: `(401, {"error": "Sign in first.", "request_id": "4f1c..."})`.
    """
    headers = {"Cookie": cookie} if cookie else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        status, raw = refused.code, refused.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")[:500]


def check_answer(target: Target) -> dict[str, Any]:
    """The JSON object GET `target.url` answers; fail unless it answers 200
    with JSON holding `target.expected`."""
    status, body = fetch_json(target.url, target.cookie)
    holds = isinstance(body, dict) and all(
        body.get(key) == value for key, value in target.expected.items()
    )
    if status != 200 or not holds:
        raise SystemExit(
            f"GET {target.url} answered {status} {body!r}; expected 200 with "
            f"{target.expected}."
        )
    return body


def check_targets(targets: list[Target]) -> None:
    """Fail unless every target answers 200 with its expected JSON, every
    stack answers the patient read with the same JSON, and core's patient
    read refuses a request without the session (else the bench would not be
    measuring a session-authenticated read)."""
    reads = {t.stack: check_answer(t) for t in targets if t.endpoint == "patient"}
    differing = sorted(
        key
        for key in reads["core"]
        if len({repr(r.get(key)) for r in reads.values()}) > 1
    )
    if differing or any(read.keys() != reads["core"].keys() for read in reads.values()):
        raise SystemExit(
            "The stacks answer the patient read differently; fields that differ: "
            f"{differing or 'the field names'}."
        )
    core_read = next(t for t in targets if (t.endpoint, t.stack) == ("patient", "core"))
    status, _ = fetch_json(core_read.url, "")
    if status not in (401, 403):
        raise SystemExit(
            f"GET {core_read.url} without a session answered {status}; "
            "expected 401 or 403."
        )
    for target in targets:
        if target.endpoint == "liveness":
            check_answer(target)


@dataclass(frozen=True)
class Run:
    """One measured wrk run, and the server CPU time it cost.

    Example: `Run(WrkResult(rps=410.0, p99_ms=30.2, statuses={200: 1230},
    socket_errors=0), server_cpu_seconds=2.96)`: 415.5 req/CPU-s.
    """

    wrk: WrkResult
    server_cpu_seconds: float

    @property
    def rps(self) -> float:
        return self.wrk.rps

    @property
    def p99_ms(self) -> float:
        return self.wrk.p99_ms

    @property
    def per_cpu_second(self) -> float:
        """Requests answered per second of the server's CPU time."""
        answered = sum(self.wrk.statuses.values())
        return answered / self.server_cpu_seconds if self.server_cpu_seconds else 0.0


#: The figures of each run printed and compared: (name, value, unit).
FIGURES: tuple[tuple[str, Callable[[Run], float], str], ...] = (
    ("req/s", lambda run: run.rps, "/s"),
    ("p99", lambda run: run.p99_ms, "ms"),
    ("req/CPU-s", lambda run: run.per_cpu_second, "/s"),
)


def load(
    wrk: str, target: Target, seconds: int, args: argparse.Namespace, pinning: Pinning
) -> Run:
    """One wrk run on `target` (on the load CPUs when pinned), with the
    server's CPU time over it; fail unless every answer was a 200."""
    cpu_before = cpu_seconds(target.pid)
    result = run_wrk(
        wrk,
        target.url,
        seconds=seconds,
        connections=args.connections,
        threads=args.wrk_threads,
        cookie=target.cookie,
        prefix=pinning.prefix(LOAD),
    )
    cpu = cpu_seconds(target.pid) - cpu_before
    problem = result.problem()
    if problem:
        raise SystemExit(f"{target.stack} {target.endpoint} ({target.url}): {problem}")
    return Run(result, cpu)


Results = dict[tuple[str, str], list[Run]]


def measure(
    wrk: str, targets: list[Target], args: argparse.Namespace, pinning: Pinning
) -> Results:
    """args.rounds rounds of short wrk runs, the stacks alternating within
    each endpoint and the first of them rotating by round (bench/rounds.py).
    Results by (endpoint, stack), in round order."""
    results: Results = {(t.endpoint, t.stack): [] for t in targets}
    for number in range(args.rounds):
        for endpoint in ENDPOINTS:
            group = {t.stack: t for t in targets if t.endpoint == endpoint}
            for stack in rotation(list(group), number):
                result = load(wrk, group[stack], args.duration, args, pinning)
                results[(endpoint, stack)].append(result)
                print(
                    f"  round {number + 1} {endpoint:<8} {stack:<6} "
                    f"{result.rps:8.0f} req/s  p99 {result.p99_ms:7.2f} ms  "
                    f"{result.per_cpu_second:8.0f} req/CPU-s"
                )
    return results


def report(results: Results, record: Record) -> str:
    """Print, per endpoint, each stack's medians over the rounds and
    SUBJECT's ratios to the other stacks (per round: runs of one round are
    seconds apart, so a neighbour's load slows both), each the median of the
    per-round ratios with its interval and range; record them. The verdict
    on TARGETS over every endpoint: met, missed or inconclusive (an
    interval straddles a target)."""
    verdicts = []
    print(
        f"\n{'endpoint':<9} {'stack':<7} {'req/s':>8} {'p99 ms':>8} "
        f"{'req/CPU-s':>9}  (medians)"
    )
    for endpoint in ENDPOINTS:
        for stack in measured_stacks(results):
            runs = results[(endpoint, stack.name)]
            rps, p99, per_cpu = (
                record.figure(
                    stack.name, f"{endpoint} {name}", [value(r) for r in runs], unit
                )
                for name, value, unit in FIGURES
            )
            print(
                f"{endpoint:<9} {stack.name:<7} {rps.spread.median:8.0f} "
                f"{p99.spread.median:8.2f} {per_cpu.spread.median:9.0f}"
            )
        verdicts += report_ratios(endpoint, results, record)
    outcome = combine(verdicts)
    measured = {stack.name for stack in measured_stacks(results)}
    goals = ", ".join(
        f"{SUBJECT} {t} {name}'s {figure}"
        for (name, figure), t in TARGETS.items()
        if name in measured
    )
    print(f"target: {goals} on every endpoint: {record.conclude(goals, outcome)}")
    return outcome


def report_ratios(endpoint: str, results: Results, record: Record) -> list[str]:
    """Print and record SUBJECT's ratios to every other stack on
    `endpoint`, each figure of FIGURES; the verdicts of those with a target."""
    subject = results[(endpoint, SUBJECT)]
    verdicts = []
    for other in (s.name for s in measured_stacks(results) if s.name != SUBJECT):
        runs = results[(endpoint, other)]
        ratios = [
            record.ratio(
                f"{endpoint} {name}",
                SUBJECT,
                other,
                [value(r) for r in subject],
                [value(r) for r in runs],
                TARGETS.get((other, name)),
            )
            for name, value, _ in FIGURES
        ]
        rps, p99, per_cpu = (ratio.describe() for ratio in ratios)
        print(
            f"{endpoint:<9} {SUBJECT}/{other}: req/s {rps}; p99 latency {p99}; "
            f"req/CPU-s {per_cpu}"
        )
        verdicts += [r.verdict for r in ratios if r.verdict is not None]
    return verdicts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--duration", type=int, default=3, help="seconds per run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument(
        "--worker-class", choices=("gthread", "sync"), default="gthread"
    )
    parser.add_argument("--threads", type=int, default=4, help="per gthread worker")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--metrics-cost",
        action="store_true",
        help="also serve core without its metrics middleware, in multiprocess mode",
    )
    return parse_arguments(parser, {"rounds": 3, "duration": 1}, argv)


def describe(args: argparse.Namespace) -> str:
    """One line saying what is run, printed before the figures."""
    threads = f" x {args.threads} threads" if args.worker_class == "gthread" else ""
    return (
        f"gunicorn {args.worker_class}, {args.workers} workers{threads} per stack; "
        f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s; "
        f"{args.rounds} rounds; {os.cpu_count()} CPUs"
    )


def serve_and_measure(
    wrk: str, data: BenchData, args: argparse.Namespace, record: Record
) -> str:
    """Start the servers (on the server CPUs when pinned), sign in, check,
    warm up, measure, report; the servers are stopped and the bench's Redis
    keys deleted whatever happens."""
    servers: dict[str, Server] = {}
    cookie = ""
    prefix = record.pinning.prefix(SERVER)
    stacks = (
        stacks_of({SUBJECT, NO_METRICS.name}) if args.metrics_cost else list(STACKS)
    )
    try:
        for stack in stacks:
            servers[stack.name] = start_server(stack, args, prefix)
        for stack in stacks:
            wait_until_up(servers[stack.name], stack.liveness_path)
        cookie = sign_in(servers[SUBJECT].base_url, data)
        targets = targets_for(servers, data, cookie)
        check_targets(targets)
        for target in targets:
            load(wrk, target, WARM_UP_SECONDS, args, record.pinning)
        results = measure(wrk, targets, args, record.pinning)
    finally:
        for server in servers.values():
            stop_server(server)
        clean_redis(cookie, data.lab_id)
    return report(results, record)


def main() -> None:
    args = parse_args()
    wrk = require_wrk()
    print(describe(args))
    record = start("bench_http", args)
    prepare_database()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-metrics-") as metrics_dir:
            if args.metrics_cost:  # the servers inherit it: multiprocess mode
                os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
            serve_and_measure(wrk, create_data(), args, record)
    finally:
        if not args.keep:
            drop_database()
    record.write()


if __name__ == "__main__":
    main()
