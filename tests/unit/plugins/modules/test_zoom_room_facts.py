"""zoom_room_facts: each host command runs once, and each platform's code is imported only where it runs."""

import json
import subprocess
import sys

import pytest
from ansible_collections.zoomrooms.remediation.plugins.modules import zoom_room_facts
from fixture_files import PROJECT, RecordedHost, nft_ruleset, recorded

CTL = "10.89.1.0/24"


class FakeModule:
    def __init__(self, **params):
        self.params = {"controller_port": 9090, "controller_subnets": [CTL], "package_name": "zoom-rooms-sim",
                       "app_path": "/nonexistent/ZoomPresence.app", "proxy_services": None,
                       "environment_file": "/nonexistent/environment", **params}

    def fail_json(self, msg, **kwargs):
        raise AssertionError(msg)


def test_linux_facts_run_each_command_once(monkeypatch):
    host = RecordedHost({
        ("dpkg-query", "-W", "-f", "${Status}\t${Version}", "zoom-rooms-sim"): (0, "install ok installed\t1.0", ""),
        ("nft", "-j", "list", "ruleset"): (0, nft_ruleset("policy_drop.json"), ""),
        ("iptables-save", "-t", "filter"): (0, recorded("iptables/drop_9090.txt"), ""),
        ("ip6tables-save", "-t", "filter"): (0, "", ""),
        ("ip", "-j", "addr", "show"): (0, "[]", ""),
    })
    monkeypatch.setattr(zoom_room_facts, "command_runner", lambda module: host)
    facts = zoom_room_facts.run_module(FakeModule())["facts"]
    assert facts["errors"] == []
    assert [layer["backend"] for layer in facts["firewall"]["layers"]] == ["nftables", "iptables"]
    assert [v["verdict"] for v in facts["firewall"]["verdicts"]] == ["blocked"]
    assert sorted(set(host.calls)) == sorted(host.calls)  # nothing twice
    assert ("ufw", "status", "verbose") not in host.calls  # ufw's chains are not loaded


def test_macos_facts_through_the_module(monkeypatch):
    monkeypatch.setattr(zoom_room_facts.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(zoom_room_facts, "command_runner", lambda module: RecordedHost({}))
    facts = zoom_room_facts.run_module(FakeModule())["facts"]
    assert (facts["platform"], facts["controller_port"]) == ("macos", 9090)
    # no socketfilterfw here: the verdict is unknown and the reason is in errors
    assert [(v["subnet"], v["verdict"]) for v in facts["firewall"]["verdicts"]] == [(CTL, "unknown")]
    assert any(error.startswith("firewall:") for error in facts["errors"])


@pytest.mark.parametrize(
    "module, not_imported",
    [
        ("zoom_room_facts", ["zoom_room_macos", "zoom_room_firewalld", "zoom_room_nftables", "zoom_room_iptables"]),
        ("zoom_room_version", ["zoom_room_host", "zoom_room_packetfilter", "zoom_room_firewalld", "zoom_room_nftables",
                               "zoom_room_iptables"]),
    ],
    ids=["facts: backends wait until the room shows them", "version: no firewall code at all"],
)
def test_importing_a_module_leaves_the_backends_alone(module, not_imported):
    """AnsiballZ compiles every imported module_util on every run: a module loads only what its room uses."""
    script = (
        "import importlib, json, sys, conftest\n"
        f"importlib.import_module('ansible_collections.zoomrooms.remediation.plugins.modules.' + {module!r})\n"
        "print(json.dumps([name.rsplit('.', 1)[-1] for name in sys.modules\n"
        "                  if name.startswith('ansible_collections.zoomrooms.remediation.plugins.module_utils.')]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(PROJECT / "tests")}).stdout
    loaded = set(json.loads(out))
    assert "zoom_room_command" in loaded  # both run commands
    assert not loaded & set(not_imported)
