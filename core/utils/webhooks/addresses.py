"""Where a webhook may be sent: the checks against server-side request forgery.

A subscription URL is chosen by a lab, and our servers then POST to it, from
inside our network. Unchecked, it could reach the cloud's metadata service
(instance credentials), an internal admin page or a database port. So:

- only `http` and `https`, and no user name or password in the URL (the
  receiver authenticates deliveries by their signature, not by a URL that
  would be logged and shown in the admin);
- every address the host resolves to must be global unicast: an IPv4
  address outside every range of the IANA special-purpose registry that is
  not globally reachable, and outside multicast; an IPv6 address inside
  2000::/3 and outside that registry's ranges (`special_addresses.py` lists
  them all, with their RFCs). An IPv6 address that carries an IPv4 address
  (IPv4-mapped, IPv4-compatible, IPv4-translated, NAT64, 6to4, Teredo) is
  refused when that IPv4 address would be; the mapped and the well-known
  NAT64 forms, mere spellings of their IPv4 address, are accepted when it
  is, the others never. If any of a host's addresses is refused, the host
  is (an attacker controlling DNS could otherwise add a private address
  beside a public one);
- the check runs when the URL is saved and again before every attempt,
  after resolving the name, and the connection is then made to the address
  that was checked (`sender.py`), so a name that resolves differently later
  (DNS rebinding) cannot slip through; redirects are never followed.

settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES (default False) also accepts
loopback, RFC 1918, shared (100.64.0.0/10) and unique-local addresses, for
receivers on the lab's own network and for tests. Cloud metadata addresses
and every other special range (link-local, documentation, multicast, the
unspecified address, ...) stay refused even then: no receiver lives there.
"""

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, urlsplit

from core.utils.webhooks.special_addresses import (
    GLOBAL_UNICAST,
    METADATA_ADDRESSES,
    IPAddress,
    special_range,
)

ALLOWED_SCHEMES = frozenset({"http", "https"})
#: Longest URL accepted (the column's length).
MAX_URL_LENGTH = 2000


class UnsafeWebhookURL(ValueError):
    """A URL webhooks may not be sent to. The message says why and what
    would be accepted; it never repeats credentials found in the URL."""


@dataclass(frozen=True)
class WebhookTarget:
    """A checked URL: where to connect and what to ask for.

    Example: `WebhookTarget(scheme="https", host="hooks.lab.example",
    port=443, path="/lis?source=core", addresses=("93.184.215.14",))`.
    """

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def split_url(url: str) -> SplitResult:
    """`url` split into its parts, refused (UnsafeWebhookURL) unless it is an
    http(s) URL with a host and without credentials. No DNS lookup."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeWebhookURL(
            "Enter the receiver's URL, e.g. https://lab.example/hooks."
        )
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeWebhookURL(
            f"The URL is {len(url)} characters long; at most {MAX_URL_LENGTH} are "
            "accepted."
        )
    if any(character.isspace() or ord(character) < 32 for character in url):
        raise UnsafeWebhookURL("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        raise UnsafeWebhookURL(
            "The URL cannot be read; check the host (an IPv6 address goes in "
            "brackets, e.g. http://[2001:db8::1]/hooks)."
        ) from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeWebhookURL(
            f"Webhooks are sent over http:// or https:// only; this URL uses "
            f"{parts.scheme or 'no scheme'!r}."
        )
    if "@" in parts.netloc:
        raise UnsafeWebhookURL(
            "Remove the user name and password from the URL: deliveries are "
            "authenticated by their signature."
        )
    if not parts.hostname:
        raise UnsafeWebhookURL("The URL has no host name.")
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        raise UnsafeWebhookURL(
            "The URL's port is not a number from 1 to 65535."
        ) from None
    return parts


def refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why webhooks may not go to `address`, or None if they may; see the
    module docstring for the rules.

    Example: `refusal(ip_address("::10.0.0.1"), allow_private=False)` ->
    `"::a00:1, an IPv4-compatible address (deprecated by RFC 4291) that
    stands for 10.0.0.1, a private-use address (RFC 1918)"`.
    """
    if address in METADATA_ADDRESSES:
        return f"{address}, a cloud metadata address"
    special = special_range(address)
    if special is None:
        if address.version == 6 and address not in GLOBAL_UNICAST:
            return f"{address}, outside global unicast 2000::/3 (RFC 4291)"
        return None
    described = f"{address}, {special.description}"
    if special.carries_ipv4 is not None:
        embedded = special.carries_ipv4(address)
        reason = refusal(embedded, allow_private=allow_private)
        described = f"{described} that stands for {reason or embedded}"
        if special.is_ipv4 and reason is None:
            return None
        return described
    if special.private and allow_private:
        return None
    return described


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal resolves to itself).
    Raises `socket.gaierror` when the name does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # An IPv6 sockaddr may carry a scope ("fe80::1%eth0"): drop it.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def check_target(url: str, *, allow_private: bool) -> WebhookTarget:
    """`url` checked, its host resolved and every address checked.

    Raises UnsafeWebhookURL (never worth retrying) or `socket.gaierror`
    (the name did not resolve: perhaps DNS is down, perhaps a typo).
    """
    parts = split_url(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    host = ascii_host(parts.hostname or "")
    addresses = resolve(host, port)
    check_addresses(host, addresses, allow_private=allow_private)
    path = ascii_path(parts.path or "/")
    if parts.query:
        path = f"{path}?{ascii_path(parts.query)}"
    return WebhookTarget(
        scheme=scheme,
        host=host,
        port=port,
        path=path,
        addresses=tuple(str(address) for address in addresses),
    )


def check_addresses(
    host: str, addresses: Sequence[IPAddress], *, allow_private: bool
) -> None:
    """Raise UnsafeWebhookURL, naming the first refused address, if any of
    the addresses `host` resolved to is refused: one is enough."""
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason is not None:
            if not _is_literal(host, address):
                reason = f"{host}, which resolves to {reason}"
            raise UnsafeWebhookURL(
                f"Webhooks cannot be sent to {reason}; use a public address of "
                "the receiver."
            )


def _is_literal(host: str, address: IPAddress) -> bool:
    """Whether `host` is `address` written out ("::127.0.0.1" is ::7f00:1)."""
    try:
        return ipaddress.ip_address(host) == address
    except ValueError:
        return False


def ascii_host(hostname: str) -> str:
    """The host name as sent in DNS and the Host header (IDNA for non-ASCII)."""
    try:
        return hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise UnsafeWebhookURL(
            "The URL's host name is not a valid internationalised domain name."
        ) from None


def ascii_path(text: str) -> str:
    """`text` with each non-ASCII character percent-encoded (as UTF-8), the
    rest, escapes included, left as written: an HTTP request line is ASCII.

    Example: `ascii_path("/hooks/labör")` -> `"/hooks/lab%C3%B6r"`.
    """
    return "".join(c if c.isascii() else quote(c, safe="") for c in text)


def display_url(url: str) -> str:
    """`url` reduced to scheme, host and port, for messages and logs: paths
    and query strings often carry tokens.

    Example: `display_url("https://hooks.example/T0/B1/secret?x=1")` ->
    `"https://hooks.example/…"`.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an invalid URL)"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}/…"
