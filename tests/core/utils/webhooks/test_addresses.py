"""The SSRF rules: which URLs webhooks may go to, before and after DNS.

The addresses come from the one table in address_table.py; saving an
endpoint and delivering are tested with it in test_address_checks.py."""

import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.utils.webhooks.addresses import (
    UnsafeWebhookURL,
    check_addresses,
    check_target,
    display_url,
    refusal,
    split_url,
)
from core.utils.webhooks.special_addresses import (
    GLOBAL_UNICAST,
    IPV4_RANGES,
    IPV6_RANGES,
    METADATA_ADDRESSES,
    special_range,
)
from tests.core.utils.webhooks.address_table import TABLE, cases

pytestmark = pytest.mark.engine_independent


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://files.lab.example/in", "uses 'ftp'"),
        ("file:///etc/passwd", "uses 'file'"),
        ("gopher://127.0.0.1:6379/_INFO", "uses 'gopher'"),
        ("lab.example/hooks", "uses 'no scheme'"),
        ("https://his:hunter2@lab.example/hooks", "Remove the user name and password"),
        ("https://token@lab.example/hooks", "Remove the user name and password"),
        ("https:///hooks", "no host name"),
        ("https://lab.example:99999/hooks", "port is not a number"),
        ("https://lab.example/ hooks", "spaces or control characters"),
        ("https://lab.example/\nhooks", "spaces or control characters"),
        ("", "Enter the receiver's URL"),
        ("https://lab.example/" + "a" * 2000, "at most 2000"),
        ("http://[::1/hooks", "an IPv6 address goes in brackets"),
    ],
)
def test_urls_that_are_not_plain_http_are_refused(url, problem):
    with pytest.raises(UnsafeWebhookURL, match=problem) as refused:
        split_url(url)

    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(("row", "allow_private"), cases(accepted=False))
def test_each_refused_address_is_refused_with_its_reason(row, allow_private):
    reason = refusal(row.ip, allow_private=allow_private)

    assert reason is not None
    assert reason.startswith(f"{row.ip}, ")
    assert row.refusal(allow_private) in reason


@pytest.mark.parametrize(("row", "allow_private"), cases(accepted=True))
def test_each_accepted_address_is_accepted(row, allow_private):
    assert refusal(row.ip, allow_private=allow_private) is None


@pytest.mark.parametrize(("row", "allow_private"), cases(accepted=False))
def test_a_host_with_one_refused_address_among_public_ones_is_refused(
    row, allow_private
):
    # given a name that resolves to a public address and a refused one, as a
    # DNS record an attacker controls could
    addresses = [ipaddress.ip_address("93.184.215.14"), row.ip]

    with pytest.raises(UnsafeWebhookURL) as refused:
        check_addresses("hooks.lab.example", addresses, allow_private=allow_private)

    message = str(refused.value)
    assert f"hooks.lab.example, which resolves to {row.ip}, " in message
    assert row.refusal(allow_private) in message


@pytest.mark.parametrize(("row", "allow_private"), cases(accepted=True))
def test_a_host_resolving_only_to_accepted_addresses_is_accepted(row, allow_private):
    addresses = [ipaddress.ip_address("93.184.215.14"), row.ip]

    check_addresses("hooks.lab.example", addresses, allow_private=allow_private)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://localhost:8000/hooks", "localhost, which resolves to 127.0.0.1, a"),
        ("http://2130706433/hooks", "2130706433, which resolves to 127.0.0.1, a"),
        ("http://0x7f.1/hooks", "0x7f.1, which resolves to 127.0.0.1, a"),
    ],
)
def test_names_are_resolved_and_their_addresses_checked(url, shown):
    with pytest.raises(UnsafeWebhookURL, match="use a public address") as refused:
        check_target(url, allow_private=False)

    assert f"{shown} loopback address (RFC 1122)" in str(refused.value)


def test_a_name_resolving_to_a_private_address_is_accepted_when_allowed():
    target = check_target("http://localhost:8000/hooks", allow_private=True)

    assert target.addresses == ("127.0.0.1",)


@pytest.mark.parametrize(
    "special",
    IPV4_RANGES + IPV6_RANGES,
    ids=lambda special: str(special.network),
)
def test_every_special_range_has_a_row_in_the_table(special):
    assert any(special_range(row.ip) == special for row in TABLE)


@pytest.mark.parametrize("address", sorted(METADATA_ADDRESSES, key=str), ids=str)
def test_every_metadata_address_has_a_row_in_the_table(address):
    assert any(row.ip == address for row in TABLE)


@given(st.ip_addresses())
def test_whatever_is_accepted_is_global_for_python_too(address):
    # Python's ipaddress reads the same IANA registries; it calls more
    # addresses global than these rules accept (::127.0.0.1, 3fff::1), but
    # an address it calls non-global and the rules accept would be a gap.
    if refusal(address, allow_private=False) is None:
        assert address.is_global
        if address.version == 6 and address not in GLOBAL_UNICAST:
            # outside 2000::/3, only an IPv4 address's other spelling passes
            special = special_range(address)
            assert special is not None and special.is_ipv4


def test_a_public_address_is_accepted_with_its_path_and_query():
    target = check_target(
        "HTTPS://93.184.215.14/lis/hooks?source=core#frag", allow_private=False
    )

    assert (target.scheme, target.host, target.port) == ("https", "93.184.215.14", 443)
    assert target.path == "/lis/hooks?source=core"
    assert target.addresses == ("93.184.215.14",)


def test_a_non_ascii_path_is_percent_encoded_and_escapes_are_kept():
    target = check_target(
        "http://127.0.0.1:9/hooks/labör%20x?name=sö", allow_private=True
    )

    assert target.path == "/hooks/lab%C3%B6r%20x?name=s%C3%B6"


def test_a_public_ipv6_address_and_a_default_path():
    target = check_target("http://[2606:4700::1111]:8080", allow_private=False)

    assert (target.port, target.path, target.addresses) == (
        8080,
        "/",
        ("2606:4700::1111",),
    )


def test_a_host_that_does_not_resolve_raises_the_resolver_error():
    with pytest.raises(socket.gaierror):
        check_target("https://no-such-receiver.invalid/hooks", allow_private=False)


def test_an_invalid_international_name_is_refused():
    with pytest.raises(UnsafeWebhookURL, match="internationalised domain name"):
        check_target("https://a..b/hooks", allow_private=False)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example/T0/B1/secret-token?x=1", "https://hooks.example/…"),
        ("http://127.0.0.1:8000/hooks", "http://127.0.0.1:8000/…"),
        ("http://[::1]:8000/hooks", "http://[::1]:8000/…"),
        ("http://[::1/hooks", "(an invalid URL)"),
    ],
)
def test_the_displayed_url_leaves_out_path_and_query(url, shown):
    assert display_url(url) == shown
