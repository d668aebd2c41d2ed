"""firewalld layer: parse firewall-cmd output, evaluate TCP to the controller port, plan, apply.

Read through `firewall-cmd` only (firewalld's own nftables or iptables rules are its business):
`--get-default-zone`, `--get-active-zones`, `--list-all-zones` (runtime; `--permanent` for the
boot-time configuration) and `--info-service=NAME` for the services the zones name. Output
formats: firewalld's src/firewall/command.py (print_zone_policy_info, print_service_info) and
src/firewall-cmd (--get-active-zones); recorded examples with sources in tests/unit/fixtures/firewalld/.

How firewalld decides a new inbound TCP connection (firewalld.zone(5), firewalld.richlanguage(5),
src/firewall/core/nftables.py):
- Dispatch: a zone bound to a source address that covers the packet's source takes it; else the
  zone its input interface is bound to; else the default zone. We cannot know which interface the
  controllers' traffic arrives on, so every zone bound to an interface, and the default zone, is
  a candidate; when the candidates disagree the verdict is unknown.
- In a zone, sub-chains run in this order: rich rules with priority < 0, then priority 0 split
  by action (log, then deny = drop/reject, then allow = accept together with the zone's ports,
  services, protocols and source ports), then rich rules with priority > 0 (ascending), and
  last the zone target: ACCEPT admits, DROP, %%REJECT%% and "default" (reject) block.

Our admission is one rich rule per subnet, in every zone that handles the subnet and does not
already admit it: `rule family="ipv4" source address="SUBNET" port port="PORT" protocol="tcp" accept`.
Rich rules carry no comment, so a rule of exactly that form is taken to be ours.
Pure parsers, evaluator and planner; FirewalldBackend runs the commands.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, Callable

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import Network
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_packetfilter import (
    ADMITTED,
    BLOCKED,
    UNKNOWN,
    Outcome,
    Question,
    all_true,
    port_answer,
    subnet_answer,
)

Runner = Callable[..., tuple[int, str, str]]

# Tables firewalld's nftables backend creates; the nftables layer leaves them to this one.
FIREWALLD_TABLES = frozenset({"firewalld", "firewalld_policy_drop"})
# A chain firewalld's iptables backend creates (FirewallBackend=iptables).
FIREWALLD_IPTABLES_CHAIN = "INPUT_ZONES"

# `--list-all` labels -> zone keys; words: space-separated values; lines: one value per line.
ZONE_LABELS = {
    "target": "target", "ingress-priority": "ingress_priority", "egress-priority": "egress_priority",
    "icmp-block-inversion": "icmp_block_inversion", "interfaces": "interfaces", "sources": "sources",
    "services": "services", "ports": "ports", "protocols": "protocols", "forward": "forward",
    "masquerade": "masquerade", "forward-ports": "forward_ports", "source-ports": "source_ports",
    "icmp-blocks": "icmp_blocks", "rich rules": "rich_rules", "summary": "summary", "description": "description",
}
WORD_KEYS = frozenset({"interfaces", "sources", "services", "ports", "protocols", "forward_ports", "source_ports",
                       "icmp_blocks"})
LINE_KEYS = frozenset({"rich_rules"})
LABEL = re.compile(r"^\s*(?P<label>[a-z][a-z -]*?):(?:\s(?P<value>.*))?$")
HEADER = re.compile(r"^(?P<name>\S+)(?:\s+\((?P<attrs>[^)]*)\))?\s*$")

RICH_ELEMENTS = ("service", "port", "protocol", "icmp-block", "icmp-type", "masquerade", "forward-port",
                 "source-port", "tcp-mss-clamp")
RICH_ACTIONS = ("accept", "reject", "drop", "mark")
RICH_WORDS = frozenset({"rule", "source", "destination", "log", "nflog", "audit", "limit", *RICH_ELEMENTS,
                        *RICH_ACTIONS})
# Order of the sub-chains at one priority: log, deny (drop/reject), allow (accept).
DENY, ALLOW = 1, 2
UNPARSED_KEY = (-(2 ** 31), 0)  # a rule we cannot read could sit anywhere: take it first
TARGET_VERDICTS = {"ACCEPT": "accept", "DROP": "drop", "%%REJECT%%": "drop", "REJECT": "drop", "default": "drop"}
MAX_INCLUDE_DEPTH = 8


# ---------------------------------------------------------------- parsing

def _empty_zone(name: str, attrs: str = "") -> dict[str, Any]:
    zone: dict[str, Any] = {"name": name, "default": "default" in attrs, "active": "active" in attrs,
                            "target": "default"}
    for key in (*WORD_KEYS, *LINE_KEYS):
        zone[key] = []
    return zone


def _zone_from_lines(lines: list[str]) -> dict[str, Any]:
    header = HEADER.match(lines[0].strip())
    if header is None:
        raise ValueError(f"firewall-cmd --list-all: unexpected zone header {lines[0]!r}")
    zone = _empty_zone(header.group("name"), header.group("attrs") or "")
    current = None
    for line in lines[1:]:
        label = LABEL.match(line)
        if label and label.group("label") in ZONE_LABELS:
            current = ZONE_LABELS[label.group("label")]
            value = (label.group("value") or "").strip()
            if current in WORD_KEYS:
                zone[current] = value.split()
            elif current in LINE_KEYS:
                zone[current] = [value] if value else []
            else:
                zone[current] = value
        elif line.strip() and current in LINE_KEYS:
            zone[current].append(line.strip())  # rich rules follow on tab-indented lines
        elif line.strip() and current in WORD_KEYS:
            zone[current].extend(line.split())  # forward-ports do too (firewalld >= 0.9)
    return zone


def _zone_blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
    return blocks


def parse_list_all(text: str) -> dict[str, Any]:
    """`firewall-cmd --zone=Z --list-all`: one zone as a dict (name, target, interfaces, sources,
    services, ports, protocols, source_ports, forward_ports, rich_rules, ...)."""
    blocks = _zone_blocks(text)
    if not blocks:
        raise ValueError("firewall-cmd --list-all printed no zone")
    return _zone_from_lines(blocks[0])


def parse_all_zones(text: str) -> dict[str, dict[str, Any]]:
    """`firewall-cmd --list-all-zones` (runtime or --permanent): every zone by name."""
    zones = {}
    for block in _zone_blocks(text):
        zone = _zone_from_lines(block)
        zones[zone["name"]] = zone
    return zones


def parse_active_zones(text: str) -> dict[str, dict[str, list[str]]]:
    """`firewall-cmd --get-active-zones`: {zone: {"interfaces": [...], "sources": [...]}}.

    firewalld 2.x marks the default zone as `public (default)`; the mark is dropped.
    """
    zones: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in text.splitlines():
        binding = re.match(r"^\s*(interfaces|sources):(.*)$", line)
        if binding and current is not None:
            current[binding.group(1)] = binding.group(2).split()
        elif line.strip() and (header := HEADER.match(line.strip())):
            current = zones.setdefault(header.group("name"), {"interfaces": [], "sources": []})
    return zones


def parse_service_info(text: str) -> dict[str, Any]:
    """`firewall-cmd --info-service=NAME`: ports, protocols, source ports, destination, includes."""
    info: dict[str, Any] = {"ports": [], "protocols": [], "source_ports": [], "destination": {}, "includes": []}
    keys = {"ports": "ports", "protocols": "protocols", "source-ports": "source_ports", "includes": "includes"}
    for line in text.splitlines():
        label = LABEL.match(line)
        if not label or not line[:1].isspace():
            continue
        name, value = label.group("label"), (label.group("value") or "").strip()
        if name in keys:
            info[keys[name]] = value.split()
        elif name == "destination":
            info["destination"] = dict(item.split(":", 1) for item in value.split() if ":" in item)
    return info


def parse_port_spec(spec: str) -> tuple[int, int, str] | None:
    """`9090/tcp`, `8000-8010/udp`; an empty port (`/tcp`, service files) means every port."""
    match = re.fullmatch(r"(?:(\d+)(?:-(\d+))?)?/([a-z]+)", spec)
    if not match:
        return None
    if match.group(1) is None:
        return 1, 65535, match.group(3)
    low = int(match.group(1))
    return low, int(match.group(2) or low), match.group(3)


@dataclass(frozen=True)
class RichRule:
    """A rich rule as firewalld prints it (Rich_Rule.__str__ in src/firewall/core/rich.py)."""

    text: str
    family: str = ""
    priority: int = 0
    source: dict[str, str] | None = None
    destination: dict[str, str] | None = None
    element: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    action: str = ""
    limited: bool = False


def parse_rich_rule(text: str) -> RichRule:
    """Raises ValueError for a rule this parser does not understand."""
    tokens = shlex.split(text)
    if not tokens or tokens[0] != "rule":
        raise ValueError(f"not a rich rule: {text!r}")
    parts: dict[str, dict[str, str]] = {"rule": {}}
    current = "rule"
    for token in tokens[1:]:
        if "=" in token:
            key, value = token.split("=", 1)
            parts[current][key] = value
        elif token in ("not", "NOT"):
            parts[current]["invert"] = "yes"
        elif token == "limit":
            parts[current]["limit"] = "yes"  # `limit value=...` qualifies the element before it
        elif token in RICH_WORDS:
            current = token
            parts[current] = {}
        else:
            raise ValueError(f"unknown word {token!r} in rich rule {text!r}")
    element = next((name for name in RICH_ELEMENTS if name in parts), "")
    action = next((name for name in RICH_ACTIONS if name in parts), "")
    return RichRule(
        text=text,
        family=parts["rule"].get("family", ""),
        priority=int(parts["rule"].get("priority", "0")),
        source=parts.get("source"),
        destination=parts.get("destination"),
        element=element,
        attrs=parts.get(element, {}),
        action=action,
        limited="limit" in parts.get(action, {}),
    )


# ---------------------------------------------------------------- matching

def _family(subnet: Network) -> str:
    return "ipv4" if subnet.version == 4 else "ipv6"


def _address_answer(value: str, subnet: Network, invert: bool = False) -> bool | None:
    """Is every address of `subnet` in `value` (an address or CIDR)? ipset:/MAC sources: cannot tell."""
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    if network.version != subnet.version:
        return False
    return subnet_answer(subnet, [network], invert)


def _not_controller_destination(value: str) -> bool | None:
    """True for destinations controller unicast traffic never has (multicast, broadcast, link-local)."""
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    broadcast = network.version == 4 and str(network.broadcast_address) == "255.255.255.255" and \
        network.prefixlen == 32
    return True if (network.is_multicast or network.is_link_local or broadcast) else None


def _tcp_port_answer(specs: list[str], port: int) -> bool | None:
    ranges, unreadable = [], False
    for spec in specs:
        parsed = parse_port_spec(spec)
        if parsed is None:
            unreadable = True
        elif parsed[2] == "tcp":
            ranges.append(parsed[:2])
    if port_answer(port, ranges):  # type: ignore[arg-type]
        return True
    return None if unreadable else False


def service_answer(name: str, question: Question, services: dict[str, dict[str, Any]] | None,
                   depth: int = 0) -> bool | None:
    """Does service `name` open TCP `question.port` for the subnet? None when its definition is not known."""
    info = (services or {}).get(name)
    if info is None or depth > MAX_INCLUDE_DEPTH:
        return None
    answers = [_tcp_port_answer(info["ports"], question.port),
               bool({"tcp", "6"} & set(info["protocols"]))]
    answers += [service_answer(included, question, services, depth + 1) for included in info["includes"]]
    hit = True if True in answers else (None if None in answers else False)
    destination = info.get("destination") or {}
    if hit is False or not destination:
        return hit
    if _family(question.subnet) not in destination:
        return False  # firewalld adds the service's rules only for the families it names
    return False if _not_controller_destination(destination[_family(question.subnet)]) else None


def rich_condition(rule: RichRule, question: Question, services: dict[str, dict[str, Any]] | None) -> bool | None:
    """Do the rule's matches hold for a new TCP connection from every address of the subnet to the port?"""
    if rule.family and rule.family != _family(question.subnet):
        return False
    answers: list[bool | None] = []
    if rule.source is not None:
        address = rule.source.get("address")
        answers.append(None if address is None else
                       _address_answer(address, question.subnet, "invert" in rule.source))
    if rule.destination is not None:
        address = rule.destination.get("address")
        special = None if address is None else _not_controller_destination(address)
        answers.append(("invert" in rule.destination) if special else None)
    if rule.element == "port":
        answers.append(rule.attrs.get("protocol") == "tcp" and
                       _tcp_port_answer([f"{rule.attrs.get('port', '')}/tcp"], question.port))
    elif rule.element == "protocol":
        answers.append(rule.attrs.get("value") in ("tcp", "6"))
    elif rule.element == "service":
        answers.append(service_answer(rule.attrs.get("name", ""), question, services))
    elif rule.element == "source-port":
        answers.append(None if rule.attrs.get("protocol") == "tcp" else False)  # the client's port is not known
    elif rule.element in ("icmp-block", "icmp-type"):
        answers.append(False)
    if rule.limited:
        answers.append(None)  # a rate limit lets some connections through and not others
    return all_true(answers)


