"""iptables (legacy or nft) and ufw layers: parse, evaluate TCP to the controller port, plan, apply.

iptables is read from `iptables-save` (filter table, INPUT chain and what it jumps to);
ufw from `ufw status verbose`, whose rule list is ufw's own first-match order. Pure parsers
and planners; IptablesBackend and UfwBackend run the commands.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

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

Runner = Callable[..., tuple[int, str, str]]
NON_TERMINAL_TARGETS = frozenset({"LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "CT", "TRACE", "AUDIT"})
# Options whose value we skip without it changing the answer.
NEUTRAL_OPTIONS = {"--comment": 1, "--limit": 1, "--limit-burst": 1, "--log-prefix": 1, "--log-level": 1,
                   "--reject-with": 1, "--log-uid": 0, "--log-tcp-options": 0, "--log-ip-options": 0}
MAX_DEPTH = 16


@dataclass
class IptRule:
    chain: str
    args: list[str]
    text: str

    @property
    def comment(self) -> str | None:
        if "--comment" in self.args:
            return self.args[self.args.index("--comment") + 1]
        return None

    @property
    def target(self) -> tuple[str, str] | None:
        for flag in ("-j", "-g"):
            if flag in self.args:
                return flag, self.args[self.args.index(flag) + 1]
        return None


@dataclass
class IptTable:
    policies: dict[str, str] = field(default_factory=dict)
    rules: list[IptRule] = field(default_factory=list)

    def chain(self, name: str) -> list[IptRule]:
        return [rule for rule in self.rules if rule.chain == name]


def parse_iptables_save(text: str, table: str = "filter") -> IptTable:
    result, current = IptTable(), None
    for line in text.splitlines():
        if line.startswith("*"):
            current = line[1:].strip()
        elif current != table or not line or line.startswith("#"):
            continue
        elif line.startswith(":"):
            name, policy = line[1:].split()[:2]
            result.policies[name] = policy
        elif line.startswith("-A "):
            args = shlex.split(line)
            result.rules.append(IptRule(args[1], args[2:], line))
    return result


def _special_destination(value: str) -> bool:
    network = ipaddress.ip_network(value.split(",")[0], strict=False)
    return network.is_multicast or (str(network.broadcast_address) == "255.255.255.255" and network.prefixlen == 32)


def rule_answer(rule: IptRule, question: Question) -> bool | None:
    """Do this rule's matches hold for a new TCP connection from the subnet to the port?"""
    args, answers, index, negate = rule.args, [], 0, False
    while index < len(args):
        token = args[index]
        value = args[index + 1] if index + 1 < len(args) else ""
        if token == "!":
            negate, index = True, index + 1
            continue
        if token in ("-j", "-g"):
            break
        step, answer = 2, None
        if token in ("-s", "--source"):
            networks = [ipaddress.ip_network(v, strict=False) for v in value.split(",")]
            answer = subnet_answer(question.subnet, networks, negate)
        elif token in ("-d", "--destination"):
            answer = (negate if _special_destination(value) else None)
        elif token in ("-p", "--protocol"):
            hit = value.lower() in ("tcp", "6", "all", "0")
            answer = not hit if negate else hit
        elif token in ("--dport", "--destination-port", "--dports", "--destination-ports"):
            ports = [tuple(int(p) for p in part.split(":")) if ":" in part else (int(part), int(part))
                     for part in value.split(",")]
            answer = port_answer(question.port, ports, negate)  # type: ignore[arg-type]
        elif token in ("-i", "--in-interface"):
            answer = negate if value == "lo" else None  # controller traffic never arrives on loopback
        elif token in ("--ctstate", "--state"):
            hit = "NEW" in value.split(",")
            answer = not hit if negate else hit
        elif token == "--dst-type":
            hit = value == "LOCAL"
            answer = not hit if negate else hit
        elif token == "-m":
            step, answer = 2, True  # loading a match module says nothing by itself
        elif token in NEUTRAL_OPTIONS:
            step, answer = 1 + NEUTRAL_OPTIONS[token], True
        answers.append(answer)
        index += step
        negate = False
    return all_true(answers)


