"""Elasticsearch stand-in: a local HTTP server speaking the small part of the
Elasticsearch 9 REST API that `ElasticSearchClient` uses. It is NOT
Elasticsearch (no Elasticsearch server can be installed here); it exists so
the real `elasticsearch` client is tested over real HTTP.

It answers GET/HEAD / (info, ping), GET /_cluster/health, PUT/HEAD /<index>,
PUT|POST /<index>/_doc[/<id>], GET /<index>/_doc/<id>, POST [/<index>]/_bulk
(NDJSON), POST|GET /<index>/_search (match_all, term, terms, range, exists,
bool; sort, size, from) and POST /<index>/_refresh, always with the
`X-Elastic-Product: Elasticsearch` header the 9.x client requires.

It checks every request: the compatibility Accept / Content-Type headers the
9.x client sends, gzip bodies, credentials when configured, and each NDJSON
line of a bulk body. What it finds wrong goes to `problems` (a test asserts
it stays empty) and gets a 400. Every request is kept in `requests`.

Faults on demand: `fail_next(503, times=2)` answers the next requests with
that status; `hang_next()` holds the next request without answering (to
prove client timeouts); `reject_item("doc-1", 429)` rejects that document
inside a bulk request (to prove per-item retries).
"""

import base64
import gzip
import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

JSON_TYPE = "application/vnd.elasticsearch+json; compatible-with=9"
NDJSON_TYPE = "application/vnd.elasticsearch+x-ndjson; compatible-with=9"
#: Upper bound on how long a hung request is held (released earlier by stop()).
HANG_LIMIT_SECONDS = 10.0
BULK_OPS = ("index", "create", "update", "delete")


@dataclass
class RecordedRequest:
    """One request as the stand-in received it (body decompressed)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as one JSON document."""
        return json.loads(self.body)


