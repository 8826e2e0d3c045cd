"""The address ranges webhooks are never sent to, each with the RFC that set
it aside, and the cloud metadata addresses.

Sources, as of October 2025: the IANA IPv4 and IPv6 Special-Purpose Address
Registries (RFC 6890, RFC 8190; the IPv6 one last grew in April 2025 with
RFC 9780), the IPv4 multicast block (RFC 5771) and, for what the registries
leave out, the IPv6 addressing architecture (RFC 4291, RFC 3879). A range of
the registries that IANA marks "globally reachable" is left out on purpose
(AS112's and AMT's): anything else in them is listed, so a new registry entry
that is not globally reachable needs a line here.

`addresses.py` applies these: an IPv4 address is accepted unless a range
below holds it; an IPv6 address only inside global unicast (2000::/3) and
outside every range below, or, for the two spellings of an IPv4 address
(`is_ipv4`), when that IPv4 address is accepted.

A range is `private` when a lab's own receiver can live there (loopback,
RFC 1918 and unique-local networks, the shared space VPNs and carrier NATs
use): settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES lifts those refusals and no
other. Link-local ranges are not private in this sense: the clouds keep
their instance services there (metadata, DNS, time), and no receiver does.
"""

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
type IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_LOW_32_BITS = 0xFFFFFFFF


def _low_32_bits(address: IPAddress) -> ipaddress.IPv4Address:
    """The IPv4 address in the last 32 bits (mapped, compatible,
    translated and NAT64 /96 addresses)."""
    return ipaddress.IPv4Address(int(address) & _LOW_32_BITS)


def _six_to_four(address: IPAddress) -> ipaddress.IPv4Address:
    """The IPv4 address in bits 16-47 of a 6to4 address (RFC 3056)."""
    return ipaddress.IPv4Address((int(address) >> 80) & _LOW_32_BITS)


def _teredo_client(address: IPAddress) -> ipaddress.IPv4Address:
    """The client's IPv4 address in a Teredo address: the last 32 bits,
    inverted (RFC 4380 section 4)."""
    return ipaddress.IPv4Address(~int(address) & _LOW_32_BITS)


@dataclass(frozen=True)
class SpecialRange:
    """One range webhooks are refused for.

    `description` completes "Webhooks cannot be sent to <address>, ...";
    `private`: allowed by WEBHOOK_ALLOW_PRIVATE_ADDRESSES; `carries_ipv4`:
    how to read the IPv4 address an IPv6 address of the range carries;
    `is_ipv4`: the address is only another spelling of that IPv4 address,
    and is judged as it.
    """

    network: IPNetwork
    description: str
    private: bool = False
    carries_ipv4: Callable[[IPAddress], ipaddress.IPv4Address] | None = None
    is_ipv4: bool = False


def _range(
    network: str,
    description: str,
    *,
    private: bool = False,
    carries_ipv4: Callable[[IPAddress], ipaddress.IPv4Address] | None = None,
    is_ipv4: bool = False,
) -> SpecialRange:
    return SpecialRange(
        ipaddress.ip_network(network), description, private, carries_ipv4, is_ipv4
    )


IPV4_RANGES = (
    # The IANA IPv4 Special-Purpose Address Registry, every entry that is not
    # globally reachable:
    _range("0.0.0.0/8", "a 'this network' address (RFC 791)"),
    _range("0.0.0.0/32", "the unspecified address (RFC 1122)"),
    _range("10.0.0.0/8", "a private-use address (RFC 1918)", private=True),
    _range("100.64.0.0/10", "a shared address (RFC 6598)", private=True),
    _range("127.0.0.0/8", "a loopback address (RFC 1122)", private=True),
    _range("169.254.0.0/16", "a link-local address (RFC 3927)"),
    _range("172.16.0.0/12", "a private-use address (RFC 1918)", private=True),
    # IETF protocol assignments (RFC 6890): the service continuity prefix
    # 192.0.0.0/29 (RFC 7335), the dummy address 192.0.0.8 (RFC 7600), the
    # NAT64 discovery addresses 192.0.0.170-171 (RFC 8880), and the PCP and
    # TURN anycast addresses 192.0.0.9-10 (RFC 7723, RFC 8155): those two are
    # globally reachable, but they answer PCP and TURN, never a webhook.
    _range("192.0.0.0/24", "an IETF protocol assignment (RFC 6890)"),
    _range("192.0.2.0/24", "a documentation address (RFC 5737)"),
    # The former 6to4 relay anycast block (RFC 7526), with the 6a44 relay
    # anycast address 192.88.99.2 (RFC 6751).
    _range("192.88.99.0/24", "a 6to4 relay anycast address (RFC 7526)"),
    _range("192.168.0.0/16", "a private-use address (RFC 1918)", private=True),
    _range("198.18.0.0/15", "a benchmarking address (RFC 2544)"),
    _range("198.51.100.0/24", "a documentation address (RFC 5737)"),
    _range("203.0.113.0/24", "a documentation address (RFC 5737)"),
    _range("240.0.0.0/4", "a reserved address (RFC 1112)"),
    _range("255.255.255.255/32", "the limited broadcast address (RFC 919)"),
    # Not in that registry: multicast (IANA's multicast registry, RFC 5771).
    _range("224.0.0.0/4", "a multicast address (RFC 5771)"),
    # Globally reachable, so accepted: AS112 (192.31.196.0/24, RFC 7535;
    # 192.175.48.0/24, RFC 7534) and AMT (192.52.193.0/24, RFC 7450).
)

