"""What both integration-log clients share: the entry type and argument checks.

Both backends validate the same way and store the same JSON, so code that
works on the embedded table works on DocumentDB.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class IntegrationDirection(models.TextChoices):
    """Which way an integration message went."""

    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class IntegrationStatus(models.TextChoices):
    """How an integration exchange ended."""

    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    PENDING = "pending", "Pending"


#: Rows `query_logs` returns when the caller does not say.
DEFAULT_QUERY_LIMIT = 100
#: The most rows one `query_logs` call may return; page with `end=` beyond it.
MAX_QUERY_LIMIT = 1000
#: Longest integration name (the table column's length).
MAX_INTEGRATION_NAME_LENGTH = 100


@dataclass(frozen=True)
class IntegrationLogEntry:
    """One integration log, as `query_logs` returns it.

    Example: `IntegrationLogEntry(id="66f1...", account_id=12,
    integration="hl7-analyser", direction="inbound", status="success",
    payload={"message_id": "A1"}, created_at=datetime(..., tzinfo=UTC))`.
    """

    id: str
    account_id: int
    integration: str
    direction: str
    status: str
    payload: dict[str, Any]
    created_at: datetime


def require_account_id(account_id: Any) -> int:
    """`account_id` as an int; the error says how to ask for a client."""
    if account_id is None or isinstance(account_id, bool):
        raise ValueError(
            "docdb clients are per account: use "
            "get_client('docdb', account_id=<the account's lab id>)."
        )
    try:
        return int(account_id)
    except (TypeError, ValueError):
        raise ValueError(
            f"account_id must be an integer lab id, not {type(account_id).__name__}."
        ) from None


def prepare_log(
    integration: str, payload: Mapping[str, Any], status: str, direction: str
) -> dict[str, Any]:
    """Check a log's fields and return them ready to store.

    The payload goes through a JSON round trip (DjangoJSONEncoder: datetimes,
    dates, decimals and UUIDs become strings) so both backends store the same
    JSON. `created_at` is now, in UTC, cut to milliseconds (BSON's precision).
    """
    if not isinstance(integration, str) or not integration.strip():
        raise ValueError("integration must be a non-empty name, e.g. 'hl7-analyser'.")
    if len(integration) > MAX_INTEGRATION_NAME_LENGTH:
        raise ValueError(
            f"integration names are at most {MAX_INTEGRATION_NAME_LENGTH} "
            f"characters; this one has {len(integration)}."
        )
    _check_choice("status", status, IntegrationStatus.values)
    _check_choice("direction", direction, IntegrationDirection.values)
    if not isinstance(payload, Mapping):
        raise TypeError(
            f"payload must be a dict, not {type(payload).__name__}: wrap it, "
            "e.g. {'message': ...}."
        )
    try:
        stored_payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    except (TypeError, ValueError) as exc:
        # The message names the offending type only, never a value.
        raise TypeError(
            f"payload for {integration!r} cannot be stored as JSON: {exc}"
        ) from None
    now = timezone.now()
    return {
        "integration": integration,
        "direction": direction,
        "status": status,
        "payload": stored_payload,
        "created_at": now.replace(microsecond=now.microsecond // 1000 * 1000),
    }


def check_query(start: datetime | None, end: datetime | None, limit: int) -> None:
    """Refuse naive datetimes, an empty range and a limit out of bounds."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and timezone.is_naive(value):
            raise ValueError(
                f"{name} must be timezone-aware, e.g. timezone.now() or "
                "datetime(..., tzinfo=UTC)."
            )
    if start is not None and end is not None and start >= end:
        raise ValueError("start must be before end (start is inclusive, end is not).")
    if not 1 <= limit <= MAX_QUERY_LIMIT:
        raise ValueError(
            f"limit must be between 1 and {MAX_QUERY_LIMIT}; got {limit}. For "
            "more, page with end=<the oldest created_at you received>."
        )


def _check_choice(name: str, value: str, allowed: list[str]) -> None:
    if value not in allowed:
        raise ValueError(
            f"{name} {value!r} is not known; use one of: {', '.join(allowed)}."
        )
