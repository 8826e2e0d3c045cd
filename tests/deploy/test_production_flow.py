"""The whole production deployment, brought up as deploy/ describes it and
used over HTTP (issue 18 point 3).

A `lis.env` is built from deploy/lis.env.example (DEBUG off, HTTPS behind
the proxy, Celery on RabbitMQ, Redis, S3), every process is started with
the command deploy/Procfile gives it (the release line first: migrations,
then collectstatic), and stopped the way deploy/systemd's unit for it
stops it. A browser signs in to the admin with its CSRF token, creates a
lab; an integration creates a patient with an API key made by
`manage.py create_api_key`; the browser adds and releases reports; the
PDF is downloaded from S3 through the Timeline's link, and the Pusher and
webhook stand-ins say what they got. Then a batch of releases is cut off
by stopping the worker and gunicorn while its jobs are pending or
running; started again, every release ends with its PDF stored once, one
Pusher event and one webhook.

PostgreSQL only (a fresh database of its own, dropped at the end).
"""

import hashlib
import html
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest

from tests.config.test_deploy_check import CHECK_ID, explained_in_readme
from tests.core.utils.aws.conftest import free_port
from tests.deploy.browser import Answer, Browser
from tests.deploy.host import DEPLOY, ProductionHost
from tests.deploy.stack import Peers, production_peers, write_env_file

HOST = "lis.example.com"  # DJANGO_ALLOWED_HOSTS of lis.env.example
OPERATOR, OPERATOR_PASSWORD = "ops", "a long operator pass-phrase 7"
WAIT_SECONDS = 60.0
#: Releases cut off by the restart (more than the worker runs at once).
BATCH = 6
#: A report's results, as typed in the admin's Results box (none critical).
RESULTS = '[{"test": "Haemoglobin", "value": 13.5, "unit": "g/dL", "low": 12}]'
_DOWNLOAD = re.compile(r'class="button download-pdf" href="([^"]+)"')
_CHANGE_PAGE = re.compile(r"/(\d+)/change/$")


@dataclass
class Production:
    """The running deployment of this module's tests."""

    host: ProductionHost
    peers: Peers
    operator: Browser  # signed in to the admin
    api: Browser  # an integration with the lab's API key
    lab_id: int
    released: str = ""  # what the Procfile's release line printed


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    directory = tmp_path_factory.mktemp("production")
    with production_peers() as peers:
        host = ProductionHost(write_env_file(peers, directory), directory, free_port())
        try:
            released = host.release()
            host.run(
                f"DJANGO_SUPERUSER_PASSWORD='{OPERATOR_PASSWORD}' python manage.py "
                f"createsuperuser --noinput --username {OPERATOR} --email ops@lis.test"
            )
            host.start("web", "worker")
            production = set_up_a_lab(host, peers)
            production.released = released
            yield production
        finally:
            host.kill_all()


def set_up_a_lab(host: ProductionHost, peers: Peers) -> Production:
    """What an operator does first: sign in to the admin, add a lab, give
    its integration an API key and subscribe its receiver to releases."""
    operator = Browser(host.web_port, HOST)
    answer = operator.submit(
        "/admin/login/?next=/admin/",
        {"username": OPERATOR, "password": OPERATOR_PASSWORD, "next": "/admin/"},
    )
    assert (answer.status, answer.headers["Location"]) == (302, "/admin/"), answer.text
    lab_id = added(operator, "/admin/account/lab/add/", {
        "name": "North Lab", "time_zone": "Asia/Kolkata", "language": "en",
        "digits": "latin", "country": "IN", "is_active": "on",
    })  # fmt: skip
    key = last_line(
        host.manage("create_api_key", "--lab", str(lab_id), "--name", "HIS")
    )
    secret = last_line(host.manage(
        "create_webhook_endpoint", "--lab", str(lab_id),
        "--url", peers.receiver.url, "--events", "report.released",
    ))  # fmt: skip
    peers.receiver.secrets.append(secret)
    api = Browser(host.web_port, HOST, Authorization=f"Bearer {key}")
    return Production(host, peers, operator, api, lab_id)


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1].strip()