class ElasticsearchStandIn:
    """See the module docstring. Use as a context manager, or start()/stop()."""

    def __init__(
        self, *, api_key: str | None = None, basic_auth: tuple[str, str] | None = None
    ) -> None:
        self.indices: dict[str, dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self.problems: list[str] = []
        self.cluster_status = "green"
        self._expected_auth = _expected_auth(api_key, basic_auth)
        self._faults: deque[int | None] = deque()
        self._item_faults: dict[str, deque[int]] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "ElasticsearchStandIn":
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hung requests and stop serving."""
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "ElasticsearchStandIn":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget documents, requests, problems and pending faults."""
        with self._lock:
            self.indices.clear()
            self.requests.clear()
            self.problems.clear()
            self._faults.clear()
            self._item_faults.clear()
            self.cluster_status = "green"

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next `times` requests with `status` and an error body."""
        self._faults.extend([status] * times)

    def hang_next(self, times: int = 1) -> None:
        """Hold the next `times` requests without answering."""
        self._faults.extend([None] * times)

    def reject_item(self, doc_id: str, status: int, times: int = 1) -> None:
        """Reject document `doc_id` in the next `times` bulk requests."""
        self._item_faults.setdefault(doc_id, deque()).extend([status] * times)

    def paths(self, method: str | None = None) -> list[str]:
        """Paths of the recorded requests (of one method, when given)."""
        return [r.path for r in self.requests if method in (None, r.method)]

    # -- request handling (called by the handler thread) ---------------------

    def handle(self, request: RecordedRequest) -> tuple[int, Any] | None:
        """Answer one request: (status, JSON body), or None to hang up."""
        with self._lock:
            self.requests.append(request)
            fault = self._faults.popleft() if self._faults else 0
        if fault is None:
            self._release.wait(HANG_LIMIT_SECONDS)
            return None
        if fault:
            return fault, _error(
                "es_rejected_execution_exception", "stand-in fault", fault
            )
        problem = self._check_headers(request)
        if problem:
            return self._refuse(problem)
        if self._expected_auth and request.headers.get("authorization") != (
            self._expected_auth
        ):
            return 401, _error(
                "security_exception", "missing or wrong credentials", 401
            )
        with self._lock:
            return self._route(request)

    def _refuse(self, problem: str) -> tuple[int, Any]:
        self.problems.append(problem)
        return 400, _error("illegal_argument_exception", problem, 400)

    def _check_headers(self, request: RecordedRequest) -> str | None:
        accept = request.headers.get("accept", "")
        if JSON_TYPE not in accept:
            return (
                f"{request.method} {request.path}: Accept {accept!r} lacks {JSON_TYPE}"
            )
        if request.body:
            expected = NDJSON_TYPE if request.path.endswith("/_bulk") else JSON_TYPE
            content_type = request.headers.get("content-type", "")
            if content_type != expected:
                return (
                    f"{request.method} {request.path}: Content-Type "
                    f"{content_type!r}, expected {expected!r}"
                )
        return None

    def _route(self, request: RecordedRequest) -> tuple[int, Any]:
        parts = [unquote(p) for p in request.path.strip("/").split("/") if p]
        method = request.method
        if not parts:
            return 200, _info()
        if parts == ["_cluster", "health"] and method == "GET":
            return 200, {"cluster_name": "stand-in", "status": self.cluster_status}
        if parts[-1] == "_bulk" and method in {"POST", "PUT"}:
            return self._bulk(request, parts[0] if len(parts) == 2 else None)
        index = parts[0]
        if len(parts) == 1 and method in {"PUT", "HEAD"}:
            return self._index_api(request, index)
        if len(parts) >= 2 and parts[1] == "_doc":
            return self._doc_api(request, index, parts[2] if len(parts) == 3 else None)
        if len(parts) == 2 and parts[1] == "_search" and method in {"GET", "POST"}:
            return self._search(request, index)
        if len(parts) == 2 and parts[1] == "_refresh":
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        return self._refuse(f"unexpected request {method} {request.path}")

    def _index_api(self, request: RecordedRequest, index: str) -> tuple[int, Any]:
        if request.method == "HEAD":
            return (200 if index in self.indices else 404), None
        if index in self.indices:
            return 400, _error(
                "resource_already_exists_exception", f"index [{index}] already exists"
            )
        body = request.json() if request.body else {}
        self.indices[index] = {"mappings": body.get("mappings", {}), "docs": {}}
        return 200, {"acknowledged": True, "index": index}

    def _doc_api(
        self, request: RecordedRequest, index: str, doc_id: str | None
    ) -> tuple[int, Any]:
        if request.method == "GET" and doc_id is not None:
            doc = self.indices.get(index, {}).get("docs", {}).get(doc_id)
            if doc is None:
                return 404, {"_index": index, "_id": doc_id, "found": False}
            return 200, {"_index": index, "_id": doc_id, "found": True, "_source": doc}
        if request.method not in {"PUT", "POST"}:
            return self._refuse(f"unexpected {request.method} on _doc")
        source = request.json()
        if not isinstance(source, dict):
            return self._refuse("a document body must be a JSON object")
        doc_id = doc_id or f"auto-{len(self.requests)}"
        created = self._store(index, doc_id, source)
        return (201 if created else 200), _written(index, doc_id, created)

    def _store(self, index: str, doc_id: str, source: dict[str, Any]) -> bool:
        docs = self.indices.setdefault(index, {"mappings": {}, "docs": {}})["docs"]
        created = doc_id not in docs
        docs[doc_id] = source
        return created

    def _bulk(
        self, request: RecordedRequest, path_index: str | None
    ) -> tuple[int, Any]:
        text = request.body.decode()
        if not text.endswith("\n"):
            return self._refuse("a bulk body must end with a newline")
        lines = deque(text.splitlines())
        items = []
        while lines:
            try:
                action = json.loads(lines.popleft())
            except ValueError:
                return self._refuse("a bulk action line is not JSON")
            if not isinstance(action, dict) or len(action) != 1:
                return self._refuse(f"a bulk action line has one key of {BULK_OPS}")
            ((op, meta),) = action.items()
            index = meta.get("_index", path_index) if isinstance(meta, dict) else None
            if op not in BULK_OPS or not index:
                return self._refuse(f"bad bulk action {op!r} (index {index!r})")
            source = None
            if op != "delete":
                try:
                    source = json.loads(lines.popleft())
                except (IndexError, ValueError):
                    return self._refuse(f"the {op!r} action has no JSON source line")
                if not isinstance(source, dict):
                    return self._refuse("a bulk source line must be a JSON object")
            items.append(self._bulk_item(op, index, meta.get("_id"), source))
        errors = any("error" in next(iter(item.values())) for item in items)
        return 200, {"took": 1, "errors": errors, "items": items}

    def _bulk_item(
        self, op: str, index: str, doc_id: str | None, source: dict[str, Any] | None
    ) -> dict[str, Any]:
        doc_id = doc_id or f"auto-{len(self.requests)}-{id(source)}"
        rejections = self._item_faults.get(doc_id)
        if rejections:
            error = {"type": "stand_in_rejection", "reason": "rejected"}
            return _item(op, index, doc_id, rejections.popleft(), error=error)
        docs = self.indices.get(index, {}).get("docs", {})
        if op == "delete":
            found = docs.pop(doc_id, None) is not None
            result = "deleted" if found else "not_found"
            return _item(op, index, doc_id, 200 if found else 404, result=result)
        if op == "create" and doc_id in docs:
            error = {
                "type": "version_conflict_engine_exception",
                "reason": f"[{doc_id}]: document already exists",
            }
            return _item(op, index, doc_id, 409, error=error)
        assert source is not None
        created = self._store(index, doc_id, source)
        result = "created" if created else "updated"
        return _item(op, index, doc_id, 201 if created else 200, result=result)

    def _search(self, request: RecordedRequest, index: str) -> tuple[int, Any]:
        if index not in self.indices:
            if request.query.get("ignore_unavailable") == ["true"]:
                return 200, _hits([], 0)
            return 404, _error("index_not_found_exception", f"no such index [{index}]")
        body = request.json() if request.body else {}
        docs = [
            (doc_id, source)
            for doc_id, source in self.indices[index]["docs"].items()
            if _matches(source, body.get("query", {"match_all": {}}))
        ]
        for clause in reversed(body.get("sort", [])):
            ((name, spec),) = clause.items()
            docs.sort(
                key=lambda d, n=name: _sort_key(d, n), reverse=spec["order"] == "desc"
            )
        start, size = body.get("from", 0), body.get("size", 10)
        page = [
            {"_index": index, "_id": doc_id, "_score": None, "_source": source}
            for doc_id, source in docs[start : start + size]
        ]
        return 200, _hits(page, len(docs))


def _item(
    op: str, index: str, doc_id: str, status: int, **extra: Any
) -> dict[str, Any]:
    """One entry of a bulk response's `items`."""
    return {op: {"_index": index, "_id": doc_id, "status": status, **extra}}


def _matches(source: dict[str, Any], query: dict[str, Any]) -> bool:
    """A tiny matcher: term/terms/range compare values as given (dates as text)."""
    ((kind, body),) = query.items()
    if kind == "match_all":
        return True
    if kind == "bool":

        def each(key: str) -> list[dict[str, Any]]:
            value = body.get(key, [])
            return value if isinstance(value, list) else [value]

        return all(
            _matches(source, q) for q in each("filter") + each("must")
        ) and not any(_matches(source, q) for q in each("must_not"))
    if kind == "exists":
        return _get(source, body["field"]) is not None
    ((field, spec),) = body.items()
    value = _get(source, field)
    if kind == "term":
        return value == (spec["value"] if isinstance(spec, dict) else spec)
    if kind == "terms":
        return value in spec
    if kind == "range":
        checks = {"gt": value.__gt__, "gte": value.__ge__, "lt": value.__lt__,
                  "lte": value.__le__}  # fmt: skip
        return value is not None and all(checks[op](b) for op, b in spec.items())
    raise ValueError(f"the stand-in does not support {kind!r} queries")


def _get(source: dict[str, Any], field: str) -> Any:
    value: Any = source
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _sort_key(doc: tuple[str, dict[str, Any]], name: str) -> tuple[bool, Any]:
    value = doc[0] if name == "_id" else _get(doc[1], name)
    return (value is None, value if value is not None else 0)


def _hits(page: list[dict[str, Any]], total: int) -> dict[str, Any]:
    return {
        "took": 1,
        "timed_out": False,
        "hits": {"total": {"value": total, "relation": "eq"}, "max_score": None,
                 "hits": page},
    }  # fmt: skip


def _written(index: str, doc_id: str, created: bool) -> dict[str, Any]:
    return {"_index": index, "_id": doc_id, "_version": 1,
            "result": "created" if created else "updated"}  # fmt: skip


def _info() -> dict[str, Any]:
    return {
        "name": "stand-in",
        "cluster_name": "stand-in",
        "version": {"number": "9.1.0", "build_flavor": "default"},
        "tagline": "You Know, for Search",
    }


def _error(kind: str, reason: str, status: int = 400) -> dict[str, Any]:
    return {"error": {"type": kind, "reason": reason}, "status": status}


def _expected_auth(api_key: str | None, basic_auth: tuple[str, str] | None) -> str:
    if api_key:
        return f"ApiKey {api_key}"
    if basic_auth:
        token = base64.b64encode(":".join(basic_auth).encode()).decode()
        return f"Basic {token}"
    return ""


def _handler_for(standin: ElasticsearchStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            parts = urlsplit(self.path)
            request = RecordedRequest(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            answer = standin.handle(request)
            if answer is None:
                self.close_connection = True
                return
            status, payload = answer
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Type", JSON_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test output is for the tests."""

    return Handler
