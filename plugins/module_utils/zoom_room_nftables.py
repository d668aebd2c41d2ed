"""nftables: read the ruleset (nft -j), evaluate TCP to the controller port, plan the admission.

Pure functions over the JSON that `nft -j list ruleset` prints (libnftables-json(5)), so
the evaluator and the planner are unit-tested from recorded rulesets. Only NftablesBackend
runs commands.

Why the admission goes into every blocking chain: each base chain on the input hook sees
the packet in priority order, and an accept ends only that chain, so an accept in
`inet filter input` does not override a drop in another table's input chain.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Collection

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import Network
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_packetfilter import (
    MANAGED_COMMENT,
    Outcome,
    Question,
    all_true,
    layer_verdict,
    port_answer,
    subnet_answer,
)

# Tables iptables-nft creates: their rules use xtables compat matches, so they are read
# through iptables-save by the iptables layer instead.
IPTABLES_TABLES = frozenset({"filter", "nat", "mangle", "raw", "security"})
IPTABLES_CHAINS = frozenset({"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"})
TERMINAL = ("accept", "drop", "reject", "jump", "goto", "return", "queue")
MAX_DEPTH = 16
CONFIG_PATH = "/etc/nftables.conf"
RULES_FILE = "/etc/nftables.d/zoom-rooms.nft"
INCLUDE_MARK = "# zoom-rooms: the controller admission rules of zoom_room_firewall (remove both lines to drop them)"
RULES_FILE_HEADER = ("#!/usr/sbin/nft -f\n"
                     "# Managed by zoom_room_firewall (Zoom Rooms toolkit): the controller admission, loaded at boot\n"
                     "# after the tables of {config}. Rewritten by the next run; state=absent removes it.\n")
# Replace a file atomically but keep its mode and owner (Debian ships nftables.conf 0755).
WRITE_KEEPING_MODE = ('t="$1.zoom-rooms.tmp"; cat > "$t" && '
                      '{ [ ! -e "$1" ] || { chmod --reference="$1" "$t" && chown --reference="$1" "$t"; }; } && '
                      'mv "$t" "$1"')

Runner = Callable[..., tuple[int, str, str]]


@dataclass
class Rule:
    handle: int
    expr: list[dict[str, Any]]
    comment: str | None = None


@dataclass
class Chain:
    family: str
    table: str
    name: str
    hook: str | None = None
    prio: int = 0
    policy: str = "accept"
    rules: list[Rule] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.family} {self.table} {self.name}"


def parse_ruleset(document: dict[str, Any]) -> dict[tuple[str, str, str], Chain]:
    chains: dict[tuple[str, str, str], Chain] = {}
    for item in document.get("nftables", []):
        if "chain" in item:
            c = item["chain"]
            chains[(c["family"], c["table"], c["name"])] = Chain(
                c["family"], c["table"], c["name"], c.get("hook"), int(c.get("prio", 0)), c.get("policy", "accept"))
        elif "rule" in item:
            r = item["rule"]
            chain = chains.get((r["family"], r["table"], r["chain"]))
            if chain is not None:
                chain.rules.append(Rule(int(r["handle"]), r.get("expr", []), r.get("comment")))
    return chains


def is_iptables_table(chains: dict[tuple[str, str, str], Chain], family: str, table: str) -> bool:
    if family not in ("ip", "ip6") or table not in IPTABLES_TABLES:
        return False
    names = {name for (f, t, name) in chains if f == family and t == table}
    return bool(names) and names <= IPTABLES_CHAINS


def native_input_chains(chains: dict[tuple[str, str, str], Chain], version: int | None = None,
                        exclude_tables: Collection[str] = frozenset()) -> list[Chain]:
    """Base chains on the input hook that nftables itself owns, in the order packets meet them.

    `exclude_tables`: table names another layer owns (firewalld's while it runs)."""
    families = {None: ("inet", "ip", "ip6"), 4: ("inet", "ip"), 6: ("inet", "ip6")}[version]
    found = [c for c in chains.values() if c.hook == "input" and c.family in families
             and not is_iptables_table(chains, c.family, c.table) and c.table not in exclude_tables]
    return sorted(found, key=lambda c: (c.prio, c.family, c.table, c.name))


# ---------------------------------------------------------------- matching

def _networks(right: Any) -> list[Network] | None:
    """Address values of a match: an address, a prefix, a range, or an anonymous set of them."""
    if isinstance(right, str):
        if right.startswith("@"):
            return None  # a named set: its content is not read
        return [ipaddress.ip_network(right, strict=False)]
    if isinstance(right, dict):
        if "prefix" in right:
            return [ipaddress.ip_network(f"{right['prefix']['addr']}/{right['prefix']['len']}", strict=False)]
        if "range" in right:
            low, high = (ipaddress.ip_address(v) for v in right["range"])
            return list(ipaddress.summarize_address_range(low, high))
        if "set" in right:
            return _each(right["set"], _networks)
    if isinstance(right, list):
        return _each(right, _networks)
    return None


def _ports(right: Any) -> list[tuple[int, int]] | None:
    if isinstance(right, int):
        return [(right, right)]
    if isinstance(right, dict):
        if "range" in right:
            return [(int(right["range"][0]), int(right["range"][1]))]
        if "set" in right:
            return _each(right["set"], _ports)
    if isinstance(right, list):
        return _each(right, _ports)
    return None  # service names, named sets


def _each(elements: list[Any], parse: Callable[[Any], list[Any] | None]) -> list[Any] | None:
    """The elements of an anonymous set, each parsed; None when one of them cannot be."""
    values: list[Any] = []
    for element in elements:
        parsed = parse(element)
        if parsed is None:
            return None
        values.extend(parsed)
    return values


def _values(right: Any) -> set[str]:
    if isinstance(right, list):
        return {str(v) for v in right}
    if isinstance(right, dict) and "set" in right:
        return {str(v) for v in right["set"]}
    return {str(right)}


def match_answer(match: dict[str, Any], question: Question) -> bool | None:
    """Does this `match` expression hold for the question's packets? None: cannot tell."""
    op, left, right = match.get("op", "=="), match.get("left", {}), match.get("right")
    if op not in ("==", "!=", "in"):
        return None
    negate = op == "!="
    if "payload" in left:
        return _payload_answer(left["payload"], right, negate, question)
    if "meta" in left:
        return _meta_answer(left["meta"].get("key"), right, negate, question)
    if "ct" in left and left["ct"].get("key") == "state":
        hit = "new" in _values(right)
        return not hit if negate else hit
    return None


def _payload_answer(payload: dict[str, Any], right: Any, negate: bool, question: Question) -> bool | None:
    protocol, field_name = payload.get("protocol"), payload.get("field")
    if field_name == "saddr" and protocol in ("ip", "ip6"):
        if (protocol == "ip") != (question.subnet.version == 4):
            return False  # an IPv4 match never holds for IPv6 packets, whatever the operator
        networks = _networks(right)
        return None if networks is None else subnet_answer(question.subnet, networks, negate)
    if field_name == "dport" and protocol in ("tcp", "th"):
        ports = _ports(right)
        return None if ports is None else port_answer(question.port, ports, negate)
    if field_name == "dport" and protocol in ("udp", "sctp", "dccp", "udplite"):
        return negate  # those headers are never there on a TCP packet
    if (protocol, field_name) in (("ip", "protocol"), ("ip6", "nexthdr")):
        if (protocol == "ip") != (question.subnet.version == 4):
            return False
        hit = bool({"tcp", "6"} & _values(right))
        return not hit if negate else hit
    return None


def _meta_answer(key: str | None, right: Any, negate: bool, question: Question) -> bool | None:
    if key == "l4proto":
        hit = bool({"tcp", "6"} & _values(right))
    elif key == "nfproto":
        hit = ("ipv4" if question.subnet.version == 4 else "ipv6") in _values(right)
    elif key in ("iifname", "iif"):
        if _values(right) != {"lo"}:
            return None  # other interfaces: the controller's traffic may or may not come in there
        hit = False  # controller traffic never arrives on loopback
    else:
        return None
    return not hit if negate else hit


def rule_conditions(rule: Rule, question: Question) -> bool | None:
    answers: list[bool | None] = []
    for statement in rule.expr:
        if "match" in statement:
            answers.append(match_answer(statement["match"], question))
        elif "xt" in statement and statement["xt"].get("name") != "comment":
            answers.append(None)
    return all_true(answers)


def rule_verdict(rule: Rule) -> tuple[str, str | None] | None:
    for statement in rule.expr:
        for key in TERMINAL:
            if key in statement:
                value = statement[key]
                target = value.get("target") if isinstance(value, dict) else None
                return key, target
    return None


def describe_rule(chain: Chain, rule: Rule) -> str:
    parts = []
    for statement in rule.expr:
        if "match" in statement:
            m = statement["match"]
            parts.append(f"{_describe_value(m.get('left'))} {'' if m.get('op') in ('==', 'in') else m.get('op') + ' '}"
                         f"{_describe_value(m.get('right'))}")
        elif verdict := next((k for k in TERMINAL if k in statement), None):
            value = statement[verdict]
            parts.append(f"{verdict} {value['target']}" if isinstance(value, dict) and "target" in value else verdict)
    return f"{chain.key}: {' '.join(parts)}"


def _describe_value(value: Any) -> str:
    if isinstance(value, dict):
        if "payload" in value:
            return f"{value['payload'].get('protocol')} {value['payload'].get('field')}"
        if "meta" in value:
            return f"meta {value['meta'].get('key')}"
        if "ct" in value:
            return f"ct {value['ct'].get('key')}"
        if "prefix" in value:
            return f"{value['prefix']['addr']}/{value['prefix']['len']}"
        if "set" in value:
            return "{ " + ", ".join(_describe_value(v) for v in value["set"]) + " }"
        if "range" in value:
            return "-".join(str(v) for v in value["range"])
    if isinstance(value, list):
        return ",".join(_describe_value(v) for v in value)
    return str(value)


# ---------------------------------------------------------------- evaluation

def evaluate_chain(chains: dict[tuple[str, str, str], Chain], chain: Chain, question: Question,
                   managed_comment: str | None = None, depth: int = 0) -> Outcome:
    """Walk one chain for the question. `managed_comment`: ignore our own rules (planning)."""
    if depth > MAX_DEPTH:
        return Outcome("unknown", f"{chain.key}: jumps nest deeper than {MAX_DEPTH}")
    for rule in chain.rules:
        if managed_comment is not None and rule.comment == managed_comment:
            continue
        condition = rule_conditions(rule, question)
        verdict = rule_verdict(rule)
        if condition is False or verdict is None:
            continue
        kind, target = verdict
        where = describe_rule(chain, rule)
        if kind in ("jump", "goto"):
            callee = chains.get((chain.family, chain.table, target or ""))
            if callee is None:
                return Outcome("unknown", f"{where}: no such chain")
            outcome = evaluate_chain(chains, callee, question, managed_comment, depth + 1)
            if outcome.verdict == "continue" and kind == "jump":
                continue
            if condition is None:
                return Outcome("unknown", where)
            if outcome.verdict == "continue":  # goto: fell off the end, back past this chain
                break
            return outcome
        if condition is None:
            return Outcome("unknown", where)
        if kind == "return":
            break
        if kind == "queue":
            return Outcome("unknown", where)
        return Outcome("accept" if kind == "accept" else "drop", where)
    if chain.hook is None:
        return Outcome("continue", "")
    return Outcome("accept" if chain.policy == "accept" else "drop", f"{chain.key}: policy {chain.policy}")


def verdicts(chains: dict[tuple[str, str, str], Chain], subnets: list[Network], port: int,
             exclude_tables: Collection[str] = frozenset()) -> list[dict[str, str]]:
    results = []
    for subnet in subnets:
        question = Question(subnet, port)
        outcomes = [evaluate_chain(chains, c, question)
                    for c in native_input_chains(chains, subnet.version, exclude_tables)]
        verdict, decided_by = layer_verdict(outcomes)
        results.append({"subnet": str(subnet), "verdict": verdict, "decided_by": decided_by})
    return results


# ---------------------------------------------------------------- planning

def managed_rules(chains: dict[tuple[str, str, str], Chain], comment: str) -> dict[str, list[dict[str, Any]]]:
    """Our rules, by chain: {"inet filter input": [{"handle": 7, "version": 4, "subnets": [...]}, ...]}."""
    found: dict[str, list[dict[str, Any]]] = {}
    for chain in chains.values():
        for rule in chain.rules:
            if rule.comment == comment:
                found.setdefault(chain.key, []).append({"handle": rule.handle, **_managed_spec(rule)})
    return found


def _managed_spec(rule: Rule) -> dict[str, Any]:
    for statement in rule.expr:
        payload = statement.get("match", {}).get("left", {}).get("payload", {})
        if payload.get("field") == "saddr":
            return {"version": 4 if payload.get("protocol") == "ip" else 6,
                    "subnets": admitted_addresses(_networks(statement["match"]["right"]) or [])}
    return {"version": 0, "subnets": []}


def admitted_addresses(networks: Collection[Network]) -> list[str]:
    """The addresses a set admits, in one canonical form: nft merges adjacent prefixes of an interval
    set (10.0.0.0/25 + 10.0.0.128/25 lists as 10.0.0.0/24), so state is compared by addresses, not text."""
    collapsed = [net for version in (4, 6)
                 for net in ipaddress.collapse_addresses(n for n in networks if n.version == version)]
    return [str(net) for net in collapsed]


def desired_managed(chains: dict[tuple[str, str, str], Chain], subnets: list[Network], port: int,
                    comment: str, present: bool, exclude_tables: Collection[str] = frozenset()
                    ) -> dict[str, list[dict[str, Any]]]:
    """Where our admission must stand: every native input chain that, without it, would not accept."""
    if not present:
        return {}
    desired: dict[str, list[dict[str, Any]]] = {}
    for chain in native_input_chains(chains, exclude_tables=exclude_tables):
        specs = []
        for version in (4, 6):
            family_ok = chain.family == "inet" or chain.family == ("ip" if version == 4 else "ip6")
            wanted = [s for s in subnets if s.version == version]
            if not family_ok or not wanted:
                continue
            outcomes = [evaluate_chain(chains, chain, Question(s, port), comment) for s in wanted]
            if any(o.verdict != "accept" for o in outcomes):
                specs.append({"version": version, "subnets": admitted_addresses(wanted)})
        if specs:
            desired[chain.key] = specs
    return desired


def strip_handles(managed: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {key: sorted(({k: v for k, v in spec.items() if k != "handle"} for spec in specs),
                        key=lambda s: s["version"])
            for key, specs in managed.items()}


def plan_commands(current: dict[str, list[dict[str, Any]]], desired: dict[str, list[dict[str, Any]]],
                  port: int, comment: str) -> list[dict[str, Any]]:
    """libnftables JSON commands turning our current rules into the desired ones (one transaction)."""
    commands: list[dict[str, Any]] = []
    for key, specs in current.items():
        family, table, chain = key.split(" ")
        for spec in specs:
            if {k: v for k, v in spec.items() if k != "handle"} not in desired.get(key, []):
                commands.append({"delete": {"rule": {"family": family, "table": table, "chain": chain,
                                                     "handle": spec["handle"]}}})
    for key, specs in desired.items():
        family, table, chain = key.split(" ")
        existing = strip_handles({key: current.get(key, [])})[key]
        for spec in specs:
            if spec not in existing:
                commands.append({"insert": {"rule": {"family": family, "table": table, "chain": chain,
                                                     "expr": admission_expr(spec, port), "comment": comment}}})
    return commands


def admission_expr(spec: dict[str, Any], port: int) -> list[dict[str, Any]]:
    networks = [ipaddress.ip_network(s) for s in spec["subnets"]]
    prefixes: list[Any] = [{"prefix": {"addr": str(n.network_address), "len": n.prefixlen}} for n in networks]
    return [
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip" if spec["version"] == 4 else "ip6",
                                                    "field": "saddr"}},
                   "right": prefixes[0] if len(prefixes) == 1 else {"set": prefixes}}},
        {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": port}},
        {"accept": None},
    ]