def evaluate_chain(table: IptTable, name: str, question: Question, managed_comment: str | None = None,
                   depth: int = 0) -> Outcome:
    if depth > MAX_DEPTH:
        return Outcome("unknown", f"filter {name}: jumps nest deeper than {MAX_DEPTH}")
    for rule in table.chain(name):
        if managed_comment is not None and rule.comment == managed_comment:
            continue
        target = rule.target
        if target is None or target[1] in NON_TERMINAL_TARGETS:
            continue
        condition = rule_answer(rule, question)
        if condition is False:
            continue
        where = f"iptables filter: {rule.text}"
        kind, name_ = target
        if name_ in ("ACCEPT", "DROP", "REJECT"):
            if condition is None:
                return Outcome("unknown", where)
            return Outcome("accept" if name_ == "ACCEPT" else "drop", where)
        if name_ == "RETURN":
            if condition is None:
                return Outcome("unknown", where)
            return Outcome("continue", "")
        if name_ not in table.policies:
            return Outcome("unknown", f"{where} (target not modelled)")
        outcome = evaluate_chain(table, name_, question, managed_comment, depth + 1)
        if outcome.verdict == "continue" and kind == "-j":
            continue
        if condition is None:
            return Outcome("unknown", where)
        if outcome.verdict == "continue":
            break
        return outcome
    policy = table.policies.get(name, "-")
    if policy == "-":
        return Outcome("continue", "")
    return Outcome("accept" if policy == "ACCEPT" else "drop", f"iptables filter {name}: policy {policy}")


def iptables_verdicts(tables: dict[int, IptTable], subnets: list[Network], port: int) -> list[dict[str, str]]:
    results = []
    for subnet in subnets:
        outcome = evaluate_chain(tables[subnet.version], "INPUT", Question(subnet, port))
        verdict, decided_by = layer_verdict([outcome])
        results.append({"subnet": str(subnet), "verdict": verdict, "decided_by": decided_by})
    return results


def iptables_managed(tables: dict[int, IptTable], comment: str) -> dict[str, list[str]]:
    managed: dict[str, list[str]] = {}
    for version, table in tables.items():
        subnets = [rule.args[rule.args.index("-s") + 1] for rule in table.chain("INPUT")
                   if rule.comment == comment and "-s" in rule.args]
        if subnets:
            managed[f"ipv{version}"] = sorted(subnets)
    return managed


def iptables_desired(tables: dict[int, IptTable], subnets: list[Network], port: int, comment: str,
                     present: bool) -> dict[str, list[str]]:
    if not present:
        return {}
    desired: dict[str, list[str]] = {}
    for version in (4, 6):
        wanted = [s for s in subnets if s.version == version]
        outcomes = [evaluate_chain(tables[version], "INPUT", Question(s, port), comment) for s in wanted]
        if any(o.verdict != "accept" for o in outcomes):
            desired[f"ipv{version}"] = sorted(str(s) for s in wanted)
    return desired


def admission_args(subnet: str, port: int, comment: str) -> list[str]:
    return ["-s", subnet, "-p", "tcp", "-m", "tcp", "--dport", str(port), "-m", "comment", "--comment", comment,
            "-j", "ACCEPT"]


# ---------------------------------------------------------------- ufw

UFW_RULE = re.compile(r"^(?P<to>\S.*?)\s{2,}(?P<action>ALLOW|DENY|REJECT|LIMIT)(?: (?P<direction>IN|OUT|FWD))?"
                      r"\s{2,}(?P<source>\S.*?)(?:\s+#\s*(?P<comment>.*))?$")


