"""The webhook target rules, address by address: every way to write an IPv4 address, IPv6
addresses that embed one, the special-purpose ranges, special names, and what a delivery
connects to."""

from __future__ import annotations

import ipaddress

import pytest

from csomatch.errors import InvalidInput
from csomatch.notifications.targets import (
    Refused,
    address_problem,
    check_literal,
    embedded_ipv4,
    name_problem,
    parse_ipv4,
    parse_target,
)

IP = ipaddress.ip_address


@pytest.mark.parametrize(
    ("written", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0", "0.0.0.0"),  # noqa: S104
        ("0x", "0.0.0.0"),  # noqa: S104
        ("127.0.0.1.", "127.0.0.1"),
        ("2852039166", "169.254.169.254"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("10.0.258", "10.0.1.2"),
    ],
)
def test_every_numeric_form_of_an_ipv4_address(written: str, address: str) -> None:
    assert parse_ipv4(written) == IP(address)


@pytest.mark.parametrize("name", ["hooks.example.org", "0x7f.example", "1.2.3.4.example"])
def test_names_are_not_addresses(name: str) -> None:
    assert parse_ipv4(name) is None


@pytest.mark.parametrize(
    "bad", ["256.0.0.1", "1.2.3.4.5", "4294967296", "08.0.0.1", "1.2.3.09", "127.0.0.256"]
)
def test_a_number_that_is_no_address_is_invalid(bad: str) -> None:
    with pytest.raises(ValueError, match=bad.replace(".", r"\.")):
        parse_ipv4(bad)


@pytest.mark.parametrize(
    ("ipv6", "ipv4", "how"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1", "IPv4-mapped"),
        ("::7f00:1", "127.0.0.1", "IPv4-compatible"),
        ("64:ff9b::7f00:1", "127.0.0.1", "NAT64"),
        ("64:ff9b:1:7f00:0:100::", "127.0.0.1", "local-use NAT64"),
        ("2002:7f00:1::", "127.0.0.1", "6to4"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1", "Teredo"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254", "NAT64"),
    ],
)
def test_ipv6_addresses_that_embed_ipv4(ipv6: str, ipv4: str, how: str) -> None:
    v6 = IP(ipv6)
    assert isinstance(v6, ipaddress.IPv6Address)
    assert embedded_ipv4(v6) == (IP(ipv4), how)
    assert f"reaches {ipv4} ({how})" in (address_problem(v6) or "")


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("198.18.0.1", "benchmarking"),
        ("192.0.2.1", "documentation"),
        ("198.51.100.1", "documentation"),
        ("203.0.113.1", "documentation"),
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "unique-local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "documentation"),
        ("100::1", "discard-only"),
    ],
)
def test_addresses_off_the_public_internet_are_named(address: str, problem: str) -> None:
    assert problem in (address_problem(IP(address)) or "")


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "93.184.215.14", "2001:4860:4860::8888", "64:ff9b::808:808", "2002:808:808::1"],
)
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(IP(address)) is None


@pytest.mark.parametrize(
    "name",
    [
        "localhost",
        "x.localhost",
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data.ec2.internal",
        "printer.local",
        "nas.home.arpa",
        "1.0.0.127.in-addr.arpa",
        "intranet",
    ],
)
def test_special_names_are_refused(name: str) -> None:
    assert name_problem(name) is not None
    with pytest.raises(Refused):
        check_literal(parse_target(f"https://{name}/x"))


def test_a_target_keeps_the_name_for_the_host_and_the_address_for_the_connection() -> None:
    target = parse_target("https://Hooks.Example.org:8443/in?a=1&b=%20")
    assert (target.host, target.port, target.path) == ("hooks.example.org", 8443, "/in?a=1&b=%20")
    assert target.host_header() == "hooks.example.org:8443"
    assert target.url_at(IP("93.184.215.14")) == "https://93.184.215.14:8443/in?a=1&b=%20"
    assert target.url_at(IP("2001:db8::5")) == "https://[2001:db8::5]:8443/in?a=1&b=%20"
    assert target.extensions() == {"sni_hostname": "hooks.example.org"}
    assert parse_target("https://bücher.example/x").host == "xn--bcher-kva.example"
    literal = parse_target("http://2130706433/x")
    assert (literal.address, literal.host_header(), literal.extensions()) == (
        IP("127.0.0.1"),
        "127.0.0.1",
        {},
    )


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.org/x",
        "https:///x",
        "https://user:pw@hooks.example.org/x",
        "https://a b.example.org/x",
        "https://" + "a" * 64 + ".example.org/x",
        "https://1.2.3.4.5/x",
    ],
)
def test_malformed_urls_are_invalid_naming_the_field(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_target(url, allow_http=False)
    assert caught.value.field == "$.url"
