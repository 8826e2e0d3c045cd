"""The one table of addresses webhooks are accepted for and refused for.

Every test of the address rules parametrizes over it: the rules themselves
(test_addresses.py), a host resolving to each address, saving an endpoint
and each delivery attempt (test_address_checks.py). Add a row here, and
every check is tested with it.

A row is an address as a lab would type it, and `refused`: a fragment of
the reason it is refused with the default rules (None: accepted). `private`
rows are accepted when WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on; the others'
verdict and fragment hold with the setting either way. `reported` rows are
the addresses the security review found accepted (issue point 8).
"""

import ipaddress
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class Row:
    """One address and what the rules say about it."""

    address: str
    refused: str | None = None
    private: bool = False
    reported: bool = False

    def refusal(self, allow_private: bool) -> str | None:
        """The fragment the refusal must contain, or None if accepted."""
        if self.private and allow_private:
            return None
        return self.refused

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return ipaddress.ip_address(self.address)

    @property
    def url(self) -> str:
        """A webhook URL with this address as its host."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:8000/hooks"


def accepted(address: str) -> Row:
    return Row(address)


def private(address: str, why: str) -> Row:
    return Row(address, why, private=True)


def refused(address: str, why: str, *, reported: bool = False) -> Row:
    return Row(address, why, reported=reported)


LOOPBACK = "a loopback address (RFC 1122)"
RFC1918 = "a private-use address (RFC 1918)"
METADATA = "a cloud metadata address"
IETF_V4 = "an IETF protocol assignment (RFC 6890)"
IETF_V6 = "an IETF protocol assignment (RFC 2928)"
MAPPED = "an IPv4-mapped address (RFC 4291) that stands for"
COMPATIBLE = "an IPv4-compatible address (deprecated by RFC 4291) that stands for"
TRANSLATED = "an IPv4-translated address (RFC 2765) that stands for"
NAT64 = "a NAT64 address (RFC 6052) that stands for"
SIX_TO_FOUR = "a 6to4 address (RFC 3056, deprecated by RFC 7526) that stands for"
TEREDO = "a Teredo address (RFC 4380) that stands for"
OUTSIDE_2000_3 = "outside global unicast 2000::/3 (RFC 4291)"

TABLE = (
    # -- IPv4: public, including the edges of the special ranges -------------
    accepted("93.184.215.14"),
    accepted("1.1.1.1"),
    accepted("11.0.0.1"),
    accepted("100.63.255.255"),
    accepted("100.128.0.0"),
    accepted("172.15.255.255"),
    accepted("172.32.0.0"),
    accepted("192.0.1.1"),
    accepted("198.17.255.255"),
    accepted("198.20.0.0"),
    accepted("223.255.255.255"),
    # Special-purpose, but globally reachable (AS112, AMT).
    accepted("192.31.196.1"),
    accepted("192.52.193.1"),
    accepted("192.175.48.1"),
    # -- IPv4: where a lab's own receiver may be -----------------------------
    private("127.0.0.1", LOOPBACK),
    private("127.255.255.254", LOOPBACK),
    private("10.0.0.5", RFC1918),
    private("172.16.3.4", RFC1918),
    private("172.31.255.255", RFC1918),
    private("192.168.1.20", RFC1918),
    private("100.64.0.1", "a shared address (RFC 6598)"),
    private("100.127.255.255", "a shared address (RFC 6598)"),
    # -- IPv4: never ---------------------------------------------------------
    refused("0.0.0.0", "the unspecified address (RFC 1122)"),  # noqa: S104
    refused("0.1.2.3", "a 'this network' address (RFC 791)"),
    refused("169.254.10.1", "a link-local address (RFC 3927)"),
    refused("169.254.169.254", METADATA),
    refused("169.254.170.2", METADATA),
    refused("100.100.100.200", METADATA),
    refused("168.63.129.16", METADATA),
    refused("192.0.0.1", IETF_V4),
    refused("192.0.0.9", IETF_V4),
    refused("192.0.0.170", IETF_V4),
    refused("192.0.2.1", "a documentation address (RFC 5737)"),
    refused("198.51.100.7", "a documentation address (RFC 5737)"),
    refused("203.0.113.7", "a documentation address (RFC 5737)"),
    refused("192.88.99.1", "a 6to4 relay anycast address (RFC 7526)"),
    refused("192.88.99.2", "a 6to4 relay anycast address (RFC 7526)"),
    refused("198.18.0.1", "a benchmarking address (RFC 2544)"),
    refused("198.19.255.255", "a benchmarking address (RFC 2544)"),
    refused("224.0.0.1", "a multicast address (RFC 5771)"),
    refused("239.255.255.250", "a multicast address (RFC 5771)"),
    refused("240.0.0.1", "a reserved address (RFC 1112)"),
    refused("255.255.255.255", "the limited broadcast address (RFC 919)"),
    # -- IPv6: global unicast, and IPv4 spellings of public addresses --------
    accepted("2606:4700::1111"),
    accepted("2a00:1450:4001::1"),
    accepted("2001:200::1"),  # the first RIR block past 2001::/23
    accepted("2001:db7:ffff::1"),
    accepted("2003::1"),
    accepted("3fff:1000::1"),
    accepted("2620:4f:8000::1"),  # AS112, globally reachable
    accepted("::ffff:93.184.215.14"),
    accepted("64:ff9b::93.184.215.14"),
    # -- IPv6: where a lab's own receiver may be -----------------------------
    private("::1", "the loopback address (RFC 4291)"),
    private("fd00::1", "a unique-local address (RFC 4193)"),
    private("fc00::1", "a unique-local address (RFC 4193)"),
    private("::ffff:127.0.0.1", f"{MAPPED} 127.0.0.1, {LOOPBACK}"),
    private("::ffff:10.0.0.1", f"{MAPPED} 10.0.0.1, {RFC1918}"),
    private("64:ff9b::10.0.0.1", f"{NAT64} 10.0.0.1, {RFC1918}"),
    # -- IPv6: never ---------------------------------------------------------
    refused("::", "the unspecified address (RFC 4291)"),
    refused("::127.0.0.1", f"{COMPATIBLE} 127.0.0.1", reported=True),
    refused("::10.0.0.1", f"{COMPATIBLE} 10.0.0.1", reported=True),
    refused("::93.184.215.14", f"{COMPATIBLE} 93.184.215.14"),
    refused("::ffff:0:127.0.0.1", f"{TRANSLATED} 127.0.0.1", reported=True),
    refused("::ffff:0:93.184.215.14", f"{TRANSLATED} 93.184.215.14"),
    refused("::ffff:169.254.169.254", f"{MAPPED} 169.254.169.254, {METADATA}"),
    refused("::ffff:192.0.2.1", f"{MAPPED} 192.0.2.1, a documentation address"),
    refused("::ffff:0.0.0.0", f"{MAPPED} 0.0.0.0, the unspecified address"),
    refused("64:ff9b::169.254.169.254", f"{NAT64} 169.254.169.254, {METADATA}"),
    refused("64:ff9b::224.0.0.1", f"{NAT64} 224.0.0.1, a multicast address"),
    refused("64:ff9b:1::a00:1", "a local-use NAT64 address (RFC 8215)"),
    refused("64:ff9b:1::5db8:d70e", "a local-use NAT64 address (RFC 8215)"),
    refused("100::1", "a discard-only address (RFC 6666)"),
    refused("100:0:0:1::1", "a dummy address (RFC 9780)"),
    refused("2001::1", TEREDO),
    # Teredo: server 65.54.227.120, client the last 32 bits inverted.
    refused("2001:0:4136:e378:8000:63bf:f5ff:fffe", f"{TEREDO} 10.0.0.1"),
    refused("2001:0:4136:e378:8000:63bf:a247:28f1", f"{TEREDO} 93.184.215.14"),
    refused("2001:1::1", IETF_V6),  # PCP anycast
    refused("2001:3::1", IETF_V6),  # AMT
    refused("2001:1ff:ffff::1", IETF_V6),
    refused("2001:2::1", "a benchmarking address (RFC 5180)"),
    refused("2001:10::1", "a deprecated ORCHID identifier (RFC 4843)"),
    refused("2001:20::1", "an ORCHIDv2 identifier (RFC 7343)"),
    refused("2001:db8::1", "a documentation address (RFC 3849)"),
    refused("2002:a00:1::", f"{SIX_TO_FOUR} 10.0.0.1"),
    refused("2002:7f00:1::1", f"{SIX_TO_FOUR} 127.0.0.1"),
    refused("2002:a9fe:a9fe::", f"{SIX_TO_FOUR} 169.254.169.254, {METADATA}"),
    refused("2002:5db8:d70e::1", f"{SIX_TO_FOUR} 93.184.215.14"),
    refused("3fff::1", "a documentation address (RFC 9637)", reported=True),
    refused("3fff:fff:ffff::1", "a documentation address (RFC 9637)"),
    refused("5f00::1", "an SRv6 segment identifier (RFC 9602)", reported=True),
    refused("fe80::1", "a link-local address (RFC 4291)"),
    refused("fec0::1", "a site-local address (deprecated by RFC 3879)", reported=True),
    refused("ff02::1", "a multicast address (RFC 4291)"),
    refused("fd00:ec2::254", METADATA),
    refused("200::1", OUTSIDE_2000_3),
    refused("1fff:ffff::1", OUTSIDE_2000_3),
    refused("4000::1", OUTSIDE_2000_3),
)

SETTINGS = {False: "default", True: "private-allowed"}


def cases(*, accepted: bool, reported_only: bool = False) -> list[Any]:
    """The table's rows with each setting of WEBHOOK_ALLOW_PRIVATE_ADDRESSES,
    as `(row, allow_private)` parameters: those accepted, or those refused."""
    return [
        pytest.param(row, allow_private, id=f"{row.address}-{name}")
        for row in TABLE
        if row.reported or not reported_only
        for allow_private, name in SETTINGS.items()
        if (row.refusal(allow_private) is None) == accepted
    ]