def parse_ufw_status(text: str) -> dict[str, Any]:
    """`ufw status verbose`: active flag, default incoming policy, rules in evaluation order."""
    status: dict[str, Any] = {"active": False, "default_incoming": "allow", "rules": []}
    for line in text.splitlines():
        line = line.rstrip()
        if line.startswith("Status:"):
            status["active"] = line.split(":", 1)[1].strip() == "active"
        elif line.startswith("Default:"):
            match = re.search(r"(\w+) \(incoming\)", line)
            if match:
                status["default_incoming"] = match.group(1)
        elif match := UFW_RULE.match(line):
            if match.group("to").startswith("--") or match.group("direction") in ("OUT", "FWD"):
                continue
            status["rules"].append({key: value.strip() if value else value
                                    for key, value in match.groupdict().items()})
    return status


def _ufw_port_answer(to: str) -> list[tuple[int, int]] | bool | None:
    """The ports a ufw "To" column admits: True for any port, None when an address or interface qualifies it."""
    words = to.replace("(v6)", "").split()
    if words == ["Anywhere"]:
        return True
    match = re.fullmatch(r"([\d,:]+)(?:/(tcp|udp))?", words[0]) if len(words) == 1 else None
    if not match:
        return None  # a destination address, an interface or an application profile
    if match.group(2) == "udp":
        return False
    return [tuple(int(p) for p in piece.split(":")) if ":" in piece else (int(piece), int(piece))  # type: ignore
            for piece in match.group(1).split(",")]


def _ufw_source_answer(source: str, subnet: Network) -> bool | None:
    is_v6 = "(v6)" in source
    if is_v6 != (subnet.version == 6):
        return False
    words = source.replace("(v6)", "").split()
    if not words or words[0] == "Anywhere":
        return True if len(words) <= 1 else None  # "Anywhere 9090/tcp": a source-port rule
    try:
        network = ipaddress.ip_network(words[0], strict=False)
    except ValueError:
        return None
    return subnet_answer(subnet, [network]) if len(words) == 1 else None


def ufw_verdicts(status: dict[str, Any], subnets: list[Network], port: int,
                 managed_comment: str | None = None) -> list[dict[str, str]]:
    results = []
    for subnet in subnets:
        outcome = _ufw_outcome(status, subnet, port, managed_comment)
        verdict, decided_by = layer_verdict([outcome])
        results.append({"subnet": str(subnet), "verdict": verdict, "decided_by": decided_by})
    return results


def _ufw_outcome(status: dict[str, Any], subnet: Network, port: int, managed_comment: str | None) -> Outcome:
    for rule in status["rules"]:
        if managed_comment is not None and rule.get("comment") == managed_comment:
            continue
        if ("(v6)" in rule["to"]) != (subnet.version == 6):
            continue
        ports = _ufw_port_answer(rule["to"])
        port_hit = port_answer(port, ports) if isinstance(ports, list) else ports
        answer = all_true([port_hit, _ufw_source_answer(rule["source"], subnet)])
        if answer is False:
            continue
        where = "ufw: " + " ".join(filter(None, (rule["to"], rule["action"], rule["direction"], rule["source"])))
        if answer is None:
            return Outcome("unknown", where)
        return Outcome("accept" if rule["action"] in ("ALLOW", "LIMIT") else "drop", where)
    default = status["default_incoming"]
    return Outcome("accept" if default == "allow" else "drop", f"ufw: default {default} (incoming)")


def ufw_managed(status: dict[str, Any], comment: str) -> list[str]:
    return sorted(rule["source"].replace(" (v6)", "") for rule in status["rules"] if rule.get("comment") == comment)


def ufw_desired(status: dict[str, Any], subnets: list[Network], port: int, comment: str,
                present: bool) -> list[str]:
    if not present:
        return []
    blocked = [v for v in ufw_verdicts(status, subnets, port, comment) if v["verdict"] != "admitted"]
    return sorted(str(s) for s in subnets) if blocked else []


# ---------------------------------------------------------------- host I/O

