"""Windows rooms, the facts reader: what the read-only collector (roles/zoom_room_diagnose/files/
windows_facts.ps1, through ansible.windows.win_powershell) returned, turned into the room facts schema.

Pure functions over plain data; nothing here touches a host. The firewall and proxy backends
(zoom_room_windows_firewall.py, zoom_room_windows_proxy.py) plan changes over the same reads; the unit
tests feed all three recorded results from tests/unit/fixtures/windows/.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import ipaddress
import re
from typing import Any, Iterable, Sequence

from ansible.errors import AnsibleFilterError
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    Network,
    is_local_scope,
    parse_cidrs,
    parse_port,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_proxy_policy import (
    coverage,
    empty_proxy,
    redact_proxy,
    strongest_mode,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_version import parse_version, read_version

PROFILES = ("Domain", "Private", "Public")
# Get-NetConnectionProfile NetworkCategory -> firewall profile.
CATEGORY_PROFILE = {"domainauthenticated": "Domain", "private": "Private", "public": "Public"}
# INetFwRule.Profiles bits (NET_FW_PROFILE_TYPE2): domain 1, private 2, public 4, all 0x7FFFFFFF.
PROFILE_BITS = {"domain": 1, "private": 2, "public": 4}
ALL_PROFILES_MASK = 0x7FFFFFFF
# DefaultConnectionSettings byte 8 (INTERNET_PER_CONN_FLAGS): the PROXY_TYPE_* bits.
PROXY_TYPE_PROXY, PROXY_TYPE_AUTO_PROXY_URL, PROXY_TYPE_AUTO_DETECT = 0x02, 0x04, 0x08
# Local-port keywords of Windows Firewall rules; none of them means a fixed port like 9090.
PORT_KEYWORDS = frozenset(k.lower() for k in (
    "RPC", "RPCEPMap", "RPC-EPMap", "IPHTTPS", "IPHTTPSIn", "IPHTTPSOut", "Teredo", "Edge", "PlayToDiscovery",
    "Ply2Disc", "mDNS", "DHCP", "CortanaOut"))
ANY = frozenset({"", "any", "*"})
# A rule's service condition: none, or a service name; "*" is no wildcard there but "services only"
# (INetFwRule.ServiceName: "a service, not an application, must be sending or receiving traffic").
ANY_SERVICE = frozenset({"", "any"})
APP_NAME_PATTERN = "Zoom Rooms*"
APP_EXCLUDE_PATTERN = "*Installer*"
PUBLISHER_PATTERN = "Zoom*Communications*"
# Where ZoomRooms.exe lives (the winget Zoom.ZoomRooms manifests and Fleet maintained-apps name the first two;
# the x86 installers of the winget manifests install to Program Files (x86), docs/windows.md).
DEFAULT_APP_PATHS = ("C:\\Program Files\\ZoomRooms\\bin\\ZoomRooms.exe",
                     "C:\\Program Files\\Zoom\\ZoomRooms\\bin\\ZoomRooms.exe",
                     "C:\\Program Files (x86)\\ZoomRooms\\bin\\ZoomRooms.exe")
WININET_SOURCE = "WinINet"
WINHTTP_SOURCE = "WinHTTP"

ALL, SOME, NONE, UNKNOWN = "all", "some", "none", "unknown"
# RemoteAddress keywords for the room's own subnets; a 4 or 6 suffix restricts one to that IP version
# (Set-NetFirewallRule -RemoteAddress).
LOCAL_SUBNET_VERSIONS = {"localsubnet": None, "localsubnet4": 4, "localsubnet6": 6}
# The keys each of the collector's try blocks sets (windows_facts.ps1): a failed block leaves its keys out.
APP_KEYS = ("uninstall_entries", "executables")
LISTENER_KEYS = ("listeners",)
RULE_KEYS = ("firewall_rules",)
ADDRESS_KEYS = ("addresses",)
# PolicyStoreSourceType as [string] when the store was not traced: empty, or the enum's None.
UNREAD_SOURCES = frozenset({"", "none"})


# --------------------------------------------------------------------------- small helpers


def as_list(value: Any) -> list[Any]:
    """PowerShell unrolls one-element arrays and returns $null for empty ones: undo that."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def is_any(value: Any, wildcards: frozenset[str] = ANY) -> bool:
    tokens = [text(v).lower() for v in as_list(value)]
    return not tokens or any(token in wildcards for token in tokens)


def section_unread(result: dict[str, Any], keys: Sequence[str], errors: Sequence[str]) -> bool:
    """True when a section of the collector's read failed: a key it sets is missing and an error was recorded.

    The collector sets every key of a section unless that section's try block threw (its `what: why` line is in
    errors) or the whole run failed (a `facts script:` line); an absent key is then "not read", never "none".
    """
    return bool(errors) and any(key not in result for key in keys)