#: IPv6 addresses outside this (and outside the IPv4 spellings below) are
#: never global unicast (RFC 4291 section 2.4).
GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")

IPV6_RANGES = (
    # The IANA IPv6 Special-Purpose Address Registry, every entry that is not
    # globally reachable, and the forms that carry an IPv4 address:
    _range("::/128", "the unspecified address (RFC 4291)"),
    _range("::1/128", "the loopback address (RFC 4291)", private=True),
    # Not in the registry: IPv4-compatible addresses, deprecated by RFC 4291
    # section 2.5.5.1 (and by some kernels still tunnelled to that address).
    _range(
        "::/96",
        "an IPv4-compatible address (deprecated by RFC 4291)",
        carries_ipv4=_low_32_bits,
    ),
    # How a dual-stack socket writes an IPv4 address: it *is* that address.
    _range(
        "::ffff:0:0/96",
        "an IPv4-mapped address (RFC 4291)",
        carries_ipv4=_low_32_bits,
        is_ipv4=True,
    ),
    # Not in the registry: SIIT's IPv4-translated addresses (RFC 2765, since
    # replaced by RFC 6052's prefixes).
    _range(
        "::ffff:0:0:0/96",
        "an IPv4-translated address (RFC 2765)",
        carries_ipv4=_low_32_bits,
    ),
    # The well-known NAT64 prefix: a DNS64 resolver on an IPv6-only network
    # answers with it, and a NAT64 gateway forwards to the IPv4 address.
    _range(
        "64:ff9b::/96",
        "a NAT64 address (RFC 6052)",
        carries_ipv4=_low_32_bits,
        is_ipv4=True,
    ),
    # Local-use NAT64: where its IPv4 address sits depends on the prefix
    # length a network chose (RFC 6052 section 2.2), so it cannot be read.
    _range("64:ff9b:1::/48", "a local-use NAT64 address (RFC 8215)"),
    _range("100::/64", "a discard-only address (RFC 6666)"),
    _range("100:0:0:1::/64", "a dummy address (RFC 9780)"),
    # IETF protocol assignments (RFC 2928), refused whole: besides the
    # entries below it holds anycast service addresses (PCP 2001:1::1,
    # RFC 7723; TURN 2001:1::2, RFC 8155; DNS-SD SRP 2001:1::3, RFC 9665),
    # AMT (2001:3::/32, RFC 7450), AS112 (2001:4:112::/48, RFC 7535) and
    # drone entity tags (2001:30::/28, RFC 9374): globally reachable, but
    # services and identifiers, not receivers.
    _range("2001::/23", "an IETF protocol assignment (RFC 2928)"),
    _range("2001::/32", "a Teredo address (RFC 4380)", carries_ipv4=_teredo_client),
    _range("2001:2::/48", "a benchmarking address (RFC 5180)"),
    _range("2001:10::/28", "a deprecated ORCHID identifier (RFC 4843)"),
    # Globally reachable by the registry, but an ORCHID names a host's key,
    # it is not a locator a connection can be routed to (RFC 7343).
    _range("2001:20::/28", "an ORCHIDv2 identifier (RFC 7343)"),
    _range("2001:db8::/32", "a documentation address (RFC 3849)"),
    _range(
        "2002::/16",
        "a 6to4 address (RFC 3056, deprecated by RFC 7526)",
        carries_ipv4=_six_to_four,
    ),
    _range("3fff::/20", "a documentation address (RFC 9637)"),
    _range("5f00::/16", "an SRv6 segment identifier (RFC 9602)"),
    _range("fc00::/7", "a unique-local address (RFC 4193)", private=True),
    _range("fe80::/10", "a link-local address (RFC 4291)"),
    # Not in the registry, outside 2000::/3 anyway; named for the message.
    _range("fec0::/10", "a site-local address (deprecated by RFC 3879)"),
    _range("ff00::/8", "a multicast address (RFC 4291)"),
    # Globally reachable, so accepted: AS112 (2620:4f:8000::/48, RFC 7534).
)

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

# Most specific first, so an address gets its narrowest range's rule and
# description (2001:db8::1 is documentation, not "IETF protocol").
_BY_SPECIFICITY = sorted(
    IPV4_RANGES + IPV6_RANGES, key=lambda special: -special.network.prefixlen
)


def special_range(address: IPAddress) -> SpecialRange | None:
    """The narrowest range above that holds `address`, or None.

    Example: `special_range(ip_address("2001:db8::1")).description` ->
    `"a documentation address (RFC 3849)"`.
    """
    for special in _BY_SPECIFICITY:
        if address.version == special.network.version and address in special.network:
            return special
    return None
