"""Pusher clients: Pusher Channels through the `pusher` SDK, or a log.

`get_client("pusher")` returns one of them, chosen by settings.SERVICES["pusher"]:

    get_client("pusher").trigger(
        12, "sample.updated", {"id": 7, "version": 3}, event_id="sample-7-v3"
    )
    get_client("pusher").authenticate("private-lab-12", "1234.5678")
    # -> {"auth": "<key>:<HMAC-SHA256 signature>"}

Events go to the lab's private channel (`core.utils.pusher.channels`) and
are refused above Pusher's 10 KB limit. Every event carries the caller's
`event_id` in its data, the same on every retry of the step that sends it:
Pusher delivers at least once, so pages drop a repeated id
(docs/realtime.md). Failures raise
`core.utils.pusher.exceptions` classes with `retryable` set; messages never
carry the secret.
"""

import logging
import secrets
import threading
from collections.abc import Mapping
from typing import Any

import pusher  # type: ignore[import-untyped]
import requests
from pusher import errors as sdk_errors
from pusher.requests import RequestsBackend  # type: ignore[import-untyped]
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from core.utils.capabilities import Capability
from core.utils.clients import (
    DEFAULT_CHECK_TIMEOUT_SECONDS,
    HealthStatus,
    ServiceClient,
)
from core.utils.pusher.channels import check_channel_request, encode_event, lab_channel
from core.utils.pusher.exceptions import (
    PusherError,
    PusherRejected,
    PusherUnavailable,
)

logger = logging.getLogger(__name__)

PUSHER_TIMEOUT_SECONDS = 5
MAX_POOL_CONNECTIONS = 10
#: Retries of a connection that could not be made (nothing was sent, so a
#: retry cannot deliver an event twice).
MAX_CONNECTION_RETRIES = 2


