"""firewalld parsers, evaluator, planner and backend, against recorded firewall-cmd output (fixtures/firewalld/)."""

import ipaddress
import json
from pathlib import Path

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_firewalld import (
    FirewalldBackend,
    admission_rule,
    firewalld_commands,
    firewalld_desired,
    firewalld_managed,
    firewalld_verdicts,
    managed_subnet,
    parse_active_zones,
    parse_all_zones,
    parse_list_all,
    parse_rich_rule,
    parse_service_info,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_host import firewall_facts, linux_layers
from fixture_files import FIXTURES, recorded

CTL = ipaddress.ip_network("10.89.1.0/24")
V6 = ipaddress.ip_network("fd00:1::/64")
OURS = 'rule family="ipv4" source address="10.89.1.0/24" port port="9090" protocol="tcp" accept'
MONITORING = 'rule family="ipv4" source address="10.54.208.94" port port="8301" protocol="tcp" accept'
SERVICE_FIXTURES = {"ssh": "info_service_ssh", "dhcpv6-client": "info_service_dhcpv6_client",
                    "cockpit": "info_service_cockpit", "zoom-rooms": "info_service_zoom_rooms"}


def text(name):
    return recorded(f"firewalld/{name}.txt")


def zones_of(*names):
    return {zone["name"]: zone for zone in (parse_list_all(text(name)) for name in names)}


SERVICES = {name: parse_service_info(text(fixture)) for name, fixture in SERVICE_FIXTURES.items()}


# ---------------------------------------------------------------- parsers

def test_list_all_2x_layout():
    zone = parse_list_all(text("public_managed"))
    assert (zone["name"], zone["default"], zone["active"], zone["target"]) == ("public", True, True, "default")
    assert zone["interfaces"] == ["eth0"] and zone["sources"] == [] and zone["ports"] == []
    assert zone["services"] == ["dhcpv6-client", "ssh"]
    assert zone["rich_rules"] == [MONITORING, OURS]


def test_list_all_1x_layout_and_targets():
    assert parse_list_all(text("public_cockpit"))["ports"] == ["22/tcp", "8181/tcp", "8080/tcp"]
    assert parse_list_all(text("trusted_source"))["sources"] == ["10.89.1.0/24"]
    assert parse_list_all(text("drop_zone"))["target"] == "DROP"


def test_list_all_zones():
    zones = parse_all_zones(text("all_zones_docker"))
    assert sorted(zones) == ["block", "docker", "drop", "public", "trusted"]
    assert zones["block"]["target"] == "%%REJECT%%"
    assert zones["docker"]["interfaces"] == ["br-f0cdd0669e2f", "br-f871835d2c04", "docker0"]
    assert zones["public"]["default"] is True and zones["public"]["rich_rules"] == []


@pytest.mark.parametrize(
    "fixture, expected",
    [
        ("active_zones", {"public": {"interfaces": ["eth0"], "sources": []},
                          "trusted": {"interfaces": [], "sources": ["10.89.1.0/24"]}}),
        ("active_zones_v2", {"public": {"interfaces": ["wlp0s20f3"], "sources": []},
                             "trusted": {"interfaces": [], "sources": ["127.0.0.1"]}}),
    ],
    ids=["interface and source zones", "firewalld 2.x marks the default zone"],
)
def test_active_zones(fixture, expected):
    assert parse_active_zones(text(fixture)) == expected


def test_service_info():
    assert parse_service_info(text("info_service_dhcpv6_client")) == {
        "ports": ["546/udp"], "protocols": [], "source_ports": [], "destination": {"ipv6": "fe80::/64"}, "includes": []}
    assert parse_service_info(text("info_service_zoom_rooms"))["includes"] == ["ssh"]


@pytest.mark.parametrize(
    "rule, expected",
    [
        (OURS, {"family": "ipv4", "priority": 0, "source": {"address": "10.89.1.0/24"}, "element": "port",
                "attrs": {"port": "9090", "protocol": "tcp"}, "action": "accept", "limited": False}),
        ('rule priority="-10" family="ipv6" source NOT address="fd00::/8" service name="ssh" '
         'reject type="icmp6-adm-prohibited"',
         {"family": "ipv6", "priority": -10, "source": {"invert": "yes", "address": "fd00::/8"}, "element": "service",
          "attrs": {"name": "ssh"}, "action": "reject", "limited": False}),
        ('rule family="ipv4" port port="9090" protocol="tcp" log prefix="ZR: " level="info" accept limit value="5/m"',
         {"family": "ipv4", "priority": 0, "source": None, "element": "port",
          "attrs": {"port": "9090", "protocol": "tcp"}, "action": "accept", "limited": True}),
    ],
    ids=["our admission", "priority, NOT source, service, reject type", "log prefix with a space, rate limit"],
)
def test_rich_rule_parse(rule, expected):
    parsed = parse_rich_rule(rule)
    assert {key: getattr(parsed, key) for key in expected} == expected


# ---------------------------------------------------------------- verdicts

@pytest.mark.parametrize(
    "fixtures, default_zone, services, subnet, verdict, decided_by",
    [
        (["public_ssh_only"], "public", SERVICES, CTL, "blocked", "firewalld zone public: target default"),
        (["public_port_9090"], "public", SERVICES, CTL, "admitted", "firewalld zone public: port 9090/tcp"),
        (["public_rich_accept"], "public", SERVICES, CTL, "admitted",
         'firewalld zone public: rule family="ipv4" source address="10.89.1.0/24" accept'),
        (["public_rich_accept"], "public", SERVICES, V6, "blocked", "firewalld zone public: target default"),
        (["public_rich_narrower"], "public", SERVICES, CTL, "unknown",
         'firewalld zone public: rule family="ipv4" source address="10.89.1.0/25" accept'),
        (["public_ssh_only", "trusted_source"], "public", SERVICES, CTL, "admitted",
         "firewalld zone trusted: target ACCEPT"),
        (["drop_zone"], "drop", SERVICES, CTL, "blocked", "firewalld zone drop: target DROP"),
        (["public_cockpit"], "public", SERVICES, CTL, "admitted", "firewalld zone public: service cockpit"),
        (["public_cockpit"], "public", {}, CTL, "unknown",
         "firewalld zone public: service cockpit (definition not read)"),
        (["public_deny_before_port"], "public", SERVICES, CTL, "blocked",
         'firewalld zone public: rule family="ipv4" source address="10.89.0.0/16" port port="9000-9100" '
         'protocol="tcp" reject'),
        (["public_priority_accept"], "public", SERVICES, CTL, "admitted",
         'firewalld zone public: rule priority="-10" family="ipv4" source address="10.89.1.0/24" '
         'service name="zoom-rooms" accept'),
        (["public_ssh_only", "docker_zone"], "public", SERVICES, CTL, "unknown",
         "controller traffic may arrive in any of these zones, which disagree: firewalld zone docker: target ACCEPT"),
        (["public_managed"], "public", SERVICES, CTL, "admitted", f"firewalld zone public: {OURS}"),
    ],
    ids=["default zone public with ssh only", "port 9090/tcp open", "rich rule accepts the subnet",
         "ipv4 rich rule does not admit ipv6", "rich rule for a narrower subnet", "source-bound trusted zone",
         "drop zone", "cockpit service is 9090/tcp", "service definition not read",
         "reject rich rule beats an open port", "priority -10 accept beats a deny", "interface zones disagree",
         "our admission"],
)
def test_verdict(fixtures, default_zone, services, subnet, verdict, decided_by):
    [result] = firewalld_verdicts(zones_of(*fixtures), default_zone, [subnet], 9090, services)
    assert (result["subnet"], result["verdict"]) == (str(subnet), verdict), result
    assert result["decided_by"].startswith(decided_by), result


def test_source_zone_that_does_not_decide_drifts_only_in_old_firewalld():
    """A source-bound zone with target default: blocked if the interface zones block too, else unknown."""
    public = parse_list_all(text("public_ssh_only"))
    internal = {**public, "name": "internal", "interfaces": [], "sources": ["10.89.0.0/16"]}
    [blocked] = firewalld_verdicts({"public": public, "internal": internal}, "public", [CTL], 9090, SERVICES)
    assert (blocked["verdict"], blocked["decided_by"]) == ("blocked", "firewalld zone internal: target default")
    opened = parse_list_all(text("public_port_9090"))
    [drifts] = firewalld_verdicts({"public": opened, "internal": internal}, "public", [CTL], 9090, SERVICES)
    assert drifts["verdict"] == "unknown" and "zone drifting" in drifts["decided_by"]


@pytest.mark.parametrize(
    "change",
    [{"forward_ports": ["port=9090:proto=tcp:toport=8080:toaddr="]},
     {"rich_rules": ['rule family="ipv4" forward-port port="9090" protocol="tcp" to-port="8080"']}],
    ids=["zone forward port", "rich rule forward port"],
)
def test_forward_port_on_the_controller_port_is_unknown(change):
    """firewall-cmd prints forward ports as `port=P:proto=T:toport=Q:toaddr=A` (command.py); DNAT comes first."""
    zone = {**parse_list_all(text("public_port_9090")), **change}
    [result] = firewalld_verdicts({"public": zone}, "public", [CTL], 9090, SERVICES)
    assert result["verdict"] == "unknown" and result["decided_by"].endswith("redirects the port")

# ---------------------------------------------------------------- planning


@pytest.mark.parametrize(
    "fixtures, subnets, present, expected",
    [
        (["public_managed"], [CTL], True, {"public": ["10.89.1.0/24"]}),
        (["public_managed"], [CTL], False, {}),
        (["public_ssh_only"], [CTL, V6], True, {"public": ["10.89.1.0/24", "fd00:1::/64"]}),
        (["public_port_9090"], [CTL], True, {}),
        (["public_rich_narrower"], [CTL], True, {"public": ["10.89.1.0/24"]}),
        (["public_ssh_only", "trusted_source"], [CTL], True, {}),
        (["public_ssh_only", "docker_zone"], [CTL], True, {"public": ["10.89.1.0/24"]}),
    ],
    ids=["our rule present: no-op", "absent", "blocked: one rule per subnet in the default zone",
         "port already open", "narrower rule is not enough", "source-bound trusted zone admits",
         "only the interface zone that blocks"],
)
def test_desired(fixtures, subnets, present, expected):
    zones = zones_of(*fixtures)
    assert firewalld_desired(zones, "public", subnets, 9090, present, SERVICES) == expected


def test_managed_is_ours_by_exact_form_only():
    assert firewalld_managed(zones_of("public_managed"), 9090) == {"public": ["10.89.1.0/24"]}
    for foreign in ("public_rich_accept", "public_rich_narrower", "public_port_9090"):
        assert firewalld_managed(zones_of(foreign), 9090) == {}
    assert admission_rule("fd00:1::/64", 9090) == \
        'rule family="ipv6" source address="fd00:1::/64" port port="9090" protocol="tcp" accept'


@pytest.mark.parametrize(
    "rule, subnet",
    [
        (OURS, "10.89.1.0/24"),
        (OURS.replace("9090", "9091"), None),
        (OURS.replace("accept", "accept limit value=\"5/m\""), None),
        (OURS.replace("10.89.1.0/24", "10.89.1.7/24"), None),
        (OURS.replace("ipv4", "ipv6"), None),
        ('rule family="ipv4" source address="10.89.1.0/24" port protocol="tcp" port="9090" accept', None),
    ],
    ids=["ours", "other port", "rate limited", "host bits", "family does not match", "attributes reordered"],
)
def test_managed_subnet(rule, subnet):
    assert managed_subnet(rule, 9090) == subnet


def test_commands_remove_then_add_permanent_then_runtime():
    current = {"managed": {"public": ["10.89.2.0/24"]}, "permanent": {"public": ["10.89.2.0/24"]}}
    after = {"managed": {"public": ["10.89.1.0/24"]}, "permanent": {"public": ["10.89.1.0/24"]}}
    assert [argv[1:] for argv in firewalld_commands(current, after, 9090)] == [
        ["--permanent", "--zone=public", f"--remove-rich-rule={OURS.replace('10.89.1.', '10.89.2.')}"],
        ["--zone=public", f"--remove-rich-rule={OURS.replace('10.89.1.', '10.89.2.')}"],
        ["--permanent", "--zone=public", f"--add-rich-rule={OURS}"],
        ["--zone=public", f"--add-rich-rule={OURS}"],
    ]


# ---------------------------------------------------------------- backend with a recording runner

class RecordingRunner:
    """argv -> recorded output; every call is kept. Changes answer `success` as firewall-cmd does."""

    def __init__(self, outputs):
        self.outputs = {tuple(argv.split("\t")): result for argv, result in outputs.items()}
        self.calls = []

    def __call__(self, argv, data=None):
        self.calls.append(list(argv))
        if any(arg.startswith(("--add-rich-rule=", "--remove-rich-rule=")) for arg in argv):
            return 0, "success\n", ""
        return self.outputs.get(tuple(argv), (127, "", f"{argv[0]}: no recording for {argv}"))

    @property
    def writes(self):
        return [call for call in self.calls if any("-rich-rule=" in arg for arg in call)]


def firewalld_host(runtime="all_zones_plain", permanent=None, running=True):
    def ok(name):
        return (0, text(name), "")

    outputs = {
        "firewall-cmd\t--state": (0, "running\n", "") if running else (252, "", "not running\n"),
        "firewall-cmd\t--get-default-zone": ok("default_zone"),
        "firewall-cmd\t--get-active-zones": (0, "public\n  interfaces: eth0\n", ""),
        "firewall-cmd\t--list-all-zones": ok(runtime),
        "firewall-cmd\t--permanent\t--list-all-zones": ok(permanent or runtime),
    }
    for name, fixture in SERVICE_FIXTURES.items():
        outputs[f"firewall-cmd\t--info-service={name}"] = ok(fixture)
    return RecordingRunner(outputs)


def test_apply_adds_with_permanent_and_runtime():
    run = firewalld_host()
    backend = FirewalldBackend(run, 9090)
    before = backend.read()
    after = backend.desired(before, [CTL], present=True)
    assert after == {"managed": {"public": ["10.89.1.0/24"]}, "permanent": {"public": ["10.89.1.0/24"]}}
    backend.apply(after)
    assert run.writes == [
        ["firewall-cmd", "--permanent", "--zone=public", f"--add-rich-rule={OURS}"],
        ["firewall-cmd", "--zone=public", f"--add-rich-rule={OURS}"],
    ]


def test_apply_runs_nothing_but_reads_when_after_equals_before():
    run = firewalld_host("all_zones_managed")
    backend = FirewalldBackend(run, 9090)
    before = backend.read()
    assert backend.desired(before, [CTL], present=True) == before
    run.calls.clear()
    backend.apply(before)
    assert run.calls == [["firewall-cmd", "--list-all-zones"], ["firewall-cmd", "--permanent", "--list-all-zones"]]


def test_absent_removes_ours_only():
    run = firewalld_host("all_zones_managed")
    backend = FirewalldBackend(run, 9090)
    before = backend.read()
    after = backend.desired(before, [CTL], present=False)
    assert after == {"managed": {}, "permanent": {}}
    backend.apply(after)
    assert run.writes == [
        ["firewall-cmd", "--permanent", "--zone=public", f"--remove-rich-rule={OURS}"],
        ["firewall-cmd", "--zone=public", f"--remove-rich-rule={OURS}"],
    ]
    assert not any(MONITORING in arg for call in run.calls for arg in call)


def test_runtime_only_rule_is_made_permanent():
    run = firewalld_host("all_zones_managed", permanent="all_zones_plain")
    backend = FirewalldBackend(run, 9090)
    before = backend.read()
    assert before == {"managed": {"public": ["10.89.1.0/24"]}, "permanent": {}}
    after = backend.desired(before, [CTL], present=True)
    assert not backend.matches(before, after)
    backend.apply(after)
    assert run.writes == [["firewall-cmd", "--permanent", "--zone=public", f"--add-rich-rule={OURS}"]]


def test_failed_command_raises_with_firewall_cmd_message():
    run = firewalld_host()
    run.outputs[("firewall-cmd", "--list-all-zones")] = (252, "", "FirewallD is not running\n")
    with pytest.raises(RuntimeError, match="FirewallD is not running"):
        FirewalldBackend(run, 9090).read()


def test_render():
    state = {"managed": {"public": ["10.89.1.0/24"]}, "permanent": {}}
    assert FirewalldBackend(None, 9090).render(state) == f"zone public: {OURS}\n"
    assert FirewalldBackend(None, 9090).render({"managed": {}}) == "(no admission rules)\n"


# ---------------------------------------------------------------- layer choice (zoom_room_host)

def nft_ruleset(*parts):
    items = []
    for part in parts:
        items += json.loads(Path(FIXTURES, part).read_text())["ruleset"]["nftables"]
    return json.dumps({"nftables": items})


def host(running=True, nft=("firewalld/nft_firewalld_table.json",), iptables=""):
    run = firewalld_host(running=running)
    run.outputs.update({
        ("nft", "-j", "list", "ruleset"): (0, nft_ruleset(*nft), ""),
        ("ufw", "status"): (127, "", "ufw: command not found"),
        ("iptables-save", "-t", "filter"): (0, iptables, ""),
        ("ip6tables-save", "-t", "filter"): (0, "", ""),
    })
    return run


@pytest.mark.parametrize(
    "running, nft, iptables, names",
    [
        (True, ("firewalld/nft_firewalld_table.json",), "", ["firewalld"]),
        (False, ("firewalld/nft_firewalld_table.json",), "", ["nftables"]),
        (True, ("firewalld/nft_firewalld_table.json", "nftables/policy_drop.json"), "", ["nftables", "firewalld"]),
        (True, (), recorded("firewalld/iptables_save_firewalld.txt"), ["firewalld"]),
        (False, (), recorded("firewalld/iptables_save_firewalld.txt"), ["iptables"]),
    ],
    ids=["firewalld owns its nft table", "stopped firewalld's table is plain nftables",
         "a native table next to firewalld's", "firewalld's iptables backend chains",
         "iptables chains without firewalld running"],
)
def test_linux_layers(running, nft, iptables, names):
    assert [layer.name for layer in linux_layers(host(running, nft, iptables), 9090)] == names


def test_nftables_layer_leaves_firewalld_table_alone():
    run = host(nft=("firewalld/nft_firewalld_table.json", "nftables/policy_drop.json"))
    nft = linux_layers(run, 9090)[0]
    [verdict] = nft.verdicts([CTL])
    assert verdict["decided_by"] == "inet filter input: policy drop"
    assert list(nft.desired({"managed": {}}, [CTL], present=True)["managed"]) == ["inet filter input"]


def test_backend_firewalld_selects_it_and_ranks_with_ufw_in_facts():
    run = host()
    [layer] = linux_layers(run, 9090, backend="firewalld")
    assert isinstance(layer, FirewalldBackend)
    assert ["firewall-cmd", "--state"] not in run.calls  # asked for by name: no detection
    facts = firewall_facts(linux_layers(host(nft=("nftables/policy_drop.json",)), 9090), [CTL])
    assert facts["backend"] == "firewalld"
    assert [layer["backend"] for layer in facts["layers"]] == ["nftables", "firewalld"]
    assert facts["verdicts"][0]["verdict"] == "blocked"
