"""Where a Moonraker URL may point: never at the server's own services or the cloud's.

A caller with a WRITE key chooses the URL the server connects to, so without this rule
the sync is a way into the server's loopback (Redis, MariaDB), the cloud metadata
endpoint (credentials) and the like. Farms live on private networks, so RFC 1918 and ULA
addresses stay allowed; what is refused is loopback, link-local (cloud metadata among
it), unspecified, multicast and broadcast, unless an operator allows a network with
GQL_MOONRAKER_ALLOWED_NETWORKS.

Pure functions, no I/O. `host_refusal` judges what a caller typed (a name, or an
address in any spelling a resolver accepts, such as ``2852039166`` or ``0x7f.1``);
`address_refusal` judges an address a name resolved to, at connect time.
"""

import ipaddress
import re
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ADDRESS_REFUSED = "ADDRESS_REFUSED"
ALLOW_SETTING = "GQL_MOONRAKER_ALLOWED_NETWORKS"

_METADATA = "a cloud metadata address"
_LOOPBACK = "a loopback address"
_UNSPECIFIED = "an unspecified address"

# First match wins, so the metadata addresses come before the ranges that hold them.
_REFUSED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(network), reason)
    for network, reason in (
        ("169.254.169.254/32", _METADATA),  # AWS, GCP, Azure, Oracle, OpenStack
        ("fd00:ec2::254/128", _METADATA),  # AWS over IPv6: inside the ULA range farms use
        ("100.100.100.200/32", _METADATA),  # Alibaba Cloud: inside the CGNAT range
        ("0.0.0.0/8", _UNSPECIFIED),  # Linux connects 0.0.0.0 to the host itself
        ("127.0.0.0/8", _LOOPBACK),
        ("169.254.0.0/16", "a link-local address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("::/128", _UNSPECIFIED),
        ("::1/128", _LOOPBACK),
        ("fe80::/10", "a link-local address"),
        ("ff00::/8", "a multicast address"),
    )
)

_LOCALHOST = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
_METADATA_IP = (ipaddress.ip_address("169.254.169.254"),)
# Names that stand for refused addresses whatever DNS says: they are judged as the
# addresses they stand for, so allowing 127.0.0.0/8 and ::1 allows "localhost" too.
_NAMES: dict[str, tuple[IPAddress, ...]] = {
    "localhost": _LOCALHOST,
    "metadata": _METADATA_IP,  # the GCP search domain turns it into the one below
    "metadata.google.internal": _METADATA_IP,
    "metadata.goog": _METADATA_IP,
    "instance-data": _METADATA_IP,
    "instance-data.ec2.internal": _METADATA_IP,
    "metadata.tencentyun.com": (ipaddress.ip_address("169.254.0.23"),),
}

# IPv6 prefixes whose last 32 bits are an IPv4 address the packet ends up at.
_LAST_32_BITS = tuple(
    ipaddress.ip_network(prefix)
    for prefix in (
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local-use prefix (read in the common /96 layout)
    )
)
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

_HEX = re.compile(r"0[xX][0-9a-fA-F]*")
_OCTAL = re.compile(r"0[0-7]*")
_DECIMAL = re.compile(r"[1-9][0-9]*")


def host_refusal(host: str, allowed: Iterable[IPNetwork] = ()) -> str | None:
    """Why a URL's host is refused ("a loopback address"...), or None when it may be used.

    Names other than the known ones pass here: what they resolve to is judged at
    connect time by `address_refusal`, since a DNS answer can change after this check.
    """
    name = host.strip().lower().removesuffix(".")
    address = parse_address(name)
    if address is not None:
        return address_refusal(address, allowed)
    stands_for = _NAMES.get(name) or (_LOCALHOST if name.endswith(".localhost") else ())
    for standin in stands_for:
        if (reason := address_refusal(standin, allowed)) is not None:
            return f"a name for {reason}"
    return None


def address_refusal(address: IPAddress, allowed: Iterable[IPNetwork] = ()) -> str | None:
    """Why connecting to `address` is refused, or None. An IPv6 address that carries an
    IPv4 one (mapped, compatible, 6to4, NAT64, Teredo) is judged as both."""
    networks = tuple(allowed)
    for candidate in (address, *embedded_ipv4(address)):
        reason = _category(candidate)
        if reason is not None and not any(candidate in network for network in networks):
            return reason
    return None


def parse_address(host: str) -> IPAddress | None:
    """The address a host string spells, in any form a resolver reads as a literal:
    IPv6 (brackets and zone allowed) or IPv4 the way inet_aton reads it (1 to 4 parts,
    each decimal, 0-prefixed octal or 0x-prefixed hex). None for a name."""
    text = host.strip().removeprefix("[").removesuffix("]")
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return None
    return _inet_aton(text.removesuffix("."))


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to; none for an IPv4 address."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    found = [ipv4 for ipv4 in (address.ipv4_mapped, address.sixtofour) if ipv4 is not None]
    if address.teredo is not None:
        found.append(address.teredo[1])
    compatible = address in _IPV4_COMPATIBLE and int(address) > 1  # not :: or ::1
    if compatible or any(address in prefix for prefix in _LAST_32_BITS):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _category(address: IPAddress) -> str | None:
    for network, reason in _REFUSED:
        if address in network:
            return reason
    return None


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_number(part) for part in parts]
    if None in numbers:
        return None
    *head, last = [n for n in numbers if n is not None]
    # The last part fills every byte the others leave: 127.1 is 127.0.0.1.
    if any(n > 0xFF for n in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = last
    for index, number in enumerate(head):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _number(part: str) -> int | None:
    if _HEX.fullmatch(part):
        return int(part[2:] or "0", 16)
    if _OCTAL.fullmatch(part):
        return int(part, 8)
    if _DECIMAL.fullmatch(part):
        return int(part)
    return None
