"""HTTP throughput of the core stack against plain Django projects doing the
same read, served by gunicorn and loaded by wrk, in one run.

Run: `.venv/bin/python -m bench.bench_http [--rounds 5 --duration 6]`. Needs
wrk (`apt-get install -y wrk`; without it: that message and exit status 2).
PostgreSQL from DATABASE_URL, by default the machine's, database
`lis_bench_http` (created, migrated, dropped at the end unless --keep); Redis
from BENCH_REDIS_URL, by default redis://127.0.0.1:6379/15 (the bench's keys
are deleted afterwards).

Three gunicorn servers on loopback, all alive, loaded one at a time:
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
and Redis: figures are noisy, so the stacks alternate, round after round
(the first rotating); medians of requests per second and of wrk's p99 are
printed, and core's ratios to the others as medians of per-round ratios.
Target: core serves at least 0.8x the plain project's requests per second.

`--metrics-cost` adds a fourth stack, `core-nometrics`: core without
MetricsMiddleware (bench/http_settings_no_metrics.py), and runs every
server in prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
a temporary directory), as production's gunicorn does; it prints
core/core-nometrics and the middleware's cost (target: at most 5% of the
patient read's req/s; liveness is answered before the middleware).
"""

import argparse
import http.cookiejar
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Container
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.http_settings")

import django

django.setup()

import redis  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from admin.account.models import Lab  # noqa: E402
from bench.database import drop_database, prepare_database  # noqa: E402
from bench.wrk import WrkResult, require_wrk, run_wrk  # noqa: E402
from patients.models import Patient  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The least share of the plain project's requests per second core must serve.
TARGET_RATIO = 0.8
SERVER_START_TIMEOUT_SECONDS = 30
SERVER_STOP_TIMEOUT_SECONDS = 10
#: A short unmeasured run per target first: connections, caches, bytecode.
WARM_UP_SECONDS = 2


@dataclass(frozen=True)
class Stack:
    """How one stack is served, and its two endpoints' paths (formatted
    with the bench's `lab_id` and `patient_id`)."""

    name: str
    app: str
    settings: str
    liveness_path: str
    patient_path: str


_PLAIN_APP = "bench.http_plain.wsgi:application"
_PLAIN_READ = "/labs/{lab_id}/patients/{patient_id}/"
STACKS = (
    Stack("core", "config.wsgi:application", "bench.http_settings",
          "/core/view/live/", "/api/patients/{patient_id}/"),
    Stack("plain", _PLAIN_APP, "bench.http_plain.settings", "/live/", _PLAIN_READ),
    Stack("django", _PLAIN_APP, "bench.http_plain.django_settings", "/live/",
          _PLAIN_READ),
)  # fmt: skip
ENDPOINTS = ("liveness", "patient")
#: --metrics-cost: core without its metrics middleware.
NO_METRICS = Stack("core-nometrics", "config.wsgi:application",
                   "bench.http_settings_no_metrics", "/core/view/live/",
                   "/api/patients/{patient_id}/")  # fmt: skip
#: The most share of core's req/s the metrics middleware may cost.
METRICS_COST_TARGET = 0.05


def stacks_of(names: Container[str]) -> list[Stack]:
    """The stacks (of STACKS and NO_METRICS) named in `names`, in order."""
    return [stack for stack in (*STACKS, NO_METRICS) if stack.name in names]


@dataclass
class Server:
    """A gunicorn server this bench started, and where its log goes."""

    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log: IO[bytes]


def listening_socket() -> socket.socket:
    """A socket listening on a loopback port the system picked, to hand to
    gunicorn: the port is never free between choosing and binding it, so no
    other process can take it meanwhile."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.set_inheritable(True)
    return listener


def gunicorn_command(app: str, fd: int, args: argparse.Namespace) -> list[str]:
    """The gunicorn command line serving `app` on the inherited listening
    socket `fd`.

    Example: `[python, "-m", "gunicorn", "config.wsgi:application", "--bind",
    "fd://5", "--workers", "2", "--worker-class", "gthread", "--threads", "4",
    "--log-level", "warning"]`.
    """
    command = [sys.executable, "-m", "gunicorn", app, "--bind", f"fd://{fd}"]
    command += ["--workers", str(args.workers), "--worker-class", args.worker_class]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    return [*command, "--log-level", "warning"]


def start_server(stack: Stack, args: argparse.Namespace) -> Server:
    """Start gunicorn serving `stack` on a loopback port; its output goes to
    a temporary log, shown if it fails to start."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": stack.settings}
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop_server)
    with listening_socket() as listener:
        port = listener.getsockname()[1]
        process = subprocess.Popen(  # noqa: S603 (our own command line)
            gunicorn_command(stack.app, listener.fileno(), args),
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(listener.fileno(),),
        )
    return Server(stack.name, process, f"http://127.0.0.1:{port}", log)


def wait_until_up(server: Server, probe_path: str) -> None:
    """Return once `server` answers `probe_path`; fail with its log if it
    exits or does not answer within SERVER_START_TIMEOUT_SECONDS."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            url = server.base_url + probe_path
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310
                return
        except OSError:  # refused while booting, or a slow first answer
            time.sleep(0.2)
    raise SystemExit(
        f"The {server.name} server did not start within "
        f"{SERVER_START_TIMEOUT_SECONDS} s; its log:\n{server_log(server)}"
    )


def server_log(server: Server) -> str:
    """What the server wrote so far (its last 4000 characters)."""
    server.log.seek(0)
    return server.log.read().decode(errors="replace")[-4000:]


def stop_server(server: Server) -> None:
    """Stop gunicorn gracefully (SIGTERM), killing it if it lingers."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(SERVER_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    server.log.close()


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
        targets.append(Target("liveness", stack.name, live, "", {"status": "ok"}))
        read = base_url + stack.patient_path.format(**ids)
        targets.append(Target("patient", stack.name, read, cookie, patient))
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


