"""The Windows filters: recorded task results in, facts / module options out (tests/unit/fixtures/windows)."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.zoomrooms.remediation.plugins.filter.zoom_room_windows import FilterModule
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import parse_cidrs
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_findings import host_findings
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_inputs import input_errors
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_windows import (
    DEFAULT_APP_PATHS,
    RULES_UNREAD_NOTE,
    STORE_UNREAD_REASON,
    interface_addresses,
    parse_winhttp_settings,
    relevant_profiles,
    windows_facts,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_windows_firewall import (
    firewall_mismatches,
    firewall_review,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_windows_proxy import (
    proxy_backup,
    proxy_restore,
    proxy_settings,
    proxy_target,
    redact_proxy_text,
    shown_args,
    windows_bypass,
)
from fixture_files import FIXTURES as ALL_FIXTURES
from fixture_files import PROJECT, windows_variant

FIXTURES = ALL_FIXTURES / "windows"
SUBNET = "10.89.90.0/24"
SUBNETS = [SUBNET]
REQUIRED = ["localhost", "127.0.0.1", "10.89.90.*", "<local>"]
OUR_RULE_VERDICT = "Windows Defender Firewall (Private): allow rule 'Zoom Rooms controller (TCP 9090)'"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def facts_of(name: str) -> dict[str, Any]:
    return windows_facts(fixture(name), SUBNETS, 9090)


NO_PROXY_SOURCES = [
    {"source": "WinINet (ZR-LON-04\\ZoomRooms)", "mode": "none", "servers": {}, "pac_url": None, "bypass": [],
     "auto_detect": True},
    {"source": "WinHTTP", "mode": "none", "servers": {}, "pac_url": None, "bypass": []},
]
NO_PROXY = {"mode": "none", "servers": {}, "pac_url": None, "bypass": [], "bypass_covers_local": True,
            "bypass_covers_subnets": {SUBNET: True}, "sources": NO_PROXY_SOURCES}
APP = {"installed": True, "name": "Zoom Rooms", "version": "6.2.0.4512", "raw_version": "6.2.0.4512",
       "version_source": "registry", "version_status": "ok"}
NO_VERSION = {"version": None, "raw_version": None, "version_source": None, "version_status": "absent"}
LISTENING = {"listening": True, "addresses": ["0.0.0.0", "::"], "process": "ZoomRooms.exe"}
ADMITTED = {"backend": "windows_defender", "active": True, "block_all": False, "notes": [],
            "verdicts": [{"subnet": SUBNET, "verdict": "admitted", "decided_by": OUR_RULE_VERDICT}]}

HEALTHY_FACTS = {
    "schema": 1,
    "platform": "windows",
    "os": {"name": "Microsoft Windows 11 IoT Enterprise LTSC", "version": "10.0.26100"},
    "hostname": "ZR-LON-04",
    "controller_port": 9090,
    "app": APP,
    "listener": LISTENING,
    "firewall": ADMITTED,
    "proxy": NO_PROXY,
    "addresses": [{"interface": "Ethernet", "address": "10.20.30.11", "prefix": 24}],
    "errors": [],
}


def test_healthy_room_gives_the_whole_schema():
    assert facts_of("no_proxy") == HEALTHY_FACTS


# One row per recorded situation: the facts sections the situation is about, spelled out in full.
SITUATIONS = [
    ("wininet_proxy_no_bypass", {"proxy": {
        "mode": "manual", "servers": {"http": "proxy.corp.example:3128", "https": "proxy.corp.example:3128"},
        "pac_url": None, "bypass": [], "bypass_covers_local": False, "bypass_covers_subnets": {SUBNET: False},
        "sources": [{"source": "WinINet (ZR-LON-04\\ZoomRooms)", "mode": "manual",
                     "servers": {"http": "proxy.corp.example:3128", "https": "proxy.corp.example:3128"},
                     "pac_url": None, "bypass": [], "auto_detect": False}, NO_PROXY_SOURCES[1]]}}),
    ("wininet_pac", {"proxy": {
        "mode": "pac", "servers": {}, "pac_url": "http://wpad.corp.example/proxy.pac", "bypass": [],
        # The PAC script decides what goes direct and is not read: coverage unknown, not "uncovered".
        "bypass_covers_local": None, "bypass_covers_subnets": {SUBNET: None},
        "sources": [{"source": "WinINet (ZR-LON-04\\ZoomRooms)", "mode": "pac", "servers": {},
                     "pac_url": "http://wpad.corp.example/proxy.pac", "bypass": [], "auto_detect": False},
                    NO_PROXY_SOURCES[1]]}}),
    ("winhttp_differs", {"proxy": {
        "mode": "manual", "servers": {"http": "proxy.corp.example:3128", "https": "proxy.corp.example:3128"},
        "pac_url": None, "bypass": ["localhost", "127.0.0.1", "10.89.90.*", "<local>"],
        "bypass_covers_local": True, "bypass_covers_subnets": {SUBNET: False},
        "sources": [
            {"source": "WinINet (ZR-LON-04\\ZoomRooms)", "mode": "manual",
             "servers": {"http": "proxy.corp.example:3128", "https": "proxy.corp.example:3128"}, "pac_url": None,
             "bypass": ["localhost", "127.0.0.1", "10.89.90.*", "<local>"], "auto_detect": False},
            {"source": "WinHTTP", "mode": "manual",
             "servers": {"http": "***@winhttp-proxy.corp.example:8080", "https": "winhttp-proxy.corp.example:8443"},
             "pac_url": None, "bypass": ["<local>"]}]}}),
    ("winhttp_registry_fallback", {"proxy": {
        "mode": "manual",
        "servers": {"http": "winhttp-proxy.corp.example:8080", "https": "winhttp-proxy.corp.example:8080"},
        "pac_url": None, "bypass": ["<local>", "10.89.90.*"], "bypass_covers_local": True,
        "bypass_covers_subnets": {SUBNET: True},
        "sources": [NO_PROXY_SOURCES[0],
                    {"source": "WinHTTP", "mode": "manual",
                     "servers": {"http": "winhttp-proxy.corp.example:8080",
                                 "https": "winhttp-proxy.corp.example:8080"},
                     "pac_url": None, "bypass": ["<local>", "10.89.90.*"]}]}}),
    ("block_rule_overrides", {"listener": LISTENING, "firewall": {
        "backend": "windows_defender", "active": True, "block_all": False,
        "verdicts": [{"subnet": SUBNET, "verdict": "blocked",
                      "decided_by": "Windows Defender Firewall (Private): block rule 'zoomrooms.exe'"}],
        "notes": ["block rule 'zoomrooms.exe' (profiles Private, Public) blocks TCP 9090 from 10.89.90.0/24;"
                  " block rules win over allow rules, so no allow rule can admit it"
                  " (the toolkit reports it and does not delete it)"]}}),
    ("app_missing", {
        "app": {"installed": False, "name": None, **NO_VERSION},
        "listener": {"listening": False, "addresses": [], "process": None},
        "firewall": {"backend": "windows_defender", "active": True, "block_all": False, "notes": [],
                     "verdicts": [{"subnet": SUBNET, "verdict": "blocked",
                                   "decided_by": "Windows Defender Firewall (Private): default inbound action"
                                                 " Block, no allow rule for TCP 9090 from 10.89.90.0/24"}]}}),
    ("two_uninstall_entries", {"app": {"installed": True, "name": "Zoom Rooms (6.2.0.4512)",
                                       "version": "6.2.0.4512", "raw_version": "6.2.0 (4512)",
                                       "version_source": "registry", "version_status": "ok"}}),
    ("file_version_only", {
        "app": {"installed": True, "name": "ZoomRooms.exe", "version": "6.1.5.4300",
                "raw_version": "6, 1, 5, 4300", "version_source": "file_version", "version_status": "ok"},
        "listener": {"listening": True, "addresses": ["0.0.0.0"], "process": "ZoomRooms.exe"},
        "firewall": ADMITTED}),
    ("listener_absent", {"app": APP, "listener": {"listening": False, "addresses": [], "process": None},
                         "firewall": ADMITTED, "proxy": NO_PROXY}),
]


@pytest.mark.parametrize("name, expected", SITUATIONS, ids=[name for name, _unused in SITUATIONS])
def test_recorded_situation(name, expected):
    facts = facts_of(name)
    assert {key: facts[key] for key in expected} == expected
    assert facts["errors"] == []


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.json")))
def test_every_fixture_says_where_its_format_comes_from(name):
    data = fixture(name)
    assert next(iter(data)) == "_source"
    assert "learn.microsoft.com" in data["_source"] or "ansible.windows" in data["_source"]


def test_proxy_credentials_never_reach_the_facts():
    assert "S3cretPw" in json.dumps(fixture("winhttp_differs"))
    assert "S3cretPw" not in json.dumps(facts_of("winhttp_differs"))


@pytest.mark.parametrize(
    "raw, error",
    [({"failed": True, "msg": "Access is denied", "result": {}}, "facts script: Access is denied"),
     (None, "facts script: no result registered (got NoneType)")],
    ids=["script failed", "nothing registered"],
)
def test_a_failed_read_gives_partial_facts_not_a_failure(raw, error):
    facts = windows_facts(raw, SUBNETS, 9090)
    assert error in facts["errors"]
    assert facts["app"]["installed"] is None  # unknown: not read is not "not installed"
    assert facts["listener"]["listening"] is None
    assert facts["firewall"]["verdicts"] == [{"subnet": SUBNET, "verdict": "unknown",
                                              "decided_by": "firewall state not read"}]


def test_no_controller_subnets_gives_facts_without_verdicts():
    facts = windows_facts(fixture("no_proxy"), [], 9090)
    assert facts["firewall"]["verdicts"] == []
    assert facts["proxy"]["bypass_covers_subnets"] == {}


def test_section_errors_and_unloaded_hives_are_reported():
    raw = fixture("no_proxy")
    raw["result"]["errors"] = ["firewall: Access is denied"]
    raw["result"]["wininet"][0]["loaded"] = False
    facts = windows_facts(raw, SUBNETS, 9090)
    assert facts["errors"][0] == "firewall: Access is denied"
    assert "registry hive of ZR-LON-04\\ZoomRooms is not loaded" in facts["errors"][1]
    assert "firewall rules were read only in part; see errors" in facts["firewall"]["notes"]


@pytest.mark.parametrize("subnets, port, message", [
    (["10.89.90.0/33"], 9090, "zoom_room_controller_subnets[0]: '10.89.90.0/33' is not a CIDR"),
    (SUBNETS, 70000, "zoom_room_controller_port: 70000 is out of range"),
], ids=["bad subnet", "bad port"])
def test_bad_inputs_name_the_variable(subnets, port, message):
    with pytest.raises(AnsibleFilterError, match=message.replace("[", r"\[").replace("]", r"\]")):
        windows_facts(fixture("no_proxy"), subnets, port)


# --------------------------------------------------------------------------- firewall verdict rules

def rule(**overrides: Any) -> dict[str, Any]:
    base = {"name": "{r}", "display_name": "r", "action": "Allow", "profile": "Any", "source": "Local",
            "protocol": "TCP", "local_port": ["9090"], "remote_port": ["Any"], "local_address": ["Any"],
            "remote_address": ["Any"], "program": "Any", "package": None, "service": "Any", "interface_type": "Any"}
    return {**base, **overrides}


def room(rules: list[dict[str, Any]], **profile_changes: dict[str, str]) -> dict[str, Any]:
    raw = fixture("no_proxy")
    raw["result"]["firewall_rules"] = rules
    for entry in raw["result"]["firewall_profiles"]:
        entry.update(profile_changes.get(entry["name"], {}))
    return raw


def verdict_of(raw: dict[str, Any], subnet: str = SUBNET) -> tuple[str, str]:
    firewall = windows_facts(raw, [subnet], 9090)["firewall"]
    return firewall["verdicts"][0]["verdict"], firewall["verdicts"][0]["decided_by"]


P = "Windows Defender Firewall (Private): "
NO_ALLOW = P + "default inbound action Block, no allow rule for TCP 9090 from 10.89.90.0/24"


@pytest.mark.parametrize(
    "rules, profiles, subnet, expected",
    [
        ([], {}, SUBNET, ("blocked", NO_ALLOW)),
        ([rule(display_name="any remote")], {}, SUBNET, ("admitted", P + "allow rule 'any remote'")),
        ([rule(display_name="port any", local_port=["Any"])], {}, SUBNET, ("admitted", P + "allow rule 'port any'")),
        ([rule(display_name="range", local_port=["9000-9100"])], {}, SUBNET, ("admitted", P + "allow rule 'range'")),
        ([rule(local_port=["8080", "RPC"])], {}, SUBNET, ("blocked", NO_ALLOW)),
        ([rule(protocol="UDP")], {}, SUBNET, ("blocked", NO_ALLOW)),
        ([rule(display_name="cidr", remote_address=["10.89.0.0/16"])], {}, SUBNET,
         ("admitted", P + "allow rule 'cidr'")),
        ([rule(display_name="ip range", remote_address=["10.89.90.0-10.89.90.255"])], {}, SUBNET,
         ("admitted", P + "allow rule 'ip range'")),
        ([rule(display_name="half", remote_address=["10.89.90.0-10.89.90.127"])], {}, SUBNET,
         ("blocked", NO_ALLOW + "; allow rule"
          " 'half' covers only part of 10.89.90.0/24")),
        ([rule(display_name="one controller", remote_address=["10.89.90.20"])], {}, SUBNET,
         ("blocked", NO_ALLOW + "; allow rule"
          " 'one controller' covers only part of 10.89.90.0/24")),
        ([rule(display_name="local subnet", remote_address=["LocalSubnet"])], {}, "10.20.30.0/24",
         ("admitted", P + "allow rule 'local subnet'")),
        ([rule(remote_address=["LocalSubnet"])], {}, SUBNET,
         ("blocked", NO_ALLOW)),
        ([rule(display_name="public only", profile="Public")], {}, SUBNET,
         ("blocked", NO_ALLOW)),
        ([rule(display_name="app", local_port=["Any"], program="%ProgramFiles%\\ZoomRooms\\bin\\ZoomRooms.exe")], {},
         SUBNET, ("admitted", P + "allow rule 'app'")),
        ([rule(program="C:\\Tools\\other.exe")], {}, SUBNET,
         ("blocked", NO_ALLOW)),
        ([rule(service="termservice")], {}, SUBNET,
         ("blocked", NO_ALLOW)),
        ([rule(service="*")], {}, SUBNET,
         ("blocked", NO_ALLOW)),
        ([rule(display_name="local subnet v4", remote_address=["LocalSubnet4"])], {}, "10.20.30.0/24",
         ("admitted", P + "allow rule 'local subnet v4'")),
        ([rule(remote_address=["LocalSubnet6"])], {}, "10.20.30.0/24",
         ("blocked", P + "default inbound action Block, no allow rule for TCP 9090 from 10.20.30.0/24")),
        ([rule(display_name="allow"), rule(display_name="deny", action="Block", local_port=["Any"])], {}, SUBNET,
         ("blocked", P + "block rule 'deny'")),
        ([rule(display_name="allow"), rule(display_name="deny part", action="Block",
                                           remote_address=["10.89.90.128/25"])], {}, SUBNET,
         ("blocked", P + "block rule 'deny part'")),
        ([rule(display_name="allow"), rule(display_name="maybe", action="Block", remote_port=["443"])], {}, SUBNET,
         ("unknown", P + "block rule 'maybe' may apply (remote port 443)")),
        ([rule(display_name="intranet", remote_address=["Intranet"])], {}, SUBNET,
         ("unknown", P + "allow rule 'intranet' may apply (remote address keyword Intranet)")),
        ([rule(display_name="allow")], {"Private": {"allow_inbound_rules": "False"}}, SUBNET,
         ("blocked", P + "block all inbound connections (AllowInboundRules False)")),
        ([], {"Private": {"enabled": "False"}}, SUBNET, ("admitted", P + "firewall off")),
        ([], {"Private": {"default_inbound_action": "Allow"}}, SUBNET,
         ("admitted", P + "default inbound action Allow")),
        ([rule(display_name="local rule")], {"Private": {"allow_local_firewall_rules": "False"}}, SUBNET,
         ("blocked", NO_ALLOW)),
        ([rule(display_name="gpo rule", source="GroupPolicy")], {"Private": {"allow_local_firewall_rules": "False"}},
         SUBNET, ("admitted", P + "allow rule 'gpo rule'")),
        ([rule(display_name="untraced", source="None")], {"Private": {"allow_local_firewall_rules": "False"}},
         SUBNET, ("unknown", P + f"allow rule 'untraced' may apply ({STORE_UNREAD_REASON})")),
        ([rule(display_name="gpo allow", source="GroupPolicy"),
          rule(display_name="untraced block", action="Block", source="")],
         {"Private": {"allow_local_firewall_rules": "False"}},
         SUBNET, ("unknown", P + f"block rule 'untraced block' may apply ({STORE_UNREAD_REASON})")),
    ],
    ids=["no rule: default block", "allow from any address", "allow on any port", "allow on a port range",
         "other ports and keywords", "udp only", "allow from a wider cidr", "allow from an ip range",
         "allow from half the subnet", "allow from one controller", "local subnet covers a directly attached subnet",
         "local subnet does not cover a routed subnet", "rule for another profile", "program rule for ZoomRooms.exe",
         "program rule for another exe", "service rule",
         "services-only rule ('*' is no wildcard for a service, INetFwRule.ServiceName)",
         "LocalSubnet4 covers an attached IPv4 subnet", "LocalSubnet6 covers no IPv4 subnet",
         "block beats allow", "block on part of the subnet",
         "block rule that may apply", "allow rule the evaluator cannot decide", "shields up", "profile off",
         "profile default allow", "gpo ignores local rules", "gpo rule still applies",
         "gpo ignores local rules, store not read: allow undecided", "gpo ignores local rules, store not read: block"
         " undecided"],
)
def test_verdict(rules, profiles, subnet, expected):
    assert verdict_of(room(rules, **profiles), subnet) == expected


def test_shields_up_and_firewall_off_show_in_the_flags():
    shields_up = windows_facts(room([], Private={"allow_inbound_rules": "False"}), SUBNETS, 9090)["firewall"]
    assert shields_up["block_all"] is True and shields_up["active"] is True
    off = windows_facts(room([], Private={"enabled": "False"}), SUBNETS, 9090)["firewall"]
    assert off["block_all"] is False and off["active"] is False


def test_profile_of_the_interface_on_the_controller_subnet_decides():
    raw = room([rule(display_name="domain only", profile="Domain")])
    result = raw["result"]
    result["connection_profiles"].append({"interface_alias": "Wi-Fi", "interface_index": 7,
                                          "network_category": "DomainAuthenticated"})
    result["addresses"].append({"interface_alias": "Wi-Fi", "interface_index": 7, "address": "10.89.90.50",
                                "prefix": 24})
    assert verdict_of(raw) == ("admitted", "Windows Defender Firewall (Domain): allow rule 'domain only'")
    assert verdict_of(raw, "10.77.0.0/24")[0] == "blocked"  # routed: the default-route interface (Private) decides


WSL = "wsl_hyper_v_interface"


def test_interfaces_count_for_a_subnet_as_routing_decides():
    result = windows_variant(WSL)["result"]
    profiles = {subnet: relevant_profiles(result, parse_cidrs([subnet], "subnet")[0], interface_addresses(result))
                for subnet in ("172.18.0.0/16", "172.18.32.0/24", "172.16.0.0/12", "10.77.0.0/24")}
    assert profiles == {
        "172.18.0.0/16": ["Domain", "Public"],  # partly on the WSL /20, the rest routed by the Ethernet default route
        "172.18.32.0/24": ["Public"],  # inside the WSL /20: that interface alone
        "172.16.0.0/12": ["Domain", "Public"],  # both interfaces on part of it, the rest routed
        "10.77.0.0/24": ["Domain"],  # on no interface: routed
    }


def test_the_longest_interface_prefix_holding_the_subnet_decides():
    result = windows_variant(WSL)["result"]
    result["addresses"].append({"interface_alias": "vEthernet (WSL (Hyper-V firewall))", "interface_index": 45,
                                "address": "172.20.9.1", "prefix": 16})  # a wider network holding Ethernet's /24
    network = parse_cidrs(["172.20.5.0/24"], "subnet")[0]
    assert relevant_profiles(result, network, interface_addresses(result)) == ["Domain"]


def test_gpo_ignoring_local_rules_is_noted():
    notes = windows_facts(room([], Private={"allow_local_firewall_rules": "False"}), SUBNETS, 9090)["firewall"]["notes"]
    assert notes == ["Group Policy sets AllowLocalFirewallRules False on the Private profile: locally created rules"
                     " (like the toolkit's) are ignored there"]


# --------------------------------------------------------------------------- bypass and proxy planning

@pytest.mark.parametrize(
    "current, subnets, expected",
    [
        ("", SUBNETS, ["localhost", "127.0.0.1", "10.89.90.*", "<local>"]),
        ("corp.example;<local>", SUBNETS, ["corp.example", "localhost", "127.0.0.1", "10.89.90.*", "<local>"]),
        (REQUIRED, SUBNETS, REQUIRED),
        ("<LOCAL> 10.1.*", ["10.89.90.0/23"],
         ["10.1.*", "localhost", "127.0.0.1", "10.89.90.*", "10.89.91.*", "<local>"]),
    ],
    ids=["empty", "keeps entries and moves <local> last", "already complete", "two blocks for a /23"],
)
def test_bypass(current, subnets, expected):
    assert windows_bypass(current, subnets) == expected


def backup_from(inet: str, http: str, target: dict[str, Any] | None = None) -> dict[str, Any]:
    target = target or {"scope": "user", "user": "ZR-LON-04\\ZoomRooms"}
    return proxy_backup(fixture(inet), fixture(http), target)


def test_backup_keeps_the_module_values():
    assert backup_from("inet_proxy_before_manual", "http_proxy_before_manual") == {
        "scope": "user", "user": "ZR-LON-04\\ZoomRooms",
        "wininet": {"proxy": "proxy.corp.example:3128", "bypass": "corp.example;<local>", "auto_config_url": None,
                    "auto_detect": True},
        "winhttp": {"proxy": "winhttp-proxy.corp.example:8080", "bypass": "<local>"},
    }


def test_no_backup_without_a_diff():
    with pytest.raises(AnsibleFilterError, match=r"ansible\.windows\.win_inet_proxy: could not read"):
        proxy_backup({"changed": False}, fixture("http_proxy_before_none"), {"scope": "machine", "user": None})


@pytest.mark.parametrize(
    "inet, http, policy, kwargs, wininet, winhttp",
    [
        ("inet_proxy_before_manual", "http_proxy_before_manual", "keep", {},
         {"proxy": "proxy.corp.example:3128", "bypass": ["corp.example", *REQUIRED], "auto_config_url": "",
          "auto_detect": True, "needs_change": True},
         {"proxy": "winhttp-proxy.corp.example:8080", "bypass": REQUIRED, "needs_change": True}),
        ("inet_proxy_before_none", "http_proxy_before_none", "keep", {},
         {"proxy": "", "bypass": [], "auto_config_url": "", "auto_detect": True, "needs_change": False},
         {"proxy": "", "bypass": [], "needs_change": False}),
        ("inet_proxy_before_manual", "http_proxy_before_manual", "direct", {},
         {"proxy": "", "bypass": [], "auto_config_url": "", "auto_detect": False, "needs_change": True},
         {"proxy": "", "bypass": [], "needs_change": True}),
        ("inet_proxy_before_none", "http_proxy_before_none", "manual",
         {"server": "http://proxy.new.example:8080", "bypass": ["intranet.example"]},
         {"proxy": "proxy.new.example:8080", "bypass": ["intranet.example", *REQUIRED], "auto_config_url": "",
          "auto_detect": True, "needs_change": True},
         {"proxy": "proxy.new.example:8080", "bypass": ["intranet.example", *REQUIRED], "needs_change": True}),
        ("inet_proxy_before_manual", "http_proxy_before_manual", "pac", {"pac_url": "http://wpad.corp.example/p.pac"},
         {"proxy": "", "bypass": [], "auto_config_url": "http://wpad.corp.example/p.pac", "auto_detect": True,
          "needs_change": True},
         {"proxy": "winhttp-proxy.corp.example:8080", "bypass": REQUIRED, "needs_change": True}),
    ],
    ids=["keep fixes both bypass lists", "keep leaves a room without proxy alone", "direct removes both",
         "manual sets server and bypass on both", "pac on WinINet, WinHTTP kept"],
)
def test_proxy_settings(inet, http, policy, kwargs, wininet, winhttp):
    planned = proxy_settings(backup_from(inet, http), policy, SUBNETS, kwargs.get("server"), kwargs.get("bypass"),
                             kwargs.get("pac_url"))
    assert planned["wininet"] == wininet
    assert planned["winhttp"] == winhttp


def test_applying_the_plan_is_a_fixed_point():
    planned = proxy_settings(backup_from("inet_proxy_before_manual", "http_proxy_before_manual"), "keep", SUBNETS)
    applied = {"scope": "user", "user": "u",
               "wininet": {**planned["wininet"], "bypass": ";".join(planned["wininet"]["bypass"])},
               "winhttp": {**planned["winhttp"], "bypass": ";".join(planned["winhttp"]["bypass"])}}
    again = proxy_settings(applied, "keep", SUBNETS)
    assert again["wininet"]["needs_change"] is False
    assert again["winhttp"]["needs_change"] is False


def test_keep_ignores_an_inert_bypass_without_proxy():
    backup = {"scope": "machine", "user": None,
              "wininet": {"proxy": None, "bypass": "old.example", "auto_config_url": None, "auto_detect": True},
              "winhttp": {"proxy": None, "bypass": None}}
    assert proxy_settings(backup, "keep", SUBNETS)["wininet"]["needs_change"] is False
    assert proxy_settings(backup, "direct", SUBNETS)["wininet"]["needs_change"] is True  # WPAD off


def test_proxy_diff_is_readable_and_redacted():
    backup = backup_from("inet_proxy_before_none", "http_proxy_before_none")
    planned = proxy_settings(backup, "manual", SUBNETS, "http://proxy.new.example:8080")
    assert planned["diff"]["before"] == ("WinINet: proxy=(none) bypass=(none) pac=(none) auto_detect=True\n"
                                         "WinHTTP: proxy=(none) bypass=(none)\n")
    assert "WinHTTP: proxy=proxy.new.example:8080 bypass=localhost;127.0.0.1;10.89.90.*;<local>" \
        in planned["diff"]["after"]
    # credentials someone else wrote into the registry are redacted in the diff, and taken away by `direct`
    backup["wininet"]["proxy"] = "svc:pw@proxy.old.example:8080"
    planned = proxy_settings(backup, "direct", SUBNETS)
    assert "pw@" not in planned["diff"]["before"] and "***@proxy.old.example:8080" in planned["diff"]["before"]
    assert planned["wininet"]["proxy"] == ""


def test_a_proxy_server_with_credentials_is_refused_before_anything_changes():
    """win_inet_proxy and win_http_proxy store the string as it is (registry, module error messages): a user and
    password there would be a malformed proxy entry and a password in clear text. Refused, never shown."""
    backup = backup_from("inet_proxy_before_none", "http_proxy_before_none")
    with pytest.raises(AnsibleFilterError, match=r"zoom_room_proxy_server: .*Windows Credential Manager") as raised:
        proxy_settings(backup, "manual", SUBNETS, "http://svc:pw@proxy.new.example:8080")
    assert "pw" not in str(raised.value).replace("password", "")


@pytest.mark.parametrize("policy, server, pac_url, message", [
    ("sometimes", None, None, "zoom_room_proxy_policy: 'sometimes' is not one of"),
    ("manual", None, None, "zoom_room_proxy_server: required"),
    ("pac", None, None, "zoom_room_proxy_pac_url: required"),
], ids=["unknown policy", "manual without server", "pac without url"])
def test_proxy_settings_reject_bad_policy(policy, server, pac_url, message):
    backup = backup_from("inet_proxy_before_none", "http_proxy_before_none")
    with pytest.raises(AnsibleFilterError, match=message):
        proxy_settings(backup, policy, SUBNETS, server, None, pac_url)


@pytest.mark.parametrize("platform, refused", [("windows", "Windows Credential Manager"), ("macos", "keychain"),
                                               ("linux", None)])
def test_the_inventory_check_refuses_proxy_credentials_where_the_setting_cannot_hold_them(platform, refused):
    """Before any room is touched (zoom_room_common's input check), naming the host and the variable."""
    room = {"zoom_room_platform": platform, "zoom_room_controller_subnets": [SUBNET],
            "zoom_room_proxy_policy": "manual", "zoom_room_proxy_server": "http://svc:pw@proxy.example:8080"}
    errors = input_errors({"room-1": room}, True)
    if refused is None:
        assert errors == []  # /etc/environment holds a proxy URL with credentials (kept on the host, 0600)
    else:
        assert len(errors) == 1 and errors[0].startswith("room-1: zoom_room_proxy_server: ") and refused in errors[0]
        assert ":pw@" not in errors[0]


@pytest.mark.parametrize("value, shown", [
    ("svc:pw@proxy.corp:8080", "***@proxy.corp:8080"),
    ("http=svc:pw@a.corp:80;https=svc:p%40ss@b.corp:443", "http=***@a.corp:80;https=***@b.corp:443"),
    ("Unknown error when trying to set proxy 'svc:pw@proxy.corp:8080': 87", "Unknown error when trying to set "
     "proxy '***@proxy.corp:8080': 87"),
    ("proxy.corp:8080", "proxy.corp:8080"),
    ("user@example.com is not a proxy", "user@example.com is not a proxy"),
], ids=["host:port", "per protocol", "a module's failure message (win_inet_proxy.ps1)", "no credentials",
        "an address without a password"])
def test_proxy_credentials_are_redacted_in_what_a_task_shows(value, shown):
    assert redact_proxy_text(value) == shown


def test_shown_args_redact_the_proxy_and_leave_the_rest():
    args = {"ansible.windows.win_inet_proxy": {"proxy": "svc:pw@proxy.corp:8080", "bypass": ["<local>"]},
            "ansible.windows.win_http_proxy": {"proxy": "", "bypass": []}}
    assert shown_args(args) == {
        "ansible.windows.win_inet_proxy": {"proxy": "***@proxy.corp:8080", "bypass": ["<local>"]},
        "ansible.windows.win_http_proxy": {"proxy": "", "bypass": []}}
    assert args["ansible.windows.win_inet_proxy"]["proxy"] == "svc:pw@proxy.corp:8080"  # what the module gets


def test_restore_gives_back_the_saved_values():
    assert proxy_restore(backup_from("inet_proxy_before_manual", "http_proxy_before_manual")) == {
        "wininet": {"proxy": "proxy.corp.example:3128", "bypass": ["corp.example", "<local>"], "auto_config_url": "",
                    "auto_detect": True},
        "winhttp": {"proxy": "winhttp-proxy.corp.example:8080", "bypass": ["<local>"]},
    }


@pytest.mark.parametrize(
    "name, requested, expected",
    [
        ("proxy_scope_autologon", "", {"scope": "user", "user": "ZR-LON-04\\ZoomRooms", "become": True,
                                       "why": "Winlogon AutoAdminLogon account"}),
        ("proxy_scope_autologon", "CORP\\zr-svc", {"scope": "user", "user": "CORP\\zr-svc", "become": True,
                                                   "why": "zoom_room_windows_proxy_user"}),
        ("proxy_scope_machine", "CORP\\zr-svc",
         {"scope": "machine", "user": None, "become": False,
          "why": "policy ProxySettingsPerUser=0: WinINet settings are per machine"}),
    ],
    ids=["auto-logon account", "named account wins", "per-machine policy"],
)
def test_proxy_target(name, requested, expected):
    assert proxy_target(fixture(name), requested) == expected


def test_proxy_target_without_an_account_asks_for_one():
    with pytest.raises(AnsibleFilterError, match="zoom_room_windows_proxy_user: WinINet proxy settings are per user"):
        proxy_target(fixture("proxy_scope_no_autologon"), "")


# --------------------------------------------------------------------------- firewall role planning

def test_review_saves_the_rule_and_reports_overriding_block_rules():
    review = firewall_review(fixture("firewall_read_existing_and_block"), "Zoom Rooms controller (TCP 9090)",
                             SUBNETS, 9090, ["domain", "private"])
    assert review["backup"]["existed"] is True
    assert review["backup"]["restore"] == {
        "name": "Zoom Rooms controller (TCP 9090)", "description": "added by hand in 2023", "direction": "in",
        "action": "allow", "protocol": "tcp", "localip": "any", "remoteip": "10.89.0.0/255.255.0.0",
        "program": "any", "service": "any", "profiles": ["domain"], "enabled": False, "localport": "9090",
        "remoteport": "any"}
    assert review["notes"] == [
        f"block rule 'Block inbound from guest Wi-Fi' ({profile} profile) overrides the allow rule for 10.89.90.0/24:"
        " TCP 9090 stays blocked until it is removed or narrowed (not deleted by the toolkit)"
        for profile in ("Domain", "Private")]


def test_the_app_paths_default_is_one_list_and_covers_the_x86_installers():
    """The collector's candidates (role default) and the evaluator's fallback are the same list, with the folder
    the winget manifests' x86 installers use."""
    import yaml

    defaults = yaml.safe_load((PROJECT / "roles/zoom_room_diagnose/defaults/main.yml").read_text())
    assert tuple(defaults["zoom_room_windows_app_paths"]) == DEFAULT_APP_PATHS
    assert "C:\\Program Files (x86)\\ZoomRooms\\bin\\ZoomRooms.exe" in DEFAULT_APP_PATHS


def test_an_x86_install_is_compared_with_program_rules_when_nothing_listens():
    raw = room([rule(display_name="x86 app", local_port=["Any"],
                     program="%ProgramFiles(x86)%\\ZoomRooms\\bin\\ZoomRooms.exe")])
    raw["result"]["listeners"] = []
    raw["result"]["executables"] = [{"path": "C:\\Program Files (x86)\\ZoomRooms\\bin\\ZoomRooms.exe",
                                     "file_version": "5.17.7.3724", "product_version": "5.17.7.3724"}]
    assert verdict_of(raw) == ("admitted", P + "allow rule 'x86 app'")


def test_review_keeps_a_services_only_condition_in_the_restore():
    """ServiceName "*" means services only (INetFwRule.ServiceName): the restore must not widen it to any program."""
    read = fixture("firewall_read_existing_and_block")
    read["result"]["existing_rules"][0]["service_name"] = "*"
    review = firewall_review(read, "Zoom Rooms controller (TCP 9090)", SUBNETS, 9090, ["domain", "private"])
    assert review["backup"]["restore"]["service"] == "*"
    assert review["backup"]["restore"]["program"] == "any"


def test_review_without_a_rule_restores_by_removing_ours():
    review = firewall_review(fixture("firewall_read_absent"), "Zoom Rooms controller (TCP 9090)", SUBNETS, 9090)
    assert review == {"backup": {"existed": False, "rules": [], "restore": None}, "notes": []}


@pytest.mark.parametrize(
    "subnets, profiles, state, expected",
    [
        (["10.89.90.0/24", "10.89.91.0/24"], ["domain", "private"], "present", []),
        (["10.89.90.0/23"], ["private", "domain"], "present", []),
        (SUBNETS, ["domain", "private"], "present",
         ["rule 'Zoom Rooms controller (TCP 9090)' remote addresses: found [IPv4Network('10.89.90.0/23')], wanted"
          " [IPv4Network('10.89.90.0/24')]"]),
        (["10.89.90.0/24", "10.89.91.0/24"], ["domain", "private", "public"], "present",
         ["rule 'Zoom Rooms controller (TCP 9090)' profiles: found 3, wanted 2147483647"]),
        (SUBNETS, ["domain"], "absent", ["rule 'Zoom Rooms controller (TCP 9090)' still exists"]),
    ],
    ids=["as asked", "same addresses written differently", "other subnets", "other profiles", "should be gone"],
)
def test_mismatches_after_the_change(subnets, profiles, state, expected):
    assert firewall_mismatches(fixture("firewall_read_after"), "Zoom Rooms controller (TCP 9090)", subnets, 9090,
                               profiles, state) == expected


def test_only_the_reading_filters_are_left():
    """Planning, applying and restoring moved into the zoom_room_firewall / zoom_room_proxy actions."""
    assert set(FilterModule().filters()) == {"zoom_room_windows_facts", "zoom_room_windows_firewall_mismatches"}


def test_fixtures_are_not_mutated_by_the_filter():
    raw = fixture("block_rule_overrides")
    before = copy.deepcopy(raw)
    windows_facts(raw, SUBNETS, 9090)
    assert raw == before


# ------------------------------------------------------------- WinHTTP without the API: the registry value


def winhttp_blob(version: int, flags: int, proxy: bytes = b"", bypass: bytes = b"", auto: bytes = b"") -> bytes:
    blob = version.to_bytes(4, "little") + (1).to_bytes(4, "little") + flags.to_bytes(4, "little")
    for part in (proxy, bypass, auto):
        blob += len(part).to_bytes(4, "little") + part
    return blob


# netsh winhttp reset proxy writes this 20-byte value (stephannn/WinHttpProxySettings uses it as the default)
NETSH_RESET = bytes([0x18, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("blob, expected", [
    (NETSH_RESET, {"proxy": None, "bypass": None}),
    (winhttp_blob(0x28, 3, b"proxy:8080", b"<local>;10.89.*"), {"proxy": "proxy:8080", "bypass": "<local>;10.89.*"}),
    (winhttp_blob(0x46, 3, b"proxy:8080", b"") + bytes(32), {"proxy": "proxy:8080", "bypass": ""}),
    (winhttp_blob(0x28, 1, b"proxy:8080", b"<local>"), {"proxy": None, "bypass": None}),
], ids=["netsh reset: direct", "manual proxy with bypass", "version 0x46 with its trailing zeros",
        "proxy written but the manual flag off"])
def test_winhttp_settings_value(blob, expected):
    assert parse_winhttp_settings(blob) == expected


@pytest.mark.parametrize("blob, message", [
    (winhttp_blob(0x99, 3, b"proxy:8080"), "unknown layout version 0x99"),
    (winhttp_blob(0x28, 3, b"proxy:8080")[:20], "runs past the value"),
    (bytes([0x28, 0, 0]), "end inside the field at byte 0"),
], ids=["unknown version", "string cut short", "too short"])
def test_winhttp_settings_unknown_layout_fails_loudly(blob, message):
    with pytest.raises(ValueError, match=message):
        parse_winhttp_settings(blob)


def test_unreadable_winhttp_value_is_an_error_line_not_a_guess():
    raw = fixture("winhttp_registry_fallback")
    raw["result"]["winhttp"]["settings_base64"] = base64.b64encode(winhttp_blob(0x99, 3, b"p:1")).decode()
    facts = windows_facts(raw, SUBNETS, 9090)
    assert [s["source"] for s in facts["proxy"]["sources"]] == ["WinINet (ZR-LON-04\\ZoomRooms)"]
    assert any("winhttp: WinHttpSettings: unknown layout version 0x99" in e for e in facts["errors"])


# ------------------------------------------------------------- WinINet: DefaultConnectionSettings' own strings


def wininet_with_blob(flags: int, proxy: bytes = b"", bypass: bytes = b"", auto: bytes = b"",
                      **values: Any) -> dict[str, Any]:
    """no_proxy's WinINet entry with a DefaultConnectionSettings value (version 0x46 and 32 trailing bytes, the
    layout the Stack Overflow answers on its format describe) and the given registry values."""
    raw = fixture("no_proxy")
    entry = raw["result"]["wininet"][0]
    blob = winhttp_blob(0x46, flags, proxy, bypass, auto) + bytes(32)
    entry.update({"connection_flags": flags, "connection_settings_base64": base64.b64encode(blob).decode(),
                  "proxy_enable": 0, "proxy_server": "", "proxy_override": "", "auto_config_url": "", **values})
    return raw


@pytest.mark.parametrize("raw, expected", [
    (wininet_with_blob(3, b"proxy.corp:8080", b"<local>"),
     {"mode": "manual", "servers": {"http": "proxy.corp:8080", "https": "proxy.corp:8080"}, "bypass": ["<local>"]}),
    (wininet_with_blob(5, auto=b"http://wpad.corp/proxy.pac"),
     {"mode": "pac", "servers": {}, "bypass": []}),
    (wininet_with_blob(3, b"blob:1", b"<local>", proxy_server="value:2", proxy_override="*.corp"),
     {"mode": "manual", "servers": {"http": "value:2", "https": "value:2"}, "bypass": ["*.corp"]}),
    (wininet_with_blob(1, b"proxy.corp:8080", b"<local>"),
     {"mode": "none", "servers": {}, "bypass": []}),
], ids=["only the value holds the proxy (per-machine, spad.uk)", "only the value holds the PAC URL",
        "registry values win where both are set", "strings kept but the proxy flag off"])
def test_wininet_reads_default_connection_settings_strings(raw, expected):
    source = windows_facts(raw, SUBNETS, 9090)["proxy"]["sources"][0]
    assert {key: source[key] for key in expected} == expected


def test_a_connection_settings_value_out_of_layout_leaves_the_registry_values():
    raw = wininet_with_blob(3, b"proxy.corp:8080", b"<local>", proxy_server="value:2")
    entry = raw["result"]["wininet"][0]
    entry["connection_settings_base64"] = base64.b64encode(bytes([0x46, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 99])).decode()
    source = windows_facts(raw, SUBNETS, 9090)["proxy"]["sources"][0]
    assert source["servers"] == {"http": "value:2", "https": "value:2"}


# ----------------------------------------------------------- the recorded-output matrix (windows/variants.json)

MASK_RULE = "Windows Defender Firewall (Private): allow rule 'Zoom Rooms controller (TCP 9090)'"
NOT_LOCAL = ("Windows Defender Firewall (Private): default inbound action Block, no allow rule for TCP 9090"
             " from 10.89.90.0/24")


# Variants about routing are read with controller subnets of their own addresses.
VARIANT_SUBNETS = {WSL: ["172.18.0.0/16", "172.18.32.0/24"]}


def variant_facts(name: str) -> dict[str, Any]:
    return windows_facts(windows_variant(name), VARIANT_SUBNETS.get(name, SUBNETS), 9090)


def no_allow(profile: str, subnet: str) -> str:
    return (f"Windows Defender Firewall ({profile}): default inbound action Block, no allow rule for TCP 9090"
            f" from {subnet}")


VARIANTS = [
    ("remote_address_local_subnet", lambda f: f["firewall"]["verdicts"],
     [{"subnet": SUBNET, "verdict": "blocked", "decided_by": NOT_LOCAL}]),
    ("remote_address_local_subnet_on_controller_segment", lambda f: [v["verdict"] for v in f["firewall"]["verdicts"]],
     ["admitted"]),
    ("remote_address_cidr_form", lambda f: f["firewall"]["verdicts"],
     [{"subnet": SUBNET, "verdict": "admitted", "decided_by": MASK_RULE}]),
    ("remote_address_range", lambda f: f["firewall"]["verdicts"],
     [{"subnet": SUBNET, "verdict": "admitted", "decided_by": MASK_RULE}]),
    ("single_objects", lambda f: f, HEALTHY_FACTS),
    ("nulls_for_empty", lambda f: f, HEALTHY_FACTS),
    ("proxy_override_cidr", lambda f: (f["proxy"]["bypass_covers_local"], f["proxy"]["bypass_covers_subnets"]),
     (True, {SUBNET: False})),
    ("proxy_override_mask", lambda f: (f["proxy"]["bypass_covers_local"], f["proxy"]["bypass_covers_subnets"]),
     (True, {SUBNET: False})),
    ("proxy_override_inner_wildcard",
     lambda f: (f["proxy"]["bypass_covers_local"], f["proxy"]["bypass_covers_subnets"]), (True, {SUBNET: True})),
    ("proxy_server_per_protocol", lambda f: f["proxy"]["servers"],
     {"http": "proxy.corp.example:3128", "https": "proxy.corp.example:3129"}),
    ("winhttp_bypass_whitespace", lambda f: (f["proxy"]["sources"][1]["bypass"], f["proxy"]["bypass_covers_subnets"]),
     (["<local>", "10.89.90.*", "127.0.0.1"], {SUBNET: True})),
    ("display_version_legacy", lambda f: f["app"],
     {"installed": True, "name": "Zoom Rooms", "version": "4.1.5.33237", "raw_version": "4.1.5 (4.1.33237.0925)",
      "version_source": "registry", "version_status": "ok"}),
    ("display_version_unreadable", lambda f: f["app"],
     {"installed": True, "name": "Zoom Rooms", "version": None, "raw_version": "Zoom Rooms 6",
      "version_source": "registry", "version_status": "unreadable"}),
    ("app_removed", lambda f: (f["app"], f["listener"]),
     ({"installed": False, "name": None, **NO_VERSION}, {"listening": False, "addresses": [], "process": None})),
    # A section that failed is unknown, never "none": not installed, not listening, blocked by the default action.
    ("app_read_failed", lambda f: (f["app"], f["listener"]),
     ({"installed": None, "name": None, **NO_VERSION}, LISTENING)),
    ("listener_read_failed", lambda f: (f["app"], f["listener"]),
     (APP, {"listening": None, "addresses": [], "process": None})),
    ("firewall_rules_read_failed", lambda f: f["firewall"],
     {"backend": "windows_defender", "active": True, "block_all": False, "notes": [RULES_UNREAD_NOTE],
      "verdicts": [{"subnet": SUBNET, "verdict": "unknown", "decided_by": "firewall rules not read"}],
      "unreadable": [{"backend": "windows_defender", "reason": "firewall rules not read: firewall: Invalid class"}]}),
    ("addresses_read_failed_local_subnet_rule", lambda f: f["firewall"]["verdicts"],
     [{"subnet": SUBNET, "verdict": "unknown",
       "decided_by": f"{MASK_RULE} may apply (remote address keyword LocalSubnet (local subnets not read))"}]),
    ("rule_source_untraced", lambda f: f["firewall"]["verdicts"],
     [{"subnet": SUBNET, "verdict": "unknown", "decided_by": f"{MASK_RULE} may apply ({STORE_UNREAD_REASON})"}]),
    (WSL, lambda f: f["firewall"]["verdicts"],
     [{"subnet": "172.18.0.0/16", "verdict": "blocked",
       "decided_by": f"{no_allow('Domain', '172.18.0.0/16')}; {no_allow('Public', '172.18.0.0/16')}"},
      {"subnet": "172.18.32.0/24", "verdict": "blocked", "decided_by": no_allow("Public", "172.18.32.0/24")}]),
]


@pytest.mark.parametrize("name, pick, expected", VARIANTS, ids=[row[0] for row in VARIANTS])
def test_recorded_variant(name, pick, expected):
    assert pick(variant_facts(name)) == expected


@pytest.mark.parametrize("name, codes", [
    ("app_read_failed", []), ("listener_read_failed", []), ("addresses_read_failed_local_subnet_rule", []),
    ("firewall_rules_read_failed", ["host_firewall_unreadable"]),
])
def test_a_failed_read_is_no_false_host_finding(name, codes):
    """Not read is unknown: never "not installed", "not listening" or "blocked"; a firewall that could not be
    read says so (host_firewall_unreadable), so a failed probe is not blamed on the network."""
    facts = variant_facts(name)
    assert facts["errors"] and [f["code"] for f in host_findings(facts, 9090)] == codes


def test_a_whole_failed_read_names_the_unread_firewall():
    facts = windows_facts({"failed": True, "msg": "Access is denied"}, SUBNETS, 9090)
    assert facts["firewall"]["unreadable"] == [{"backend": "windows_defender",
                                                "reason": "firewall state not read: facts script: Access is denied"}]
    assert [f["code"] for f in host_findings(facts, 9090)] == ["host_firewall_unreadable"]


def test_every_variant_names_its_source_and_is_tested():
    variants = json.loads((FIXTURES / "variants.json").read_text())["variants"]
    assert all(len(v["_source"]) > 20 and (FIXTURES / f"{v['base']}.json").exists() for v in variants.values())
    assert set(variants) == {row[0] for row in VARIANTS}
