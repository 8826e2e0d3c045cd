"""The part every HTTP stand-in shares: a threaded server on a free
127.0.0.1 port, started and stopped by the test (or used as a context
manager). Subclasses answer each request in `_handle`.

A stand-in stopped and started again listens on the same port, as a real
service restarting does: a worker process given the URL at its start finds
it again (tests/patients/test_release_end_to_end.py)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

#: How often the serving thread checks for shutdown.
POLL_INTERVAL_SECONDS = 0.05


class HTTPStandIn:
    """A local HTTP server for one test; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        #: 0 until the first start(); then the port every later start() reuses.
        self._port = 0

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        """Listen on 127.0.0.1 (a free port the first time, the same port
        after a stop()) and serve in a daemon thread."""
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                standin._handle(self)

            do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read what the stand-in recorded, not stderr."""

        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._port = int(self._server.server_address[1])
        threading.Thread(
            target=self._server.serve_forever,
            args=(POLL_INTERVAL_SECONDS,),
            daemon=True,
        ).start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port (connections are then refused)."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on; kept while stopped, and reused by start()."""
        assert self._port, "start() the stand-in first"
        return self._port
