"""Event types, ids and bodies."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest

from core.utils.webhooks.events import (
    MAX_BODY_BYTES,
    declare_webhook_event,
    event_body,
    known_event_types,
    model_event_type,
    new_message_id,
    normalise_subscription,
    subscribed,
    utc_timestamp,
)
from patients.models import Patient

pytestmark = pytest.mark.engine_independent

TEST_EVENT = declare_webhook_event(
    "instrument.calibrated", "An analyser was calibrated."
)


def test_webhook_enabled_models_and_declared_events_are_known():
    known = known_event_types()

    assert known["patient.created"] == "A patient was created."
    assert {"patient.updated", "patient.deleted"} <= set(known)
    assert known[TEST_EVENT] == "An analyser was calibrated."
    assert "lab.created" not in known  # labs are not webhook_enabled
    assert list(known) == sorted(known)


def test_declaring_again_keeps_the_description():
    assert declare_webhook_event("instrument.calibrated") == TEST_EVENT
    assert known_event_types()[TEST_EVENT] == "An analyser was calibrated."


@pytest.mark.parametrize("name", ["Report.Released", "released", "report.", "a b.c"])
def test_an_event_type_must_be_a_lower_case_noun_and_verb(name):
    with pytest.raises(ValueError, match=re.escape("'<noun>.<verb>'")):
        declare_webhook_event(name)


def test_model_event_types_use_the_concrete_model_name():
    class PatientView(Patient):
        class Meta:
            proxy = True
            app_label = "lifecycle_tests"

    assert model_event_type(Patient, "create") == "patient.created"
    assert model_event_type(PatientView, "delete") == "patient.deleted"


def test_a_subscription_is_normalised_sorted_and_without_duplicates():
    assert normalise_subscription(
        ["patient.updated", " patient.created", "patient.updated"]
    ) == ["patient.created", "patient.updated"]
    assert normalise_subscription(["patient.created", "*"]) == ["*"]


@pytest.mark.parametrize(
    ("events", "problem"),
    [
        ([], "List the event types to receive"),
        ("patient.created", "List the event types to receive"),
        (None, "List the event types to receive"),
        (["patient.create"], "Unknown event type(s): patient.create. Known types: "),
    ],
)
def test_a_subscription_to_nothing_or_to_unknown_types_is_refused(events, problem):
    with pytest.raises(ValueError) as refused:
        normalise_subscription(events)

    assert problem in str(refused.value)


def test_unknown_types_are_refused_with_the_list_of_known_ones():
    with pytest.raises(ValueError) as refused:
        normalise_subscription(["patient.create", "report.releasd"])

    message = str(refused.value)
    assert "patient.create, report.releasd" in message
    assert "patient.created" in message and "or * for all" in message


def test_star_receives_every_type():
    assert subscribed(["*"], "patient.created")
    assert subscribed(["patient.created"], "patient.created")
    assert not subscribed(["patient.created"], "patient.deleted")


def test_message_ids_are_ulids_sortable_by_time():
    first = new_message_id(now=1767225600.000)
    later = new_message_id(now=1767225600.001)

    assert re.fullmatch(r"msg_[0-9A-HJKMNP-TV-Z]{26}", first)
    assert first < later
    assert new_message_id() != new_message_id()


def test_the_body_has_the_envelope_and_json_friendly_values():
    occurred = dt.datetime(
        2026, 1, 1, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))
    )

    body = event_body(
        message_id="msg_1",
        event_type="patient.created",
        version=2,
        occurred_at=occurred,
        lab_id=3,
        data={"born": dt.date(1990, 4, 1), "volume": Decimal("2.50")},
    )

    assert json.loads(body) == {
        "id": "msg_1",
        "type": "patient.created",
        "version": 2,
        "timestamp": "2026-01-01T10:00:00.000000Z",
        "lab_id": 3,
        "data": {"born": "1990-04-01", "volume": "2.50"},
    }
    assert " " not in body


def test_a_body_over_the_limit_is_refused():
    with pytest.raises(ValueError, match=f"at most {MAX_BODY_BYTES} are sent"):
        event_body(
            message_id="msg_1",
            event_type="patient.created",
            version=1,
            occurred_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            lab_id=3,
            data={"document": "x" * MAX_BODY_BYTES},
        )


def test_timestamps_are_utc_with_microseconds():
    moment = dt.datetime(2026, 1, 1, 10, 0, 0, 123456, tzinfo=dt.UTC)

    assert utc_timestamp(moment) == "2026-01-01T10:00:00.123456Z"
