"""One signed POST of a webhook body, to the address that was checked.

`send_webhook` checks the URL and resolves its host (addresses.py), signs
the exact body bytes for this attempt (signing.py), connects to one of the
checked addresses itself, so a second DNS answer cannot redirect it, and
sends the host name in the Host header and, for https, in TLS SNI, where
the certificate is verified against it as usual. It never follows a
redirect (http.client has no such feature) and reads at most
RESPONSE_EXCERPT_BYTES of the answer. Every outcome, including a refused
connection or a timeout, is returned as an `AttemptResult`: nothing here
raises for the receiver's sake.
"""

import datetime as dt
import email.utils
import http.client
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from core.models.webhook import MAX_REASON_CHARS, RESPONSE_EXCERPT_BYTES
from core.utils.webhooks.addresses import UnsafeWebhookURL, WebhookTarget, check_target
from core.utils.webhooks.signing import signature_headers

USER_AGENT = "lis-webhooks/1"


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt got: an HTTP answer (`status_code`, the start of
    its body, its Retry-After in seconds) or an error (`error_class`,
    `error_message`; `retryable` False when retrying cannot help, e.g. a URL
    that now resolves to a private address)."""

    started_at: dt.datetime
    duration_ms: int
    status_code: int | None = None
    body_excerpt: str = ""
    retry_after_seconds: float | None = None
    error_class: str = ""
    error_message: str = ""
    retryable: bool = True

    @property
    def succeeded(self) -> bool:
        """A 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300


def send_webhook(
    url: str,
    message_id: str,
    body: bytes,
    secrets: Sequence[str],
    *,
    timeout_seconds: float,
    allow_private: bool,
    ca_file: str = "",
) -> AttemptResult:
    """POST `body` to `url`, signed with each of `secrets`; see the module
    docstring. `timeout_seconds` bounds the connection and each read;
    `ca_file` replaces the system's certificate authorities (a lab's own CA).
    """
    started_at = timezone.now()
    clock = time.monotonic()

    def elapsed_ms() -> int:
        return int((time.monotonic() - clock) * 1000)

    try:
        target = check_target(url, allow_private=allow_private)
        headers = {
            **signature_headers(message_id, int(time.time()), body, secrets),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        status, excerpt, retry_after = _post(
            target, body, headers, timeout_seconds, ca_file
        )
    except UnsafeWebhookURL as exc:
        return _error(started_at, elapsed_ms(), exc, retryable=False)
    except (OSError, http.client.HTTPException) as exc:
        # Refused, reset, timed out, TLS failure, DNS failure, a garbled
        # answer: the receiver or the network may recover, so retry.
        return _error(started_at, elapsed_ms(), exc, retryable=True)
    return AttemptResult(
        started_at=started_at,
        duration_ms=elapsed_ms(),
        status_code=status,
        body_excerpt=excerpt,
        retry_after_seconds=retry_after,
    )


def _post(
    target: WebhookTarget,
    body: bytes,
    headers: dict[str, str],
    timeout_seconds: float,
    ca_file: str,
) -> tuple[int, str, float | None]:
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        context = ssl.create_default_context(cafile=ca_file or None)
        connection = PinnedHTTPSConnection(
            target.host, target.port, target.addresses, timeout_seconds, context
        )
    else:
        connection = PinnedHTTPConnection(
            target.host, target.port, target.addresses, timeout_seconds
        )
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read(RESPONSE_EXCERPT_BYTES)
        retry_after = parse_retry_after(response.getheader("Retry-After"))
        return response.status, excerpt_of(raw), retry_after
    finally:
        connection.close()


def connect_to_any(
    addresses: Sequence[str], port: int, timeout: float | None
) -> socket.socket:
    """A TCP connection to the first of `addresses` that answers."""
    last_error: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            last_error = exc
    raise last_error


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to checked addresses, not to what the host name
    resolves to now; the Host header still names the host."""

    def __init__(
        self, host: str, port: int, addresses: Sequence[str], timeout: float
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses = tuple(addresses)

    def connect(self) -> None:
        """Connect to the first checked address that answers."""
        self.sock = connect_to_any(self.addresses, self.port, self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """PinnedHTTPConnection over TLS: the certificate is verified against
    the host name (sent in SNI), whatever address was connected to."""

    def __init__(
        self,
        host: str,
        port: int,
        addresses: Sequence[str],
        timeout: float,
        context: ssl.SSLContext,
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.addresses = tuple(addresses)
        self.tls_context = context

    def connect(self) -> None:
        """Connect to a checked address, then shake hands for the host name."""
        sock = connect_to_any(self.addresses, self.port, self.timeout)
        try:
            self.sock = self.tls_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from now that a `Retry-After` header asks to wait: a number
    of seconds or an HTTP date; None when absent or unreadable.

    Example: `parse_retry_after("120")` -> `120.0`.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


def excerpt_of(raw: bytes) -> str:
    """The start of an answer as text to keep, at most RESPONSE_EXCERPT_BYTES
    in UTF-8: decoded leniently, NUL characters (which PostgreSQL text
    cannot hold) replaced, cut at a character boundary."""
    text = raw[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace")
    encoded = text.replace("\x00", "\ufffd").encode()[:RESPONSE_EXCERPT_BYTES]
    return encoded.decode("utf-8", errors="ignore")


def _error(
    started_at: dt.datetime, duration_ms: int, error: BaseException, *, retryable: bool
) -> AttemptResult:
    return AttemptResult(
        started_at=started_at,
        duration_ms=duration_ms,
        error_class=type(error).__name__,
        error_message=(str(error) or type(error).__name__)[:MAX_REASON_CHARS],
        retryable=retryable,
    )
