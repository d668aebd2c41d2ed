"""iptables-save and ufw status evaluators and planners, against output captured in the lab."""

import ipaddress

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_iptables import (
    iptables_desired,
    iptables_managed,
    iptables_verdicts,
    parse_iptables_save,
    parse_ufw_status,
    ufw_desired,
    ufw_managed,
    ufw_verdicts,
)
from fixture_files import recorded

CTL = ipaddress.ip_network("10.89.1.0/24")
COMMENT = "zoom-rooms controller tcp/9090"
EMPTY = parse_iptables_save("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n")


def tables(name):
    return {4: parse_iptables_save(recorded(f"iptables/{name}.txt")), 6: EMPTY}


@pytest.mark.parametrize(
    "fixture, verdict, decided_by",
    [
        ("drop_9090", "blocked", "iptables filter: -A INPUT -p tcp -m tcp --dport 9090 -j DROP"),
        ("policy_drop", "blocked", "iptables filter INPUT: policy DROP"),
        ("managed_before_drop", "admitted", "iptables filter: -A INPUT -s 10.89.1.0/24"),
        ("multiport_interface", "unknown", "iptables filter: -A INPUT -i eth1"),
        ("ufw_default_deny", "blocked", "iptables filter"),
        ("ufw_admits_subnet", "admitted", "iptables filter: -A ufw-user-input -s 10.89.1.0/24"),
    ],
    ids=["drop rule", "policy drop", "our accept before a drop", "interface-scoped accept",
         "ufw chains, default deny", "ufw chains, subnet allowed"],
)
def test_iptables_verdict(fixture, verdict, decided_by):
    [result] = iptables_verdicts(tables(fixture), [CTL], 9090)
    assert result["verdict"] == verdict, result
    assert result["decided_by"].startswith(decided_by)


def test_iptables_plan_ignores_our_rule_and_keeps_it():
    state = tables("managed_before_drop")
    assert iptables_managed(state, COMMENT) == {"ipv4": ["10.89.1.0/24"]}
    assert iptables_desired(state, [CTL], 9090, COMMENT, present=True) == {"ipv4": ["10.89.1.0/24"]}
    assert iptables_desired(state, [CTL], 9090, COMMENT, present=False) == {}


def test_iptables_no_admission_where_nothing_blocks():
    assert iptables_desired(tables("multiport_interface") | {4: EMPTY}, [CTL], 9090, COMMENT, True) == {}


@pytest.mark.parametrize(
    "fixture, port, verdict, decided_by",
    [
        ("mixed", 9090, "admitted", "ufw: 9090/tcp ALLOW IN 10.89.1.0/24"),
        ("mixed", 9050, "blocked", "ufw: 9000:9100/tcp DENY IN Anywhere"),
        ("default_deny", 9090, "blocked", "ufw: default deny (incoming)"),
        ("allow_anywhere", 9090, "admitted", "ufw: 9090/tcp ALLOW IN Anywhere"),
    ],
    ids=["our rule first", "range deny", "default deny", "allowed from anywhere"],
)
def test_ufw_verdict(fixture, port, verdict, decided_by):
    status = parse_ufw_status(recorded(f"ufw/{fixture}.txt"))
    [result] = ufw_verdicts(status, [CTL], port)
    assert (result["verdict"], result["decided_by"]) == (verdict, decided_by)


def test_ufw_partial_subnet_rule_is_unknown_without_ours():
    status = parse_ufw_status(recorded("ufw/mixed.txt"))
    [result] = ufw_verdicts(status, [CTL], 9090, managed_comment=COMMENT)
    assert result["verdict"] == "unknown"


def test_ufw_status_parse():
    inactive = parse_ufw_status(recorded("ufw/inactive.txt"))
    assert inactive["active"] is False
    mixed = parse_ufw_status(recorded("ufw/mixed.txt"))
    assert mixed["active"] is True and mixed["default_incoming"] == "deny"
    assert [r["to"] for r in mixed["rules"]][:2] == ["9090/tcp", "22/tcp"]
    assert ufw_managed(mixed, COMMENT) == ["10.89.1.0/24"]


@pytest.mark.parametrize(
    "fixture, expected",
    [("mixed", ["10.89.1.0/24"]), ("default_deny", ["10.89.1.0/24"]), ("allow_anywhere", [])],
    ids=["keeps ours", "adds where denied", "nothing where allowed"],
)
def test_ufw_desired(fixture, expected):
    status = parse_ufw_status(recorded(f"ufw/{fixture}.txt"))
    assert ufw_desired(status, [CTL], 9090, COMMENT, present=True) == expected
