"""The part every HTTP stand-in shares: a threaded server on a free
127.0.0.1 port, started and stopped by the test (or used as a context
manager). Subclasses answer each request in `_handle`.

A stand-in stopped and started again listens on the same port, as a real
service restarting does: a worker process given the URL at its start finds
it again (tests/patients/test_release_end_to_end.py).

Invariant of every stand-in: a request is recorded as soon as it has been
read, before it is checked and before any answer, so what it says it
received does not depend on what happens to the reply (scripted, delayed,
held, or written to a client that is gone). A peer that got the request
may have acted on it whatever the caller saw, and a test counting what
arrived must see it too (issue 20 point 6: a delayed reply once hid an
event). `hold_next()` keeps the next reply back until the test releases
it, so a test can kill the caller while its request is in flight.
"""

import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

#: How often the serving thread checks for shutdown.
POLL_INTERVAL_SECONDS = 0.05
#: Upper bound on how long a held reply waits (released earlier by stop()).
HOLD_LIMIT_SECONDS = 120.0


class Hold:
    """One reply held back by `hold_next()`: `arrived` is set once the
    request has been recorded; the reply goes out after `release()` (or
    the stand-in's stop(), or HOLD_LIMIT_SECONDS).

        hold = pusher.hold_next()
        ...  # the worker calls Pusher
        assert hold.wait_arrived(30)
        worker.kill()  # the request is in, the reply never reaches it
        hold.release()
    """

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self._released = threading.Event()

    def wait_arrived(self, timeout: float) -> bool:
        """Whether the held request arrived within `timeout` seconds."""
        return self.arrived.wait(timeout)

    def release(self) -> None:
        """Let the reply go (to a client that may be gone)."""
        self._released.set()

    def wait_released(self, timeout: float) -> bool:
        """Whether `release()` was called within `timeout` seconds."""
        return self._released.wait(timeout)


class HTTPStandIn:
    """A local HTTP server for one test; see the module docstring."""

    #: What the handler speaks; a subclass that must answer `Expect:
    #: 100-continue` (boto3's uploads) sets "HTTP/1.1".
    protocol_version = "HTTP/1.0"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        #: 0 until the first start(); then the port every later start() reuses.
        self._port = 0
        self._holds: deque[Hold] = deque()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def hold_next(self) -> Hold:
        """Hold the reply to the next request (after it is recorded and
        checked, before any scripted answer) until `Hold.release()`."""
        hold = Hold()
        with self._lock:
            self._holds.append(hold)
        return hold

    def _wait_if_held(self) -> None:
        """Called by a subclass once the request is recorded: mark the next
        hold arrived and wait until it is released or the stand-in stops."""
        with self._lock:
            hold = self._holds.popleft() if self._holds else None
        if hold is None:
            return
        hold.arrived.set()
        give_up_at = time.monotonic() + HOLD_LIMIT_SECONDS
        while not hold.wait_released(POLL_INTERVAL_SECONDS):
            if self._stopping.is_set() or time.monotonic() > give_up_at:
                return

    def start(self) -> Self:
        """Listen on 127.0.0.1 (a free port the first time, the same port
        after a stop()) and serve in a daemon thread."""
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = standin.protocol_version

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
        """Stop serving and close the port (connections are then refused);
        held and delayed replies are let go."""
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