def _redirects(zone: dict[str, Any], question: Question) -> str | None:
    """A forward port on TCP `port` (DNAT before filtering): the connection may not reach the listener."""
    for entry in zone.get("forward_ports", []):
        fields = dict(part.split("=", 1) for part in entry.split(":") if "=" in part)
        if fields.get("proto") == "tcp" and _tcp_port_answer([f"{fields.get('port', '')}/tcp"], question.port):
            return f"forward-port {entry}"
    for text in zone.get("rich_rules", []):
        try:
            rule = parse_rich_rule(text)
        except ValueError:
            continue
        if rule.element == "forward-port" and rule.attrs.get("protocol") == "tcp" \
                and _tcp_port_answer([f"{rule.attrs.get('port', '')}/tcp"], question.port) \
                and rich_condition(RichRule(text, rule.family, source=rule.source), question, None) is not False:
            return text
    return None


# ---------------------------------------------------------------- evaluation

@dataclass(frozen=True)
class _Check:
    key: tuple[int, int]
    verdict: str
    condition: bool | None
    where: str


def _zone_checks(name: str, zone: dict[str, Any], question: Question, services: dict[str, dict[str, Any]] | None,
                 port: int | None) -> list[_Check]:
    """Everything in the zone that could accept or deny, with its (priority, sub-chain) position.

    `port`: leave out our own admission rules for that port (planning)."""
    where = f"firewalld zone {name}"
    checks = []
    for text in zone.get("rich_rules", []):
        if port is not None and managed_subnet(text, port) is not None:
            continue
        try:
            rule = parse_rich_rule(text)
        except ValueError:
            checks.append(_Check(UNPARSED_KEY, UNKNOWN, None, f"{where}: {text} (not understood)"))
            continue
        if rule.action not in ("accept", "reject", "drop") or rule.element in (
                "masquerade", "forward-port", "tcp-mss-clamp"):
            continue  # log, audit, mark: no verdict; forward ports are checked first
        verdict, position = ("accept", ALLOW) if rule.action == "accept" else ("drop", DENY)
        checks.append(_Check((rule.priority, position), verdict, rich_condition(rule, question, services),
                             f"{where}: {text}"))
    allow = (0, ALLOW)
    for spec in zone.get("ports", []):
        checks.append(_Check(allow, "accept", _tcp_port_answer([spec], question.port), f"{where}: port {spec}"))
    for protocol in zone.get("protocols", []):
        checks.append(_Check(allow, "accept", protocol in ("tcp", "6"), f"{where}: protocol {protocol}"))
    for spec in zone.get("source_ports", []):
        parsed = parse_port_spec(spec)
        checks.append(_Check(allow, "accept", None if parsed is None or parsed[2] == "tcp" else False,
                             f"{where}: source-port {spec}"))
    for service in zone.get("services", []):
        answer = service_answer(service, question, services)
        known = "" if service in (services or {}) else " (definition not read)"
        checks.append(_Check(allow, "accept", answer, f"{where}: service {service}{known}"))
    return checks


