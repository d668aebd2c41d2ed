"""Windows rooms, the firewall backend: one inbound allow rule for the controller port, scoped to the
controller subnets and profiles, set by community.windows.win_firewall_rule. Pure planning over the
collector's read (roles/zoom_room_diagnose/files/windows_facts.ps1 with RuleName: our rule through the
firewall COM API, the view win_firewall_rule edits, plus the ActiveStore rules the verdict uses):

  firewall_review(read, rule_name, subnets, port, profiles)   -> backup of our rule + overriding block rules
  firewall_mismatches(read, rule_name, subnets, port, profiles, state)
                                                               -> how the host differs from what is asked
  rule_args(...) / restore_args(backup)                        -> win_firewall_rule options
"""

from __future__ import annotations

import ipaddress
from typing import Any, Iterable

from ansible.errors import AnsibleFilterError
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    Network,
    parse_cidrs,
    parse_port,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_windows import (
    ALL_PROFILES_MASK,
    ANY_SERVICE,
    PROFILE_BITS,
    as_list,
    firewall_context,
    interface_addresses,
    is_any,
    parse_address_token,
    profile_settings,
    profile_verdict,
    rule_name,
    script_result,
    text,
)


def profile_mask(profiles: Iterable[str]) -> int:
    mask = 0
    for profile in profiles:
        if text(profile).lower() not in PROFILE_BITS:
            raise AnsibleFilterError(f"zoom_room_firewall_profiles: '{profile}' is not one of domain, private, public")
        mask |= PROFILE_BITS[text(profile).lower()]
    return ALL_PROFILES_MASK if mask == 7 else mask


def mask_profiles(mask: Any) -> list[str]:
    value = int(mask or 0)
    if value in (0, ALL_PROFILES_MASK) or value & 7 == 7:
        return ["domain", "private", "public"]
    return [name for name, bit in PROFILE_BITS.items() if value & bit]


def com_addresses(value: Any) -> list[Network] | None:
    """INetFwRule RemoteAddresses (`10.1.2.0/255.255.255.0,10.9.0.1`) -> networks; None for `*`/keywords."""
    if is_any(value):
        return None
    networks: list[Network] = []
    for token in text(value).split(","):
        parsed = parse_address_token(token)
        if parsed is None:
            return None
        networks.extend(parsed)
    return sorted(set(ipaddress.collapse_addresses(networks)), key=str)  # type: ignore[type-var]


def restore_options(rule: dict[str, Any]) -> dict[str, Any]:
    """win_firewall_rule options recreating a rule read through HNetCfg.FwPolicy2 (the COM view the module uses)."""
    protocol = int(rule.get("protocol") or 256)
    options: dict[str, Any] = {
        "name": text(rule.get("name")),
        "description": text(rule.get("description")),
        "direction": "out" if int(rule.get("direction") or 1) == 2 else "in",
        "action": "block" if int(rule.get("action") if rule.get("action") is not None else 1) == 0 else "allow",
        "protocol": {6: "tcp", 17: "udp", 256: "any"}.get(protocol, str(protocol)),
        "localip": "any" if is_any(rule.get("local_addresses")) else text(rule.get("local_addresses")),
        "remoteip": "any" if is_any(rule.get("remote_addresses")) else text(rule.get("remote_addresses")),
        "program": "any" if is_any(rule.get("application_name")) else text(rule.get("application_name")),
        "service": "any" if is_any(rule.get("service_name"), ANY_SERVICE) else text(rule.get("service_name")),
        "profiles": mask_profiles(rule.get("profiles")),
        "enabled": bool(rule.get("enabled")),
    }
    if protocol in (6, 17):
        options["localport"] = "any" if is_any(rule.get("local_ports")) else text(rule.get("local_ports"))
        options["remoteport"] = "any" if is_any(rule.get("remote_ports")) else text(rule.get("remote_ports"))
    else:  # ports first: win_firewall_rule sets LocalPorts/RemotePorts before Protocol, and COM refuses
        # ports on a rule whose protocol is not TCP/UDP (INetFwRule: set Protocol before LocalPorts)
        options["localport"] = options["remoteport"] = "any"
    if text(rule.get("grouping")):
        options["group"] = text(rule.get("grouping"))
    return options


