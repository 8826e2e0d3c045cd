"""The part every HTTP stand-in shares: a threaded server on a free
127.0.0.1 port, started and stopped by the test (or used as a context
manager). Subclasses answer each request in `_handle`."""

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

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        """Listen on a free 127.0.0.1 port and serve in a daemon thread."""
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                standin._handle(self)

            do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read what the stand-in recorded, not stderr."""

        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
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
        """The port it listens on."""
        assert self._server is not None, "start() the stand-in first"
        return int(self._server.server_address[1])