def zone_outcome(name: str, zone: dict[str, Any], question: Question,
                 services: dict[str, dict[str, Any]] | None = None, ignore_port: int | None = None
                 ) -> tuple[Outcome, bool]:
    """The zone's verdict for the question, and whether it fell through to the zone target."""
    redirect = _redirects(zone, question)
    if redirect is not None:
        return Outcome(UNKNOWN, f"firewalld zone {name}: {redirect} redirects the port"), False
    checks = sorted(_zone_checks(name, zone, question, services, ignore_port), key=lambda c: c.key)
    for _unused, group in groupby(checks, key=lambda c: c.key):
        members = list(group)
        decided = next((c for c in members if c.condition is True), None)
        if decided is not None:
            return Outcome(decided.verdict, decided.where), False
        undecided = next((c for c in members if c.condition is None), None)
        if undecided is not None:
            return Outcome(UNKNOWN, undecided.where), False
    target = zone.get("target") or "default"
    return Outcome(TARGET_VERDICTS.get(target, UNKNOWN), f"firewalld zone {name}: target {target}"), True


def interface_zones(zones: dict[str, dict[str, Any]], default_zone: str) -> list[str]:
    """Zones traffic arriving on some interface may land in: those bound to one, and the default zone."""
    bound = {name for name, zone in zones.items() if any(i != "lo" for i in zone.get("interfaces", []))}
    return sorted(bound | {default_zone})


