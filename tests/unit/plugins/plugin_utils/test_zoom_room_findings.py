"""The triage table as rules: one row per situation, asserting exactly the codes it must give."""

import copy

import pytest
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_findings import (
    diagnose,
    fixes,
    room_status,
    verify,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_inputs import input_errors

SUBNET = "10.89.1.0/24"
POLICY = {"controller_port": 9090, "controller_subnets": [SUBNET], "address": "10.89.1.5"}
HEALTHY = {
    "platform": "linux",
    "app": {"installed": True, "version": "6.2.0.4512"},
    "listener": {"listening": True, "addresses": ["0.0.0.0"]},
    "firewall": {"backend": "nftables", "verdicts": [{"subnet": SUBNET, "verdict": "admitted", "decided_by": "x"}]},
    "proxy": {"mode": "none", "bypass_covers_local": True, "bypass_covers_subnets": {SUBNET: True}, "sources": []},
}
OPEN, TIMEOUT, REFUSED = {"state": "open"}, {"state": "timeout"}, {"state": "refused"}
NO_ROUTE = {"state": "no_route"}


def facts(**changes):
    result = copy.deepcopy(HEALTHY)
    for path, value in changes.items():
        section, key = path.split("__")
        result[section][key] = value
    return result


BLOCKED = [{"subnet": SUBNET, "verdict": "blocked", "decided_by": "inet t input: tcp dport 9090 drop"}]
UNKNOWN = [{"subnet": SUBNET, "verdict": "unknown", "decided_by": "named set"}]
UNREADABLE = [{"backend": "nftables", "reason": "nft -j list ruleset failed: nft: command not found"}]
NOT_PERSISTED = [{"backend": "nftables", "difference": "inet filter input: ip saddr { 10.89.1.0/24 } tcp dport 9090 "
                  "accept: live, not in the boot configuration"}]
PROXY = {"proxy__mode": "manual", "proxy__bypass_covers_local": False, "proxy__bypass_covers_subnets": {SUBNET: False}}


@pytest.mark.parametrize(
    "room_facts, probe, api, policy_changes, codes",
    [
        (HEALTHY, OPEN, None, {}, []),
        (None, None, None, {}, ["room_unreachable"]),
        (facts(app__installed=False), REFUSED, None, {}, ["app_not_installed"]),
        (facts(listener__listening=False), REFUSED, None, {}, ["app_not_listening"]),
        (facts(firewall__verdicts=BLOCKED), TIMEOUT, None, {}, ["host_firewall_blocks_controller_port"]),
        (HEALTHY, TIMEOUT, None, {}, ["controller_port_blocked"]),
        (facts(firewall__verdicts=UNKNOWN), TIMEOUT, None, {}, ["controller_port_blocked"]),
        (HEALTHY, NO_ROUTE, None, {"address": "10.89.2.5"}, ["controller_segment_unroutable"]),
        (facts(firewall__verdicts=BLOCKED), NO_ROUTE, None, {"address": "10.89.2.5"},
         ["host_firewall_blocks_controller_port", "controller_segment_unroutable"]),
        (facts(**PROXY), OPEN, None, {}, ["proxy_intercepts_local_traffic"]),
        (facts(firewall__verdicts=BLOCKED, **PROXY), TIMEOUT, None, {},
         ["host_firewall_blocks_controller_port", "proxy_intercepts_local_traffic"]),
        (facts(proxy__mode="manual"), OPEN, None, {}, []),
        (HEALTHY, OPEN, None, {"min_version": "6.3"}, ["app_version_below_minimum"]),
        (HEALTHY, OPEN, None, {"min_version": "6.2.0 (4512)"}, []),
        (HEALTHY, OPEN, {"reported_ip": "127.0.0.1"}, {}, ["room_reports_loopback_ip"]),
        (HEALTHY, OPEN, {"room": {"status": "Offline"}}, {}, ["room_offline"]),
        (HEALTHY, OPEN, {"room_computer_version": "6.2.0 (4512)", "controller_versions": ["6.4.0 (10)"]}, {},
         ["app_version_drift"]),
        (HEALTHY, OPEN, {"room_computer_version": "6.2.0 (4512)", "controller_versions": ["6.2.9 (10)"]}, {}, []),
        (HEALTHY, OPEN, {"activated": False, "activation_code_issued_at": "2026-11-01T00:00:00Z"},
         {"now": "2026-11-25T00:00:00Z"}, ["activation_code_expired"]),
        (HEALTHY, OPEN, {"activated": False, "activation_code_issued_at": "2026-11-20T00:00:00Z"},
         {"now": "2026-11-25T00:00:00Z"}, []),
        (None, None, {"room": {"status": "Offline"}, "reported_ip": "127.0.0.1"}, {},
         ["room_offline", "room_reports_loopback_ip"]),
        (facts(listener__listening=False, firewall__verdicts=BLOCKED), TIMEOUT, None, {},
         ["app_not_listening", "host_firewall_blocks_controller_port"]),
        (facts(firewall__verdicts=UNKNOWN, firewall__unreadable=UNREADABLE), TIMEOUT, None, {},
         ["host_firewall_unreadable"]),
        (facts(firewall__verdicts=UNKNOWN, firewall__unreadable=UNREADABLE), OPEN, None, {},
         ["host_firewall_unreadable"]),
        (facts(firewall__boot_differences=NOT_PERSISTED), OPEN, None, {}, ["host_firewall_not_persisted"]),
    ],
    ids=["healthy", "no facts", "app missing", "app not listening", "host firewall drops",
         "network drops what the host admits", "host verdict unknown and probe times out",
         "wrong segment", "wrong segment is not blamed on the firewall probe result",
         "proxy without bypass", "firewall and proxy together", "proxy whose bypass covers everything",
         "below minimum", "at minimum, other spelling", "API sees 127.0.0.1", "API offline", "drift",
         "same major.minor is no drift", "activation code 24 days old", "activation code 5 days old",
         "appliance known only to the API", "not listening and firewall",
         "firewall unreadable: the network is not blamed", "firewall unreadable, probe open",
         "admission live only (a run died before persisting)"],
)
def test_diagnose(room_facts, probe, api, policy_changes, codes):
    found = diagnose(room_facts, probe, api, {**POLICY, **policy_changes})
    assert [f["code"] for f in found] == codes


@pytest.mark.parametrize("policy_changes, evidence", [
    ({"min_version": "6.0"}, [{"installed": "unreadable", "raw_version": "Zoom Rooms 7", "version_source": "registry",
                               "minimum": "6.0.0.0"}]),
    ({}, []),
], ids=["minimum set: the text is the evidence", "no minimum: nothing to judge"])
def test_unreadable_version_is_evidence_not_dropped(policy_changes, evidence):
    found = diagnose(facts(app__version=None, app__raw_version="Zoom Rooms 7", app__version_source="registry",
                           app__version_status="unreadable"), OPEN, None, {**POLICY, **policy_changes})
    assert [f["evidence"] for f in found if f["code"] == "app_version_below_minimum"] == evidence


@pytest.mark.parametrize("controllers, drift", [
    pytest.param([None], None, id="controller without app_version only: nothing to compare"),
    pytest.param(["garbage"], None, id="unparsable controller version only"),
    pytest.param([None, "garbage", "6.4.0 (10)"],
                 {"room": "6.2.0.4512", "controllers": ["6.4.0.10"], "unreadable_controllers": [None, "garbage"]},
                 id="the readable controller still drifts; the others are evidence"),
    pytest.param([None, "6.2.9 (10)"], None, id="the readable controller agrees"),
])
def test_a_controller_without_a_readable_version_is_left_out_of_drift(controllers, drift):
    """app_version is optional (Zoom Rooms OpenAPI): a controller without one, or with a text no version form
    fits, is not compared (it used to raise InvalidValue and fail the room's diagnosis)."""
    found = diagnose(HEALTHY, OPEN, {"room_computer_version": "6.2.0 (4512)", "controller_versions": controllers},
                     POLICY)
    assert [f["evidence"] for f in found if f["code"] == "app_version_drift"] == ([drift] if drift else [])
    assert [f["code"] for f in found] == (["app_version_drift"] if drift else [])


def test_every_finding_is_complete():
    found = diagnose(facts(firewall__verdicts=BLOCKED, **PROXY), TIMEOUT, {"reported_ip": "127.0.0.1"}, POLICY)
    for item in found:
        assert set(item) >= {"code", "severity", "summary", "evidence", "next_step"}
        assert item["summary"] and item["next_step"] and item["evidence"]
    assert found[0]["evidence"]["blocked"][0]["decided_by"] == "inet t input: tcp dport 9090 drop"


def test_fixes_map_findings_to_roles():
    found = diagnose(facts(firewall__verdicts=BLOCKED, **PROXY), TIMEOUT, None, POLICY)
    assert fixes(found) == ["firewall", "proxy"]
    assert fixes(diagnose(HEALTHY, TIMEOUT, None, POLICY)) == []


@pytest.mark.parametrize(
    "before, after, applied, passed",
    [
        (facts(firewall__verdicts=BLOCKED), HEALTHY, ["firewall"], True),
        (facts(firewall__verdicts=BLOCKED), facts(firewall__verdicts=BLOCKED), ["firewall"], False),
    ],
    ids=["finding gone", "finding remains"],
)
def test_verify(before, after, applied, passed):
    result = verify(diagnose(before, TIMEOUT, None, POLICY), diagnose(after, OPEN, None, POLICY), applied)
    assert result["passed"] is passed


def test_verify_fails_when_the_probe_still_cannot_connect():
    """Fixed on the host but still unreachable from the probe: a new finding, so the change is rolled back."""
    before = diagnose(facts(firewall__verdicts=BLOCKED), TIMEOUT, None, POLICY)
    after = diagnose(HEALTHY, TIMEOUT, None, POLICY)
    result = verify(before, after, ["firewall"])
    assert result == {"passed": False, "remaining_targeted": [], "new": ["controller_port_blocked"],
                      "findings": after}


@pytest.mark.parametrize(
    "findings, mode, applied, verified, status",
    [
        ([], "diagnose", None, None, "healthy"),
        (["x"], "diagnose", None, None, "needs_attention"),
        (["x"], "plan", ["firewall"], None, "needs_attention"),
        (["x"], "apply", ["firewall"], {"passed": True, "findings": []}, "fixed"),
        (["x"], "apply", ["firewall"], {"passed": True, "findings": ["y"]}, "needs_attention"),
        (["x"], "apply", ["firewall"], {"passed": False, "findings": ["x"]}, "failed"),
        (["x"], "apply", [], None, "needs_attention"),
    ],
    ids=["no findings", "diagnose only", "plan only", "fixed", "fixed part, rest needs a person",
         "verify failed", "nothing a host change fixes"],
)
def test_room_status(findings, mode, applied, verified, status):
    assert room_status(findings, mode, applied, verified) == status


@pytest.mark.parametrize(
    "host_vars, remediate, message",
    [
        ({"zoom_room_controller_subnets": ["10.0.0.0/33"]}, True,
         "room-1: zoom_room_controller_subnets[0]: '10.0.0.0/33' is not a CIDR"),
        ({"zoom_room_controller_subnets": ["0.0.0.0/0"]}, True, "room-1: zoom_room_controller_subnets[0]: '0.0.0.0/0'"),
        ({}, True, "room-1: zoom_room_controller_subnets: at least one CIDR is required"),
        ({"zoom_room_controller_subnets": [SUBNET], "zoom_room_controller_port": 99999}, True,
         "room-1: zoom_room_controller_port: 99999 is out of range"),
        ({"zoom_room_controller_subnets": [SUBNET], "zoom_room_proxy_policy": "sometimes"}, True,
         "room-1: zoom_room_proxy_policy: 'sometimes' is not one of"),
        ({"zoom_room_controller_subnets": [SUBNET], "zoom_room_proxy_policy": "manual"}, True,
         "room-1: zoom_room_proxy_server: required when policy is 'manual'"),
        ({"zoom_room_controller_subnets": [SUBNET], "zoom_room_min_version": "soon"}, True,
         "room-1: zoom_room_min_version: 'soon' is not a version"),
        ({"zoom_room_address": ["10.0.0.5"]}, False, "room-1: zoom_room_address: ['10.0.0.5'] is not a string"),
        ({"zoom_room_probe": 7}, False, "room-1: zoom_room_probe: 7 is not a string"),
        ({"zoom_room_proxy_bypass": "localhost"}, False, "room-1: zoom_room_proxy_bypass: 'localhost' is not a list"),
        ({"zoom_room_proxy_bypass": ["localhost", ""]}, False, "room-1: zoom_room_proxy_bypass[1]: '' is not a host"),
        ({"zoom_room_platform": "chromeos"}, False, "room-1: zoom_room_platform: 'chromeos' is not one of"),
    ],
    ids=["cidr", "any", "missing subnets for remediation", "port", "policy", "manual without server", "version",
         "address not text", "probe not text", "bypass not a list", "empty bypass entry", "unknown platform"],
)
def test_input_errors_name_host_and_variable(host_vars, remediate, message):
    errors = input_errors({"room-1": host_vars}, remediate)
    assert len(errors) == 1 and errors[0].startswith(message), errors


def test_input_errors_accepts_a_good_room_and_diagnose_without_subnets():
    assert input_errors({"room-1": {"zoom_room_controller_subnets": [SUBNET]}}, True) == []
    assert input_errors({"room-1": {}}, False) == []


def test_verify_leaves_api_findings_to_the_next_diagnose():
    """The API still shows 127.0.0.1 until the app reports again: that does not fail a good proxy fix."""
    api = {"reported_ip": "127.0.0.1"}
    before = diagnose(facts(**PROXY), OPEN, api, POLICY)
    after = diagnose(HEALTHY, OPEN, api, POLICY)
    assert [f["code"] for f in after] == ["room_reports_loopback_ip"]
    assert verify(before, after, ["proxy"])["passed"] is True


def test_status_is_fixed_while_the_api_still_lags():
    api = {"reported_ip": "127.0.0.1"}
    before = diagnose(facts(**PROXY), OPEN, api, POLICY)
    verified = verify(before, diagnose(HEALTHY, OPEN, api, POLICY), ["proxy"])
    assert room_status(before, "apply", ["proxy"], verified) == "fixed"


ROUTED = {"address": "10.20.0.10"}  # the rooms' VLAN, routed to the controllers' 10.89.1.0/24
BY_NAME = {"address": "zr-01.corp.example"}


@pytest.mark.parametrize("probe, policy_changes, codes", [
    pytest.param(OPEN, ROUTED, [], id="routed path, port open"),
    pytest.param(None, ROUTED, [], id="routed path, no probe: nothing seen, nothing said"),
    pytest.param(REFUSED, ROUTED, ["controller_port_blocked"], id="routed path, refused: the route works"),
    pytest.param(TIMEOUT, ROUTED, ["controller_segment_unroutable"], id="routed path, no answer"),
    pytest.param(NO_ROUTE, ROUTED, ["controller_segment_unroutable"], id="no route"),
    pytest.param(None, {}, [], id="controller subnet, no probe"),
    pytest.param({"state": "open", "resolved_address": "10.20.0.10"}, BY_NAME, [], id="by name, open"),
    pytest.param(None, BY_NAME, [], id="by name, no probe"),
    pytest.param({"state": "timeout", "resolved_address": "10.89.1.21"}, BY_NAME, ["controller_port_blocked"],
                 id="by name on the controller subnet, no answer: the network drops it"),
    pytest.param({"state": "timeout", "resolved_address": "10.20.0.10"}, BY_NAME, ["controller_segment_unroutable"],
                 id="by name on another subnet, no answer"),
    pytest.param({"state": "error", "error": "the name does not resolve on the probe host"}, BY_NAME,
                 ["controller_port_blocked"], id="by name, does not resolve: not called another segment"),
])
def test_the_path_is_judged_on_what_the_probe_saw(probe, policy_changes, codes):
    """A room outside the controller subnets is a routed path, which works when it admits the port: only
    what the probe saw blames the network (a room named by DNS name is judged by its probed address)."""
    found = diagnose(HEALTHY, probe, None, {**POLICY, **policy_changes})
    assert [f["code"] for f in found] == codes


def controller(address, status="Online"):
    return {"address": address, "status": status, "hostname": "boardroom-ipad", "device_system": "iPadOS 17.4"}


@pytest.mark.parametrize("controllers, probe, outside", [
    pytest.param([controller("10.50.0.23")], OPEN, ["10.50.0.23"], id="online, another private segment"),
    pytest.param([controller("10.89.1.23")], OPEN, [], id="online, on a controller subnet"),
    pytest.param([controller("10.50.0.23", "Offline")], OPEN, [], id="offline: its address may be stale"),
    pytest.param([controller("8.8.8.8")], OPEN, [], id="a public address may be a NAT's"),
    pytest.param([controller(""), controller("127.0.0.1")], OPEN, [], id="no address, loopback"),
    pytest.param([controller("10.89.1.23"), controller("fd00:50::23")], OPEN, ["fd00:50::23"],
                 id="one of two outside, IPv6"),
])
def test_a_controller_outside_the_controller_subnets_is_a_segment_finding(controllers, probe, outside):
    found = diagnose(HEALTHY, probe, {"controllers": controllers}, POLICY)
    if not outside:
        assert found == []
        return
    assert [f["code"] for f in found] == ["controller_segment_unroutable"]
    assert [c["address"] for c in found[0]["evidence"]["controllers_outside_subnets"]] == outside
    assert found[0]["summary"] == "A controller the Zoom API shows online is outside every controller subnet"


def test_no_route_and_a_controller_outside_are_one_finding_with_both_evidences():
    found = diagnose(HEALTHY, NO_ROUTE, {"controllers": [controller("10.50.0.23")]}, {**POLICY, **ROUTED})
    assert [f["code"] for f in found] == ["controller_segment_unroutable"]
    assert found[0]["evidence"]["probe"] == NO_ROUTE  # the probe's finding comes first and keeps its texts
    assert found[0]["summary"] == "The controller segment has no route to the room's address"
    assert [c["address"] for c in found[0]["evidence"]["controllers_outside_subnets"]] == ["10.50.0.23"]
