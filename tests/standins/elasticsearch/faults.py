"""The Elasticsearch stand-in's faults on demand (see server.py's docstring):
what the next requests, the next searches or one document get instead of
a normal answer. The server consults the queues these methods fill."""

from collections import deque
from typing import Any

from tests.standins.elasticsearch import responses


class Faults:
    """Fault injection for `ElasticsearchStandIn` (its state lives there)."""

    _faults: deque[int | None]
    _item_faults: dict[str, deque[int]]
    _refused: dict[str, dict[str, Any]]
    _search_faults: deque[int]
    _expected_auth: str

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next `times` requests with `status` and an error body."""
        self._faults.extend([status] * times)

    def hang_next(self, times: int = 1) -> None:
        """Hold the next `times` requests without answering."""
        self._faults.extend([None] * times)

    def reject_item(self, doc_id: str, status: int, times: int = 1) -> None:
        """Reject document `doc_id` in the next `times` bulk requests."""
        self._item_faults.setdefault(doc_id, deque()).extend([status] * times)

    def refuse_document(
        self, doc_id: str, kind: str = "mapper_parsing_exception"
    ) -> None:
        """Refuse document `doc_id` in every bulk request from now on, as
        Elasticsearch refuses a document its mapping cannot parse."""
        self._refused[doc_id] = responses.parsing_error(doc_id, kind)

    def accept_document(self, doc_id: str) -> None:
        """Take document `doc_id` again (the mapping was fixed)."""
        self._refused.pop(doc_id, None)

    def fail_searches(self, status: int, times: int = 1) -> None:
        """Answer the next `times` searches with Elasticsearch's error for
        `status` (401, 403 or 400)."""
        responses.read_error(status)  # refuses a status it has no body for
        self._search_faults.extend([status] * times)

    def revoke_credentials(self) -> None:
        """Answer every request 401 from now on (an expired API key)."""
        self._expected_auth = "revoked"
