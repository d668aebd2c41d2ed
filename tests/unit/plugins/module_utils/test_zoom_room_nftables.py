"""nftables evaluator and planner against rulesets captured in the lab (Debian 12, nft 1.0.6)."""

import ipaddress
import json

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_nftables import (
    admitted_addresses,
    boot_differences,
    desired_managed,
    has_include_block,
    managed_rules,
    others_include,
    parse_rules_file,
    parse_ruleset,
    plan_commands,
    render_rules_file,
    strip_handles,
    verdicts,
    with_include_block,
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


# ---------------------------------------------------------------- state compared by addresses (issue 12, case 14)

HALVES = [ipaddress.ip_network("10.89.1.0/25"), ipaddress.ip_network("10.89.1.128/25")]


def test_adjacent_halves_nft_merged_need_no_change():
    """nft lists /25 + /25 as one /24: the plan for the halves is what the merged rule already admits."""
    chains = chains_of("merged_halves")
    current = managed_rules(chains, COMMENT)
    desired = desired_managed(chains, HALVES, 9090, COMMENT, present=True)
    assert strip_handles(current) == desired == {"inet filter input": [{"version": 4, "subnets": ["10.89.1.0/24"]}]}
    assert plan_commands(current, desired, 9090, COMMENT) == []


@pytest.mark.parametrize(
    "networks, expected",
    [(HALVES, ["10.89.1.0/24"]),
     ([ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("10.0.0.0/25")], ["10.0.0.0/24"]),
     ([ipaddress.ip_network("10.2.0.0/16"), ipaddress.ip_network("10.1.0.0/16")], ["10.1.0.0/16", "10.2.0.0/16"]),
     ([V6, CTL], [str(CTL), str(V6)])],
    ids=["adjacent halves", "a subnet inside another", "order does not matter", "both families"],
)
def test_admitted_addresses(networks, expected):
    assert admitted_addresses(networks) == expected


# ---------------------------------------------------------------- our boot file (issue 12, case 1)

RULES = "/etc/nftables.d/zoom-rooms.nft"
USER_CONF = ('#!/usr/sbin/nft -f\n# the site firewall, keep\nflush ruleset\n\ntable inet filter {\n'
             '\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t}\n}\n')


def test_rules_file_round_trip():
    persisted = {"inet filter input": [{"version": 4, "subnets": ["10.89.1.0/24", "10.90.0.0/16"]},
                                       {"version": 6, "subnets": [str(V6)]}]}
    text = render_rules_file(persisted, 9090, COMMENT)
    assert 'insert rule inet filter input ip saddr { 10.89.1.0/24, 10.90.0.0/16 } tcp dport 9090 accept ' \
           'comment "zoom-rooms controller tcp/9090"\n' in text
    assert parse_rules_file(text, COMMENT) == persisted
    assert render_rules_file({}, 9090, COMMENT) is None


def test_rules_file_lines_of_another_port_or_hand_edits_are_not_ours():
    text = ('insert rule inet filter input ip saddr { 10.0.0.0/8 } tcp dport 9091 accept comment '
            '"zoom-rooms controller tcp/9091"\n# insert rule inet filter input ip saddr { 0.0.0.0/0 } tcp dport 9090\n')
    assert parse_rules_file(text, COMMENT) == {}


@pytest.mark.parametrize("conf", [USER_CONF, USER_CONF.rstrip("\n"), ""],
                         ids=["ends with a newline", "no final newline", "empty file"])
def test_include_block_is_appended_and_taken_out_leaving_every_other_byte(conf):
    added = with_include_block(conf, RULES, present=True)
    assert added.startswith(conf) and added.endswith(f'include "{RULES}"\n')
    assert has_include_block(added, RULES) and not has_include_block(conf, RULES)
    assert with_include_block(added, RULES, present=True) == added
    removed = with_include_block(added, RULES, present=False)
    assert removed == conf or (not conf.endswith("\n") and removed == conf + "\n")


@pytest.mark.parametrize(
    "conf, covered",
    [(USER_CONF + 'include "/etc/nftables.d/*.nft"\n', True),
     (USER_CONF + '  include "/etc/nftables.d/zoom-rooms.nft"\n', True),
     (USER_CONF + 'include "/etc/nftables.d/*.conf"\n', False),
     (with_include_block(USER_CONF, RULES, present=True), False),
     (None, False)],
    ids=["a glob of the user's", "the user's own include of it", "a glob for other files", "only our own lines",
         "no nftables.conf"],
)
def test_others_include(conf, covered):
    assert others_include(conf, RULES) is covered


# ---------------------------------------------------------------- live against boot (issue 12, case 3)

OURS = {"version": 4, "subnets": [str(CTL)]}


@pytest.mark.parametrize(
    "live, boot, boot_chains, expected",
    [({"inet filter input": [OURS]}, {"inet filter input": [OURS]}, {"inet filter input"}, []),
     ({"inet filter input": [OURS]}, {}, {"inet filter input"},
      ["inet filter input: ip saddr { 10.89.1.0/24 } tcp dport 9090 accept: live, not in the boot configuration"]),
     ({"inet f2b input": [OURS]}, {}, {"inet filter input"}, []),
     ({}, {"inet filter input": [OURS]}, {"inet filter input"},
      ["inet filter input: ip saddr { 10.89.1.0/24 } tcp dport 9090 accept: in the boot configuration, not live"])],
    ids=["the same", "a run died before persisting", "a runtime-only table needs no boot copy",
         "removed live, still loaded at boot"],
)
def test_boot_differences(live, boot, boot_chains, expected):
    assert boot_differences(live, boot, lambda key: key in boot_chains, 9090) == expected