def added(browser: Browser, add_page: str, fields: dict[str, str]) -> int:
    """Fill and save an admin add form; the new row's id."""
    answer = browser.submit(add_page, {**fields, "_continue": "Save"})
    assert answer.status == 302, error_of(answer)
    match = _CHANGE_PAGE.search(answer.headers["Location"])
    assert match, answer.headers["Location"]
    return int(match.group(1))


def error_of(answer: Answer) -> str:
    errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', answer.text, re.S)
    return f"{answer.status}: {errors or answer.text[:2000]}"


# -- the flow ------------------------------------------------------------------


def new_report(production: Production, name: str) -> int:
    """A patient created through the API, and a report of theirs added in
    the admin; the report's id."""
    answer = production.api.post_json(
        "/api/patients/", {"first_name": name, "last_name": "Rao", "sex": "F"}
    )
    assert answer.status == 201, answer.text
    patient_id = answer.json()["id"]
    return added(production.operator, "/admin/patients/report/add/", {
        "lab": str(production.lab_id), "patient": str(patient_id),
        "title": f"Blood count of {name}", "results": RESULTS,
    })  # fmt: skip


def act(production: Production, action: str, report_ids: list[int]) -> None:
    """Tick the reports in the admin's list and run `action` on them."""
    answer = production.operator.submit(
        "/admin/patients/report/",
        {"action": action, "index": "0"},
        tuple(("_selected_action", str(pk)) for pk in report_ids),
    )
    assert answer.status == 302, error_of(answer)
    done = {"verify_reports": "verified", "release_reports": "released"}[action]
    page = production.operator.get(answer.headers["Location"])
    assert f"{len(report_ids)} report(s) {done}." in page.text, page.text[:3000]


def downloaded_pdf(production: Production, report_id: int) -> bytes | None:
    """The PDF the report's Timeline links to, fetched from S3 as the
    browser would follow the link; None while there is no link."""
    page = production.operator.get(f"/admin/patients/report/{report_id}/timeline/")
    assert page.status == 200, page.status
    match = _DOWNLOAD.search(page.text)
    if match is None:
        return None
    with urlopen(html.unescape(match.group(1)), timeout=10) as answer:  # noqa: S310
        return bytes(answer.read())


def pusher_events(peers: Peers) -> list[dict[str, Any]]:
    return [e.payload for e in peers.pusher.events if e.name == "report.ready"]


def webhooks(peers: Peers) -> list[dict[str, Any]]:
    return [r.payload for r in peers.receiver.verified()]


def wait_until(what: str, condition: Callable[[], Any], host: ProductionHost) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while not (value := condition()):
        if time.monotonic() > deadline:
            logs = "\n".join(
                f"--- {p.name}:\n{p.output()[-3000:]}" for p in host.running.values()
            )
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.1)
    return value


def assert_released_once(production: Production, report_ids: list[int]) -> None:
    """Each report: its PDF downloadable from S3, stored once (one version
    in the versioned bucket) with the SHA-256 its events carry, one Pusher
    `report.ready` and one signed `report.released` webhook."""
    peers = production.peers
    events = {e["report_id"]: e for e in pusher_events(peers)}
    for report_id in report_ids:
        pdf = downloaded_pdf(production, report_id)
        assert pdf is not None and pdf.startswith(b"%PDF"), report_id
        event = events[report_id]
        assert hashlib.sha256(pdf).hexdigest() == event["pdf_sha256"]
        versions = peers.moto.versions(peers.bucket, event["pdf_key"])
        assert len(versions) == 1, f"PDF of report {report_id} stored {len(versions)}x"
    pushed = Counter(e["report_id"] for e in pusher_events(peers))
    hooked = Counter(w["data"]["report_id"] for w in webhooks(peers))
    assert {pk: pushed[pk] for pk in report_ids} == dict.fromkeys(report_ids, 1)
    assert {pk: hooked[pk] for pk in report_ids} == dict.fromkeys(report_ids, 1)
    assert peers.receiver.problems == [] and peers.pusher.problems == []


