"""Elasticsearch stand-in: a local HTTP server speaking the small part of the
Elasticsearch 9 REST API that `ElasticSearchClient` uses. It is NOT
Elasticsearch (no Elasticsearch server can be installed here); it exists so
the real `elasticsearch` client is tested over real HTTP.

It answers GET/HEAD / (info, ping), GET /_cluster/health, PUT/HEAD /<index>,
PUT/GET/HEAD /_index_template/<name>, PUT|POST /<index>/_doc[/<id>],
GET /<index>/_doc/<id>, POST [/<index>]/_bulk (NDJSON: index, create,
update with `doc`, delete), POST|GET /<index or pattern>/_search (the
queries of `query.py`; sort, size, from) and POST /<index>/_refresh, always
with the `X-Elastic-Product: Elasticsearch` header the 9.x client requires.
An index written to before it exists is created from the matching index
template of highest priority; with `"dynamic": "strict"` mappings a document
with an unmapped field is refused, as Elasticsearch refuses it.

It checks every request: the compatibility Accept / Content-Type headers the
9.x client sends, gzip bodies, credentials when configured, and each NDJSON
line of a bulk body. What it finds wrong goes to `problems` (a test asserts
it stays empty) and gets a 400. Every request is kept in `requests`.

Faults on demand: `fail_next(503, times=2)` answers the next requests with
that status; `hang_next()` holds the next request without answering (to
prove client timeouts); `reject_item("doc-1", 429)` rejects that document
inside a bulk request (to prove per-item retries); `refuse_document("doc-1")`
refuses it in every bulk request, with the per-item 400 Elasticsearch gives
a document its mapping cannot parse, until `accept_document("doc-1")` (a
mapping fix); `fail_searches(403)` answers the next searches with
Elasticsearch's error for that status (401, 403, 400), and
`revoke_credentials()` answers every request 401, as an expired API key
gets; `die_after(n)` answers n
more requests, then drops the next one unanswered and stops listening, as a
killed server does (its documents survive a `restart()`, as on disk).
"""

import functools
import gzip
import json
import threading
from collections import deque
from dataclasses import dataclass
from fnmatch import fnmatchcase
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.standins.elasticsearch import responses
from tests.standins.elasticsearch.faults import Faults
from tests.standins.elasticsearch.query import UnsupportedQuery, matches

JSON_TYPE = "application/vnd.elasticsearch+json; compatible-with=9"
NDJSON_TYPE = "application/vnd.elasticsearch+x-ndjson; compatible-with=9"
#: Upper bound on how long a hung request is held (released earlier by stop()).
HANG_LIMIT_SECONDS = 10.0
BULK_OPS = ("index", "create", "update", "delete")
REFRESH_VALUES = ("true", "false", "wait_for", "")
SEARCH_BODY_KEYS = {"query", "sort", "size", "from", "track_total_hits"}


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


