"""The SSRF rules: which URLs webhooks may go to, before and after DNS."""

import ipaddress
import socket

import pytest

from core.utils.webhooks.addresses import (
    UnsafeWebhookURL,
    check_target,
    display_url,
    refusal,
    split_url,
)


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


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8000/hooks", "127.0.0.1, a private"),
        ("http://10.0.0.5/hooks", "10.0.0.5, a private"),
        ("http://172.16.3.4/hooks", "172.16.3.4, a private"),
        ("http://192.168.1.20/hooks", "192.168.1.20, a private"),
        ("http://100.64.0.1/hooks", "100.64.0.1, a private"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a cloud"),
        ("http://169.254.10.1/", "169.254.10.1, a private"),
        ("http://[::1]:8000/hooks", "::1, a private"),
        ("http://[fd00::1]/hooks", "fd00::1, a private"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1, which stands for 127.0.0.1"),
        ("http://[64:ff9b::a00:1]/", "which stands for 10.0.0.1"),
        ("http://[2002:a00:1::]/", "which stands for 10.0.0.1"),
        ("http://localhost:8000/hooks", "localhost, which resolves to 127.0.0.1"),
        ("http://2130706433/hooks", "2130706433, which resolves to 127.0.0.1"),
        ("http://0x7f.1/hooks", "resolves to 127.0.0.1"),
    ],
)
def test_internal_addresses_are_refused_by_default(url, shown):
    with pytest.raises(UnsafeWebhookURL, match="use a public address") as refused:
        check_target(url, allow_private=False)

    assert shown in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks",
        "http://localhost:8000/hooks",
        "http://10.0.0.5/hooks",
        "http://[::1]/hooks",
    ],
)
def test_the_setting_allows_receivers_on_private_networks(url):
    target = check_target(url, allow_private=True)

    assert target.addresses


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0:8000/",
        "http://224.0.0.1/",
    ],
)
def test_metadata_and_non_host_addresses_are_refused_even_when_allowed(url):
    with pytest.raises(UnsafeWebhookURL):
        check_target(url, allow_private=True)


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


def test_refusal_of_a_public_address_is_none():
    assert refusal(ipaddress.ip_address("1.1.1.1"), allow_private=False) is None


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
