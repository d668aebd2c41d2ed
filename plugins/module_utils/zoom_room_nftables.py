"""nftables: read the ruleset (nft -j), evaluate TCP to the controller port, plan the admission.

Pure functions over the JSON that `nft -j list ruleset` prints (libnftables-json(5)), so
the evaluator and the planner are unit-tested from recorded rulesets. Only NftablesBackend
runs commands.

Why the admission goes into every blocking chain: each base chain on the input hook sees
the packet in priority order, and an accept ends only that chain, so an accept in
`inet filter input` does not override a drop in another table's input chain.
"""

from __future__ import annotations

import ipaddress
import json
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
CONFIG_HEADER = "#!/usr/sbin/nft -f\nflush ruleset\n\n"
MAX_DEPTH = 16
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
            networks = _networks(statement["match"]["right"]) or []
            return {"version": 4 if payload.get("protocol") == "ip" else 6,
                    "subnets": sorted(str(n) for n in networks)}
    return {"version": 0, "subnets": []}


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
                specs.append({"version": version, "subnets": sorted(str(s) for s in wanted)})
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


# ---------------------------------------------------------------- host I/O

class NftablesBackend:
    """The nftables layer: our admission rules in native input chains, persisted to nftables.conf.

    State: {"managed": {chain: [spec]}, "config": file text | None | REGENERATE}. "config" is
    present only when persisting; REGENERATE means "the live native tables, written after the
    change". Restoring a backup writes its exact bytes back.
    """

    name = "nftables"
    REGENERATE = "(regenerated from the live ruleset after the change)"

    def __init__(self, run: Runner, port: int, config_path: str = "/etc/nftables.conf", persist: bool = True,
                 exclude_tables: Collection[str] = frozenset()):
        self.run = run
        self.port = port
        self.comment = MANAGED_COMMENT.format(port=port)
        self.config_path = config_path
        self.persist = persist
        self.exclude_tables = frozenset(exclude_tables)  # tables another layer owns: not evaluated, changed or saved

    def chains(self) -> dict[tuple[str, str, str], Chain]:
        rc, out, err = self.run(["nft", "-j", "list", "ruleset"])
        if rc != 0:
            raise RuntimeError(f"nft -j list ruleset failed: {err.strip()}")
        return parse_ruleset(json.loads(out or '{"nftables": []}'))

    def read(self) -> dict[str, Any]:
        state: dict[str, Any] = {"managed": strip_handles(managed_rules(self.chains(), self.comment))}
        if self.persist:
            state["config"] = self._read_config()
        return state

    def verdicts(self, subnets: list[Network]) -> list[dict[str, str]]:
        return verdicts(self.chains(), subnets, self.port, self.exclude_tables)

    def desired(self, before: dict[str, Any], subnets: list[Network], present: bool) -> dict[str, Any]:
        managed = desired_managed(self.chains(), subnets, self.port, self.comment, present, self.exclude_tables)
        after = {**before, "managed": managed}
        if self.persist and managed != before["managed"]:
            after["config"] = self.REGENERATE
        return after

    def apply(self, after: dict[str, Any]) -> None:
        commands = plan_commands(managed_rules(self.chains(), self.comment), after["managed"], self.port,
                                 self.comment)
        if commands:
            rc, _unused, err = self.run(["nft", "-j", "-f", "-"], data=json.dumps({"nftables": commands}))
            if rc != 0:
                raise RuntimeError(f"nft rejected the change: {err.strip()}")
        if "config" in after:
            content = self._saved_ruleset() if after["config"] == self.REGENERATE else after["config"]
            self._write_config(content)

    def matches(self, now: dict[str, Any], after: dict[str, Any]) -> bool:
        config_ok = after.get("config") in (self.REGENERATE, now.get("config"))
        return now["managed"] == after["managed"] and config_ok

    def render(self, state: dict[str, Any]) -> str:
        text = render_managed(state["managed"], self.port)
        if "config" in state:
            config = state["config"]
            shown = config if config == self.REGENERATE else "absent" if config is None else f"{len(config)} bytes"
            text += f"{self.config_path}: {shown}\n"
        return text

    def _read_config(self) -> str | None:
        rc, out, _unused = self.run(["cat", self.config_path])
        return out if rc == 0 else None

    def _saved_ruleset(self) -> str:
        """The native tables as nftables.conf text (stateless: no counters); iptables-nft's and excluded ones
        left out."""
        chains = self.chains()
        tables = sorted({(c.family, c.table) for c in chains.values()
                         if not is_iptables_table(chains, c.family, c.table) and c.table not in self.exclude_tables})
        parts = [CONFIG_HEADER]
        for family, table in tables:
            rc, out, err = self.run(["nft", "-s", "list", "table", family, table])
            if rc != 0:
                raise RuntimeError(f"nft list table {family} {table} failed: {err.strip()}")
            parts.append(out)
        return "".join(parts)

    def _write_config(self, content: str | None) -> None:
        if self._read_config() == content:
            return
        if content is None:
            rc, _unused, err = self.run(["rm", "-f", self.config_path])
        else:
            rc, _unused, err = self.run(["sh", "-c", WRITE_KEEPING_MODE, "sh", self.config_path], data=content)
        if rc != 0:
            raise RuntimeError(f"could not write {self.config_path}: {err.strip()}")
