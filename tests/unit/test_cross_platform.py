"""One room situation, every platform's recordings, the same finding codes.

Each platform's facts come from its real reader fed recorded output (Windows: the facts script's
registered results in fixtures/windows; macOS: a Mac answering with fixtures/macos; Linux: the
zoom_room_facts module with fixtures/linux, nftables and iptables), then the one diagnosis runs.
A situation is the same room state written in each platform's terms: a difference in codes means
a reader judges the same state differently.
"""

from __future__ import annotations

import ipaddress
import plistlib
from typing import Any, Callable

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils import zoom_room_macos as macos
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos import (
    macos_facts,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos_cli import (
    IFCONFIG,
    LSOF,
    NETWORKSETUP,
    SCUTIL,
    SOCKETFILTERFW,
    SW_VERS,
)
from ansible_collections.zoomrooms.remediation.plugins.modules import zoom_room_facts
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_findings import diagnose
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_windows import windows_facts
from fixture_files import FIXTURES, RecordedHost, nft_ruleset, recorded, windows_fixture, windows_variant

SUBNET = "10.89.90.0/24"
PORT = 9090
MIN_VERSION = "5.0"  # the legacy 4.1.5 recordings are below it, every other recording above
PLIST = "/Applications/ZoomPresence.app/Contents/Info.plist"
OPEN, TIMEOUT, REFUSED = {"state": "open"}, {"state": "timeout"}, {"state": "refused"}

# ----------------------------------------------------------------------------------------------- Windows


WINDOWS = {
    "healthy": lambda: windows_fixture("no_proxy"),
    "firewall blocks": lambda: windows_fixture("block_rule_overrides"),
    "proxy without bypass": lambda: windows_fixture("wininet_proxy_no_bypass"),
    "PAC": lambda: windows_fixture("wininet_pac"),
    "app missing": lambda: windows_variant("app_removed"),
    "old version": lambda: windows_variant("display_version_legacy"),
    "listener down": lambda: windows_fixture("listener_absent"),
}


def windows_room(situation: str) -> dict[str, Any]:
    return windows_facts(WINDOWS[situation](), [SUBNET], PORT)


# ----------------------------------------------------------------------------------------------- macOS

MAC_HEALTHY = {
    "sw_vers": "sw_vers_sonoma.txt", "ifconfig": "ifconfig_catalina.txt", "lsof": "lsof_fields.txt",
    "status": "sfw_status_sonoma.txt", "listapps": "sfw_listapps_zoom_allowed.txt",
    "services": "ns_services.txt", "-getwebproxy": "ns_webproxy_disabled.txt",
    "-getsecurewebproxy": "ns_webproxy_disabled.txt", "-getautoproxyurl": "ns_autoproxy_null.txt",
    "-getproxybypassdomains": "ns_bypass_default.txt", "plist": "info_plist.txt",
    "scutil": "scutil_proxy_none_default.txt",
}
MAC = {
    "healthy": {},
    "firewall blocks": {"listapps": "sfw_listapps_zoom_blocked.txt"},
    "proxy without bypass": {"-getwebproxy": "ns_webproxy_enabled.txt",
                             "-getsecurewebproxy": "ns_securewebproxy_enabled.txt",
                             "scutil": "scutil_proxy_http_default_exceptions.txt"},
    "PAC": {"-getautoproxyurl": "ns_autoproxy_on.txt", "scutil": "scutil_proxy_pac_vpn.txt"},
    "app missing": {"plist": None, "lsof": "lsof_empty.txt"},  # the firewall keeps the removed app's entry
    "old version": {"plist": "info_plist_legacy.txt"},
    "listener down": {"lsof": "lsof_empty.txt"},
}


def recorded_mac(answers: dict[str, str | None]) -> Callable[[list[str]], tuple[int, str, str]]:
    """A Mac answering each read command with its recording (every network service alike)."""
    def run(argv: list[str]) -> tuple[int, str, str]:
        if argv[0] == SOCKETFILTERFW:
            name = answers["listapps"] if argv[1] == "--listapps" else answers["status"]
        elif argv[0] == NETWORKSETUP:
            name = answers["services"] if argv[1] == "-listallnetworkservices" else answers[argv[1]]
        else:
            name = {SW_VERS: answers["sw_vers"], IFCONFIG: answers["ifconfig"], LSOF: answers["lsof"],
                    SCUTIL: answers["scutil"]}[argv[0]]
        output = recorded(f"macos/{name}")
        return (1 if argv[0] == LSOF and not output.strip() else 0), output, ""
    return run


def mac_room(situation: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:

    monkeypatch.setattr(macos, "_running_as_root", lambda: True)
    answers = {**MAC_HEALTHY, **MAC[situation]}

    def read_plist(path: str) -> dict[str, Any]:
        if path != PLIST or answers["plist"] is None:
            raise FileNotFoundError(path)
        return plistlib.loads(recorded(f"macos/{answers['plist']}").encode())

    return macos_facts(recorded_mac(answers), read_plist, PORT, [ipaddress.ip_network(SUBNET)], hostname="room-mac")


# ----------------------------------------------------------------------------------------------- Linux

PACKAGE = "zoom-rooms"
LINUX_HEALTHY = {"dpkg": "install ok installed\t6.2.0.4512-1", "nft": "debian_default.json",
                 "tcp": "proc_net_tcp_listen_9090.txt", "tcp6": "proc_net_tcp6_listen_9090.txt", "environment": None}
LINUX = {
    "healthy": {},
    "firewall blocks": {"nft": "policy_drop.json"},
    "proxy without bypass": {"environment": "environment_proxy_no_bypass.txt"},
    # no PAC row: /etc/environment has no PAC variable (the Linux proxy backend refuses policy pac)
    "app missing": {"dpkg": None, "tcp": "proc_net_tcp_empty.txt", "tcp6": None},
    "old version": {"dpkg": "install ok installed\t4.1.5.33237-1"},
    "listener down": {"tcp": "proc_net_tcp_empty.txt", "tcp6": None},
}


class LinuxModule:
    def __init__(self) -> None:
        self.params = {"controller_port": PORT, "controller_subnets": [SUBNET], "package_name": PACKAGE,
                       "app_path": "/nonexistent/ZoomPresence.app", "proxy_services": None,
                       "environment_file": "/etc/environment"}

    def fail_json(self, msg: str, **kwargs: Any) -> None:
        raise AssertionError(msg)


def linux_room(situation: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    answers = {**LINUX_HEALTHY, **LINUX[situation]}
    dpkg = (0, answers["dpkg"], "") if answers["dpkg"] else (1, "", f"dpkg-query: no packages found matching {PACKAGE}")
    host = RecordedHost({
        ("dpkg-query", "-W", "-f", "${Status}\t${Version}", PACKAGE): dpkg,
        ("nft", "-j", "list", "ruleset"): (0, nft_ruleset(answers["nft"]), ""),
        ("iptables-save", "-t", "filter"): (0, recorded("iptables/empty_filter.txt"), ""),
        ("ip6tables-save", "-t", "filter"): (0, "", ""),
        ("ip", "-j", "addr", "show"): (0, "[]", ""),
    })
    files = {"/proc/net/tcp": answers["tcp"] and recorded(f"linux/{answers['tcp']}"),
             "/proc/net/tcp6": answers["tcp6"] and recorded(f"linux/{answers['tcp6']}"),
             "/etc/environment": answers["environment"] and recorded(f"linux/{answers['environment']}"),
             "/etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\n'}
    monkeypatch.setattr(zoom_room_facts, "command_runner", lambda module: host)
    monkeypatch.setattr(zoom_room_facts, "read_file", files.get)
    return zoom_room_facts.run_module(LinuxModule())["facts"]


# ----------------------------------------------------------------------------------------------- the table

SITUATIONS = [
    ("healthy", OPEN, []),
    ("firewall blocks", TIMEOUT, ["host_firewall_blocks_controller_port"]),
    ("proxy without bypass", OPEN, ["proxy_intercepts_local_traffic"]),
    ("PAC", OPEN, []),  # the PAC file decides what goes direct; its content is not read, so nothing is claimed
    ("app missing", REFUSED, ["app_not_installed"]),
    ("old version", OPEN, ["app_version_below_minimum"]),
    ("listener down", REFUSED, ["app_not_listening"]),
]
PLATFORMS = {"windows": lambda situation, _unused: windows_room(situation), "macos": mac_room, "linux": linux_room}
CASES = [pytest.param(platform, situation, probe, codes, id=f"{situation} on {platform}")
         for situation, probe, codes in SITUATIONS for platform in PLATFORMS
         if not (platform == "linux" and situation not in LINUX)]


@pytest.mark.parametrize("platform, situation, probe, codes", CASES)
def test_same_situation_same_findings(platform, situation, probe, codes, monkeypatch):
    facts = PLATFORMS[platform](situation, monkeypatch)
    assert (facts["platform"], facts["errors"]) == (platform, [])
    policy = {"controller_port": PORT, "controller_subnets": [SUBNET], "min_version": MIN_VERSION}
    assert [finding["code"] for finding in diagnose(facts, probe, None, policy)] == codes


def test_every_situation_runs_on_windows_and_macos():
    assert set(WINDOWS) == set(MAC) == {situation for situation, _unused, _unused in SITUATIONS}
    assert set(LINUX) == set(WINDOWS) - {"PAC"}
    assert (FIXTURES / "linux").is_dir()
