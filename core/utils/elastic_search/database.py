"""DatabaseSearchClient: the `es` client's embedded default, on core tables.

It stores documents in `SearchDocument` (unique per index and id) and takes
the same calls as `ElasticSearchClient`, with the query subset described in
`query.py`, so the activity log runs with no search server and moves to
Elasticsearch by setting ES_URL. Writes are visible at once (no refresh).
"""

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from core.models.search import SearchDocument, SearchIndex
from core.utils.clients import (
    DEFAULT_CHECK_TIMEOUT_SECONDS,
    HealthStatus,
    ServiceClient,
)
from core.utils.elastic_search.errors import SearchError, SearchRequestError
from core.utils.elastic_search.query import query_to_q, sort_to_order_by
from core.utils.elastic_search.types import (
    BulkAction,
    BulkResult,
    SearchHit,
    SearchResult,
    check_doc_id,
    check_index_name,
    check_index_pattern,
    failure_for,
    parse_bulk_action,
    to_json_document,
)

#: Elasticsearch's default page size, and its default cap on from + size.
DEFAULT_SIZE = 10
MAX_RESULT_WINDOW = 10_000


class DatabaseSearchClient(ServiceClient):
    """Search documents in the project's database; see the module docstring.

    Takes no options. Thread-safe: Django gives each thread its connection.
    """

    capabilities = frozenset()

    def ensure_index(
        self, name: str, mappings: Mapping[str, Any] | None = None
    ) -> bool:
        """Record the index; True if it was created now, False if it existed
        (its mappings are then left as they were, like Elasticsearch)."""
        check_index_name(name)
        _, created = SearchIndex.objects.get_or_create(
            name=name, defaults={"mappings": dict(mappings or {})}
        )
        return created

    def ensure_index_template(
        self,
        name: str,
        index_patterns: list[str],
        mappings: Mapping[str, Any],
        settings: Mapping[str, Any] | None = None,
        *,
        priority: int = 100,
    ) -> bool:
        """Accepted for parity with Elasticsearch and checked; returns False.
        The database store keeps JSON bodies and needs no mappings, and its
        indices exist as soon as a document is written to them."""
        for pattern in index_patterns:
            check_index_pattern(pattern)
        return False

    def index_document(
        self,
        index: str,
        document: Mapping[str, Any],
        id: str | int | None = None,
        refresh: bool | str = False,
    ) -> str:
        """Store `document` under `id` (a new id when None), replacing any
        document with that id; return the id. `refresh` is accepted for
        parity: the database is always up to date."""
        check_index_name(index)
        doc_id = check_doc_id(id) if id is not None else _new_id()
        body = to_json_document(document)
        SearchDocument.objects.update_or_create(
            index=index,
            doc_id=doc_id,
            defaults={"body": body, "indexed_at": timezone.now()},
        )
        return doc_id

    def bulk(
        self, actions: Iterable[Mapping[str, Any]], refresh: bool | str = False
    ) -> BulkResult:
        """Apply index / create / delete actions (`elasticsearch.helpers` form).

        Like Elasticsearch, each action succeeds or fails on its own: the
        result counts the applied ones and lists each failure with its
        position in `actions`. Example:
        `bulk([{"_index": "activity", "_id": "1", "_source": {...}}])`.
        """
        result = BulkResult()
        # One transaction for the batch (fast on SQLite); each `create` has its
        # own savepoint, so one conflict does not undo the others. A database
        # error outside those rolls the whole batch back and propagates.
        with transaction.atomic():
            for position, raw in enumerate(actions):
                try:
                    _apply(parse_bulk_action(raw))
                except SearchRequestError as exc:
                    result.failures.append(failure_for(position, raw, 400, str(exc)))
                except _Conflict as exc:
                    result.failures.append(
                        failure_for(position, raw, exc.status, str(exc))
                    )
                else:
                    result.succeeded += 1
        return result

    def search(
        self,
        index: str,
        query: Mapping[str, Any] | None = None,
        sort: Any = None,
        size: int = DEFAULT_SIZE,
        from_: int = 0,
        *,
        timeout_seconds: float | None = None,
    ) -> SearchResult:
        """Documents of `index` (a name, or a prefix ending in `*`) matching
        `query`, sorted, one page of `size`. `timeout_seconds` is accepted
        for parity (the database connection's own timeouts apply).

        Example: `search("activity", {"bool": {"filter": [{"term": {"lab_id":
        3}}]}}, sort=[{"created_at": "desc"}], size=50)`. A missing index
        gives no hits, like Elasticsearch with `ignore_unavailable`.
        """
        check_index_pattern(index)
        _check_page(size, from_)
        if index.endswith("*"):
            in_index = Q(index__startswith=index[:-1])
        else:
            in_index = Q(index=index)
        matching = SearchDocument.objects.filter(in_index).filter(query_to_q(query))
        page = matching.order_by(*sort_to_order_by(sort))[from_ : from_ + size]
        hits = [
            SearchHit(index=doc.index, id=doc.doc_id, source=doc.body) for doc in page
        ]
        return SearchResult(total=matching.count(), hits=hits)

    def get_document(self, index: str, id: str | int) -> dict[str, Any] | None:
        """The body stored under `id`, or None."""
        doc = SearchDocument.objects.filter(index=index, doc_id=str(id)).first()
        return doc.body if doc is not None else None

    def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
        """Run `SELECT 1` on the documents' database (its own connect timeout
        bounds it; `timeout` is not applied)."""

        def probe() -> str:
            alias = router.db_for_read(SearchDocument)
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
            return f"database {alias}"

        return self.timed_check(probe)


class _Conflict(SearchError):
    """A `create` for an id that exists (409), or a `delete` of none (404)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _apply(action: BulkAction) -> None:
    doc_id = action.id or _new_id()
    now = timezone.now()
    if action.op == "delete":
        deleted, _ = SearchDocument.objects.filter(
            index=action.index, doc_id=doc_id
        ).delete()
        if not deleted:
            raise _Conflict(f"document {doc_id!r} not found in {action.index!r}.", 404)
    elif action.op == "create":
        try:
            # A savepoint: the failed INSERT must not break an outer transaction.
            with transaction.atomic():
                SearchDocument.objects.create(
                    index=action.index,
                    doc_id=doc_id,
                    body=action.source,
                    indexed_at=now,
                )
        except IntegrityError:
            raise _Conflict(
                f"document {doc_id!r} already exists in {action.index!r}.", 409
            ) from None
    else:
        SearchDocument.objects.update_or_create(
            index=action.index,
            doc_id=doc_id,
            defaults={"body": action.source, "indexed_at": now},
        )


def _check_page(size: int, from_: int) -> None:
    if size < 0 or from_ < 0 or from_ + size > MAX_RESULT_WINDOW:
        raise SearchRequestError(
            f"size and from_ must be >= 0 with from_ + size <= {MAX_RESULT_WINDOW}; "
            f"got size={size}, from_={from_}. Narrow the query or page with a "
            "range on the sort field."
        )


def _new_id() -> str:
    """A random id, like the ones Elasticsearch generates (20 characters)."""
    return uuid.uuid4().hex[:20]