def pushed(production: Production) -> set[int]:
    """The reports whose `report.ready` event Pusher got."""
    return {e["report_id"] for e in pusher_events(production.peers)}


def completed(production: Production, report_ids: list[int]) -> bool:
    hooked = {w["data"]["report_id"] for w in webhooks(production.peers)}
    return set(report_ids) <= pushed(production) & hooked


# -- the tests -------------------------------------------------------------------


def test_the_release_step_migrated_and_collected_the_static_files(
    production: Production,
) -> None:
    # the Procfile's release line ran in the fixture, before any process
    # started: every migration, then the static files for the proxy
    assert "Applying core.0001_initial... OK" in production.released
    assert "static files copied to" in production.released
    data_dir = Path(production.host.env["LIS_DATA_DIR"])
    assert (data_dir / "static" / "admin" / "css" / "base.css").is_file()


def test_check_deploy_is_clean_with_the_production_environment(
    production: Production,
) -> None:
    # The check lis-migrate.service runs before the web server starts
    unit = (DEPLOY / "systemd" / "lis-migrate.service").read_text()
    [check] = re.findall(r"^ExecStart=\S+ (manage\.py check .*)$", unit, re.M)

    output = production.host.run(f"python {check}")

    # no error (it exits 0), and exactly the warnings the README accepts
    assert set(CHECK_ID.findall(output)) == explained_in_readme(), output


def test_plain_http_is_sent_to_https_and_debug_is_off(production: Production) -> None:
    # Without the proxy's header a request is redirected to HTTPS
    plain = Browser(production.host.web_port, HOST, **{"X-Forwarded-Proto": "http"})
    assert plain.get("/admin/").headers["Location"] == f"https://{HOST}/admin/"
    # and a missing page is the production 404, not DEBUG's page of URLs
    missing = production.operator.get("/no-such-page/")
    assert missing.status == 404 and "URLconf" not in missing.text


def test_a_released_report_reaches_s3_pusher_and_the_webhook_once(
    production: Production,
) -> None:
    host, report_id = production.host, new_report(production, "Asha")

    act(production, "verify_reports", [report_id])
    act(production, "release_reports", [report_id])

    wait_until("the release", lambda: completed(production, [report_id]), host)
    assert_released_once(production, [report_id])
    # the web server's and the worker's processes count into the metrics
    # directory the example names, for a scrape to sum (docs/operations.md)
    written = list(Path(host.env["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"))
    assert written, "no process wrote its metrics to PROMETHEUS_MULTIPROC_DIR"


def test_releases_cut_off_by_a_restart_all_end_once(production: Production) -> None:
    host = production.host
    report_ids = [new_report(production, f"Patient {n}") for n in range(BATCH)]
    act(production, "verify_reports", report_ids)

    # When the releases are queued and the first has reached Pusher
    act(production, "release_reports", report_ids)
    wait_until("a first release", lambda: pushed(production) & set(report_ids), host)
    # the worker and the web server are stopped as systemd stops them
    worker = host.running["worker"]
    assert host.stop("worker") == 0
    assert host.stop("web") == 0
    # (the running jobs were let finish: a job killed mid-call is run again
    # and its receiver may get the call twice)
    assert "WorkerLostError" not in worker.output(), worker.output()[-3000:]
    cut_off = set(report_ids) - pushed(production)
    assert cut_off, "every release ended before the stop: nothing was cut off"
    with pytest.raises(ConnectionRefusedError):
        production.api.get("/api/patients/")

    # and started again
    host.start("web", "worker")

    # then every release ends, each effect once, seen by the same session
    wait_until("every release", lambda: completed(production, report_ids), host)
    assert_released_once(production, report_ids)
