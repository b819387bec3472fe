"""The address rule for Moonraker URLs: refused and allowed hosts, every spelling of them."""

import ipaddress

import pytest

from gql_server.moonraker.address_rule import address_refusal, host_refusal, parse_address
from tests.factories import LOOPBACK

LOOPBACK_V6 = (ipaddress.ip_network("::1/128"),)
METADATA = "a cloud metadata address"
LOOPBACK_REASON = "a loopback address"
LINK_LOCAL = "a link-local address"
MULTICAST = "a multicast address"
UNSPECIFIED = "an unspecified address"

REFUSED_BY_DEFAULT: dict[str, str] = {
    # IPv4
    "127.0.0.1": LOOPBACK_REASON,
    "127.255.255.254": LOOPBACK_REASON,
    "0.0.0.0": UNSPECIFIED,
    "0.1.2.3": UNSPECIFIED,
    "169.254.169.254": METADATA,
    "100.100.100.200": METADATA,
    "169.254.1.1": LINK_LOCAL,
    "224.0.0.1": MULTICAST,
    "239.255.255.250": MULTICAST,
    "255.255.255.255": "the broadcast address",
    "127.0.0.1.": LOOPBACK_REASON,  # a trailing dot is still the address
    # IPv6
    "::1": LOOPBACK_REASON,
    "[::1]": LOOPBACK_REASON,
    "0:0:0:0:0:0:0:1": LOOPBACK_REASON,
    "::": UNSPECIFIED,
    "fe80::1": LINK_LOCAL,
    "fe80::1%eth0": LINK_LOCAL,
    "ff02::1": MULTICAST,
    "fd00:ec2::254": METADATA,
    # IPv6 carrying an IPv4 address
    "::ffff:169.254.169.254": METADATA,
    "[::ffff:169.254.169.254]": METADATA,
    "::ffff:a9fe:a9fe": METADATA,
    "::FFFF:127.0.0.1": LOOPBACK_REASON,
    "::ffff:0:127.0.0.1": LOOPBACK_REASON,  # IPv4-translated
    "::127.0.0.1": LOOPBACK_REASON,  # IPv4-compatible
    "2002:7f00:1::": LOOPBACK_REASON,  # 6to4
    "2002:a9fe:a9fe::1": METADATA,
    "64:ff9b::169.254.169.254": METADATA,  # NAT64
    "64:ff9b:1::7f00:1": LOOPBACK_REASON,
    "2001:0:4136:e378:8000:63bf:80ff:fffe": LOOPBACK_REASON,  # Teredo, client 127.0.0.1
    # numeric IPv4 forms a resolver reads as addresses
    "2852039166": METADATA,
    "0xa9fea9fe": METADATA,
    "0xA9FEA9FE": METADATA,
    "0251.0376.0251.0376": METADATA,
    "169.254.43518": METADATA,
    "0x7f.1": LOOPBACK_REASON,
    "0X7F.1": LOOPBACK_REASON,
    "0177.0.0.1": LOOPBACK_REASON,
    "0177.1": LOOPBACK_REASON,
    "127.1": LOOPBACK_REASON,
    "127.0.1": LOOPBACK_REASON,
    "2130706433": LOOPBACK_REASON,
    "017700000001": LOOPBACK_REASON,
    "0x7f.0x0.0.01": LOOPBACK_REASON,
    "0": UNSPECIFIED,
    "4294967295": "the broadcast address",
    # names that stand for refused addresses
    "localhost": f"a name for {LOOPBACK_REASON}",
    "LocalHost": f"a name for {LOOPBACK_REASON}",
    "localhost.": f"a name for {LOOPBACK_REASON}",
    "printer.localhost": f"a name for {LOOPBACK_REASON}",
    "metadata.google.internal": f"a name for {METADATA}",
    "METADATA.GOOGLE.INTERNAL.": f"a name for {METADATA}",
    "metadata": f"a name for {METADATA}",
    "metadata.goog": f"a name for {METADATA}",
    "instance-data": f"a name for {METADATA}",
    "instance-data.ec2.internal": f"a name for {METADATA}",
    "metadata.tencentyun.com": f"a name for {LINK_LOCAL}",
}