def zone_candidates(zones: dict[str, dict[str, Any]], default_zone: str,
                    subnet: Network) -> tuple[list[str], str | None]:
    """The zones the subnet's traffic may be dispatched to, and the source-bound zone that takes all of it."""
    covering, partial = [], []
    for name, zone in sorted(zones.items()):
        answers = [_address_answer(source, subnet) for source in zone.get("sources", [])]
        if True in answers:
            covering.append(name)
        elif None in answers:
            partial.append(name)
    if len(covering) == 1 and not partial:
        return covering, covering[0]
    if covering:
        return covering + partial, None
    return partial + [name for name in interface_zones(zones, default_zone) if name not in partial], None


def _combine(outcomes: list[Outcome]) -> Outcome:
    verdicts = {o.verdict for o in outcomes}
    if len(verdicts) == 1:
        return Outcome(outcomes[0].verdict, "; ".join(o.decided_by for o in outcomes))
    return Outcome(UNKNOWN, "controller traffic may arrive in any of these zones, which disagree: " +
                   "; ".join(f"{o.decided_by} ({o.verdict})" for o in outcomes))


def subnet_outcome(zones: dict[str, dict[str, Any]], default_zone: str, question: Question,
                   services: dict[str, dict[str, Any]] | None = None, ignore_port: int | None = None) -> Outcome:
    def outcome_of(name: str) -> tuple[Outcome, bool]:
        if name not in zones:
            return Outcome(UNKNOWN, f"firewalld zone {name}: not read"), False
        return zone_outcome(name, zones[name], question, services, ignore_port)

    candidates, source_zone = zone_candidates(zones, default_zone, question.subnet)
    if source_zone is not None:
        outcome, fell_through = outcome_of(source_zone)
        if fell_through and zones[source_zone].get("target", "default") == "default":
            # firewalld < 1.0 with AllowZoneDrifting=yes passes such packets on to the interface zones.
            drift = _combine([outcome_of(name)[0] for name in interface_zones(zones, default_zone)])
            if drift.verdict != "drop":
                return Outcome(UNKNOWN, f"{outcome.decided_by}, then with zone drifting (firewalld < 1.0): "
                                        f"{drift.decided_by}")
        return outcome
    return _combine([outcome_of(name)[0] for name in candidates])


