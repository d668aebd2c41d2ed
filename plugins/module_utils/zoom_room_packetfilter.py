"""Shared vocabulary of the Linux packet-filter evaluators (nftables, iptables).

A "question" is: would a new inbound TCP connection to `port` from any address of
`subnet` be accepted? Matches answer True, False or None (cannot tell: the rule looks
at something the evaluator does not model); verdicts combine by these rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import Network

ADMITTED, BLOCKED, UNKNOWN = "admitted", "blocked", "unknown"
MANAGED_COMMENT = "zoom-rooms controller tcp/{port}"


@dataclass(frozen=True)
class Question:
    subnet: Network
    port: int


@dataclass(frozen=True)
class Outcome:
    """The result of one chain or layer: accept, drop, unknown, or continue (fell off a regular chain)."""

    verdict: str
    decided_by: str


def all_true(answers: Iterable[bool | None]) -> bool | None:
    """AND over tri-state answers: False wins, then None, else True."""
    result: bool | None = True
    for answer in answers:
        if answer is False:
            return False
        if answer is None:
            result = None
    return result


def subnet_answer(subnet: Network, networks: list[Network], negate: bool = False) -> bool | None:
    """Does every address of `subnet` fall in one of `networks`? None when only some do."""
    same_family = [net for net in networks if net.version == subnet.version]
    if any(subnet.subnet_of(net) for net in same_family):
        answer: bool | None = True
    elif any(subnet.overlaps(net) for net in same_family):
        answer = None
    else:
        answer = False
    if negate and answer is not None:
        return not answer
    return answer


def port_answer(port: int, ports: list[tuple[int, int]], negate: bool = False) -> bool:
    hit = any(low <= port <= high for low, high in ports)
    return not hit if negate else hit


def layer_verdict(outcomes: list[Outcome]) -> tuple[str, str]:
    """A packet must pass every base chain of the hook: the first drop or unknown decides."""
    for outcome in outcomes:
        if outcome.verdict == "drop":
            return BLOCKED, outcome.decided_by
    for outcome in outcomes:
        if outcome.verdict == "unknown":
            return UNKNOWN, outcome.decided_by
    return ADMITTED, outcomes[-1].decided_by if outcomes else "no input chain"


def combine_layers(verdicts: list[dict]) -> dict:
    """Across layers (native nftables, iptables, ufw): blocked anywhere blocks; unknown next."""
    for wanted in (BLOCKED, UNKNOWN):
        for verdict in verdicts:
            if verdict["verdict"] == wanted:
                return verdict
    return verdicts[0] if verdicts else {"verdict": ADMITTED, "decided_by": "no firewall"}