class IptablesBackend:
    """Plain iptables: our ACCEPT first in INPUT, one per subnet; saved where the distro restores it.

    Saving is iptables' own persistence (what `netfilter-persistent save` and `service iptables save`
    write: the whole iptables-save output); the file it replaces is first saved on the room by
    `backup(path)` (zoom_room_backup.save_backup)."""

    name = "iptables"
    SAVE_PATHS: ClassVar[dict[int, tuple[str, str]]] = {
        4: ("/etc/iptables/rules.v4", "/etc/sysconfig/iptables"),
        6: ("/etc/iptables/rules.v6", "/etc/sysconfig/ip6tables"),
    }

    def __init__(self, run: Runner, port: int, persist: bool = True,
                 backup: Callable[[str], str] = lambda path: ""):
        self.run, self.port, self.persist, self.backup = run, port, persist, backup
        self.comment = MANAGED_COMMENT.format(port=port)
        self.backups: list[str] = []  # files saved on the room by this run

    def tables(self) -> dict[int, IptTable]:
        tables = {}
        for version, command in ((4, "iptables-save"), (6, "ip6tables-save")):
            rc, out, err = self.run([command, "-t", "filter"])
            if rc != 0:
                raise RuntimeError(f"{command} failed: {err.strip()}")
            tables[version] = parse_iptables_save(out)
        return tables

    def verdicts(self, subnets: list[Network]) -> list[dict[str, str]]:
        return iptables_verdicts(self.tables(), subnets, self.port)

    def read(self) -> dict[str, Any]:
        state: dict[str, Any] = {"managed": iptables_managed(self.tables(), self.comment)}
        if self.persist:
            state["saved"] = self.saved_managed()
        return state

    def desired(self, before: dict[str, Any], subnets: list[Network], present: bool) -> dict[str, Any]:
        managed = iptables_desired(self.tables(), subnets, self.port, self.comment, present)
        after = {**before, "managed": managed}
        if self.persist:  # a family with a saved file gets our rules saved there too
            after["saved"] = {family: managed.get(family, []) for family in before["saved"]}
        return after

    def save_targets(self) -> dict[int, tuple[str, str | None]]:
        """Per IP version, the file the distro restores at boot (the first whose directory exists) and its text."""
        targets = {}
        for version in (4, 6):
            for path in self.SAVE_PATHS[version]:
                if self.run(["test", "-d", path.rsplit("/", 1)[0]])[0] == 0:
                    targets[version] = (path, self._read(path))
                    break
        return targets

    def saved_managed(self, existing_only: bool = False) -> dict[str, list[str]]:
        """Our ACCEPTs in the saved rules, per family that is saved (`existing_only`: whose file exists)."""
        return {f"ipv{version}": iptables_managed({version: parse_iptables_save(text or "")},
                                                  self.comment).get(f"ipv{version}", [])
                for version, (_unused, text) in self.save_targets().items() if text is not None or not existing_only}

    def apply(self, after: dict[str, Any]) -> None:
        current = iptables_managed(self.tables(), self.comment)
        for family in ("ipv4", "ipv6"):
            command = "iptables" if family == "ipv4" else "ip6tables"
            have, want = set(current.get(family, [])), set(after["managed"].get(family, []))
            for subnet in sorted(have - want):
                self._run([command, "-D", "INPUT", *admission_args(subnet, self.port, self.comment)])
            for subnet in sorted(want - have):
                self._run([command, "-I", "INPUT", "1", *admission_args(subnet, self.port, self.comment)])
        if self.persist and (current != after["managed"] or self.saved_managed() != after.get("saved")):
            self._save()

    def _run(self, argv: list[str]) -> None:
        rc, _unused, err = self.run(argv)
        if rc != 0:
            raise RuntimeError(f"{' '.join(argv[:4])} failed: {err.strip()}")

    def _save(self) -> None:
        """Write the rules where iptables-persistent (Debian) or iptables-services (RHEL) restore them."""
        for version, (path, _unused) in self.save_targets().items():
            command = "iptables-save" if version == 4 else "ip6tables-save"
            saved = self.backup(path)
            if saved:
                self.backups.append(saved)
            self._run(["sh", "-c", f'{command} > "$1.tmp" && mv "$1.tmp" "$1"', "sh", path])

    def boot_differences(self) -> list[str]:
        """Our ACCEPTs live but not in the saved rules the distro restores at boot, or the reverse.

        Only where a saved file exists: without one nothing is restored at boot, our rules and the
        rules they get past alike."""
        live = iptables_managed(self.tables(), self.comment)
        differences = []
        for family, saved in self.saved_managed(existing_only=True).items():
            now, boot = set(live.get(family, [])), set(saved)
            rule = f"{family} INPUT: -s {{}} -p tcp --dport {self.port} -j ACCEPT: "
            differences += [rule.format(s) + "live, not in the boot configuration" for s in sorted(now - boot)]
            differences += [rule.format(s) + "in the boot configuration, not live" for s in sorted(boot - now)]
        return differences

    def _read(self, path: str) -> str | None:
        rc, out, _unused = self.run(["cat", path])
        return out if rc == 0 else None

    def matches(self, now: dict[str, Any], after: dict[str, Any]) -> bool:
        return now["managed"] == after["managed"] and now.get("saved") == after.get("saved")

    def render(self, state: dict[str, Any]) -> str:
        lines = [f"{family} INPUT: -s {subnet} -p tcp --dport {self.port} -j ACCEPT"
                 for family, subnets in sorted(state["managed"].items()) for subnet in subnets]
        return "\n".join(lines) + "\n" if lines else "(no admission rules)\n"


