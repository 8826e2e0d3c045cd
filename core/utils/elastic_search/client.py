"""ElasticSearchClient: the `es` service on the official `elasticsearch` client.

One `Elasticsearch` object per process (the registry shares it between
threads); it pools connections per node, bounds every request with
`request_timeout_seconds`, and retries connection errors, timeouts and
429/502/503/504 answers up to `max_retries` times with jittered backoff.
`bulk()` also retries the single documents Elasticsearch rejects with 429.

The client speaks Elasticsearch 9 (`elasticsearch` 9.x sends
`compatible-with=9` and requires the `X-Elastic-Product` header); OpenSearch
is not supported by this class.
"""

import dataclasses
import json
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from elastic_transport import TransportError
from elasticsearch import (
    ApiError,
    BadRequestError,
    Elasticsearch,
    NotFoundError,
    UnsupportedProductError,
)
from elasticsearch.helpers import streaming_bulk

from core.utils.capabilities import Capability
from core.utils.circuit_breaker import CircuitBreaker
from core.utils.clients import (
    DEFAULT_CHECK_TIMEOUT_SECONDS,
    HealthStatus,
    ServiceClient,
)
from core.utils.elastic_search.errors import (
    SearchError,
    SearchRequestError,
    SearchUnavailable,
)
from core.utils.elastic_search.read_status import ReadStatus
from core.utils.elastic_search.types import (
    BulkAction,
    BulkFailure,
    BulkResult,
    SearchHit,
    SearchResult,
    check_doc_id,
    check_index_name,
    check_index_pattern,
    failure_for,
    parse_bulk_action,
    parse_sort,
    to_json_document,
)

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT_SECONDS = 10.0
MAX_RETRIES = 3
#: Jittered exponential backoff between transport retries (0 disables it).
RETRY_BACKOFF_BASE_SECONDS = 0.2
RETRY_BACKOFF_CAP_SECONDS = 5.0
#: Statuses after which a whole request is retried.
RETRY_ON_STATUS = (429, 502, 503, 504)
BULK_CHUNK_SIZE = 500
#: Rounds of re-sending documents rejected one by one with 429.
BULK_MAX_RETRIES = 3
BULK_INITIAL_BACKOFF_SECONDS = 1.0
BULK_MAX_BACKOFF_SECONDS = 30.0
DEFAULT_SIZE = 10
READ_BREAKER_FAILURES = 3
READ_BREAKER_RESET_SECONDS = 30.0