ALLOWED_BY_DEFAULT = [
    "10.0.0.5",
    "172.16.3.4",
    "192.168.1.20",
    "192.168.1.255",  # a subnet's broadcast cannot be told from a host without the mask
    "100.64.0.1",
    "8.8.8.8",
    "010.0.0.1",  # octal: 8.0.0.1
    "10.1.2",  # 10.1.0.2
    "fd12:3456::1",
    "fd00:ec2::253",
    "2001:db8::1",
    "::ffff:192.168.1.20",
    "2002:c0a8:114::",  # 6to4 of 192.168.1.20
    "voron.local",
    "printer.lan",
    "localhost.example.com",
    "metadata.example.com",
    "my-localhost",
    "256.1.1.1",  # no address: a name, which the connect-time check resolves
    "1.2.3.4.5",
    "08.1.1.1",
]


@pytest.mark.parametrize(("host", "reason"), REFUSED_BY_DEFAULT.items())
def test_refused_hosts_say_why(host: str, reason: str) -> None:
    assert host_refusal(host) == reason


@pytest.mark.parametrize("host", ALLOWED_BY_DEFAULT)
def test_private_public_and_unknown_hosts_are_allowed(host: str) -> None:
    assert host_refusal(host) is None


ALLOWED_BY_SETTING = {
    "127.0.0.1": (LOOPBACK, None),
    "127.1": (LOOPBACK, None),
    "0x7f.1": (LOOPBACK, None),
    "::ffff:127.0.0.1": (LOOPBACK, None),
    "2002:7f00:1::": (LOOPBACK, None),
    "::1": (LOOPBACK, LOOPBACK_REASON),
    "169.254.169.254": (LOOPBACK, METADATA),
    "localhost": (LOOPBACK, f"a name for {LOOPBACK_REASON}"),  # ::1 is not allowed
    "localhost.": (LOOPBACK + LOOPBACK_V6, None),
    "metadata.google.internal": (LOOPBACK + LOOPBACK_V6, f"a name for {METADATA}"),
    "169.254.10.10": ((ipaddress.ip_network("169.254.10.0/24"),), None),
}


@pytest.mark.parametrize(("host", "case"), ALLOWED_BY_SETTING.items())
def test_allowed_networks_lift_the_refusal_for_their_addresses_only(
    host: str, case: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...], str | None]
) -> None:
    allowed, reason = case
    assert host_refusal(host, allowed) == reason


NORMALIZED = {
    "2852039166": "169.254.169.254",
    "0x7f.1": "127.0.0.1",
    "0177.0.0.1": "127.0.0.1",
    "127.1": "127.0.0.1",
    "10.1.2": "10.1.0.2",
    "0xc0.0250.1.20": "192.168.1.20",
    "[::FFFF:169.254.169.254]": "::ffff:a9fe:a9fe",
    "fe80::1%25eth0": "fe80::1",
    "256.1.1.1": None,
    "1.2.256": "1.2.1.0",  # the last part fills the bytes left: 256 over two bytes
    "1.256.1": None,
    "1.2.65536": None,
    "4294967296": None,
    "08.1.1.1": None,
    "1.2.3.4.5": None,
    "1..2.3": None,
    "": None,
    "printer.local": None,
    "::ffff:nope": None,
}


@pytest.mark.parametrize(("host", "address"), NORMALIZED.items())
def test_every_numeric_spelling_is_read_as_its_address(host: str, address: str | None) -> None:
    parsed = parse_address(host)
    assert (None if parsed is None else str(parsed)) == address


RESOLVED = {
    "127.0.0.53": LOOPBACK_REASON,
    "169.254.169.254": METADATA,
    "::ffff:127.0.0.1": LOOPBACK_REASON,
    "fe80::1ff:fe23:4567:890a": LINK_LOCAL,
    "192.168.1.20": None,
    "fd12::20": None,
}


@pytest.mark.parametrize(("address", "reason"), RESOLVED.items())
def test_resolved_addresses_are_judged_by_the_same_rule(address: str, reason: str | None) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == reason
