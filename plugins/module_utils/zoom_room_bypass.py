"""Proxy bypass lists, judged by each platform's own matching rules; and the entries a plan writes.

Styles (docs/windows.md, docs/macos.md and docs/firewall.md cite the sources):

* `windows` - WinINet ProxyOverride and the WinHTTP bypass list. Entries are host patterns compared
  with the destination host as text: `*` stands for any run of characters anywhere in the pattern,
  case does not matter, `<local>` matches host names without a dot, `<-loopback>` withdraws the
  implicit loopback bypass. There is no CIDR and no mask form: `10.0.0.0/8` matches no host.
* `macos` - the network service's bypass domains (`networksetup -getproxybypassdomains`): host
  names, `*.domain` suffixes, addresses and CIDR ranges, also shortened as in the default `169.254/16`.
  An address wildcard such as `10.1.2.*` is not counted: no source says macOS reads it as a range.
* `posix` - `no_proxy` / `NO_PROXY`: addresses, CIDR ranges, domain suffixes and `*` for everything
  (what curl >= 7.86, Python requests and Go read alike); no address wildcards.

Pure functions; stdlib only (module_utils run on a Mac's Python 3.9 too).
"""

from __future__ import annotations

import ipaddress
import re
from functools import cache
from typing import FrozenSet, Iterable, List, Sequence, Tuple

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import Network

STYLES = ("windows", "macos", "posix")
LOOPBACK_NAME = "localhost"
LOOPBACK_V4 = ipaddress.ip_address("127.0.0.1")
WINDOWS_LOCAL = "<local>"  # WinINet/WinHTTP: every host name without a dot
WINDOWS_NO_LOOPBACK = "<-loopback>"  # WinINet (IE9 and later): do not bypass loopback implicitly
# Past this many octet-aligned wildcards a subnet gets the enclosing aligned block instead.
WILDCARD_LIMIT = 64


class _Glob:
    """A Windows bypass pattern as a tiny automaton: `*` is any run of characters, the rest literal."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern.strip().lower()

    def start(self) -> FrozenSet[int]:
        return self._closure({0})

    def _closure(self, states: Iterable[int]) -> FrozenSet[int]:
        done = set(states)
        for state in sorted(done):
            while state < len(self.pattern) and self.pattern[state] == "*":
                state += 1
                done.add(state)
        return frozenset(done)

    def step(self, states: FrozenSet[int], text: str) -> FrozenSet[int]:
        for char in text:
            moved = set()
            for state in states:
                if state < len(self.pattern) and self.pattern[state] == "*":
                    moved.add(state)
                elif state < len(self.pattern) and self.pattern[state] == char:
                    moved.add(state + 1)
            states = self._closure(moved)
            if not states:
                break
        return states

    def accepts(self, states: FrozenSet[int]) -> bool:
        return len(self.pattern) in states

    def accepts_any_rest(self, states: FrozenSet[int]) -> bool:
        """Only `*`s are left to match: whatever follows is accepted."""
        return any(set(self.pattern[state:]) <= {"*"} for state in states)

    def matches(self, host: str) -> bool:
        return self.accepts(self.step(self.start(), host.lower()))


def _octet_ranges(subnet: ipaddress.IPv4Network) -> List[Tuple[int, int]]:
    """Per octet, the values the subnet's addresses take (a CIDR is a fixed prefix then free octets)."""
    first, last = str(subnet.network_address).split("."), str(subnet.broadcast_address).split(".")
    return [(int(first[octet]), int(last[octet])) for octet in range(4)]


def _windows_patterns(bypass: Iterable[str]) -> List[_Glob]:
    return [_Glob(entry) for entry in bypass
            if entry.strip() and entry.strip().lower() not in (WINDOWS_LOCAL, WINDOWS_NO_LOOPBACK)]


def windows_covers_subnet(bypass: Sequence[str], subnet: Network) -> bool:
    """Does every address of `subnet`, written as WinINet/WinHTTP see it, match one of the patterns?

    Walks the dotted-decimal text octet by octet with every pattern's automaton state, so inner
    wildcards (`10.*.2.*`), partial ones (`10.1.2.1*`) and wildcards spanning dots (`10.*`) are judged
    exactly without listing the addresses. IPv6 hosts have several spellings: only `*` covers them.
    """
    globs = _windows_patterns(bypass)
    if subnet.version == 6:
        return any(glob.pattern.strip("*") == "" for glob in globs)
    ranges = _octet_ranges(subnet)  # type: ignore[arg-type]

    @cache
    def covered(octet: int, states: Tuple[FrozenSet[int], ...]) -> bool:
        if any(glob.accepts_any_rest(states[index]) for index, glob in enumerate(globs)):
            return True
        if octet == 4:
            return any(glob.accepts(states[index]) for index, glob in enumerate(globs))
        if not any(states):
            return False
        low, high = ranges[octet]
        suffix = "." if octet < 3 else ""
        return all(covered(octet + 1, tuple(glob.step(states[index], f"{value}{suffix}")
                                            for index, glob in enumerate(globs)))
                   for value in range(low, high + 1))

    return covered(0, tuple(glob.start() for glob in globs))