def firewall_review(read: Any, rule_name_: Any, controller_subnets: Any, port: Any,
                    profiles: Any = ("domain", "private")) -> dict[str, Any]:
    """Before the change: our rule as it is (backup + how to restore it) and block rules that would override it."""
    try:
        subnets = parse_cidrs(controller_subnets, "zoom_room_controller_subnets")
        port_number = parse_port(port, "zoom_room_controller_port")
    except InvalidValue as error:
        raise AnsibleFilterError(str(error)) from None
    result, errors = script_result(read)
    if errors and "existing_rules" not in result:
        raise AnsibleFilterError(f"could not read firewall rule '{rule_name_}' before the change: {'; '.join(errors)}")
    existing = [r for r in as_list(result.get("existing_rules")) if isinstance(r, dict)]
    notes = []
    if len(existing) > 1:
        notes.append(f"{len(existing)} rules are named '{rule_name_}'; win_firewall_rule changes all of them and the "
                     "rollback restores the first one's settings on each")
    wanted = [p.capitalize() for p in mask_profiles(profile_mask(as_list(profiles)))]
    addresses = interface_addresses(result)
    settings = profile_settings(result)
    context = firewall_context(result, addresses)
    block_rules = [r for r in as_list(result.get("firewall_rules"))
                   if isinstance(r, dict) and text(r.get("action")).lower() == "block"]
    for subnet in subnets:
        for profile in wanted:
            verdict = profile_verdict(profile, {**settings[profile], "default_inbound_action": "Allow"},
                                      block_rules, subnet, port_number, context)
            for rule in verdict["blocking_rules"]:
                note = (f"block rule '{rule_name(rule)}' ({profile} profile) overrides the allow rule for {subnet}:"
                        f" TCP {port_number} stays blocked until it is removed or narrowed"
                        " (not deleted by the toolkit)")
                if note not in notes:
                    notes.append(note)
            if verdict["verdict"] == "blocked" and not verdict["blocking_rules"]:
                notes.append(f"{verdict['decided_by']}: the allow rule has no effect on the {profile} profile")
        for profile in wanted:
            if not settings[profile]["allow_local_firewall_rules"]:
                note = (f"Group Policy sets AllowLocalFirewallRules False on the {profile} profile:"
                        " the local allow rule is ignored there; add the rule to the GPO instead")
                if note not in notes:
                    notes.append(note)
    return {"backup": {"existed": bool(existing), "rules": existing,
                       "restore": restore_options(existing[0]) if existing else None},
            "notes": notes}


def firewall_mismatches(read: Any, rule_name_: Any, controller_subnets: Any, port: Any,
                        profiles: Any = ("domain", "private"), state: Any = "present") -> list[str]:
    """After the change: what the host's rule(s) named `rule_name_` differ in from what was asked."""
    result, errors = script_result(read)
    if "existing_rules" not in result:
        return [f"could not re-read rule '{rule_name_}': {'; '.join(errors) or 'no result'}"]
    existing = [r for r in as_list(result.get("existing_rules")) if isinstance(r, dict)]
    if text(state) == "absent":
        return [f"rule '{rule_name_}' still exists"] if existing else []
    if not existing:
        return [f"rule '{rule_name_}' does not exist"]
    subnets = sorted(set(ipaddress.collapse_addresses(parse_cidrs(controller_subnets, "zoom_room_controller_subnets"))),
                     key=str)  # type: ignore[type-var]
    expected_mask = profile_mask(as_list(profiles))
    problems = []
    for rule in existing:
        checks = {
            "enabled": (bool(rule.get("enabled")), True),
            "action": (int(rule.get("action") if rule.get("action") is not None else -1), 1),
            "direction": (int(rule.get("direction") or 0), 1),
            "protocol": (int(rule.get("protocol") or 0), 6),
            "local ports": (text(rule.get("local_ports")), str(parse_port(port, "zoom_room_controller_port"))),
            "remote addresses": (com_addresses(rule.get("remote_addresses")), subnets),
            "profiles": (int(rule.get("profiles") or 0), expected_mask),
            # conditions our rule does not have: a same-named rule limited by one admits less than asked
            "program": (text(rule.get("application_name")) or "any", "any"),
            "service": (text(rule.get("service_name")) or "any", "any"),
            "local addresses": ("any" if is_any(rule.get("local_addresses")) else text(rule.get("local_addresses")),
                                "any"),
            "remote ports": ("any" if is_any(rule.get("remote_ports")) else text(rule.get("remote_ports")), "any"),
        }
        for what, (found, wanted) in checks.items():
            if found != wanted:
                problems.append(f"rule '{rule_name_}' {what}: found {found}, wanted {wanted}")
    return problems


# --------------------------------------------------------------------------- the plan the action applies

RULE_MODULE = "community.windows.win_firewall_rule"


