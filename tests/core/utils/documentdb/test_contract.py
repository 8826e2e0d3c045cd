"""What both integration-log backends promise (each test runs on DocumentDB
via mongomock and on the IntegrationLog table): write, query newest first,
filter by integration and date range, limit, and per-account isolation."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from core.utils.documentdb.logs import MAX_QUERY_LIMIT, IntegrationLogEntry


def test_a_written_log_comes_back_with_its_fields(log_client):
    client = log_client(12)

    log_id = client.write_log(
        "hl7-analyser",
        {"message_id": "A1", "taken_at": datetime(2024, 5, 1, 9, 30, tzinfo=UTC)},
        status="failure",
        direction="inbound",
    )

    [entry] = client.query_logs()
    assert isinstance(entry, IntegrationLogEntry)
    assert entry.id == log_id
    assert (entry.account_id, entry.integration) == (12, "hl7-analyser")
    assert (entry.status, entry.direction) == ("failure", "inbound")
    # JSON round trip: both backends store the datetime as the same text.
    assert entry.payload == {"message_id": "A1", "taken_at": "2024-05-01T09:30:00Z"}
    assert timezone.is_aware(entry.created_at)
    assert abs(timezone.now() - entry.created_at) < timedelta(minutes=1)


def test_defaults_are_an_outbound_success(log_client):
    client = log_client(12)

    client.write_log("payments", {"amount": 250})

    [entry] = client.query_logs()
    assert (entry.direction, entry.status) == ("outbound", "success")


def test_logs_come_newest_first_and_filter_by_integration(log_client):
    client = log_client(12)
    for number in range(3):
        client.write_log("hl7-analyser", {"n": number})
    client.write_log("payments", {"n": 99})

    analyser = client.query_logs(integration="hl7-analyser")

    assert [entry.payload["n"] for entry in analyser] == [2, 1, 0]
    assert client.query_logs()[0].payload["n"] == 99


def test_a_date_range_includes_start_and_excludes_end(log_client):
    client = log_client(12)
    client.write_log("hl7-analyser", {"n": 1})
    [written] = client.query_logs()
    at = written.created_at

    assert client.query_logs(start=at) == [written]
    assert client.query_logs(end=at) == []
    assert client.query_logs(start=at - timedelta(hours=1), end=at) == []
    assert client.query_logs(end=at + timedelta(milliseconds=1)) == [written]


def test_limit_caps_the_rows(log_client):
    client = log_client(12)
    for number in range(5):
        client.write_log("hl7-analyser", {"n": number})

    newest_two = client.query_logs(limit=2)

    assert [entry.payload["n"] for entry in newest_two] == [4, 3]


def test_an_account_never_sees_another_accounts_logs(log_client):
    # Given two accounts whose logs live side by side (on DocumentDB: the same
    # cluster, database and collection)
    north, south = log_client(1), log_client(2)
    north.write_log("hl7-analyser", {"patient_ref": "N-1"})
    south.write_log("hl7-analyser", {"patient_ref": "S-1"})

    # When each asks for everything, by integration, and by date
    for client, own in ((north, "N-1"), (south, "S-1")):
        everything = client.query_logs()
        by_integration = client.query_logs(integration="hl7-analyser")
        by_date = client.query_logs(start=timezone.now() - timedelta(hours=1))

        # Then each sees only its own
        for entries in (everything, by_integration, by_date):
            assert [entry.payload["patient_ref"] for entry in entries] == [own]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"integration": ""}, "non-empty name"),
        ({"integration": "x" * 101}, "at most 100 characters"),
        ({"status": "done"}, "use one of: success, failure, pending"),
        ({"direction": "sideways"}, "use one of: inbound, outbound"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    log_client, kwargs, message
):
    client = log_client(12)
    arguments = {"integration": "payments", "payload": {"a": 1}, **kwargs}

    with pytest.raises(ValueError, match=message):
        client.write_log(**arguments)

    assert client.query_logs() == []


def test_a_payload_that_is_not_a_json_object_is_refused(log_client):
    client = log_client(12)

    with pytest.raises(TypeError, match="payload must be a dict, not list"):
        client.write_log("payments", [1, 2])
    with pytest.raises(TypeError, match="cannot be stored as JSON"):
        client.write_log("payments", {"blob": object()})

    assert client.query_logs() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": datetime(2024, 1, 1)}, "start must be timezone-aware"),  # noqa: DTZ001
        ({"end": datetime(2024, 1, 1)}, "end must be timezone-aware"),  # noqa: DTZ001
        (
            {
                "start": datetime(2024, 2, 1, tzinfo=UTC),
                "end": datetime(2024, 1, 1, tzinfo=UTC),
            },
            "start must be before end",
        ),
        ({"limit": 0}, f"between 1 and {MAX_QUERY_LIMIT}"),
        ({"limit": MAX_QUERY_LIMIT + 1}, "page with end="),
    ],
)
def test_bad_queries_are_refused_with_what_would_be_right(log_client, kwargs, message):
    client = log_client(12)

    with pytest.raises(ValueError, match=message):
        client.query_logs(**kwargs)


def test_a_client_needs_an_account(log_client):
    with pytest.raises(ValueError, match=r"get_client\('docdb', account_id="):
        log_client(None)


def test_check_reports_healthy(log_client):
    status = log_client(12).check(timeout=1)

    assert status.ok, status
