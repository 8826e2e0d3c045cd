"""The hashed document's encoding rules (docs/audit-trail.md, section 2) for
the values the worked examples do not show."""

import datetime as dt

import pytest

from core.activity_log.hashing import FORMAT_JCS, canonical, hashed_document
from core.models import ActivityLog

pytestmark = pytest.mark.engine_independent


def an_entry(**fields: object) -> ActivityLog:
    values: dict[str, object] = {
        "id": 1, "lab_id": 3, "model_label": "patients.patient",
        "instance_id": "1", "action": "update", "actor_id": "system",
        "actor_kind": "system",
        "created_at": dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC),
    }  # fmt: skip
    return ActivityLog(**(values | fields))


def test_text_that_is_not_unicode_has_each_bad_code_point_replaced():
    entry = an_entry(message="नमस्ते\ud800!", changes={"k\udfff": "\ud83d"})

    document = hashed_document(entry)

    assert document["message"] == "नमस्ते\ufffd!"
    assert document["changes"] == {"k\ufffd": "\ufffd"}
    assert canonical(entry, FORMAT_JCS).decode("utf-8")  # valid UTF-8 throughout


def test_integers_past_2_53_and_floats_that_are_not_finite_become_strings():
    entry = an_entry(
        id=2**53,
        changes={"n": [2**53 - 1, -(2**53), 1.5, float("nan"), float("-inf")]},
    )

    document = hashed_document(entry)

    assert document["id"] == "9007199254740992"
    assert document["changes"]["n"] == [
        2**53 - 1, "-9007199254740992", 1.5, "NaN", "-Infinity",
    ]  # fmt: skip


def test_created_at_is_utc_with_six_fractional_digits():
    india = dt.timezone(dt.timedelta(hours=5, minutes=30))

    document = hashed_document(
        an_entry(created_at=dt.datetime(2026, 1, 1, tzinfo=india))
    )

    assert document["created_at"] == "2025-12-31T18:30:00.000000Z"