def firewalld_verdicts(zones: dict[str, dict[str, Any]], default_zone: str, subnets: list[Network], port: int,
                       services: dict[str, dict[str, Any]] | None = None) -> list[dict[str, str]]:
    """Per subnet: admitted / blocked / unknown, and the rule, service, port or target that decides it."""
    names = {"accept": ADMITTED, "drop": BLOCKED}
    results = []
    for subnet in subnets:
        outcome = subnet_outcome(zones, default_zone, Question(subnet, port), services)
        results.append({"subnet": str(subnet), "verdict": names.get(outcome.verdict, UNKNOWN),
                        "decided_by": outcome.decided_by})
    return results


# ---------------------------------------------------------------- planning

def admission_rule(subnet: str, port: int) -> str:
    family = "ipv4" if ipaddress.ip_network(subnet).version == 4 else "ipv6"
    return f'rule family="{family}" source address="{subnet}" port port="{port}" protocol="tcp" accept'


def managed_subnet(text: str, port: int) -> str | None:
    """The subnet of a rich rule of exactly our form, else None."""
    match = re.fullmatch(r'rule family="(ipv4|ipv6)" source address="([^"]+)" port port="(\d+)" protocol="tcp" '
                         r"accept", text.strip())
    if not match or int(match.group(3)) != port:
        return None
    try:
        network = ipaddress.ip_network(match.group(2))
    except ValueError:
        return None
    if str(network) != match.group(2) or _family(network) != match.group(1):
        return None
    return match.group(2)