def script_result(raw: Any) -> tuple[dict[str, Any], list[str]]:
    """The `$Ansible.Result` of a registered win_powershell result (or the bare dict), plus read errors."""
    errors: list[str] = []
    if not isinstance(raw, dict):
        return {}, [f"facts script: no result registered (got {type(raw).__name__})"]
    if raw.get("failed") or raw.get("unreachable"):
        errors.append(f"facts script: {text(raw.get('msg')) or 'failed'}")
    for record in as_list(raw.get("error")):
        message = text(record.get("output") if isinstance(record, dict) else record).splitlines()
        if message:
            errors.append(f"facts script: {message[0]}")
    result = raw.get("result", raw)
    if not isinstance(result, dict):
        errors.append("facts script: result is not a dictionary")
        result = {}
    errors.extend(text(e) for e in as_list(result.get("errors")) if text(e))
    return result, errors


# --------------------------------------------------------------------------- app version


def is_zoom_rooms_entry(entry: dict[str, Any]) -> bool:
    """Uninstall entry of the real app: `Zoom Rooms*` but not the `*Installer*` bootstrapper, Zoom publisher."""
    name = text(entry.get("display_name"))
    publisher = text(entry.get("publisher"))
    return (fnmatch.fnmatchcase(name.lower(), APP_NAME_PATTERN.lower())
            and not fnmatch.fnmatchcase(name.lower(), APP_EXCLUDE_PATTERN.lower())
            and fnmatch.fnmatchcase(publisher.lower(), PUBLISHER_PATTERN.lower()))


def app_facts(result: dict[str, Any], errors: Sequence[str] = ()) -> dict[str, Any]:
    """DisplayVersion of the newest matching Uninstall entry (either registry view); else ZoomRooms.exe's version.

    A version text the shared parser cannot read is kept as `raw_version` with `version_status: unreadable`.
    Nothing found is `installed: False` only when both places were read; after a failed read it is None
    (unknown), since the findings report `app_not_installed` on False alone.
    """
    entries = [e for e in as_list(result.get("uninstall_entries")) if isinstance(e, dict) and is_zoom_rooms_entry(e)]
    executables = [e for e in as_list(result.get("executables")) if isinstance(e, dict)]
    readings = [(text(e.get("display_name")), read_version(text(e.get("display_version")), "registry"))
                for e in entries]
    for exe in executables:
        for field in ("file_version", "product_version"):
            readings.append((text(entries[0].get("display_name")) if entries else "ZoomRooms.exe",
                             read_version(text(exe.get(field)), "file_version")))
    readable = sorted((r for r in readings if r[1]["version"]), key=lambda r: parse_version(r[1]["version"]),
                      reverse=True)
    registry_first = [r for r in readable if r[1]["version_source"] == "registry"] or readable
    if registry_first:
        name, version = registry_first[0]
        return {"installed": True, "name": name, **version}
    unreadable = next((r for r in readings if r[1]["version_status"] == "unreadable"), None)
    if unreadable:
        return {"installed": True, "name": unreadable[0], **unreadable[1]}
    if entries or executables:
        return {"installed": True, "name": text(entries[0].get("display_name")) if entries else "ZoomRooms.exe",
                **read_version(None, None)}
    installed = None if section_unread(result, APP_KEYS, errors) else False
    return {"installed": installed, "name": None, **read_version(None, None)}


def app_executables(result: dict[str, Any]) -> list[str]:
    return [text(e.get("path")) for e in as_list(result.get("executables")) if isinstance(e, dict) and e.get("path")]


# --------------------------------------------------------------------------- listener and addresses


def strip_zone(address: str) -> str:
    return address.split("%", 1)[0]


def listener_facts(result: dict[str, Any], errors: Sequence[str] = ()) -> dict[str, Any]:
    """Who listens on the port; `listening: None` (unknown) when Get-NetTCPConnection failed, so a failed read
    never reads as "nothing listens" (`app_not_listening` fires on False alone)."""
    if section_unread(result, LISTENER_KEYS, errors):
        return {"listening": None, "addresses": [], "process": None}
    listeners = [entry for entry in as_list(result.get("listeners")) if isinstance(entry, dict)]
    addresses: list[str] = []
    for entry in listeners:
        address = strip_zone(text(entry.get("local_address")))
        if address and address not in addresses:
            addresses.append(address)
    process = next((text(e.get("process_name")) for e in listeners if text(e.get("process_name"))), None)
    return {"listening": bool(listeners), "addresses": addresses, "process": process}


def listener_paths(result: dict[str, Any]) -> list[str]:
    return [text(e.get("process_path")) for e in as_list(result.get("listeners"))
            if isinstance(e, dict) and text(e.get("process_path"))]