class ElasticsearchStandIn(Faults):
    """See the module docstring. Use as a context manager, or start()/stop()."""

    def __init__(
        self, *, api_key: str | None = None, basic_auth: tuple[str, str] | None = None
    ) -> None:
        self.indices: dict[str, dict[str, Any]] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        #: Each document's version (kept after a delete, as Elasticsearch's
        #: tombstones do for a while) and the next sequence number.
        self._versions: dict[tuple[str, str], int] = {}
        self._seq_no = 0
        self._answers_left: int | None = None
        self.requests: list[RecordedRequest] = []
        self.problems: list[str] = []
        self.cluster_status = "green"
        self._expected_auth = responses.expected_auth(api_key, basic_auth)
        self._faults: deque[int | None] = deque()
        self._item_faults: dict[str, deque[int]] = {}
        self._refused: dict[str, dict[str, Any]] = {}
        self._search_faults: deque[int] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._port = 0
        self._listen()

    def _listen(self) -> None:
        self._server = ThreadingHTTPServer(
            ("127.0.0.1", self._port), _handler_for(self)
        )
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._stopping = False
        self._closed = threading.Event()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>` (the same port across restarts)."""
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> "ElasticsearchStandIn":
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hung requests and stop serving (connections are refused)."""
        with self._lock:
            first, self._stopping = not self._stopping, True
        if not first:  # another thread is stopping it: wait until it is done
            self._closed.wait(HANG_LIMIT_SECONDS)
            return
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._closed.set()

    def restart(self) -> None:
        """Listen again on the same port, keeping indices and templates."""
        self.stop()
        self._release.clear()
        self._answers_left = None
        self._listen()
        self.start()

    def die_after(self, answered: int) -> None:
        """Answer `answered` more requests, then drop the next and stop."""
        self._answers_left = answered

    def __enter__(self) -> "ElasticsearchStandIn":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget documents, requests, problems and pending faults."""
        with self._lock:
            self.indices.clear()
            self.templates.clear()
            self._versions.clear()
            self.requests.clear()
            self.problems.clear()
            self._faults.clear()
            self._item_faults.clear()
            self._refused.clear()
            self._search_faults.clear()
            self.cluster_status = "green"

    def paths(self, method: str | None = None) -> list[str]:
        """Paths of the recorded requests (of one method, when given)."""
        return [r.path for r in self.requests if method in (None, r.method)]

    # -- request handling (called by the handler thread) ---------------------

    def handle(self, request: RecordedRequest) -> tuple[int, Any] | None:
        """Answer one request: (status, JSON body), or None to hang up."""
        with self._lock:
            self.requests.append(request)
            fault = self._faults.popleft() if self._faults else 0
            dying = self._answers_left == 0
            if self._answers_left:
                self._answers_left -= 1
        if dying:
            threading.Thread(target=self.stop, daemon=True).start()
            return None
        if fault is None:
            self._release.wait(HANG_LIMIT_SECONDS)
            return None
        if fault:
            return fault, responses.error(
                "es_rejected_execution_exception", "stand-in fault", fault
            )
        problem = self._check_headers(request)
        if problem:
            return self._refuse(problem)
        if self._expected_auth and request.headers.get("authorization") != (
            self._expected_auth
        ):
            return 401, responses.read_error(401)
        with self._lock:
            if self._search_faults and request.path.endswith("/_search"):
                status = self._search_faults.popleft()
                return status, responses.read_error(status)
            return self._route(request)

    def _refuse(self, problem: str) -> tuple[int, Any]:
        self.problems.append(problem)
        return 400, responses.error("illegal_argument_exception", problem, 400)

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
            return 200, responses.info()
        if parts == ["_cluster", "health"] and method == "GET":
            return 200, {"cluster_name": "stand-in", "status": self.cluster_status}
        if request.query.get("refresh", [""])[0] not in REFRESH_VALUES:
            return self._refuse(f"refresh={request.query['refresh']} is not valid")
        if parts[0] == "_index_template" and len(parts) == 2:
            return self._template_api(request, parts[1])
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
            return 400, responses.error(
                "resource_already_exists_exception", f"index [{index}] already exists"
            )
        body = request.json() if request.body else {}
        self.indices[index] = {"mappings": body.get("mappings", {}), "docs": {}}
        return 200, {"acknowledged": True, "index": index}

    def _template_api(self, request: RecordedRequest, name: str) -> tuple[int, Any]:
        if request.method in {"GET", "HEAD"}:
            if name not in self.templates:
                return 404, responses.error(
                    "resource_not_found_exception",
                    f"index template matching [{name}] not found", 404,
                )  # fmt: skip
            if request.method == "HEAD":
                return 200, None
            entry = {"name": name, "index_template": self.templates[name]}
            return 200, {"index_templates": [entry]}
        if request.method not in {"PUT", "POST"}:
            return self._refuse(f"unexpected {request.method} on _index_template")
        body = request.json() if request.body else {}
        problem = responses.template_problem(body)
        if problem:
            return self._refuse(f"index template {name!r}: {problem}")
        self.templates[name] = body
        return 200, {"acknowledged": True}

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
        refused = self._mapping_error(index, source)
        if refused:
            return 400, {"error": refused, "status": 400}
        created = self._store(index, doc_id, source)
        result = "created" if created else "updated"
        written = {"_index": index, "_id": doc_id, "result": result,
                   **self._bump(index, doc_id)}  # fmt: skip
        return (201 if created else 200), written

    def _index(self, name: str) -> dict[str, Any]:
        """The index, created on first write from the best matching template."""
        if name not in self.indices:
            matching = [
                template
                for template in self.templates.values()
                if any(fnmatchcase(name, p) for p in template["index_patterns"])
            ]
            best = max(matching, key=lambda t: t.get("priority", 0), default={})
            mappings = best.get("template", {}).get("mappings", {})
            self.indices[name] = {"mappings": mappings, "docs": {}}
        return self.indices[name]

    def _mapping_error(self, index: str, source: dict[str, Any]) -> dict[str, Any]:
        """Elasticsearch's error for a document its mappings refuse, or {}."""
        return responses.mapping_error(self._index(index)["mappings"], source)

    def _store(self, index: str, doc_id: str, source: dict[str, Any]) -> bool:
        docs = self._index(index)["docs"]
        created = doc_id not in docs
        docs[doc_id] = source
        return created

    def _bump(self, index: str, doc_id: str) -> dict[str, Any]:
        """A write's `_version`, `_seq_no`, `_primary_term` and `_shards`."""
        version = self._versions.get((index, doc_id), 0) + 1
        self._versions[(index, doc_id)] = version
        self._seq_no += 1
        return {"_version": version, "_seq_no": self._seq_no - 1,
                "_primary_term": 1, "_shards": responses.SHARDS}  # fmt: skip

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
                if op == "update" and not isinstance(source.get("doc"), dict):
                    return self._refuse("an update action's line is {'doc': {...}}")
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
            return responses.item(op, index, doc_id, rejections.popleft(), error=error)
        if doc_id in self._refused and op in {"index", "create"}:
            error = self._refused[doc_id]
            return responses.item(op, index, doc_id, 400, error=error)
        docs = self.indices.get(index, {}).get("docs", {})
        if op == "delete":
            found = docs.pop(doc_id, None) is not None
            result = "deleted" if found else "not_found"
            return responses.item(
                op, index, doc_id, 200 if found else 404, result=result,
                **self._bump(index, doc_id),
            )  # fmt: skip
        if op == "create" and doc_id in docs:
            error = {
                "type": "version_conflict_engine_exception",
                "reason": f"[{doc_id}]: version conflict, document already exists",
            }
            return responses.item(op, index, doc_id, 409, error=error)
        assert source is not None
        if op == "update":
            if doc_id not in docs:
                error = {
                    "type": "document_missing_exception",
                    "reason": f"[{doc_id}]: document missing",
                }
                return responses.item(op, index, doc_id, 404, error=error)
            source = {**docs[doc_id], **source["doc"]}
        refused = self._mapping_error(index, source)
        if refused:
            return responses.item(op, index, doc_id, 400, error=refused)
        created = self._store(index, doc_id, source)
        result = "created" if created else "updated"
        return responses.item(
            op, index, doc_id, 201 if created else 200, result=result,
            **self._bump(index, doc_id),
        )  # fmt: skip

    def _search(self, request: RecordedRequest, target: str) -> tuple[int, Any]:
        patterns = target.split(",")
        names = [n for n in sorted(self.indices) if any(
            fnmatchcase(n, p) for p in patterns)]  # fmt: skip
        missing = [p for p in patterns if "*" not in p and p not in names]
        if missing and request.query.get("ignore_unavailable") != ["true"]:
            return 404, responses.error(
                "index_not_found_exception", f"no such index [{missing[0]}]", 404
            )
        body = request.json() if request.body else {}
        if set(body) - SEARCH_BODY_KEYS:
            return self._refuse(f"unexpected search keys {set(body)}")
        query = body.get("query", {"match_all": {}})
        try:
            docs = [
                (name, doc_id, source)
                for name in names
                for doc_id, source in self.indices[name]["docs"].items()
                if matches(source, query)
            ]
        except (UnsupportedQuery, KeyError, TypeError) as exc:
            return self._refuse(f"query {query!r}: {exc}")
        for clause in reversed(body.get("sort", [])):
            ((field, spec),) = clause.items()
            docs.sort(
                key=functools.partial(responses.sort_key, field),
                reverse=spec["order"] == "desc",
            )
        start = int(body.get("from", request.query.get("from", [0])[0]))
        size = int(body.get("size", request.query.get("size", [10])[0]))
        page = [
            {"_index": name, "_id": doc_id, "_score": None, "_source": source}
            for name, doc_id, source in docs[start : start + size]
        ]
        return 200, responses.hits(page, len(docs))


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