def firewalld_managed(zones: dict[str, dict[str, Any]], port: int) -> dict[str, list[str]]:
    """Our admission rules: {zone: [subnet, ...]}."""
    managed = {}
    for name, zone in sorted(zones.items()):
        subnets = sorted({s for s in (managed_subnet(r, port) for r in zone.get("rich_rules", [])) if s})
        if subnets:
            managed[name] = subnets
    return managed


def firewalld_desired(zones: dict[str, dict[str, Any]], default_zone: str, subnets: list[Network], port: int,
                      present: bool, services: dict[str, dict[str, Any]] | None = None) -> dict[str, list[str]]:
    """Where our rule must stand: each zone that handles a subnet and, without our rules, would not admit it."""
    if not present:
        return {}
    desired: dict[str, set[str]] = {}
    for subnet in subnets:
        question = Question(subnet, port)
        candidates, _unused = zone_candidates(zones, default_zone, subnet)
        for name in candidates:
            if name in zones and zone_outcome(name, zones[name], question, services, port)[0].verdict != "accept":
                desired.setdefault(name, set()).add(str(subnet))
    return {name: sorted(subnets_) for name, subnets_ in sorted(desired.items())}


def services_to_read(zones: dict[str, dict[str, Any]], default_zone: str) -> list[str]:
    """Services named by the zones that can receive controller traffic (bound ones and the default)."""
    names = set()
    for name, zone in zones.items():
        if name == default_zone or zone.get("interfaces") or zone.get("sources"):
            names.update(zone.get("services", []))
            for text in zone.get("rich_rules", []):
                try:
                    rule = parse_rich_rule(text)
                except ValueError:
                    continue
                if rule.element == "service" and rule.attrs.get("name"):
                    names.add(rule.attrs["name"])
    return sorted(names)


def firewalld_commands(current: dict[str, Any], after: dict[str, Any], port: int) -> list[list[str]]:
    """firewall-cmd calls turning `current` into `after`: removals, then additions; each permanent then runtime."""
    layers = [(key, flags) for key, flags in (("permanent", ["--permanent"]), ("managed", [])) if key in after]
    pairs = sorted({(zone, subnet) for state in (current, after) for key, _unused in layers
                    for zone, subnets in state.get(key, {}).items() for subnet in subnets})
    commands = []
    for verb, keep in (("remove", False), ("add", True)):
        for zone, subnet in pairs:
            for key, flags in layers:
                have = subnet in current.get(key, {}).get(zone, [])
                want = subnet in after[key].get(zone, [])
                if have != want and want == keep:
                    commands.append(["firewall-cmd", *flags, f"--zone={zone}",
                                     f"--{verb}-rich-rule={admission_rule(subnet, port)}"])
    return commands