def interface_addresses(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Own addresses with interface and prefix: loopback and IPv6 link-local left out."""
    addresses = []
    for entry in as_list(result.get("addresses")):
        if not isinstance(entry, dict):
            continue
        address = strip_zone(text(entry.get("address")))
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if is_local_scope(address):
            continue
        addresses.append({"interface": text(entry.get("interface_alias")) or None, "address": address,
                          "prefix": int(entry.get("prefix") or (32 if ip.version == 4 else 128)),
                          "interface_index": entry.get("interface_index")})
    return addresses


def local_networks(addresses: Iterable[dict[str, Any]]) -> list[Network]:
    return [ipaddress.ip_interface(f"{a['address']}/{a['prefix']}").network for a in addresses]


# --------------------------------------------------------------------------- firewall evaluation


def parse_address_token(token: str) -> list[Network] | None:
    """One RemoteAddress token: an address, CIDR, address/mask or `a-b` range. None for keywords."""
    token = token.strip()
    if "-" in token and not token.startswith("-"):
        start, _unused, end = token.partition("-")
        try:
            first, last = ipaddress.ip_address(start.strip()), ipaddress.ip_address(end.strip())
            return list(ipaddress.summarize_address_range(first, last))
        except (ValueError, TypeError):
            return None
    try:
        return [ipaddress.ip_network(token, strict=False)]
    except ValueError:
        return None


def address_coverage(networks: Sequence[Network], subnet: Network) -> str:
    """How much of `subnet` the union of `networks` covers: all, some or none."""
    same_family = [n for n in networks if n.version == subnet.version]
    covered = 0
    for network in ipaddress.collapse_addresses(same_family):  # type: ignore[type-var]
        if subnet.subnet_of(network):  # type: ignore[arg-type]
            return ALL
        if network.subnet_of(subnet):  # type: ignore[arg-type]
            covered += network.num_addresses
    if covered >= subnet.num_addresses:
        return ALL
    return SOME if covered else NONE


def remote_address_match(tokens: list[Any], subnet: Network, context: dict[str, Any]) -> tuple[str, str]:
    if is_any(tokens):
        return ALL, ""
    networks: list[Network] = []
    unknown: list[str] = []
    for token in (text(t) for t in tokens):
        lowered = token.lower()
        if lowered in LOCAL_SUBNET_VERSIONS and context["local_subnets_unread"]:
            # The room's own subnets are what the keyword means: unread, it may cover the subnet or not.
            unknown.append(f"{token} (local subnets not read)")
            continue
        if lowered in LOCAL_SUBNET_VERSIONS:  # "LocalSubnet4"/"LocalSubnet6": that IP version's only
            wanted = LOCAL_SUBNET_VERSIONS[lowered]
            networks.extend(n for n in context["local_networks"] if wanted is None or n.version == wanted)
            continue
        parsed = parse_address_token(token)
        if parsed is None:
            unknown.append(token)
        else:
            networks.extend(parsed)
    covered = address_coverage(networks, subnet)
    if covered == ALL or not unknown:
        return covered, ""
    return UNKNOWN, f"remote address keyword {', '.join(unknown)}"


def local_port_match(tokens: list[Any], port: int) -> tuple[str, str]:
    if is_any(tokens):
        return ALL, ""
    unknown = []
    for token in (text(t) for t in tokens):
        if re.fullmatch(r"\d+", token) and int(token) == port:
            return ALL, ""
        if re.fullmatch(r"\d+\s*-\s*\d+", token):
            low, high = (int(p) for p in token.split("-"))
            if low <= port <= high:
                return ALL, ""
        elif not re.fullmatch(r"\d+", token) and token.lower() not in PORT_KEYWORDS:
            unknown.append(token)
    return (UNKNOWN, f"local port {', '.join(unknown)}") if unknown else (NONE, "")


def expand_program(path: str) -> str:
    expansions = {"%programfiles%": "c:\\program files", "%programfiles(x86)%": "c:\\program files (x86)",
                  "%systemroot%": "c:\\windows", "%windir%": "c:\\windows", "%systemdrive%": "c:"}
    lowered = path.strip().strip('"').lower()
    for variable, value in expansions.items():
        lowered = lowered.replace(variable, value)
    return lowered


def program_match(program: Any, context: dict[str, Any]) -> tuple[str, str]:
    """A program rule applies to that executable's sockets: the listener's, else the app's known paths."""
    if is_any(program):
        return ALL, ""
    candidates = context["program_paths"]
    if not candidates:
        return UNKNOWN, f"program {text(program)} (no listener or app path to compare)"
    return (ALL, "") if expand_program(text(program)) in candidates else (NONE, "")


def rule_match(rule: dict[str, Any], subnet: Network, port: int, context: dict[str, Any]) -> tuple[str, str]:
    """Does this enabled inbound rule apply to TCP `port` from every (all), part (some) or no address of `subnet`?

    `unknown` with a reason when a condition the evaluator cannot model could decide it.
    """
    protocol = text(rule.get("protocol")).lower()
    if protocol not in ("tcp", "6", "any", ""):
        return NONE, ""
    checks = [local_port_match(as_list(rule.get("local_port")), port),
              remote_address_match(as_list(rule.get("remote_address")), subnet, context),
              program_match(rule.get("program"), context)]
    if not is_any(rule.get("package")):
        checks.append((NONE, ""))  # an AppContainer (packaged app) rule; Zoom Rooms is a Win32 app
    if not is_any(rule.get("service"), ANY_SERVICE):  # a service's rule (or services only) is not the app's
        checks.append((UNKNOWN, f"service {text(rule.get('service'))}") if context["listener_is_service_host"]
                      else (NONE, ""))
    if not is_any(rule.get("remote_port")):
        checks.append((UNKNOWN, f"remote port {', '.join(text(p) for p in as_list(rule.get('remote_port')))}"))
    if not is_any(rule.get("local_address")):
        checks.append((UNKNOWN, f"local address {', '.join(text(a) for a in as_list(rule.get('local_address')))}"))
    if not is_any(rule.get("interface_type")):
        checks.append((UNKNOWN, f"interface type {text(rule.get('interface_type'))}"))
    outcomes = [outcome for outcome, _unused in checks]
    if NONE in outcomes:
        return NONE, ""
    if UNKNOWN in outcomes:
        return UNKNOWN, "; ".join(reason for outcome, reason in checks if outcome == UNKNOWN)
    return (SOME, "") if SOME in outcomes else (ALL, "")


def rule_profiles(rule: dict[str, Any]) -> set[str]:
    value = text(rule.get("profile"))
    if value.lower() in ("", "any", "all"):
        return set(PROFILES)
    return {p.strip().capitalize() for p in re.split(r"[,\s]+", value) if p.strip()} & set(PROFILES)


def profile_settings(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Get-NetFirewallProfile values; NotConfigured takes the Windows default (on, block inbound, rules honoured)."""
    settings = {name: {"enabled": True, "default_inbound_action": "Block", "allow_inbound_rules": True,
                       "allow_local_firewall_rules": True, "known": False} for name in PROFILES}
    for entry in as_list(result.get("firewall_profiles")):
        if not isinstance(entry, dict) or text(entry.get("name")).capitalize() not in settings:
            continue
        profile = settings[text(entry.get("name")).capitalize()]
        profile["known"] = True
        for key in ("enabled", "allow_inbound_rules", "allow_local_firewall_rules"):
            value = text(entry.get(key)).lower()
            if value in ("false", "0"):
                profile[key] = False
        if text(entry.get("default_inbound_action")).lower() == "allow":
            profile["default_inbound_action"] = "Allow"
    return settings


def interface_profiles(result: dict[str, Any]) -> dict[Any, str]:
    """Interface index -> firewall profile of its connection (Get-NetConnectionProfile)."""
    category = {}
    for entry in as_list(result.get("connection_profiles")):
        if isinstance(entry, dict):
            profile = CATEGORY_PROFILE.get(text(entry.get("network_category")).lower())
            if profile:
                category[entry.get("interface_index")] = profile
    return category


def on_link_networks(addresses: list[dict[str, Any]], category: dict[Any, str],
                     subnet: Network) -> list[tuple[str, Network]]:
    """(profile, network) of each profiled interface address whose network shares addresses with `subnet`."""
    linked = []
    for address in addresses:
        network = ipaddress.ip_interface(f"{address['address']}/{address['prefix']}").network
        if address["interface_index"] in category and network.version == subnet.version \
                and network.overlaps(subnet):  # type: ignore[arg-type]
            linked.append((category[address["interface_index"]], network))
    return linked


def relevant_profiles(result: dict[str, Any], subnet: Network, addresses: list[dict[str, Any]]) -> list[str]:
    """The profile(s) of the interface(s) controller traffic from `subnet` arrives on, as routing decides it.

    The subnet wholly inside an interface's network: that interface (the longest such prefix, as routing
    matches). Interface networks on only part of a larger subnet: those interfaces, and for the part none of
    them is on (routed) the default-route interface(s) too. No interface on it: the default-route
    interface(s); else every connected one; with no connection profile data, all three.
    """
    category = interface_profiles(result)
    if not category:
        return list(PROFILES)
    linked = on_link_networks(addresses, category, subnet)
    routed = [category[r.get("interface_index")] for r in as_list(result.get("default_routes"))
              if isinstance(r, dict) and r.get("interface_index") in category]
    containing = [(p, n) for p, n in linked if subnet.subnet_of(n)]  # type: ignore[arg-type]
    if containing:
        longest = max(n.prefixlen for _unused, n in containing)
        chosen = [p for p, n in containing if n.prefixlen == longest]
    else:
        chosen = [p for p, _unused in linked]
        if address_coverage([n for _unused, n in linked], subnet) != ALL:
            chosen += routed
    return [p for p in PROFILES if p in (chosen or list(category.values()))]


STORE_UNREAD_REASON = ("its policy store was not read: a local rule is ignored where Group Policy sets"
                       " AllowLocalFirewallRules False")


def store_unread(rule: dict[str, Any], settings: dict[str, Any]) -> bool:
    """A rule whose source store is unknown (PolicyStoreSourceType empty) on a profile that ignores local rules:
    it may be a local rule Windows ignores there or a Group Policy one it enforces, so it decides nothing.

    Microsoft's Get-NetFirewallRule page fills PolicyStoreSourceType for ActiveStore reads made with source
    tracing (the collector passes -TracePolicyStore); third-party scripts filter on it without tracing. Until
    a Windows host shows which holds, an empty source is not taken for a Group Policy rule.
    """
    return not settings["allow_local_firewall_rules"] and text(rule.get("source")).lower() in UNREAD_SOURCES


def profile_verdict(profile: str, settings: dict[str, Any], rules: list[dict[str, Any]], subnet: Network,
                    port: int, context: dict[str, Any]) -> dict[str, Any]:
    """Windows Defender Firewall order for one profile: off, shields up, block rules, allow rules, default."""
    where = f"Windows Defender Firewall ({profile})"
    if not settings["enabled"]:
        return {"verdict": "admitted", "decided_by": f"{where}: firewall off", "blocking_rules": [], "admitting": []}
    if not settings["allow_inbound_rules"]:
        return {"verdict": "blocked", "decided_by": f"{where}: block all inbound connections (AllowInboundRules False)",
                "blocking_rules": [], "admitting": []}
    applicable = [r for r in rules if profile in rule_profiles(r)
                  and (settings["allow_local_firewall_rules"] or text(r.get("source")).lower() != "local")]
    blocking, block_unknown, admitting, allow_some, allow_unknown = [], [], [], [], []
    for rule in applicable:
        outcome, reason = rule_match(rule, subnet, port, context)
        is_block = text(rule.get("action")).lower() == "block"
        if outcome in (ALL, SOME) and (is_block or outcome == ALL) and store_unread(rule, settings):
            outcome, reason = UNKNOWN, STORE_UNREAD_REASON
        if outcome in (ALL, SOME):
            (blocking if is_block else admitting if outcome == ALL else allow_some).append(rule)
        elif outcome == UNKNOWN:
            (block_unknown if is_block else allow_unknown).append((rule, reason))
    if blocking:
        names = ", ".join(f"'{rule_name(r)}'" for r in blocking)
        return {"verdict": "blocked", "decided_by": f"{where}: block rule {names}", "blocking_rules": blocking,
                "admitting": admitting}
    if admitting or settings["default_inbound_action"] == "Allow":
        decided = (f"{where}: allow rule '{rule_name(admitting[0])}'" if admitting
                   else f"{where}: default inbound action Allow")
        if block_unknown:
            rule, reason = block_unknown[0]
            return {"verdict": "unknown", "decided_by": f"{where}: block rule '{rule_name(rule)}' may apply ({reason})",
                    "blocking_rules": [], "admitting": admitting}
        return {"verdict": "admitted", "decided_by": decided, "blocking_rules": [], "admitting": admitting}
    if allow_unknown:
        rule, reason = allow_unknown[0]
        return {"verdict": "unknown", "decided_by": f"{where}: allow rule '{rule_name(rule)}' may apply ({reason})",
                "blocking_rules": [], "admitting": []}
    partial = f"; allow rule '{rule_name(allow_some[0])}' covers only part of {subnet}" if allow_some else ""
    return {"verdict": "blocked",
            "decided_by": f"{where}: default inbound action Block, no allow rule for TCP {port} from {subnet}{partial}",
            "blocking_rules": [], "admitting": []}


def rule_name(rule: dict[str, Any]) -> str:
    return text(rule.get("display_name")) or text(rule.get("name"))


def firewall_context(result: dict[str, Any], addresses: list[dict[str, Any]],
                     errors: Sequence[str] = ()) -> dict[str, Any]:
    """What rule conditions are compared with: local subnets (and whether they were read), the program that
    listens (or will listen)."""
    paths = listener_paths(result) or app_executables(result) \
        or [text(p) for p in as_list(result.get("app_paths")) if text(p)] or list(DEFAULT_APP_PATHS)
    names = [text(e.get("process_name")).lower() for e in as_list(result.get("listeners")) if isinstance(e, dict)]
    return {"local_networks": local_networks(addresses),
            "local_subnets_unread": section_unread(result, ADDRESS_KEYS, errors),
            "program_paths": {expand_program(p) for p in paths},
            "listener_is_service_host": any(n in ("svchost", "svchost.exe") for n in names)}


def evaluate_subnet(result: dict[str, Any], rules: list[dict[str, Any]], settings: dict[str, dict[str, Any]],
                    subnet: Network, port: int, profiles: Sequence[str], context: dict[str, Any]) -> dict[str, Any]:
    """Verdict over the given profiles: blocked if any blocks, unknown if any is unsure, else admitted."""
    per_profile = [profile_verdict(p, settings[p], rules, subnet, port, context) for p in profiles]
    for wanted in ("blocked", "unknown"):
        deciding = [v for v in per_profile if v["verdict"] == wanted]
        if deciding:
            return {"verdict": wanted, "decided_by": "; ".join(v["decided_by"] for v in deciding),
                    "per_profile": per_profile}
    return {"verdict": "admitted", "decided_by": "; ".join(v["decided_by"] for v in per_profile),
            "per_profile": per_profile}


RULES_UNREAD_NOTE = ("the firewall profiles were read but not the rules (see errors): every verdict is unknown,"
                     " since an allow or block rule could decide it whatever the default action")


def unread_layer(what: str, read_errors: Sequence[str]) -> dict[str, str]:
    """The `firewall.unreadable` entry (as Linux layers give it) that makes the diagnosis say the room's own
    firewall is unknown (host_firewall_unreadable) instead of blaming the network for a failed probe."""
    why = [e for e in read_errors if e.startswith(("firewall", "facts script"))]
    return {"backend": "windows_defender", "reason": f"{what}: {why[0]}" if why else what}


def unknown_verdicts(subnets: Sequence[Network], why: str) -> list[dict[str, Any]]:
    return [{"subnet": str(s), "verdict": "unknown", "decided_by": why} for s in subnets]


def block_rule_notes(per_profile: list[dict[str, Any]], subnet: Network, port: int) -> list[str]:
    notes = []
    for verdict in per_profile:
        for rule in verdict["blocking_rules"]:
            profiles = text(rule.get("profile")) or "Any"
            notes.append(f"block rule '{rule_name(rule)}' (profiles {profiles}) blocks TCP {port} from {subnet};"
                         " block rules win over allow rules, so no allow rule can admit it"
                         " (the toolkit reports it and does not delete it)")
    return notes


def profile_notes(result: dict[str, Any], settings: dict[str, dict[str, Any]], connected: list[str]) -> list[str]:
    notes = []
    for profile in connected:
        if not settings[profile]["allow_local_firewall_rules"]:
            notes.append(f"Group Policy sets AllowLocalFirewallRules False on the {profile} profile: "
                         "locally created rules (like the toolkit's) are ignored there")
        if not settings[profile]["known"] and "firewall_profiles" in result:
            notes.append(f"{profile} profile settings not read; Windows defaults assumed")
    return notes


def firewall_facts(result: dict[str, Any], subnets: Sequence[Network], port: int,
                   addresses: list[dict[str, Any]], read_errors: list[str]) -> dict[str, Any]:
    if "firewall_rules" not in result and "firewall_profiles" not in result:
        return {"backend": "windows_defender", "active": True,
                "verdicts": unknown_verdicts(subnets, "firewall state not read"), "block_all": False, "notes": [],
                "unreadable": [unread_layer("firewall state not read", read_errors)]}
    settings = profile_settings(result)
    profiles_of = {subnet: relevant_profiles(result, subnet, addresses) for subnet in subnets}
    connected = sorted({p for profiles in profiles_of.values() for p in profiles}, key=PROFILES.index) \
        or list(PROFILES)
    active = any(settings[p]["enabled"] for p in connected)
    block_all = any(settings[p]["enabled"] and not settings[p]["allow_inbound_rules"] for p in connected)
    if section_unread(result, RULE_KEYS, read_errors):
        # Profiles without rules: the default action alone would call every subnet blocked.
        return {"backend": "windows_defender", "active": active, "block_all": block_all,
                "verdicts": unknown_verdicts(subnets, "firewall rules not read"),
                "notes": [RULES_UNREAD_NOTE, *profile_notes(result, settings, connected)],
                "unreadable": [unread_layer("firewall rules not read", read_errors)]}
    rules = [r for r in as_list(result.get("firewall_rules")) if isinstance(r, dict)]
    context = firewall_context(result, addresses, read_errors)
    notes: list[str] = []
    verdicts = []
    for subnet in subnets:
        outcome = evaluate_subnet(result, rules, settings, subnet, port, profiles_of[subnet], context)
        verdicts.append({"subnet": str(subnet), "verdict": outcome["verdict"], "decided_by": outcome["decided_by"]})
        for note in block_rule_notes(outcome["per_profile"], subnet, port):
            if note not in notes:  # one rule blocking on several profiles is named once
                notes.append(note)
    notes.extend(profile_notes(result, settings, connected))
    if any(e.startswith("firewall") for e in read_errors):
        notes.append("firewall rules were read only in part; see errors")
    return {"backend": "windows_defender", "active": active, "verdicts": verdicts, "block_all": block_all,
            "notes": notes}


# --------------------------------------------------------------------------- proxy reading


def split_bypass(value: Any) -> list[str]:
    """WinINet ProxyOverride / WinHTTP bypass: `;` separated (WinHTTP also takes spaces)."""
    if isinstance(value, (list, tuple)):
        return [text(v) for v in value if text(v)]
    return [entry for entry in re.split(r"[;\s]+", text(value)) if entry]


def parse_proxy_server(value: Any) -> dict[str, str]:
    """`host:port` (every protocol) or `http=host:port;https=host:port;socks=...` -> {protocol: server}."""
    servers: dict[str, str] = {}
    for part in (p.strip() for p in re.split(r"[;\s]+", text(value)) if p.strip()):
        if "=" in part:
            protocol, _unused, server = part.partition("=")
            servers[protocol.strip().lower()] = server.strip()
        else:
            servers.setdefault("http", part)
            servers.setdefault("https", part)
    return servers


def connection_settings(entry: dict[str, Any]) -> dict[str, Any]:
    """The decoded DefaultConnectionSettings of a WinINet entry; {} when the collector sent none or it is not
    in the known layout (the registry values alone are read then)."""
    encoded = text(entry.get("connection_settings_base64"))
    if not encoded:
        return {}
    try:
        return parse_connection_settings(base64.b64decode(encoded, validate=True))
    except (ValueError, binascii.Error):
        return {}


def wininet_source(entry: dict[str, Any]) -> dict[str, Any]:
    """One WinINet setting (a user's or the machine's) in the facts `sources` shape.

    The flags come from DefaultConnectionSettings; the server, bypass list and PAC URL from the registry values,
    else from that value's own strings: a per-machine setting written as DefaultConnectionSettings alone (the
    way spad.uk "How does ProxySettingsPerUser work" configures every account) has no ProxyServer value.
    """
    blob = connection_settings(entry)
    flags = entry.get("connection_flags")
    flags = int(flags) if isinstance(flags, int) or text(flags).isdigit() else None
    auto_config_url = text(entry.get("auto_config_url")) or text(blob.get("pac_url")) or None
    server = text(entry.get("proxy_server")) or text(blob.get("proxy"))
    override = text(entry.get("proxy_override")) or text(blob.get("bypass"))
    proxy_enabled = bool(flags & PROXY_TYPE_PROXY) if flags is not None else text(entry.get("proxy_enable")) == "1"
    pac_enabled = bool(auto_config_url) and (flags is None or bool(flags & PROXY_TYPE_AUTO_PROXY_URL))
    servers = parse_proxy_server(server) if server and proxy_enabled else {}
    mode = "pac" if pac_enabled else "manual" if servers else "none"
    scope = text(entry.get("scope")) or "user"
    owner = "machine" if scope == "machine" else text(entry.get("account")) or text(entry.get("sid"))
    label = f"{WININET_SOURCE} ({owner})"
    return {"source": label, "mode": mode, "servers": servers, "pac_url": auto_config_url if pac_enabled else None,
            "bypass": split_bypass(override) if servers else [],
            "auto_detect": bool(flags & PROXY_TYPE_AUTO_DETECT) if flags is not None else None}


# WinHttpSettings (HKLM\...\Internet Settings\Connections, REG_BINARY), the value netsh winhttp and
# WinHttpSetDefaultProxyConfiguration write: DWORD version, DWORD counter, DWORD flags (1 always, 2 manual
# proxy, 4 auto-config URL, 8 auto-detect), then three DWORD-length-prefixed ASCII strings: proxy, bypass,
# auto-config URL. Layout per github.com/stephannn/WinHttpProxySettings (WinHttpProxySettings.ps1, after
# gist XPlantefeve/a53a6af5); versions it writes and reads: 0x18 (netsh reset), 0x28, 0x3c, 0x46.
WINHTTP_SETTINGS_VERSIONS = (0x18, 0x28, 0x3C, 0x46)
WINHTTP_FLAG_MANUAL = 0x02


def _blob_dword(blob: bytes, offset: int, name: str) -> int:
    if offset + 4 > len(blob):
        raise ValueError(f"{name}: {len(blob)} bytes end inside the field at byte {offset}")
    return int.from_bytes(blob[offset:offset + 4], "little")


def _blob_string(blob: bytes, offset: int, name: str) -> tuple[str, int]:
    """One DWORD-length-prefixed ASCII string at `offset` -> (text, offset after it)."""
    length = _blob_dword(blob, offset, name)
    if offset + 4 + length > len(blob):
        raise ValueError(f"{name}: a string of {length} bytes at byte {offset} runs past the value")
    return blob[offset + 4:offset + 4 + length].decode("ascii", errors="replace"), offset + 4 + length


def parse_winhttp_settings(blob: bytes) -> dict[str, Any]:
    """The WinHttpSettings registry value -> {proxy, bypass}; ValueError naming what is off for any other layout."""
    name = "WinHttpSettings"
    version = _blob_dword(blob, 0, name)
    if version not in WINHTTP_SETTINGS_VERSIONS:
        raise ValueError(f"{name}: unknown layout version 0x{version:x} (known: "
                         f"{', '.join(f'0x{v:x}' for v in WINHTTP_SETTINGS_VERSIONS)})")
    flags = _blob_dword(blob, 8, name)
    proxy, offset = _blob_string(blob, 12, name)
    bypass, offset = _blob_string(blob, offset, name)
    if not (version == 0x18 and offset == len(blob)):  # netsh's 20-byte reset value stops after the bypass list
        _blob_string(blob, offset, name)  # the auto-config URL, which WinHTTP's default proxy does not use
    manual = bool(flags & WINHTTP_FLAG_MANUAL) and bool(proxy)
    return {"proxy": proxy if manual else None, "bypass": bypass if manual else None}


def parse_connection_settings(blob: bytes) -> dict[str, Any]:
    """WinINet's DefaultConnectionSettings (Internet Settings\\Connections, REG_BINARY) -> {flags, proxy, bypass,
    pac_url}: the same layout as WinHttpSettings (DWORD version, counter, PROXY_TYPE_* flags, then proxy, bypass
    and auto-config URL strings) with more after them. ValueError when the strings do not fit the value."""
    name = "DefaultConnectionSettings"
    flags = _blob_dword(blob, 8, name)
    proxy, offset = _blob_string(blob, 12, name)
    bypass, offset = _blob_string(blob, offset, name)
    pac_url, _unused = _blob_string(blob, offset, name)
    return {"flags": flags, "proxy": proxy, "bypass": bypass, "pac_url": pac_url}


def winhttp_source(entry: dict[str, Any], errors: list[str]) -> dict[str, Any] | None:
    """WinHTTP's default proxy: from WinHttpGetDefaultProxyConfiguration, else the WinHttpSettings value itself.

    Never from `netsh winhttp show proxy`: its text is localised. None (with an error line) when unreadable.
    """
    if text(entry.get("method")) == "registry":
        encoded = text(entry.get("settings_base64"))
        if not encoded:  # no value written yet: WinHTTP's default is a direct connection
            entry = {"proxy": None, "bypass": None}
        else:
            try:
                entry = parse_winhttp_settings(base64.b64decode(encoded, validate=True))
            except (ValueError, binascii.Error) as error:
                errors.append(f"winhttp: {error}")
                return None
    servers = parse_proxy_server(entry.get("proxy"))
    return {"source": WINHTTP_SOURCE, "mode": "manual" if servers else "none", "servers": servers, "pac_url": None,
            "bypass": split_bypass(entry.get("bypass")) if servers else []}


def proxy_facts(result: dict[str, Any], subnets: Sequence[Network], errors: list[str]) -> dict[str, Any]:
    sources = []
    for entry in as_list(result.get("wininet")):
        if not isinstance(entry, dict):
            continue
        if entry.get("loaded") is False:
            errors.append(f"wininet: registry hive of {text(entry.get('account')) or text(entry.get('sid'))} is not"
                          " loaded (account not logged on); its proxy settings were not read")
            continue
        sources.append(wininet_source(entry))
    winhttp = winhttp_source(result["winhttp"], errors) if isinstance(result.get("winhttp"), dict) else None
    if winhttp is not None:
        sources.append(winhttp)
    sources = [redact_proxy(source) for source in sources]
    mode = strongest_mode([s["mode"] for s in sources])
    leading = next((s for s in sources if s["mode"] == mode), None) or {**empty_proxy()}
    covers_local = True
    covers_subnets = {str(s): True for s in subnets}
    for source in sources:
        cover = coverage(source, subnets, "windows")
        covers_local = covers_local and cover["bypass_covers_local"]
        covers_subnets = {k: v and cover["bypass_covers_subnets"][k] for k, v in covers_subnets.items()}
    return {"mode": mode, "servers": dict(leading.get("servers", {})), "pac_url": leading.get("pac_url"),
            "bypass": list(leading.get("bypass", [])), "bypass_covers_local": covers_local,
            "bypass_covers_subnets": covers_subnets, "sources": sources}


# --------------------------------------------------------------------------- the facts filter


def windows_facts(raw: Any, controller_subnets: Any, port: Any = 9090) -> dict[str, Any]:
    """The room facts schema (docs/facts.md) from the registered result of facts_windows.yml's script.

    Diagnosis works without controller subnets (no verdicts then); remediation requires them.
    """
    try:
        subnets = parse_cidrs(controller_subnets or [], "zoom_room_controller_subnets", required=False)
        port_number = parse_port(port, "zoom_room_controller_port")
    except InvalidValue as error:
        raise AnsibleFilterError(str(error)) from None
    result, errors = script_result(raw)
    host = result.get("host") if isinstance(result.get("host"), dict) else {}
    addresses = interface_addresses(result)
    return {
        "schema": 1,
        "platform": "windows",
        "os": {"name": text(host.get("os_name")) or None, "version": text(host.get("os_version")) or None},
        "hostname": text(host.get("hostname")) or None,
        "controller_port": port_number,
        "app": app_facts(result, errors),
        "listener": listener_facts(result, errors),
        "firewall": firewall_facts(result, subnets, port_number, addresses, errors),
        "proxy": proxy_facts(result, subnets, errors),
        "addresses": [{k: a[k] for k in ("interface", "address", "prefix")} for a in addresses],
        "errors": errors,
    }