class PooledRequestsBackend(RequestsBackend):
    """The SDK's requests backend with a bounded connection pool and retries
    of failed connections. One `requests.Session` per client: its urllib3
    pool is thread-safe, and the Pusher API sets no cookies to share."""

    def __init__(
        self,
        client: Any,
        max_pool_connections: int = MAX_POOL_CONNECTIONS,
        max_connection_retries: int = MAX_CONNECTION_RETRIES,
        **options: Any,
    ) -> None:
        super().__init__(client, **options)
        retry = Retry(
            total=max_connection_retries,
            connect=max_connection_retries,
            # False, not 0: no retry, and the original error (a read timeout
            # stays a ReadTimeout instead of becoming a ConnectionError).
            read=False,
            status=False,
            other=False,
            redirect=False,
            backoff_factor=0.1,
            allowed_methods=None,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(pool_maxsize=max_pool_connections, max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()


class PusherClient(ServiceClient):
    """Triggers lab events on Pusher Channels and signs channel subscriptions.

    `host`/`port`/`ssl` point it at another server (a test stand-in or a
    self-hosted compatible one); otherwise `cluster` picks Pusher's host.
    Every request is bounded by `timeout_seconds`.
    """

    capabilities = frozenset()

    def __init__(
        self,
        app_id: str | int,
        key: str,
        secret: str,
        cluster: str | None = None,
        host: str | None = None,
        port: int | None = None,
        ssl: bool = True,
        timeout_seconds: float = PUSHER_TIMEOUT_SECONDS,
        max_pool_connections: int = MAX_POOL_CONNECTIONS,
    ) -> None:
        self._options: dict[str, Any] = {
            "app_id": str(app_id),
            "key": key,
            "secret": secret,
            "cluster": cluster,
            "host": host,
            "port": port,
            "ssl": ssl,
        }
        self._lock = threading.Lock()
        self._backends: list[PooledRequestsBackend] = []
        self._pusher = self._make(
            timeout_seconds, max_pool_connections, MAX_CONNECTION_RETRIES
        )
        self._check_clients: dict[float, Any] = {}

    def _make(self, timeout: float, pool: int, retries: int) -> Any:
        def backend(client: Any, **options: Any) -> PooledRequestsBackend:
            made = PooledRequestsBackend(client, pool, retries, **options)
            with self._lock:
                self._backends.append(made)
            return made

        return pusher.Pusher(**self._options, timeout=timeout, backend=backend)

    def trigger(
        self,
        lab_id: int | str,
        event: str,
        data: Mapping[str, Any],
        *,
        event_id: str,
        socket_id: str | None = None,
    ) -> None:
        """Send `event` with `data` (a JSON-able object, at most 10 KB encoded
        with its id) to the lab's private channel, with `event_id` added to
        the data; `socket_id` excludes the connection that caused it.

        `event_id` must be stable: derived from what the event tells of (a
        release and its step, a job), never random, so a retry sends the
        same id and a page drops the repeat."""
        channel = lab_channel(lab_id)
        text = encode_event(event, data, event_id)
        try:
            self._pusher.trigger(channel, event, text, socket_id)
        except sdk_errors.PusherError as exc:
            raise _from_status(exc, event, channel) from exc
        except requests.RequestException as exc:
            raise PusherUnavailable(
                f"Pusher could not be reached, or did not answer in time, to send "
                f"{event!r} to {channel} ({type(exc).__name__}); try again later."
            ) from exc

    def authenticate(self, channel: str, socket_id: str) -> dict[str, str]:
        """The signed answer pusher-js expects for a private channel.

        Example: `{"auth": "app-key:5f0c...e1"}`. Whether the caller may have
        the channel is decided before this (see `core.pusher_view`).
        """
        channel, socket_id = check_channel_request(channel, socket_id)
        answer: dict[str, str] = self._pusher.authenticate(
            channel=channel, socket_id=socket_id
        )
        return answer

    def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
        """A signed GET of the app's channel list: proves the server answers
        and accepts our credentials. One attempt, bounded by `timeout`."""
        with self._lock:
            client = self._check_clients.get(timeout)
        if client is None:
            client = self._make(timeout, pool=1, retries=0)
            with self._lock:
                client = self._check_clients.setdefault(timeout, client)

        def probe() -> str:
            client.channels_info()
            return "channels API answered"

        return self.timed_check(probe)

    def close(self) -> None:
        """Close the pooled connections."""
        with self._lock:
            backends, self._backends = self._backends, []
        for backend in backends:
            backend.close()


def _from_status(exc: Exception, event: str, channel: str) -> PusherError:
    """Our exception for one of the SDK's status errors."""
    if isinstance(exc, sdk_errors.PusherBadRequest):
        status = 400
    elif isinstance(exc, sdk_errors.PusherBadAuth):
        status = 401
    elif isinstance(exc, sdk_errors.PusherForbidden):
        status = 403
    else:  # PusherBadStatus: "<status>: <body>"
        head = str(exc).split(":", 1)[0]
        status = int(head) if head.isdigit() else 0
    if status >= 500 or status == 0:
        return PusherUnavailable(
            f"Pusher failed on {event!r} to {channel} (HTTP {status}); try again later."
        )
    return PusherRejected(
        f"Pusher refused {event!r} to {channel} with HTTP {status}. Check the app "
        "id, key and secret, the app's limits, and the event's size.",
        status=status,
    )


class LogPusherClient(ServiceClient):
    """The default: logs each event at INFO instead of sending it.

    It checks events like `PusherClient` (channel, name, size), so what would
    fail against Pusher fails here too, and `authenticate` answers in the
    same shape, signed with a secret made up for this process (there is no
    Pusher to verify it).
    """

    capabilities = frozenset({Capability.STAND_IN})

    def __init__(self) -> None:
        self._signer = pusher.Pusher(
            app_id="0", key="log", secret=secrets.token_hex(32), ssl=False
        )

    def trigger(
        self,
        lab_id: int | str,
        event: str,
        data: Mapping[str, Any],
        *,
        event_id: str,
        socket_id: str | None = None,
    ) -> None:
        """Log the event (name, id, channel, size; the data itself at DEBUG)."""
        channel = lab_channel(lab_id)
        text = encode_event(event, data, event_id)
        logger.info(
            "Pusher event %s %s on %s (log backend, %d bytes)",
            event,
            event_id,
            channel,
            len(text.encode("utf-8")),
        )
        logger.debug("Pusher event %s data: %s", event, text)

    def authenticate(self, channel: str, socket_id: str) -> dict[str, str]:
        """The same shape as `PusherClient.authenticate`."""
        channel, socket_id = check_channel_request(channel, socket_id)
        answer: dict[str, str] = self._signer.authenticate(
            channel=channel, socket_id=socket_id
        )
        return answer

    def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
        """Working, and saying what it is: events go to the log only."""
        return self.timed_check(lambda: "log only: events are not sent to Pusher")