# ---------------------------------------------------------------- host I/O

class FirewalldBackend:
    """firewalld: one rich rule per subnet and zone, added to the permanent and the runtime configuration.

    State: {"managed": {zone: [subnet]}} from the runtime configuration, and with `persist`,
    "permanent": the same from the permanent one, so a rule that would not survive a reload or
    a reboot shows as a difference. Both are changed by explicit --add/--remove-rich-rule calls,
    never by `--reload` (which would drop every runtime-only change others made, such as ports
    opened by libvirt or podman) nor `--runtime-to-permanent` (which would persist them).
    """

    name = "firewalld"

    def __init__(self, run: Runner, port: int, persist: bool = True):
        self.run, self.port, self.persist = run, port, persist

    def _query(self, *args: str) -> str:
        rc, out, err = self.run(["firewall-cmd", *args])
        if rc != 0:
            raise RuntimeError(f"firewall-cmd {' '.join(args)} failed (rc {rc}): {(err or out).strip()}")
        return out

    def zones(self) -> tuple[dict[str, dict[str, Any]], str]:
        """Runtime zones with their current bindings, and the default zone."""
        default_zone = self._query("--get-default-zone").strip()
        zones = parse_all_zones(self._query("--list-all-zones"))
        for name, binding in parse_active_zones(self._query("--get-active-zones")).items():
            if name in zones:
                zones[name].update(binding)
        return zones, default_zone

    def services(self, zones: dict[str, dict[str, Any]], default_zone: str) -> dict[str, dict[str, Any]]:
        """Definitions of the services those zones name (and the services they include); unreadable ones left out."""
        found: dict[str, dict[str, Any]] = {}
        pending = services_to_read(zones, default_zone)
        while pending:
            name = pending.pop(0)
            if name in found:
                continue
            rc, out, _unused = self.run(["firewall-cmd", f"--info-service={name}"])
            if rc == 0:
                found[name] = parse_service_info(out)
                pending.extend(i for i in found[name]["includes"] if i not in found)
        return found

    def snapshot(self) -> tuple[dict[str, dict[str, Any]], str, dict[str, dict[str, Any]]]:
        zones, default_zone = self.zones()
        return zones, default_zone, self.services(zones, default_zone)

    def verdicts(self, subnets: list[Network]) -> list[dict[str, str]]:
        zones, default_zone, services = self.snapshot()
        return firewalld_verdicts(zones, default_zone, subnets, self.port, services)

    def read(self, permanent: bool | None = None) -> dict[str, Any]:
        state: dict[str, Any] = {"managed": firewalld_managed(parse_all_zones(self._query("--list-all-zones")),
                                                              self.port)}
        if self.persist if permanent is None else permanent:
            state["permanent"] = firewalld_managed(parse_all_zones(self._query("--permanent", "--list-all-zones")),
                                                   self.port)
        return state

    def desired(self, before: dict[str, Any], subnets: list[Network], present: bool) -> dict[str, Any]:
        zones, default_zone, services = self.snapshot()
        managed = firewalld_desired(zones, default_zone, subnets, self.port, present, services)
        after = {**before, "managed": managed}
        if "permanent" in before:
            after["permanent"] = managed
        return after

    def apply(self, after: dict[str, Any]) -> None:
        for argv in firewalld_commands(self.read(permanent="permanent" in after), after, self.port):
            rc, out, err = self.run(argv)
            if rc != 0:
                raise RuntimeError(f"{' '.join(argv[:3])} failed (rc {rc}): {(err or out).strip()}")

    def matches(self, now: dict[str, Any], after: dict[str, Any]) -> bool:
        return all(now.get(key) == after[key] for key in ("managed", "permanent") if key in after)

    def render(self, state: dict[str, Any]) -> str:
        lines = [f"zone {zone}{suffix}: {admission_rule(subnet, self.port)}"
                 for key, suffix in (("managed", ""), ("permanent", " (permanent)"))
                 for zone, subnets in sorted(state.get(key, {}).items()) for subnet in subnets]
        return "\n".join(lines) + "\n" if lines else "(no admission rules)\n"