def windows_matches_host(bypass: Sequence[str], host: str) -> bool:
    """WinINet/WinHTTP: is `host` bypassed? `<local>` takes names without a dot."""
    if "." not in host and ":" not in host and any(e.strip().lower() == WINDOWS_LOCAL for e in bypass):
        return True
    return any(glob.matches(host) for glob in _windows_patterns(bypass))


def _short_cidr(entry: str) -> Network | None:
    """`169.254/16` (macOS default list): the missing octets are 0."""
    match = re.fullmatch(r"(\d{1,3}(?:\.\d{1,3}){0,3})/(\d{1,2})", entry)
    if not match:
        return None
    octets = match.group(1).split(".")
    try:
        return ipaddress.ip_network(".".join(octets + ["0"] * (4 - len(octets))) + "/" + match.group(2),
                                    strict=False)
    except ValueError:
        return None


def entry_network(entry: str, style: str) -> Network | None:
    """The address range a macOS or no_proxy entry covers; None for names (and for every Windows entry)."""
    entry = entry.strip()
    if style == "windows":
        return None
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return _short_cidr(entry) if style == "macos" else None


def bypass_covers_subnet(bypass: Sequence[str], subnet: Network, style: str) -> bool:
    """Would traffic to every address of `subnet` bypass the proxy on this platform?"""
    if style == "windows":
        return windows_covers_subnet(bypass, subnet)
    if style == "posix" and any(entry.strip() == "*" for entry in bypass):
        return True
    for entry in bypass:
        network = entry_network(entry, style)
        if network is not None and network.version == subnet.version and subnet.subnet_of(network):  # type: ignore[arg-type]
            return True
    return False


def bypass_covers_local(bypass: Sequence[str], style: str) -> bool:
    """Is loopback (`localhost` or 127.0.0.1) bypassed by an entry of the list on this platform?"""
    if style == "windows":
        return windows_matches_host(bypass, LOOPBACK_NAME) or windows_matches_host(bypass, str(LOOPBACK_V4))
    if any(entry.strip().lower() == LOOPBACK_NAME for entry in bypass):
        return True
    if style == "posix" and any(entry.strip() == "*" for entry in bypass):
        return True
    return any(network is not None and network.version == 4 and LOOPBACK_V4 in network
               for network in (entry_network(entry, style) for entry in bypass))


def windows_entries(subnet: Network, limit: int = WILDCARD_LIMIT) -> List[str]:
    """Patterns WinINet/WinHTTP honour for a subnet: `10.1.2.*` per octet-aligned block inside it.

    A subnet that is not octet-aligned is split into the aligned blocks it spans (a /23 gives two
    `a.b.c.*`); a block smaller than /24 is widened to its /24, and past `limit` blocks the enclosing
    aligned block is used: both bypass a little more than the subnet, never less.
    """
    if subnet.version != 4:
        return [str(subnet.network_address)] if subnet.prefixlen == 128 else ["*"]
    if subnet.prefixlen == 32:
        return [str(subnet.network_address)]
    aligned = min(((subnet.prefixlen + 7) // 8) * 8, 24)
    if aligned <= subnet.prefixlen:
        blocks = [subnet.supernet(new_prefix=aligned)]
    else:
        blocks = list(subnet.subnets(new_prefix=aligned))
    if len(blocks) > limit:
        blocks = [subnet.supernet(new_prefix=(subnet.prefixlen // 8) * 8)]
    return [_as_wildcard(block) for block in blocks]


def _as_wildcard(block: Network) -> str:
    octets = str(block.network_address).split(".")[: block.prefixlen // 8]
    return ".".join(octets) + ".*" if octets else "*"


def subnet_entries(subnet: Network, style: str) -> List[str]:
    """What a plan writes for a controller subnet: a form the platform honours."""
    if style == "windows":
        return windows_entries(subnet)
    return [str(subnet)]


def merge_bypass(current: Sequence[str], required: Sequence[str]) -> List[str]:
    """Current entries in their order, then each required entry not already present."""
    seen = {entry.strip().lower() for entry in current}
    merged = [entry for entry in current if entry.strip()]
    for entry in required:
        if entry.strip().lower() not in seen:
            merged.append(entry)
            seen.add(entry.strip().lower())
    return merged
