"""The readiness checks on the real services: the embedded defaults, the
database gone, a job backlog, activity-log shipping lag, DocumentDB
accounts, and the settings that shape them."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings

from core.activity_log.shipping import ship_all
from core.health import HealthReport, Status
from core.health.checks import readiness_checks, readiness_report
from core.models import DocumentDBConnection
from core.utils.clients import registry
from tests.core.fusion.jobs import record
from tests.health_fixtures import closed_port, use_service
from tests.lifecycle.models import Instrument
from tests.standins.elasticsearch import ElasticsearchStandIn

#: The password inside the DocumentDB URLs; it must never show up.
DOCDB_PASSWORD = "pa55-never-shown"


def results(report: HealthReport) -> dict[str, tuple[Status, str]]:
    return {r.name: (r.status, r.detail) for r in report.results}


@pytest.fixture(autouse=True)
def quick_checks(settings: Settings) -> None:
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 2
    settings.HEALTH_CHECK_DEADLINE_SECONDS = 5


# -- which checks, and how critical ------------------------------------------


def test_the_checks_are_the_database_each_service_the_backlog_and_shipping() -> None:
    checks = readiness_checks()

    assert [c.name for c in checks] == [
        "database",
        *registry.known_services(),
        "job_backlog",
        "activity_log_shipping",
        "activity_log_reads",
    ]
    assert {"cache", "docdb", "es", "fusion", "s3"} <= {c.name for c in checks}
    assert [c.name for c in checks if c.critical] == ["database"]


def test_the_critical_checks_are_those_the_setting_names(settings: Settings) -> None:
    settings.HEALTH_CHECK_CRITICAL = ["database", "es", "job_backlog"]

    checks = readiness_checks()

    assert [c.name for c in checks if c.critical] == ["database", "es", "job_backlog"]


def test_a_critical_name_that_is_no_check_is_refused_with_the_known_ones(
    settings: Settings,
) -> None:
    settings.HEALTH_CHECK_CRITICAL = ["database", "elasticsearch"]

    with pytest.raises(ImproperlyConfigured) as excinfo:
        readiness_checks()

    assert "HEALTH_CHECK_CRITICAL names elasticsearch" in str(excinfo.value)
    assert "database, cache" in str(excinfo.value)


@pytest.mark.parametrize(
    "name", ["HEALTH_CHECK_TIMEOUT_SECONDS", "HEALTH_CHECK_DEADLINE_SECONDS"]
)
@pytest.mark.parametrize("value", [0, -1, "2"])
def test_a_bound_that_is_not_a_positive_number_is_refused(
    settings: Settings, name: str, value: object
) -> None:
    setattr(settings, name, value)

    with pytest.raises(ImproperlyConfigured) as excinfo:
        readiness_report()

    assert f"{name}={value!r} must be a positive number of seconds" in str(
        excinfo.value
    )


# -- the embedded defaults, and the database gone -----------------------------


@pytest.mark.django_db
def test_on_the_embedded_defaults_everything_is_ok() -> None:
    report = readiness_report()

    assert report.status is Status.OK
    found = results(report)
    assert found["database"] == (Status.OK, "default")
    assert found["docdb"] == (
        Status.OK,
        "skipped: no DocumentDBConnection accounts are configured",
    )
    assert found["job_backlog"] == (Status.OK, "0 ready, 0 dead letters")
    assert found["activity_log_shipping"] == (
        Status.OK,
        "not shipped: the database is the activity log's store",
    )
    assert found["cache"][0] is Status.OK
    assert all(status is Status.OK for status, _ in found.values())


def test_with_the_database_unreachable_the_report_is_down(
    database_unreachable: None,
) -> None:
    report = readiness_report()

    assert report.status is Status.DOWN
    assert results(report)["database"] == (Status.DOWN, "OperationalError")
    assert report.as_dict()["failures"] == ["database"]


# -- the job backlog ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_queue_whose_oldest_job_waited_longer_than_allowed_degrades(
    settings: Settings, database_engine: object, tmp_path: Path
) -> None:
    # Given a job nobody runs, on the "held" queue
    record.using(queue_name="held").enqueue(str(tmp_path / "jobs.log"), "waiting")

    # When the allowed wait is generous, then zero seconds
    settings.HEALTH_CHECK_BACKLOG_MAX_AGE_SECONDS = 300
    patient = results(readiness_report())["job_backlog"]
    settings.HEALTH_CHECK_BACKLOG_MAX_AGE_SECONDS = 0
    report = readiness_report()
    impatient = results(report)["job_backlog"]

    # Then it is reported with its queue, and warned about only past the limit
    assert patient[0] is Status.OK
    assert patient[1].startswith("1 ready (oldest ")
    assert "0 dead letters; by queue: held 1 ready (oldest " in patient[1]
    assert impatient[0] is Status.DEGRADED
    assert "; over the limits: held: oldest ready " in impatient[1]
    assert "(limit 0 s); by queue: held 1 ready" in impatient[1]
    assert report.status is Status.DEGRADED
    assert report.as_dict()["warnings"] == ["job_backlog"]


@pytest.mark.django_db(transaction=True)
def test_a_queue_with_more_ready_jobs_than_allowed_degrades(
    settings: Settings, database_engine: object, tmp_path: Path
) -> None:
    # Given 2 jobs ready on "default" and 1 on "held"
    path = str(tmp_path / "jobs.log")
    record.enqueue(path, "a")
    record.enqueue(path, "b")
    record.using(queue_name="held").enqueue(path, "c")
    settings.HEALTH_CHECK_BACKLOG_MAX_AGE_SECONDS = 300

    # When a queue may hold 2 ready jobs, then 1
    settings.HEALTH_CHECK_BACKLOG_MAX_READY_JOBS = 2
    at_limit = results(readiness_report())["job_backlog"]
    settings.HEALTH_CHECK_BACKLOG_MAX_READY_JOBS = 1
    over = results(readiness_report())["job_backlog"]

    # Then only the queue over the limit is named
    assert at_limit[0] is Status.OK
    assert at_limit[1].startswith("3 ready (oldest ")
    assert over[0] is Status.DEGRADED
    assert "; over the limits: default: 2 ready (limit 1); by queue: " in over[1]
    assert "held: 1 ready" not in over[1]


# -- activity-log shipping --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_shipping_lag_degrades_past_its_limit_and_clears_once_shipped(
    settings: Settings, elasticsearch: ElasticsearchStandIn
) -> None:
    # Given activity-log entries not yet in Elasticsearch
    Instrument(name="Analyser", serial="S1").save()

    # When the allowed lag is generous, then zero; then after shipping
    settings.HEALTH_CHECK_SHIPPING_MAX_LAG_SECONDS = 900
    within = results(readiness_report())["activity_log_shipping"]
    settings.HEALTH_CHECK_SHIPPING_MAX_LAG_SECONDS = 0
    over = results(readiness_report())["activity_log_shipping"]
    ship_all()
    shipped = results(readiness_report())["activity_log_shipping"]

    # Then
    assert within[0] is Status.OK
    assert within[1].startswith("oldest unshipped entry ")
    assert over[0] is Status.DEGRADED
    assert over[1].endswith("; over 0 s")
    assert shipped == (Status.OK, "every entry shipped")


# -- DocumentDB accounts ------------------------------------------------------------


def add_account(account_id: int, host: str = "docdb.internal:27017") -> None:
    DocumentDBConnection(
        account_id=account_id,
        connection_url=f"mongodb://lab_app:{DOCDB_PASSWORD}@{host}/lis",
    ).save()


@pytest.mark.django_db(transaction=True)
def test_each_docdb_account_is_checked() -> None:
    add_account(11)
    add_account(12)

    found = results(readiness_report())

    assert found["docdb"] == (Status.OK, "2 accounts reachable")


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_docdb_account_is_named_without_its_url(
    settings: Settings,
) -> None:
    # Given account 7's DocumentDB is down (nothing listens on its port)
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 1
    use_service(
        settings,
        "docdb",
        "core.utils.documentdb.client.DocumentDBClient",
        server_selection_timeout_seconds=0.3,
        connect_timeout_seconds=0.3,
    )
    add_account(7, f"127.0.0.1:{closed_port()}")

    # When readiness is checked
    report = readiness_report()

    # Then docdb is down, naming the account, never the URL; it is optional
    status, detail = results(report)["docdb"]
    assert status is Status.DOWN
    assert detail.startswith("account 7: down (")
    assert DOCDB_PASSWORD not in str(report.as_dict())
    assert report.status is Status.DEGRADED


@pytest.mark.django_db(transaction=True)
def test_only_so_many_docdb_accounts_are_checked(settings: Settings) -> None:
    settings.HEALTH_CHECK_DOCDB_MAX_ACCOUNTS = 1
    add_account(11)
    add_account(12)

    found = results(readiness_report())

    assert found["docdb"] == (
        Status.OK,
        "1 accounts reachable; only the first 1 accounts were checked",
    )


def test_a_stand_in_says_so_and_degrades_readiness_unless_chosen(
    settings: Settings,
) -> None:
    # Given production (DEBUG off) that chose no stand-in
    settings.LOCAL_SERVICES = ["cache", "docdb", "es", "pusher", "s3"]

    results = {result.name: result for result in readiness_report().results}

    # then log-only Slack is degraded and says what it is
    assert results["slack"].status is Status.DEGRADED
    assert results["slack"].detail.startswith("stand-in LogSlackClient: log only")
    # while a chosen stand-in is ok, and still says what it is
    assert results["pusher"].status is Status.OK
    assert results["pusher"].detail.startswith("stand-in LogPusherClient")