def render_managed(managed: dict[str, list[dict[str, Any]]], port: int) -> str:
    lines = [f"{key}: {'ip' if spec['version'] == 4 else 'ip6'} saddr {{ {', '.join(spec['subnets'])} }} "
             f"tcp dport {port} accept" for key, specs in sorted(strip_handles(managed).items()) for spec in specs]
    return "\n".join(lines) + "\n" if lines else "(no admission rules)\n"


# ---------------------------------------------------------------- boot configuration (pure)

def rule_line(key: str, spec: dict[str, Any], port: int, comment: str) -> str:
    """One admission as an nft command; `insert` puts it before the chain's own rules, as live."""
    protocol = "ip" if spec["version"] == 4 else "ip6"
    return (f"insert rule {key} {protocol} saddr {{ {', '.join(spec['subnets'])} }} "
            f'tcp dport {port} accept comment "{comment}"')


def render_rules_file(persisted: dict[str, list[dict[str, Any]]], port: int, comment: str,
                      config_path: str = CONFIG_PATH) -> str | None:
    """Our rules file for these admissions; None (no file) when there are none."""
    if not persisted:
        return None
    lines = [rule_line(key, spec, port, comment) for key, specs in sorted(strip_handles(persisted).items())
             for spec in specs]
    return RULES_FILE_HEADER.format(config=config_path) + "\n".join(lines) + "\n"