class ElasticSearchClient(ServiceClient):
    """Documents and searches on an Elasticsearch 9 cluster.

    Options (settings.SERVICES["es"]["OPTIONS"], see services.py): `hosts`
    (URLs), `username` + `password` or `api_key`, `request_timeout_seconds`,
    `max_retries`, `retry_on_timeout`, the backoff bounds, `http_compress`
    (gzip request bodies), `verify_certs`, `ca_certs`, `connections_per_node`
    and the `bulk_*` settings. Declares `Capability.SEARCH_SERVER`: the
    activity log ships to it and reads from it.
    """

    capabilities = frozenset({Capability.SEARCH_SERVER})

    def __init__(
        self,
        hosts: list[str] | str,
        *,
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        request_timeout_seconds: float = REQUEST_TIMEOUT_SECONDS,
        max_retries: int = MAX_RETRIES,
        retry_on_timeout: bool = True,
        retry_backoff_base_seconds: float = RETRY_BACKOFF_BASE_SECONDS,
        retry_backoff_cap_seconds: float = RETRY_BACKOFF_CAP_SECONDS,
        http_compress: bool = True,
        verify_certs: bool = True,
        ca_certs: str | None = None,
        connections_per_node: int = 10,
        bulk_chunk_size: int = BULK_CHUNK_SIZE,
        bulk_max_retries: int = BULK_MAX_RETRIES,
        bulk_initial_backoff_seconds: float = BULK_INITIAL_BACKOFF_SECONDS,
        bulk_max_backoff_seconds: float = BULK_MAX_BACKOFF_SECONDS,
    ) -> None:
        host_list = [hosts] if isinstance(hosts, str) else list(hosts)
        if not host_list:
            raise ValueError("ElasticSearchClient needs at least one host URL.")
        self.masked_hosts = [_mask(host) for host in host_list]
        self._templates_sent: set[tuple[str, str]] = set()
        #: For readers that can answer from elsewhere (the activity log reads
        #: the database): after repeated failures they stop asking for a while
        #: instead of waiting for a timeout on every read.
        self.read_breaker = CircuitBreaker(
            failure_threshold=READ_BREAKER_FAILURES,
            reset_after_seconds=READ_BREAKER_RESET_SECONDS,
        )
        #: Why reads last fell back to the database, for readiness.
        self.read_status = ReadStatus()
        self.max_retries = max_retries
        self._bulk_chunk_size = bulk_chunk_size
        self._bulk_max_retries = bulk_max_retries
        self._bulk_backoff = (bulk_initial_backoff_seconds, bulk_max_backoff_seconds)
        auth: dict[str, Any] = {}
        if api_key:
            auth["api_key"] = api_key
        elif username:
            auth["basic_auth"] = (username, password or "")
        if ca_certs:
            auth["ca_certs"] = ca_certs
        self._es = Elasticsearch(
            host_list,
            request_timeout=request_timeout_seconds,
            max_retries=max_retries,
            retry_on_timeout=retry_on_timeout,
            retry_on_status=RETRY_ON_STATUS,
            retry_backoff_base=retry_backoff_base_seconds,
            retry_backoff_cap=retry_backoff_cap_seconds,
            http_compress=http_compress,
            verify_certs=verify_certs,
            connections_per_node=connections_per_node,
            **auth,
        )
        logger.info("Elasticsearch client built for %s", ", ".join(self.masked_hosts))

    def __repr__(self) -> str:
        return f"<ElasticSearchClient {', '.join(self.masked_hosts)}>"

    def ensure_index(
        self, name: str, mappings: Mapping[str, Any] | None = None
    ) -> bool:
        """Create the index with `mappings` unless it exists; True if created.

        Create-and-catch rather than check-then-create, so two processes
        starting together do not race.
        """
        check_index_name(name)
        with self._translated(f"create index {name!r}"):
            try:
                self._es.indices.create(index=name, mappings=dict(mappings or {}))
            except BadRequestError as exc:
                if exc.error == "resource_already_exists_exception":
                    return False
                raise
        return True

    def ensure_index_template(
        self,
        name: str,
        index_patterns: list[str],
        mappings: Mapping[str, Any],
        settings: Mapping[str, Any] | None = None,
        *,
        priority: int = 100,
    ) -> bool:
        """Put a composable index template: indices created later whose
        names match `index_patterns` (e.g. `["activity-*"]`) get these
        mappings and settings. True if it was sent now; a client sends the
        same template once (a PUT replaces the template, so a changed one is
        sent again). Existing indices keep their mappings."""
        template = {"mappings": dict(mappings), "settings": dict(settings or {})}
        key = (name, json.dumps([index_patterns, template, priority], sort_keys=True))
        if key in self._templates_sent:
            return False
        with self._translated(f"put index template {name!r}"):
            self._es.indices.put_index_template(
                name=name,
                index_patterns=list(index_patterns),
                template=template,
                priority=priority,
            )
        self._templates_sent.add(key)
        return True

    def index_document(
        self,
        index: str,
        document: Mapping[str, Any],
        id: str | int | None = None,
        refresh: bool | str = False,
    ) -> str:
        """Store `document` under `id` (Elasticsearch picks one when None),
        replacing any document with that id; return the id. `refresh=True`
        or `"wait_for"` makes it searchable before returning."""
        check_index_name(index)
        doc_id = check_doc_id(id) if id is not None else None
        with self._translated(f"index a document into {index!r}"):
            response = self._es.index(
                index=index, id=doc_id, document=to_json_document(document),
                refresh=_refresh(refresh),
            )  # fmt: skip
        return str(response["_id"])

    def bulk(
        self, actions: Iterable[Mapping[str, Any]], refresh: bool | str = False
    ) -> BulkResult:
        """Apply index / create / delete actions with the bulk API.

        Each action succeeds or fails on its own. Documents rejected with 429
        are re-sent (up to `bulk_max_retries` rounds, with backoff); every
        other failure is listed with its position in `actions`, status and
        Elasticsearch's reason. If the cluster stops answering, the actions
        not confirmed are listed with status 0: nothing fails silently.
        """
        result = BulkResult()
        pending: list[tuple[int, BulkAction]] = []
        for position, raw in enumerate(actions):
            try:
                pending.append((position, parse_bulk_action(raw)))
            except SearchRequestError as exc:
                result.failures.append(failure_for(position, raw, 400, str(exc)))
        for attempt in range(self._bulk_max_retries + 1):
            if not pending:
                break
            if attempt:
                initial, cap = self._bulk_backoff
                time.sleep(min(cap, initial * 2 ** (attempt - 1)))
            last_round = attempt == self._bulk_max_retries
            pending = self._bulk_round(pending, refresh, result, last_round)
        result.failures.sort(key=lambda failure: failure.position)
        return result

    def _bulk_round(
        self,
        pending: list[tuple[int, BulkAction]],
        refresh: bool | str,
        result: BulkResult,
        last_round: bool,
    ) -> list[tuple[int, BulkAction]]:
        """Send `pending` once; record outcomes; return the 429s to re-send."""
        retry: list[tuple[int, BulkAction]] = []
        outcomes = streaming_bulk(
            self._es,
            [_helper_action(action) for _, action in pending],
            chunk_size=self._bulk_chunk_size,
            raise_on_error=False,
            raise_on_exception=False,
            max_retries=0,  # 429s are re-sent by bulk(), which knows positions
            refresh=_refresh(refresh),
        )
        done = 0
        stopped_by = "no outcome"
        try:
            # With max_retries=0 the helper yields one outcome per action, in order.
            for (position, action), (ok, info) in zip(pending, outcomes, strict=False):
                done += 1
                item = next(iter(info.values()))
                status = int(item.get("status") or 0)
                if ok:
                    result.succeeded += 1
                elif status == 429 and not last_round:
                    retry.append((position, action))
                else:
                    raw_error = item.get("error")
                    failure = _failed(position, action, status, _item_error(raw_error))
                    if isinstance(raw_error, Mapping):
                        kind = str(raw_error.get("type", ""))
                        failure = dataclasses.replace(failure, error_type=kind)
                    result.failures.append(failure)
        except TransportError as exc:
            stopped_by = type(exc).__name__
            logger.warning("Elasticsearch bulk stopped: %s", stopped_by)
        # Whatever got no outcome is reported, never dropped.
        reason = (
            f"not confirmed: Elasticsearch did not answer ({stopped_by}) after "
            f"{self.max_retries} retries; send it again later"
        )
        for position, action in pending[done:]:
            result.failures.append(_failed(position, action, 0, reason))
        return retry

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
        """Documents of `index` matching `query` (Elasticsearch query DSL),
        sorted, one page of `size`; a missing index gives no hits. `index`
        may be a pattern (`activity-*`). `timeout_seconds` bounds this one
        request and turns retries off (for readers with a fallback).

        Example: `search("activity", {"term": {"lab_id": 3}},
        sort=[{"created_at": "desc"}], size=50)`.
        """
        check_index_pattern(index)
        sort_clauses = [{name: {"order": order}} for name, order in parse_sort(sort)]
        es = self._es
        if timeout_seconds is not None:
            es = es.options(request_timeout=timeout_seconds, max_retries=0)
        with self._translated(f"search {index!r}"):
            response = es.search(
                index=index, query=dict(query) if query else {"match_all": {}},
                sort=sort_clauses or None, size=size, from_=from_,
                track_total_hits=True, ignore_unavailable=True,
            )  # fmt: skip
        hits = response["hits"]
        return SearchResult(
            total=int(hits["total"]["value"]),
            hits=[
                SearchHit(index=hit["_index"], id=hit["_id"], source=hit["_source"])
                for hit in hits["hits"]
            ],
        )

    def get_document(self, index: str, id: str | int) -> dict[str, Any] | None:
        """The body stored under `id`, or None."""
        with self._translated(f"read a document of {index!r}"):
            try:
                response = self._es.get(index=index, id=str(id))
            except NotFoundError:
                return None
        source: dict[str, Any] = response["_source"]
        return source

    def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
        """Cluster health within `timeout` seconds, no retries; red is down."""

        refused: list[str] = []

        def probe() -> str:
            try:
                health = self._es.options(
                    request_timeout=timeout, max_retries=0
                ).cluster.health()
            except ApiError as exc:
                refused.append(_cause(exc))
                raise
            status = health["status"]
            if status == "red":
                raise SearchUnavailable("the cluster is red")
            return f"cluster {status}"

        result = self.timed_check(probe)
        if refused:
            # Elasticsearch answered, with an error status: say why (an
            # expired key: "401 authentication failed (security_exception)").
            # The status and error type carry no URL or secret.
            return HealthStatus(ok=False, latency_ms=result.latency_ms,
                                detail=refused[0])  # fmt: skip
        return result

    def close(self) -> None:
        """Close the connection pools."""
        self._es.close()

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Elasticsearch errors as ours: 4xx -> SearchRequestError, the rest
        (unreachable, timeouts, 429/5xx after retries) -> SearchUnavailable."""
        try:
            yield
        except ApiError as exc:
            detail = f"{exc.status_code} {exc.error}: {_reason(exc)}"
            status, kind = exc.status_code, str(exc.error)
            if exc.status_code in RETRY_ON_STATUS or exc.status_code >= 500:
                raise SearchUnavailable(
                    f"Elasticsearch could not {action} ({detail}) after "
                    f"{self.max_retries} retries; try again later.",
                    status=status,
                    error_type=kind,
                ) from exc
            hint = (
                " Check ES_USERNAME/ES_PASSWORD or ES_API_KEY."
                if exc.status_code in (401, 403)
                else ""
            )
            raise SearchRequestError(
                f"Elasticsearch refused to {action} ({detail}).{hint}",
                status=status,
                error_type=kind,
            ) from exc
        except TransportError as exc:
            raise SearchUnavailable(
                f"Elasticsearch did not answer to {action} ({type(exc).__name__}) "
                f"after {self.max_retries} retries; try again later."
            ) from exc


def _helper_action(action: BulkAction) -> dict[str, Any]:
    helper: dict[str, Any] = {"_op_type": action.op, "_index": action.index}
    if action.id is not None:
        helper["_id"] = action.id
    if action.source is not None:
        helper["_source"] = action.source
    return helper


def _failed(position: int, action: BulkAction, status: int, error: str) -> BulkFailure:
    return BulkFailure(
        position=position, index=action.index, id=action.id, status=status, error=error
    )


def _item_error(error: Any) -> str:
    """Elasticsearch's per-item error as `type: reason`."""
    if isinstance(error, Mapping):
        return f"{error.get('type', 'error')}: {error.get('reason', '')}".strip()
    return str(error)


def _cause(exc: ApiError) -> str:
    """An error answer in a few words: "403 not authorised (security_exception)"."""
    if isinstance(exc, UnsupportedProductError):
        return "the server is not Elasticsearch (OpenSearch is not supported)"
    return SearchError("", status=exc.status_code, error_type=str(exc.error)).cause


def _reason(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, Mapping) else {}
    error = body.get("error")
    if isinstance(error, Mapping):
        return str(error.get("reason", ""))
    return str(error or exc.message)


def _refresh(refresh: bool | str) -> Any:
    if refresh is True:
        return "true"
    if refresh is False:
        return None
    return refresh


def _mask(url: str) -> str:
    """The host URL without credentials: `https://***@es.example.com:9200`."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = parts.netloc.rpartition("@")[2]
    userinfo = "***@" if "@" in parts.netloc else ""
    return f"{parts.scheme}://{userinfo}{host}"
