"""Layer choice in zoom_room_host: when ufw is asked, what counts as iptables rules, and read_once.

Recorded iptables-save and ufw output from fixtures/iptables/ and fixtures/ufw/ (their first lines
say where they were captured).
"""

import ipaddress
import json
import subprocess
import sys

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_command import command_runner, read_once
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_host import (
    firewall_facts,
    linux_layers,
    save_filters_input,
    ufw_may_be_active,
)
from fixture_files import PROJECT, RecordedHost, nft_ruleset, recorded

CTL = ipaddress.ip_network("10.89.1.0/24")
EMPTY_FILTER = recorded("iptables/empty_filter.txt")  # a room without iptables rules
FIREWALLD_ONLY = "*filter\n:INPUT ACCEPT [0:0]\n:INPUT_ZONES - [0:0]\n-A INPUT -j INPUT_ZONES\nCOMMIT\n"


@pytest.mark.parametrize(
    "rc, save, expected",
    [
        (0, recorded("iptables/ufw_default_deny.txt"), True),
        (0, recorded("iptables/ufw_admits_subnet.txt"), True),
        (0, recorded("iptables/drop_9090.txt"), False),
        (0, recorded("iptables/ufw_disabled.txt"), False),
        (0, "", False),
        (0, EMPTY_FILTER, False),
        (0, "*filter\n:ufw-user-input-extra - [0:0]\nCOMMIT\n", False),
        (1, "", True),
        (127, "", True),
    ],
    ids=["ufw enabled", "ufw enabled with our rule", "plain iptables rules, no ufw",
         "ufw disabled: its other chains stay, ufw-user-* go",
         "no filter table loaded prints nothing", "an empty filter table",
         "a chain that only starts like ufw's", "iptables-save failed: ask ufw", "no iptables-save: ask ufw"],
)
def test_ufw_may_be_active(rc, save, expected):
    assert ufw_may_be_active(rc, save) is expected


