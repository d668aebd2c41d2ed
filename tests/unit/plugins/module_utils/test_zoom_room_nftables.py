"""nftables evaluator and planner against rulesets captured in the lab (Debian 12, nft 1.0.6)."""

import ipaddress
import json

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_nftables import (
    desired_managed,
    managed_rules,
    parse_ruleset,
    plan_commands,
    strip_handles,
    verdicts,
)
from fixture_files import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "nftables"
CTL = ipaddress.ip_network("10.89.1.0/24")
V6 = ipaddress.ip_network("fd00:1::/64")
COMMENT = "zoom-rooms controller tcp/9090"


def chains_of(name):
    return parse_ruleset(json.loads((FIXTURES / f"{name}.json").read_text())["ruleset"])


@pytest.mark.parametrize(
    "fixture, verdict, decided_by",
    [
        ("debian_default", "admitted", "inet filter input: policy accept"),
        ("other_table_drops", "blocked", "inet zr_lab_fault input: tcp dport 9090 drop"),
        ("policy_drop", "blocked", "inet filter input: policy drop"),
        ("policy_drop_admits_subnet", "admitted", "inet filter input: ip saddr 10.89.1.0/24 tcp dport { 22, 9090 }"),
        ("narrower_subnet", "unknown", "inet filter input: ip saddr 10.89.1.0/25"),
        ("interface_match", "unknown", "inet filter input: meta iifname eth1"),
        ("jump_to_drop", "blocked", "inet filter zoom_block: tcp dport 9000-9100 reject"),
        ("named_set", "unknown", "inet filter input: ip saddr @allowed"),
        ("iptables_nft_drop", "admitted", "inet filter input: policy accept"),
        ("managed_rule_present", "admitted", "inet filter input: policy accept"),
        ("udp_only_drop", "admitted", "inet filter input: policy accept"),
    ],
    ids=["debian default", "drop in another table", "policy drop", "policy drop with subnet accept",
         "accept for part of the subnet", "interface match", "jump to a rejecting chain", "named set",
         "iptables-nft table left to the iptables layer", "our admission before the drop", "udp and ipv6 drops"],
)
def test_verdict_for_the_controller_subnet(fixture, verdict, decided_by):
    [result] = verdicts(chains_of(fixture), [CTL], 9090)
    assert result["verdict"] == verdict
    assert result["decided_by"].startswith(decided_by)


def test_ipv6_subnet_is_blocked_by_an_ip6_drop_only():
    [v6] = verdicts(chains_of("udp_only_drop"), [V6], 9090)
    assert v6 == {"subnet": str(V6), "verdict": "blocked", "decided_by": "inet filter input: ip6 saddr fd00::/8 drop"}


def test_another_port_is_not_blocked_by_a_9090_drop():
    [result] = verdicts(chains_of("other_table_drops"), [CTL], 8080)
    assert result["verdict"] == "admitted"


@pytest.mark.parametrize(
    "fixture, subnets, expected",
    [
        ("debian_default", [CTL], {}),
        ("other_table_drops", [CTL], {"inet zr_lab_fault input": [{"version": 4, "subnets": [str(CTL)]}]}),
        ("policy_drop", [CTL, V6], {"inet filter input": [
            {"version": 4, "subnets": [str(CTL)]}, {"version": 6, "subnets": [str(V6)]}]}),
        ("managed_rule_present", [CTL], {"inet zr_lab_fault input": [{"version": 4, "subnets": [str(CTL)]}]}),
        ("iptables_nft_drop", [CTL], {}),
    ],
    ids=["nothing blocks", "admission goes into the blocking table", "both families in an inet chain",
         "our own rule is ignored when planning", "iptables tables are not ours to edit"],
)
def test_desired_managed(fixture, subnets, expected):
    assert desired_managed(chains_of(fixture), subnets, 9090, COMMENT, present=True) == expected


def test_plan_is_empty_when_our_rule_already_stands():
    chains = chains_of("managed_rule_present")
    current = managed_rules(chains, COMMENT)
    desired = desired_managed(chains, [CTL], 9090, COMMENT, present=True)
    assert strip_handles(current) == desired
    assert plan_commands(current, desired, 9090, COMMENT) == []


def test_plan_absent_deletes_our_rule_by_handle():
    chains = chains_of("managed_rule_present")
    current = managed_rules(chains, COMMENT)
    [command] = plan_commands(current, desired_managed(chains, [CTL], 9090, COMMENT, present=False), 9090, COMMENT)
    handle = current["inet zr_lab_fault input"][0]["handle"]
    assert command == {"delete": {"rule": {"family": "inet", "table": "zr_lab_fault", "chain": "input",
                                           "handle": handle}}}


def test_plan_inserts_a_scoped_accept():
    chains = chains_of("other_table_drops")
    desired = desired_managed(chains, [CTL], 9090, COMMENT, present=True)
    [command] = plan_commands({}, desired, 9090, COMMENT)
    rule = command["insert"]["rule"]
    assert (rule["table"], rule["chain"], rule["comment"]) == ("zr_lab_fault", "input", COMMENT)
    assert rule["expr"][0]["match"]["right"] == {"prefix": {"addr": "10.89.1.0", "len": 24}}
    assert rule["expr"][-1] == {"accept": None}


def test_subnet_change_replaces_the_rule():
    chains = chains_of("managed_rule_present")
    current = managed_rules(chains, COMMENT)
    other = ipaddress.ip_network("10.77.0.0/16")
    commands = plan_commands(current, desired_managed(chains, [other], 9090, COMMENT, present=True), 9090, COMMENT)
    assert [next(iter(c)) for c in commands] == ["delete", "insert"]
