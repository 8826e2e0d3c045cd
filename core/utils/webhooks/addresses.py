"""Where a webhook may be sent: the checks against server-side request forgery.

A subscription URL is chosen by a lab, and our servers then POST to it, from
inside our network. Unchecked, it could reach the cloud's metadata service
(instance credentials), an internal admin page or a database port. So:

- only `http` and `https`, and no user name or password in the URL (the
  receiver authenticates deliveries by their signature, not by a URL that
  would be logged and shown in the admin);
- every address the host resolves to must be a public one: loopback,
  private (RFC 1918, unique-local IPv6), link-local, shared (CGNAT),
  reserved, documentation and multicast addresses are refused, as are IPv6
  forms that embed such an IPv4 address (mapped, 6to4, NAT64). If any of a
  host's addresses is refused, the host is (an attacker controlling DNS
  could otherwise add a private address beside a public one);
- the check runs when the URL is saved and again before every attempt,
  after resolving the name, and the connection is then made to the address
  that was checked (`sender.py`), so a name that resolves differently later
  (DNS rebinding) cannot slip through; redirects are never followed.

settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES (default False) lifts the private,
loopback and link-local rule, for receivers on the lab's own network and
for tests. Cloud metadata addresses, the unspecified address and multicast
stay refused even then: no receiver lives there.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, urlsplit

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})
#: Longest URL accepted (the column's length).
MAX_URL_LENGTH = 2000
#: Instance metadata services of the major clouds: refused even when private
#: addresses are allowed (AWS, GCP, Azure, OpenStack: 169.254.169.254;
#: AWS ECS: 169.254.170.2; AWS IPv6: fd00:ec2::254; Alibaba: 100.100.100.200;
#: Azure's wire server: 168.63.129.16).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "168.63.129.16",
    )
)
#: The well-known NAT64 prefix: its addresses carry an IPv4 address.
NAT64_NETWORK = ipaddress.ip_network("64:ff9b::/96")


class UnsafeWebhookURL(ValueError):
    """A URL webhooks may not be sent to. The message says why and what
    would be accepted; it never repeats credentials found in the URL."""


@dataclass(frozen=True)
class WebhookTarget:
    """A checked URL: where to connect and what to ask for.

    Example: `WebhookTarget(scheme="https", host="hooks.lab.example",
    port=443, path="/lis?source=core", addresses=("203.0.113.7",))`.
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
    """Why webhooks may not go to `address`, or None if they may.

    Example: `refusal(ip_address("10.1.2.3"), allow_private=False)` ->
    `"10.1.2.3, a private or internal address"`.
    """
    if address in METADATA_ADDRESSES:
        return f"{address}, a cloud metadata address"
    if address.is_multicast or address.is_unspecified:
        return f"{address}, which is not a host address"
    embedded = embedded_ipv4(address)
    if embedded is not None:
        reason = refusal(embedded, allow_private=allow_private)
        return f"{address}, which stands for {reason}" if reason else None
    if not allow_private and not address.is_global:
        return f"{address}, a private or internal address"
    return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_NETWORK:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


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
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason is not None:
            if host != str(address):
                reason = f"{host}, which resolves to {reason}"
            raise UnsafeWebhookURL(
                f"Webhooks cannot be sent to {reason}; use a public address of "
                "the receiver."
            )
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