def load(wrk: str, target: Target, seconds: int, args: argparse.Namespace) -> WrkResult:
    """One wrk run on `target`; fail unless every answer was a 200."""
    result = run_wrk(
        wrk,
        target.url,
        seconds=seconds,
        connections=args.connections,
        threads=args.wrk_threads,
        cookie=target.cookie,
    )
    problem = result.problem()
    if problem:
        raise SystemExit(f"{target.stack} {target.endpoint} ({target.url}): {problem}")
    return result


def measure(
    wrk: str, targets: list[Target], args: argparse.Namespace
) -> dict[tuple[str, str], list[WrkResult]]:
    """args.rounds rounds of wrk runs, the stacks alternating within each
    endpoint and the first of them rotating by round. Results by
    (endpoint, stack)."""
    results: dict[tuple[str, str], list[WrkResult]] = {
        (t.endpoint, t.stack): [] for t in targets
    }
    for number in range(args.rounds):
        for endpoint in ENDPOINTS:
            group = [t for t in targets if t.endpoint == endpoint]
            shift = number % len(group)
            for target in group[shift:] + group[:shift]:
                result = load(wrk, target, args.duration, args)
                results[(endpoint, target.stack)].append(result)
                print(
                    f"  round {number + 1} {endpoint:<8} {target.stack:<6} "
                    f"{result.rps:8.0f} req/s  p99 {result.p99_ms:7.2f} ms"
                )
    return results


def report(results: dict[tuple[str, str], list[WrkResult]]) -> bool:
    """Print, per endpoint, each stack's medians over the rounds and core's
    ratios to the other stacks (the median of the per-round ratios: runs of
    one round are seconds apart, so a neighbour's load slows both); whether
    core met TARGET_RATIO of plain's requests per second on every endpoint."""
    met = True
    print(f"\n{'endpoint':<9} {'stack':<7} {'req/s':>8} {'p99 ms':>8}  (medians)")
    names = {name for _, name in results}
    for endpoint in ENDPOINTS:
        for stack in stacks_of(names):
            runs = results[(endpoint, stack.name)]
            rps = statistics.median(r.rps for r in runs)
            p99 = statistics.median(r.p99_ms for r in runs)
            print(f"{endpoint:<9} {stack.name:<7} {rps:8.0f} {p99:8.2f}")
        core = results[(endpoint, "core")]
        for other in ("plain", "django"):
            pairs = list(zip(core, results[(endpoint, other)], strict=True))
            rps_ratio = statistics.median(c.rps / o.rps for c, o in pairs)
            p99_ratio = statistics.median(c.p99_ms / o.p99_ms for c, o in pairs)
            print(
                f"{endpoint:<9} core/{other}: {rps_ratio:.2f}x the req/s, "
                f"{p99_ratio:.2f}x the p99 latency"
            )
            if other == "plain":
                met = met and rps_ratio >= TARGET_RATIO
    verdict = "met" if met else "NOT met"
    print(f"target: core >= {TARGET_RATIO:.1f}x plain's req/s on both: {verdict}")
    if NO_METRICS.name in names:
        report_metrics_cost(results)
    return met


def report_metrics_cost(results: dict[tuple[str, str], list[WrkResult]]) -> None:
    """core/core-nometrics on the patient read (median of per-round
    ratios), and the metrics middleware's cost as a share of req/s."""
    core, bare = results[("patient", "core")], results[("patient", NO_METRICS.name)]
    pairs = zip(core, bare, strict=True)
    ratio = statistics.median(c.rps / o.rps for c, o in pairs)
    cost = 1 - ratio
    verdict = "met" if cost <= METRICS_COST_TARGET else "NOT met"
    print(
        f"patient   core/{NO_METRICS.name}: {ratio:.3f}x the req/s; metrics "
        f"middleware cost {cost:+.1%} (target <= {METRICS_COST_TARGET:.0%}: "
        f"{verdict})"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=6, help="seconds per run")
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
    return parser.parse_args(argv)


def describe(args: argparse.Namespace) -> str:
    """One line saying what is run, printed before the figures."""
    threads = f" x {args.threads} threads" if args.worker_class == "gthread" else ""
    return (
        f"gunicorn {args.worker_class}, {args.workers} workers{threads} per stack; "
        f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s; "
        f"{args.rounds} rounds; {os.cpu_count()} CPUs"
    )


def serve_and_measure(wrk: str, data: BenchData, args: argparse.Namespace) -> bool:
    """Start the servers, sign in, check, warm up, measure, report; the
    servers are stopped and the bench's Redis keys deleted whatever happens."""
    servers: dict[str, Server] = {}
    cookie = ""
    stacks = [*STACKS, NO_METRICS] if args.metrics_cost else list(STACKS)
    try:
        for stack in stacks:
            servers[stack.name] = start_server(stack, args)
        for stack in stacks:
            wait_until_up(servers[stack.name], stack.liveness_path)
        cookie = sign_in(servers["core"].base_url, data)
        targets = targets_for(servers, data, cookie)
        check_targets(targets)
        for target in targets:
            load(wrk, target, WARM_UP_SECONDS, args)
        results = measure(wrk, targets, args)
    finally:
        for server in servers.values():
            stop_server(server)
        clean_redis(cookie, data.lab_id)
    return report(results)


def main() -> None:
    args = parse_args()
    wrk = require_wrk()
    print(describe(args))
    prepare_database()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-metrics-") as metrics_dir:
            if args.metrics_cost:  # the servers inherit it: multiprocess mode
                os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
            serve_and_measure(wrk, create_data(), args)
    finally:
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
