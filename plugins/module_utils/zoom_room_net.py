"""Address, CIDR and port parsing shared by the modules, filters and the Windows normaliser.

Pure functions over plain values: no host access, so every rule here is unit-tested.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Iterable, Sequence, Union

# Union, not `|`: module_utils also run on a Mac's /usr/bin/python3 (3.9).
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]  # noqa: UP007
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]  # noqa: UP007


class InvalidValue(ValueError):
    """A parameter or inventory value that does not parse; the message names it."""


def parse_cidr(value: object, name: str) -> Network:
    """One CIDR; a bare address is taken as a /32 (or /128). Host bits must be zero."""
    text = str(value).strip() if value is not None else ""
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as error:
        reason = "has host bits set" if "host bits" in str(error) else "is not a CIDR"
        raise InvalidValue(f"{name}: '{value}' {reason}") from None


def parse_cidrs(values: object, name: str, *, required: bool = True) -> list[Network]:
    """A list of CIDRs, or text of them separated by commas or white space; errors name the element
    (`controller_subnets[1]`).

    Text inside a list is split too: a module's `type: list` option splits a string on commas only, so
    "10.1.0.0/24 10.2.0.0/24" reaches a module as one element, and the inventory check (which reads the
    variable itself) and the module must read it alike."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise InvalidValue(f"{name}: expected a list of CIDRs, got {type(values).__name__}")
    values = [part for value in values
              for part in (re.split(r"[,\s]+", value) if isinstance(value, str) else [value]) if part != ""]
    if required and not values:
        raise InvalidValue(f"{name}: at least one CIDR is required")
    return [parse_cidr(v, f"{name}[{i}]") for i, v in enumerate(values)]


def refuse_any_address(subnets: Sequence[Network], name: str) -> None:
    """Subnets that together hold every IPv4 or every IPv6 address (`0.0.0.0/1` + `128.0.0.0/1`) mean "any"."""
    for version in (4, 6):
        same = [subnet for subnet in subnets if subnet.version == version]
        if any(net.prefixlen == 0 for net in ipaddress.collapse_addresses(same)):
            listed = ", ".join(str(subnet) for subnet in same)
            raise InvalidValue(f"{name}: {listed} together admit any IPv{version} address; give the controller "
                               "subnets")


def parse_port(value: object, name: str) -> int:
    try:
        port = int(str(value))
    except ValueError:
        raise InvalidValue(f"{name}: '{value}' is not a port number") from None
    if not 1 <= port <= 65535:
        raise InvalidValue(f"{name}: {port} is out of range 1-65535")
    return port


def address_in_any(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in networks)


# Host names that mean loopback on every platform we read (the glibc and macOS /etc/hosts defaults).
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def as_address(value: object) -> IPAddress | None:
    """An IP literal as hosts, URLs and tools write it (padded, `[::1]`, `fe80::1%en0`); None otherwise."""
    if value is None:
        return None
    text = str(value).strip().strip("[]").split("%", maxsplit=1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_loopback(address: object) -> bool:
    """The one loopback rule: 127.0.0.0/8, ::1, or a name for them (`localhost`). A room that reports one
    to Zoom has a proxy swallowing local traffic; a URL on one is a test double."""
    if address is not None and str(address).strip().strip("[]").lower() in LOOPBACK_NAMES:
        return True
    ip = as_address(address)
    return ip is not None and ip.is_loopback


def is_local_scope(address: object) -> bool:
    """Loopback or IPv6 link-local: an interface address no controller connects to, left out of the facts."""
    ip = as_address(address)
    return is_loopback(address) or (ip is not None and ip.version == 6 and ip.is_link_local)


def parse_ip_addr(text: str) -> list[dict[str, Any]]:
    """`ip -j addr show`: the room's own global addresses (no loopback, no link-local)."""
    addresses = []
    for link in json.loads(text or "[]"):
        for info in link.get("addr_info", []):
            if info.get("scope") != "global":
                continue
            addresses.append({"interface": link.get("ifname"), "address": info["local"],
                              "prefix": info.get("prefixlen")})
    return addresses


def ip_network_of(entry: dict[str, Any]) -> Network:
    """The network of one parse_ip_addr entry (its address and prefix)."""
    return ipaddress.ip_interface(f"{entry['address']}/{entry['prefix']}").network