_RULE_LINE = re.compile(r'^insert rule (\S+ \S+ \S+) (ip6?) saddr \{ ([^}]*) \} '
                        r'tcp dport (\d+) accept comment "([^"]*)"$')


def parse_rules_file(text: str | None, comment: str) -> dict[str, list[dict[str, Any]]]:
    """The admissions our rules file holds, by chain, in the form managed_rules reads from the live ruleset."""
    found: dict[str, list[dict[str, Any]]] = {}
    for line in (text or "").splitlines():
        match = _RULE_LINE.match(line.strip())
        if match is None or match.group(5) != comment:
            continue
        key, protocol, subnets = match.group(1), match.group(2), match.group(3)
        networks = [ipaddress.ip_network(value.strip(), strict=False) for value in subnets.split(",") if value.strip()]
        found.setdefault(key, []).append({"version": 4 if protocol == "ip" else 6,
                                          "subnets": admitted_addresses(networks)})
    return strip_handles(found)


def include_block(rules_file: str) -> str:
    return f'{INCLUDE_MARK}\ninclude "{rules_file}"\n'


def has_include_block(config: str | None, rules_file: str) -> bool:
    return config is not None and include_block(rules_file) in config


def with_include_block(config: str, rules_file: str, present: bool) -> str:
    """nftables.conf with our two lines appended (after the tables our rules go into, behind a blank
    line) or taken out again; every other byte stays."""
    block = include_block(rules_file)
    if present:
        if block in config:
            return config
        return config + ("" if config.endswith("\n") or not config else "\n") + ("\n" if config else "") + block
    for ours in ("\n" + block, block):
        if ours in config:
            return config.replace(ours, "", 1)
    return config


