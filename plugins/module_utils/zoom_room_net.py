"""Address, CIDR and proxy-bypass logic shared by the modules, filters and the Windows normaliser.

Pure functions over plain values: no host access, so every rule here is unit-tested.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Iterable, Sequence, Union

# Union, not `|`: module_utils also run on a Mac's /usr/bin/python3 (3.9).
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]  # noqa: UP007

# Bypass entries that mean "local traffic" on some platform: WinINet's <local>, the
# loopback names every HTTP stack honours.
LOCAL_NAMES = frozenset({"<local>", "localhost"})
LOOPBACK_V4 = ipaddress.ip_address("127.0.0.1")


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
    """A list of CIDRs; errors name the element (`controller_subnets[1]`)."""
    if isinstance(values, str):
        values = [v for v in re.split(r"[,\s]+", values) if v]
    if not isinstance(values, (list, tuple)):
        raise InvalidValue(f"{name}: expected a list of CIDRs, got {type(values).__name__}")
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


def _wildcard_network(entry: str) -> Network | None:
    """`10.1.*` / `10.1.2.*` / `169.254/16` style entries as a network, else None."""
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){0,3}/\d{1,2}", entry):  # macOS `169.254/16`
        octets, prefix = entry.split("/")
        parts = octets.split(".")
        try:
            return ipaddress.ip_network(".".join(parts + ["0"] * (4 - len(parts))) + "/" + prefix, strict=False)
        except ValueError:
            return None
    match = re.fullmatch(r"((?:\d{1,3}\.){1,3})\*", entry)
    if not match:
        return None
    parts = match.group(1).rstrip(".").split(".")
    try:
        return ipaddress.ip_network(".".join(parts + ["0"] * (4 - len(parts))) + f"/{8 * len(parts)}")
    except ValueError:
        return None


def bypass_entry_network(entry: str) -> Network | None:
    """The address range a bypass entry covers, or None for host/domain names."""
    entry = entry.strip()
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return _wildcard_network(entry)


def bypass_covers_subnet(bypass: Iterable[str], subnet: Network) -> bool:
    for entry in bypass:
        network = bypass_entry_network(entry)
        if network is not None and network.version == subnet.version and subnet.subnet_of(network):
            return True
    return False


def bypass_covers_local(bypass: Iterable[str]) -> bool:
    """True when loopback traffic bypasses the proxy (a name like `localhost` or a range with 127.0.0.1)."""
    for entry in bypass:
        if entry.strip().lower() in LOCAL_NAMES:
            return True
        network = bypass_entry_network(entry)
        if network is not None and LOOPBACK_V4 in network:
            return True
    return False


def wildcard_entries(subnet: Network, limit: int = 64) -> list[str]:
    """WinINet-style entries (`10.1.2.*`) covering an IPv4 subnet: WinINet has no CIDR syntax.

    A subnet that is not octet-aligned is split into the aligned blocks inside it (up to
    `limit`); past that the enclosing aligned block is used, which bypasses a little more.
    """
    if subnet.version != 4:
        return [str(subnet.network_address)] if subnet.prefixlen == 128 else [str(subnet)]
    if subnet.prefixlen == 32:
        return [str(subnet.network_address)]
    aligned = ((subnet.prefixlen + 7) // 8) * 8
    if aligned > 24:
        aligned = 24
    blocks = list(subnet.subnets(new_prefix=aligned)) if aligned > subnet.prefixlen else [subnet]
    if len(blocks) > limit:
        blocks = [subnet.supernet(new_prefix=(subnet.prefixlen // 8) * 8)]
    return [_as_wildcard(block) for block in blocks]


def _as_wildcard(block: Network) -> str:
    octets = str(block.network_address).split(".")[: block.prefixlen // 8]
    return ".".join(octets) + ".*" if octets else "*"


def merge_bypass(current: Sequence[str], required: Sequence[str]) -> list[str]:
    """Current entries in their order, then each required entry not already present."""
    seen = {entry.strip().lower() for entry in current}
    merged = [entry for entry in current if entry.strip()]
    for entry in required:
        if entry.strip().lower() not in seen:
            merged.append(entry)
            seen.add(entry.strip().lower())
    return merged


def address_in_any(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in networks)


def is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(str(address)).is_loopback
    except ValueError:
        return False