@pytest.mark.parametrize(
    "rc, save, firewalld_chain, expected",
    [
        (0, "", None, False),
        (1, "", None, False),
        (0, EMPTY_FILTER, None, False),
        (0, recorded("iptables/drop_9090.txt"), None, True),
        (0, recorded("iptables/policy_drop.txt"), None, True),
        (0, recorded("iptables/ufw_default_deny.txt"), None, True),
        (0, recorded("iptables/ufw_disabled.txt"), None, True),
        (0, FIREWALLD_ONLY, "INPUT_ZONES", False),
        (0, FIREWALLD_ONLY, None, True),
        (0, "*filter\n:INPUT ACCEPT [0:0]\n:INPUT_ZONES - [0:0]\nCOMMIT\n", None, False),
        (0, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n-A FORWARD -j DROP\nCOMMIT\n", None, False),
    ],
    ids=["no tables", "iptables-save failed", "empty filter table, policy accept", "a drop rule", "policy drop",
         "ufw's chains", "ufw disabled leaves INPUT's jumps", "firewalld's chain while firewalld runs",
         "firewalld's chain, firewalld stopped",
         "a chain named INPUT_something is not INPUT", "forwarding rules only"],
)
def test_save_filters_input(rc, save, firewalld_chain, expected):
    assert save_filters_input(rc, save, firewalld_chain) is expected


NFT = ("nft", "-j", "list", "ruleset")
IPT4 = ("iptables-save", "-t", "filter")
IPT6 = ("ip6tables-save", "-t", "filter")
UFW = ("ufw", "status", "verbose")
# The boot configuration, read to compare with the live rules (none recorded here: no file).
NFT_BOOT = [("cat", "/etc/nftables.conf")]
IPT_BOOT = [("test", "-d", "/etc/iptables"), ("test", "-d", "/etc/sysconfig")]


@pytest.mark.parametrize(
    "outputs, layers, verdict, commands",
    [
        ({NFT: (0, nft_ruleset("debian_default.json"), ""), IPT4: (0, EMPTY_FILTER, ""), IPT6: (0, EMPTY_FILTER, "")},
         ["nftables"], "admitted", [NFT, IPT4, IPT6, *NFT_BOOT]),
        ({NFT: (0, nft_ruleset("debian_default.json"), ""), IPT4: (0, recorded("iptables/ufw_default_deny.txt"), ""),
          IPT6: (0, "", ""), UFW: (0, recorded("ufw/default_deny.txt"), "")},
         ["nftables", "ufw"], "blocked", [NFT, IPT4, UFW, *NFT_BOOT]),
        ({NFT: (0, nft_ruleset("debian_default.json"), ""), IPT4: (0, recorded("iptables/ufw_default_deny.txt"), ""),
          IPT6: (0, "", ""), UFW: (0, recorded("ufw/inactive.txt"), "")},
         ["nftables", "iptables"], "blocked", [NFT, IPT4, UFW, IPT6, *NFT_BOOT, *IPT_BOOT]),
        ({NFT: (0, nft_ruleset("policy_drop.json"), ""), IPT4: (0, recorded("iptables/drop_9090.txt"), ""),
          IPT6: (0, "", "")},
         ["nftables", "iptables"], "blocked", [NFT, IPT4, IPT6, *NFT_BOOT, *IPT_BOOT]),
    ],
    ids=["nftables only: ufw never started", "ufw active: asked once, for choice and verdicts",
         "ufw chains left loaded but ufw inactive: the iptables layer", "nftables and iptables rules"],
)
def test_read_once_facts_run_each_command_once(outputs, layers, verdict, commands):
    host = RecordedHost(outputs)
    facts = firewall_facts(linux_layers(read_once(host), 9090, persist=False), [CTL])
    assert [layer["backend"] for layer in facts["layers"]] == layers
    assert facts["verdicts"][0]["verdict"] == verdict
    # firewall-cmd is not installed here (127); every other command runs once
    assert [call for call in host.calls if call[0] != "firewall-cmd"] == commands


def test_read_once_answers_repeats_from_the_first_run():
    host = RecordedHost({NFT: (0, "{}", ""), IPT4: (1, "", "denied")})
    run = read_once(host)
    assert [run(list(NFT)), run(list(NFT)), run(list(IPT4)), run(list(IPT4), data="x")] == [
        (0, "{}", ""), (0, "{}", ""), (1, "", "denied"), (1, "", "denied")]
    assert host.calls == [NFT, IPT4, IPT4]  # other stdin, other command


def test_changing_callers_read_again():
    host = RecordedHost({NFT: (0, nft_ruleset("debian_default.json"), ""), IPT4: (0, "", ""), IPT6: (0, "", "")})
    firewall_facts(linux_layers(host, 9090), [CTL])
    assert host.calls.count(NFT) == 3  # layer choice, then the layer's own reads (verdicts, boot comparison)


class SessionWithoutSbin:
    """A module whose session PATH lacks /usr/sbin (pam_env took PATH from /etc/environment)."""

    def __init__(self):
        self.ran = []

    @staticmethod
    def get_bin_path(name):
        return {"nft": "/usr/sbin/nft"}.get(name)

    def run_command(self, argv, **kwargs):
        self.ran.append(argv)
        return 0, "", ""


def test_commands_run_by_the_path_found_even_outside_the_session_path():
    module = SessionWithoutSbin()
    run = command_runner(module)
    assert run(["nft", "-j", "list", "ruleset"]) == (0, "", "")
    assert run(["ufw", "status"]) == (127, "", "ufw: command not found")
    assert module.ran == [["/usr/sbin/nft", "-j", "list", "ruleset"]]


def test_an_nftables_room_imports_no_iptables_or_firewalld_code():
    """AnsiballZ compiles every module_util it imports, on every run: a room loads only the backends it has."""
    script = f"""
import json, sys, conftest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_command import read_once
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_host import firewall_facts, linux_layers
outputs = {{{NFT!r}: (0, {nft_ruleset("debian_default.json")!r}, ""), {IPT4!r}: (0, {EMPTY_FILTER!r}, ""),
           {IPT6!r}: (0, {EMPTY_FILTER!r}, "")}}
run = lambda argv, data=None: outputs.get(tuple(argv), (127, "", "not found"))
facts = firewall_facts(linux_layers(read_once(run), 9090, persist=False), [])
prefix = "ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room"
print(json.dumps(sorted(name for name in sys.modules if name.startswith(prefix))))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(PROJECT / "tests")}).stdout
    loaded = {name.rsplit(".", 1)[-1] for name in json.loads(out)}
    assert "zoom_room_nftables" in loaded
    assert not loaded & {"zoom_room_iptables", "zoom_room_firewalld", "zoom_room_macos"}


@pytest.mark.parametrize(
    "nft, reason",
    [(None, "nft: command not found"), ((1, "", "netlink: Error: cache initialization failed"),
                                        "cache initialization failed")],
    ids=["nft not installed", "nft fails"],
)
def test_an_unreadable_nftables_is_unknown_never_no_firewall(nft, reason):
    """Issue 12 case 9: without nft the host's verdict is unknown, with the reason, not "admitted"."""
    outputs = {IPT4: (0, EMPTY_FILTER, ""), IPT6: (0, EMPTY_FILTER, "")}
    if nft is not None:
        outputs[NFT] = nft
    facts = firewall_facts(linux_layers(read_once(RecordedHost(outputs)), 9090, persist=False), [CTL])
    [verdict] = facts["verdicts"]
    assert verdict["verdict"] == "unknown" and "nftables could not be read" in verdict["decided_by"]
    assert reason in verdict["decided_by"]
    assert facts["unreadable"] == [{"backend": "nftables", "reason": verdict["decided_by"].split(": ", 1)[1]}]


def test_a_change_through_an_unreadable_layer_stops_at_the_first_read():
    host = RecordedHost({IPT4: (0, EMPTY_FILTER, ""), IPT6: (0, EMPTY_FILTER, "")})
    [layer] = linux_layers(host, 9090)
    with pytest.raises(RuntimeError, match="nftables could not be read"):
        layer.read()
    assert all(call[0] in ("nft", "iptables-save", "ip6tables-save", "firewall-cmd") for call in host.calls)