def others_include(config: str | None, rules_file: str) -> bool:
    """Does an include of the user's own (e.g. "/etc/nftables.d/*.nft") already load our file?"""
    if config is None:
        return False
    rest = config.replace(include_block(rules_file), "")
    patterns = re.findall(r'^\s*include\s+"([^"]+)"', rest, flags=re.MULTILINE)
    return any(fnmatch.fnmatch(rules_file, pattern) for pattern in patterns)


def boot_differences(live: dict[str, list[dict[str, Any]]], boot: dict[str, list[dict[str, Any]]],
                     at_boot: Callable[[str], bool], port: int) -> list[str]:
    """Our admissions that are live but would not be loaded at boot, and the reverse.

    `at_boot(chain)`: does the chain exist in the boot configuration? A live rule in a chain the
    boot configuration lacks (a runtime-only table) needs no copy there."""
    differences = []
    for key in sorted(set(live) | set(boot)):
        live_specs, boot_specs = strip_handles(live).get(key, []), strip_handles(boot).get(key, [])
        differences += [f"{render_managed({key: [spec]}, port).strip()}: live, not in the boot configuration"
                        for spec in live_specs if spec not in boot_specs and at_boot(key)]
        differences += [f"{render_managed({key: [spec]}, port).strip()}: in the boot configuration, not live"
                        for spec in boot_specs if spec not in live_specs]
    return differences