def rule_args(name: str, description: str, controller_subnets: Any, port: Any, profiles: Any,
              state: str = "present") -> dict[str, Any]:
    """win_firewall_rule options for our rule: inbound, allow, TCP `port`, from the controller subnets only."""
    if state == "absent":
        return {"name": name, "state": "absent"}
    try:
        subnets = parse_cidrs(controller_subnets, "zoom_room_controller_subnets")
        port_number = parse_port(port, "zoom_room_controller_port")
    except InvalidValue as error:
        raise AnsibleFilterError(str(error)) from None
    # `any` resets a condition a same-named rule may carry (win_firewall_rule only changes what is passed).
    # `service` is not passed: the module sets ServiceName with a plain COM assignment, which its own comments say
    # mishandles null; a rule limited to a service is reported as a mismatch instead (firewall_mismatches).
    return {"name": name, "description": description, "direction": "in", "action": "allow", "protocol": "tcp",
            "localport": str(port_number), "remoteip": ",".join(str(subnet) for subnet in subnets),
            "program": "any", "localip": "any", "remoteport": "any",
            "profiles": mask_profiles(profile_mask(as_list(profiles))), "enabled": True, "state": "present"}


def prepare_args(existing: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """A first win_firewall_rule call that makes a same-named rule TCP before its port is set, or None.

    `existing`: the rules of that name as read (the backup's `rules`). The module sets LocalPorts before
    Protocol, and COM refuses a port on a rule whose protocol is Any or ICMP (INetFwRule.LocalPorts: "The
    Protocol property must be set before the LocalPorts property").
    """
    if any(int(rule.get("protocol") or 256) not in (6, 17) for rule in existing):
        return {"name": name, "protocol": "tcp", "state": "present"}
    return None


def restore_args(backup: Any) -> dict[str, Any]:
    """win_firewall_rule options that put back the rule the backup saved (or remove ours if there was none)."""
    saved = (backup or {}).get("windows_firewall") if isinstance(backup, dict) else None
    if not isinstance(saved, dict) or "existed" not in saved or not text(saved.get("name")):
        raise AnsibleFilterError("restore: not a Windows firewall backup (expected the `backup` an earlier run of "
                                 "zoomrooms.remediation.zoom_room_firewall returned on this room)")
    if not saved["existed"]:
        return {"name": text(saved["name"]), "state": "absent"}
    return {**saved["restore"], "state": "present"}


def saved_rule(read: Any, name: str) -> dict[str, Any]:
    """Our rule(s) as read, and the win_firewall_rule options that recreate the first."""
    result, errors = script_result(read)
    if "existing_rules" not in result:
        raise AnsibleFilterError(f"could not read firewall rule '{name}' before the change: "
                                 f"{'; '.join(errors) or 'no result'}")
    existing = [rule for rule in as_list(result.get("existing_rules")) if isinstance(rule, dict)]
    return {"existed": bool(existing), "rules": existing, "restore": restore_options(existing[0]) if existing else None}


def render_rules(rules: list[dict[str, Any]], name: str) -> str:
    """Our rule(s) as a person reads them in --diff."""
    if not rules:
        return f"no rule named '{name}'\n"
    lines = []
    for rule in rules:
        lines.append(f"{text(rule.get('name'))}: {'enabled' if rule.get('enabled') else 'disabled'}, "
                     f"{'allow' if int(rule.get('action') or 0) == 1 else 'block'} TCP "
                     f"{text(rule.get('local_ports')) or 'any'} from {text(rule.get('remote_addresses')) or 'any'}, "
                     f"profiles {', '.join(mask_profiles(rule.get('profiles')))}")
    return "\n".join(lines) + "\n"


def render_args(args: dict[str, Any]) -> str:
    if args.get("state") == "absent":
        return f"no rule named '{args['name']}'\n"
    return (f"{args['name']}: enabled, allow TCP {args['localport']} from {args['remoteip']}, "
            f"profiles {', '.join(args['profiles'])}\n")


def firewall_plan(read: Any, name: str, description: str, controller_subnets: Any, port: Any, profiles: Any,
                  state: str = "present") -> dict[str, Any]:
    """From the collector's read: whether our rule needs a change, the win_firewall_rule options that make it,
    the backup (`{"windows_firewall": ...}`, what `restore` takes back) and the notes (overriding block rules)."""
    review = firewall_review(read, name, controller_subnets, port, profiles) if state != "absent" \
        else {"backup": saved_rule(read, name), "notes": []}
    differences = firewall_mismatches(read, name, controller_subnets, port, profiles, state)
    args = rule_args(name, description, controller_subnets, port, profiles, state)
    return {"changed": bool(differences), "differences": differences, "module_args": args,
            "prepare_args": prepare_args(review["backup"]["rules"], name) if state != "absent" and differences
            else None,
            "backup": {"windows_firewall": {"name": name, **review["backup"]}}, "notes": review["notes"],
            "diff": {"before": render_rules(review["backup"]["rules"], name), "after": render_args(args)}}