class UfwBackend:
    """ufw: `ufw insert 1 allow proto tcp from SUBNET to any port PORT`; ufw saves its own rules."""

    name = "ufw"

    def __init__(self, run: Runner, port: int):
        self.run, self.port = run, port
        self.comment = MANAGED_COMMENT.format(port=port)

    def status(self) -> dict[str, Any]:
        rc, out, err = self.run(["ufw", "status", "verbose"])
        if rc != 0:
            raise RuntimeError(f"ufw status failed: {err.strip()}")
        return parse_ufw_status(out)

    def verdicts(self, subnets: list[Network]) -> list[dict[str, str]]:
        return ufw_verdicts(self.status(), subnets, self.port)

    def read(self) -> dict[str, Any]:
        return {"managed": ufw_managed(self.status(), self.comment)}

    def desired(self, before: dict[str, Any], subnets: list[Network], present: bool) -> dict[str, Any]:
        return {**before, "managed": ufw_desired(self.status(), subnets, self.port, self.comment, present)}

    def apply(self, after: dict[str, Any]) -> None:
        status = self.status()
        have, want = set(ufw_managed(status, self.comment)), set(after["managed"])
        for subnet in sorted(have - want):
            self._ufw(["delete", "allow", *self._spec(subnet)])
        for subnet in sorted(want - have):
            # `insert 1` puts ours before any deny; ufw refuses a position in an empty list.
            position = ["insert", "1"] if self.status()["rules"] else []
            self._ufw([*position, "allow", *self._spec(subnet), "comment", self.comment])

    def _spec(self, subnet: str) -> list[str]:
        return ["proto", "tcp", "from", subnet, "to", "any", "port", str(self.port)]

    def _ufw(self, args: list[str]) -> None:
        rc, out, err = self.run(["ufw", *args])
        if rc != 0:
            raise RuntimeError(f"ufw {' '.join(args)} failed: {(err or out).strip()}")

    def matches(self, now: dict[str, Any], after: dict[str, Any]) -> bool:
        return now["managed"] == after["managed"]

    def render(self, state: dict[str, Any]) -> str:
        lines = [f"ufw: {self.port}/tcp ALLOW IN {subnet}" for subnet in state["managed"]]
        return "\n".join(lines) + "\n" if lines else "(no admission rules)\n"