# ---------------------------------------------------------------- host I/O

class NftablesBackend:
    """The nftables layer: our admission rules in native input chains, persisted in a file of our own.

    State: {"managed": {chain: [spec]}} live, and when persisting "rules_file" (our file's text, or
    None) and "include" (our include lines are in nftables.conf). The user's nftables.conf is never
    rewritten from the live ruleset: we add or take out our two include lines and nothing else, so
    its comments, includes and the absence of runtime-only tables (a fail2ban ban) stay as they were.
    `backup(path)` saves a file before it is changed and returns where (zoom_room_backup.save_backup).
    """

    name = "nftables"

    def __init__(self, run: Runner, port: int, config_path: str = CONFIG_PATH, persist: bool = True,
                 exclude_tables: Collection[str] = frozenset(), rules_file: str = RULES_FILE,
                 backup: Callable[[str], str] = lambda path: ""):
        self.run = run
        self.port = port
        self.comment = MANAGED_COMMENT.format(port=port)
        self.config_path = config_path
        self.rules_file = rules_file
        self.persist = persist
        self.exclude_tables = frozenset(exclude_tables)  # tables another layer owns: not evaluated, changed or saved
        self.backup = backup
        self.backups: list[str] = []  # files saved on the room by this run

    def chains(self) -> dict[tuple[str, str, str], Chain]:
        rc, out, err = self.run(["nft", "-j", "list", "ruleset"])
        if rc != 0:
            raise RuntimeError(f"nft -j list ruleset failed: {err.strip() or f'exit {rc}'}")
        return parse_ruleset(json.loads(out or '{"nftables": []}'))

    def read(self) -> dict[str, Any]:
        state: dict[str, Any] = {"managed": strip_handles(managed_rules(self.chains(), self.comment))}
        if self.persist:
            state["rules_file"] = self._read(self.rules_file)
            state["include"] = has_include_block(self._read(self.config_path), self.rules_file)
        return state

    def verdicts(self, subnets: list[Network]) -> list[dict[str, str]]:
        return verdicts(self.chains(), subnets, self.port, self.exclude_tables)

    def desired(self, before: dict[str, Any], subnets: list[Network], present: bool) -> dict[str, Any]:
        managed = desired_managed(self.chains(), subnets, self.port, self.comment, present, self.exclude_tables)
        after = {**before, "managed": managed}
        if self.persist:
            persisted = {key: specs for key, specs in managed.items() if self._chain_at_boot(key)}
            after["rules_file"] = render_rules_file(persisted, self.port, self.comment, self.config_path)
            after["include"] = (after["rules_file"] is not None
                                and not others_include(self._read(self.config_path), self.rules_file))
        return after

    def boot_differences(self) -> list[str]:
        """What of ours is live but not loaded at boot (a run that died before persisting), or the reverse."""
        config = self._read(self.config_path)
        loaded = has_include_block(config, self.rules_file) or others_include(config, self.rules_file)
        boot = parse_rules_file(self._read(self.rules_file), self.comment) if loaded else {}
        live = strip_handles(managed_rules(self.chains(), self.comment))
        return boot_differences(live, boot, self._chain_at_boot, self.port)

    def apply(self, after: dict[str, Any]) -> None:
        commands = plan_commands(managed_rules(self.chains(), self.comment), after["managed"], self.port,
                                 self.comment)
        if commands:
            rc, _unused, err = self.run(["nft", "-j", "-f", "-"], data=json.dumps({"nftables": commands}))
            if rc != 0:
                raise RuntimeError(f"nft rejected the change: {err.strip()}")
        if "rules_file" in after:
            # The file exists whenever nftables.conf includes it: written first, removed last.
            steps = [self._write_rules, self._write_include]
            changed = [step(after) for step in (steps if after["include"] else reversed(steps))]
            if any(changed):
                self._check_boot_config()

    def matches(self, now: dict[str, Any], after: dict[str, Any]) -> bool:
        return all(now.get(key) == after.get(key) for key in ("managed", "rules_file", "include"))

    def render(self, state: dict[str, Any]) -> str:
        text = render_managed(state["managed"], self.port)
        if "rules_file" in state:
            rules = state["rules_file"]
            text += f"{self.rules_file}: " + ("absent\n" if rules is None else "\n" + rules)
            text += f"{self.config_path}: {'includes' if state.get('include') else 'no include of'} {self.rules_file}\n"
        return text

    def _write_rules(self, after: dict[str, Any]) -> bool:
        return self._write(self.rules_file, after["rules_file"])

    def _write_include(self, after: dict[str, Any]) -> bool:
        config = self._read(self.config_path)
        if config is None or has_include_block(config, self.rules_file) == after["include"]:
            return False
        return self._write(self.config_path, with_include_block(config, self.rules_file, after["include"]))

    def _chain_at_boot(self, key: str) -> bool:
        """Would `nft -f nftables.conf` create this chain? Checked by nft itself (-c: nothing is loaded)."""
        probe = f'include "{self.config_path}"\nadd rule {key} counter\n'
        rc, _unused, _unused = self.run(["nft", "-c", "-f", "-"], data=probe)
        return rc == 0

    def _check_boot_config(self) -> None:
        if self._read(self.config_path) is None:
            return
        rc, _unused, err = self.run(["nft", "-c", "-f", self.config_path])
        if rc != 0:
            raise RuntimeError(f"{self.config_path} would not load at boot with {self.rules_file}: {err.strip()}")

    def _read(self, path: str) -> str | None:
        rc, out, _unused = self.run(["cat", path])
        return out if rc == 0 else None

    def _write(self, path: str, content: str | None) -> bool:
        """Save the old file on the room, then write `content` (None: remove). False when already so."""
        if self._read(path) == content:
            return False
        saved = self.backup(path)
        if saved:
            self.backups.append(saved)
        if content is None:
            rc, _unused, err = self.run(["rm", "-f", path])
        else:
            rc, _unused, err = self.run(["sh", "-c", 'mkdir -p "$(dirname "$1")" && ' + WRITE_KEEPING_MODE, "sh", path],
                                        data=content)
        if rc != 0:
            raise RuntimeError(f"could not write {path}: {err.strip()}")
        return True
