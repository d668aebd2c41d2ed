"""macOS backends against recorded output (tests/unit/fixtures/macos, each file names its source) and a fake Mac."""

import copy
import ipaddress
import plistlib
import re
from pathlib import Path

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils import zoom_room_macos as macos
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos import (
    macos_facts,
    parse_ifconfig,
    parse_lsof_listeners,
    parse_sw_vers,
    read_app,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos_cli import (
    DEFAULT_APP_PATH,
    IFCONFIG,
    LSOF,
    NETWORKSETUP,
    SCUTIL,
    SOCKETFILTERFW,
    SW_VERS,
    MacCommandError,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos_firewall import (
    PER_APP_NOTE,
    AppFirewallBackend,
    app_state_from_listapps,
    parse_allow_signed_app,
    parse_app_blocked,
    parse_block_all,
    parse_global_state,
    parse_listapps,
    parse_stealth,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos_proxy import (
    EFFECTIVE_SOURCE,
    NetworkSetupProxyBackend,
    parse_auto_proxy,
    parse_bypass_domains,
    parse_network_services,
    parse_scutil_dictionary,
    parse_web_proxy,
    scutil_proxy,
    services_to_restore,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_proxy_policy import (
    coverage,
    required_bypass,
)
from ansible_collections.zoomrooms.remediation.plugins.modules import zoom_room_firewall, zoom_room_proxy
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_findings import host_findings
from fixture_files import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "macos"
APP = DEFAULT_APP_PATH
SUBNETS = [ipaddress.ip_network("10.89.90.0/24"), ipaddress.ip_network("10.89.91.0/24")]
REQUIRED = required_bypass("macos", SUBNETS)


def fixture(name: str) -> str:
    """A recorded output without its leading '# source:' / '# command:' lines."""
    lines = (FIXTURES / name).read_text().splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.txt")), ids=lambda path: path.name)
def test_every_fixture_names_its_source_and_command(path):
    head = path.read_text().splitlines()[:4]
    assert head[0].startswith("# source: ") and len(head[0]) > len("# source: ") + 10
    assert any(line.startswith("# command: ") for line in head)


# ---------------------------------------------------------------------------------------------------------------------
# socketfilterfw parsers: one table per parser, every wording we have a source for


def check(parsed, expected, note_has=None):
    assert parsed.value == expected
    if expected is None:
        assert parsed.note, "an unparsed output must say why"
    if note_has:
        assert note_has in parsed.note


@pytest.mark.parametrize(
    "name, expected, note_has",
    [
        ("sfw_globalstate_enabled.txt", 1, None),
        ("sfw_globalstate_disabled.txt", 0, None),
        ("sfw_globalstate_state2.txt", 2, None),
        ("sfw_globalstate_blocking.txt", 2, None),
        ("sfw_status_kolide.txt", 2, None),
        ("sfw_status_sonoma.txt", 1, None),
        ("sfw_status_blockall_old.txt", 1, None),
        ("sfw_status_ventura_stealth_error.txt", 1, None),
        ("sfw_managed.txt", None, "managed by a configuration profile"),
        ("sfw_stealth_new.txt", None, "unrecognised output"),
    ],
    ids=["enabled", "disabled", "state 2", "state 2 blocking wording (Sequoia)", "combined kolide",
         "combined sonoma", "combined old block-all", "combined, stealth getter error (pareto-mac#139)",
         "managed Mac refuses", "other getter's output"],
)
def test_parse_global_state(name, expected, note_has):
    check(parse_global_state(fixture(name)), expected, note_has)


@pytest.mark.parametrize("text, expected", [("Firewall is enabled.\n", 1), ("Firewall is disabled.", 0), ("", None)],
                         ids=["no state number", "no state number, off", "no output"])
def test_parse_global_state_without_state_number(text, expected):
    check(parse_global_state(text), expected)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("sfw_blockall_disabled_old.txt", False),
        ("sfw_blockall_enabled_old.txt", True),
        ("sfw_blockall_disabled_new.txt", False),
        ("sfw_blockall_enabled_new.txt", True),
        ("sfw_blockall_blocking.txt", True),
        ("sfw_setblockall_on.txt", True),
        ("sfw_status_kolide.txt", False),
        ("sfw_status_sonoma.txt", False),
        ("sfw_status_blockall_old.txt", True),
        ("sfw_status_ventura_stealth_error.txt", False),
        ("sfw_globalstate_blocking.txt", None),
        ("sfw_managed.txt", None),
    ],
    ids=["old disabled", "old enabled", "new disabled", "new enabled", "blocking wording", "setblockall on reply",
         "combined kolide", "combined sonoma", "combined old", "combined, stealth getter error",
         "global-state line is not a block-all answer",
         "managed Mac refuses"],
)
def test_parse_block_all(name, expected):
    check(parse_block_all(fixture(name)), expected)


@pytest.mark.parametrize(
    "name, expected",
    [("sfw_stealth_old.txt", True), ("sfw_stealth_new.txt", False), ("sfw_status_kolide.txt", True),
     ("sfw_status_sonoma.txt", True), ("sfw_status_blockall_old.txt", False), ("sfw_globalstate_enabled.txt", None),
     ("sfw_status_ventura_stealth_error.txt", None)],
    ids=["old enabled", "new off", "combined kolide", "combined sonoma", "combined old disabled", "absent",
         "getter error (pareto-mac#139)"],
)
def test_parse_stealth(name, expected):
    check(parse_stealth(fixture(name)), expected)


@pytest.mark.parametrize(
    "name, expected",
    [("sfw_status_kolide.txt", True), ("sfw_status_sonoma.txt", False), ("sfw_status_blockall_old.txt", True),
     ("sfw_globalstate_enabled.txt", None), ("sfw_status_ventura_stealth_error.txt", True)],
    ids=["kolide enabled", "sonoma disabled", "old enabled", "absent", "no full stop (pareto-mac#139)"],
)
def test_parse_allow_signed_app(name, expected):
    check(parse_allow_signed_app(fixture(name)), expected)


@pytest.mark.parametrize(
    "name, expected",
    [("sfw_appblocked_not_part.txt", "absent"), ("sfw_appblocked_permitted_generic.txt", "permitted"),
     ("sfw_appblocked_blocked_path.txt", "blocked"), ("sfw_appblocked_permitted_app.txt", "permitted"),
     ("sfw_managed.txt", None)],
    ids=["not part of the firewall", "generic permitted", "path blocked", "brief wording", "managed"],
)
def test_parse_app_blocked(name, expected):
    check(parse_app_blocked(fixture(name)), expected)


@pytest.mark.parametrize(
    "name, count, zoom_state",
    [("sfw_listapps_nixdarwin.txt", 9, "absent"), ("sfw_listapps_zoom_allowed.txt", 2, "permitted"),
     ("sfw_listapps_zoom_blocked.txt", 2, "blocked"), ("sfw_listapps_state.txt", 6, "absent"),
     ("sfw_listapps_empty.txt", 0, "absent")],
    ids=["nix-darwin capture", "zoom allowed", "zoom blocked", "state-number layout", "no apps"],
)
def test_parse_listapps(name, count, zoom_state):
    parsed = parse_listapps(fixture(name))
    assert parsed.note is None
    assert len(parsed.value) == count
    assert app_state_from_listapps(parsed.value, APP) == zoom_state


def test_parse_listapps_reads_verdicts_of_both_layouts():
    assert parse_listapps(fixture("sfw_listapps_nixdarwin.txt")).value[0] == {
        "path": "/usr/libexec/sshd-session", "allowed": False}
    assert {"path": "Pop Helper.app", "allowed": False} in parse_listapps(fixture("sfw_listapps_state.txt")).value


@pytest.mark.parametrize(
    "entries, expected",
    [([{"path": "ZoomPresence.app", "allowed": True}], "permitted"),
     ([{"path": "ZoomPresence", "allowed": False}], "blocked"),
     ([{"path": f"{APP}/Contents/MacOS/ZoomPresence", "allowed": True}], "permitted"),
     ([{"path": f"{APP}", "allowed": None}], None),
     ([{"path": "/Applications/ZoomPresence.app.old", "allowed": True}], "absent")],
    ids=["listed by name", "listed without .app", "executable inside the bundle", "verdict unreadable",
         "prefix of another path is not the app"],
)
def test_app_state_from_listapps(entries, expected):
    assert app_state_from_listapps(entries, APP) == expected


def test_parse_listapps_flags_a_truncated_list_and_rejects_other_output():
    truncated = parse_listapps(fixture("sfw_listapps_zoom_blocked.txt").replace("= 2", "= 3"))
    assert len(truncated.value) == 2 and "header says 3" in truncated.note
    check(parse_listapps(fixture("sfw_globalstate_enabled.txt")), None)


# ---------------------------------------------------------------------------------------------------------------------
# networksetup parsers


@pytest.mark.parametrize(
    "text, expected",
    [(fixture("ns_services.txt"), [("Wi-Fi", True), ("USB 10/100/1000 LAN", True), ("Thunderbolt Bridge", True),
                                   ("iPhone USB", True), ("Bluetooth PAN", False)]),
     (fixture("ns_services_vpn.txt"), [("USB 10/100/1000 LAN", True), ("Wi-Fi", True), ("iPhone USB", True),
                                       ("Bluetooth PAN", True), ("Thunderbolt Bridge", True), ("SGB VPN", True)]),
     ("** Error: The parameters were not valid.\n", None)],
    ids=["asterisk marks a disabled service", "notice line skipped", "error"],
)
def test_parse_network_services(text, expected):
    parsed = parse_network_services(text)
    if expected is None:
        check(parsed, None)
    else:
        assert [(service["name"], service["enabled"]) for service in parsed.value] == expected


@pytest.mark.parametrize(
    "text, expected",
    [(fixture("ns_webproxy_enabled.txt"), {"enabled": True, "server": "127.0.0.1", "port": 7890,
                                           "authenticated": False}),
     (fixture("ns_webproxy_disabled.txt"), {"enabled": False, "server": None, "port": None, "authenticated": False}),
     ("Enabled: Yes\nServer: ::1\nPort: 3128\n", {"enabled": True, "server": "::1", "port": 3128,
                                                  "authenticated": None}),
     (fixture("ns_unknown_service.txt"), None)],
    ids=["enabled", "disabled, empty server", "IPv6 server keeps its colons", "unknown service (crc#1990)"],
)
def test_parse_web_proxy(text, expected):
    check(parse_web_proxy(text), expected)


@pytest.mark.parametrize(
    "name, expected",
    [("ns_autoproxy_on.txt", {"url": "http://wpad.example.com/proxy.pac", "enabled": True}),
     ("ns_autoproxy_null.txt", {"url": None, "enabled": False}), ("ns_webproxy_enabled.txt", None)],
    ids=["on", "(null) url", "other output"],
)
def test_parse_auto_proxy(name, expected):
    check(parse_auto_proxy(fixture(name)), expected)


@pytest.mark.parametrize(
    "text, expected",
    [(fixture("ns_bypass_default.txt"), ["*.local", "169.254/16"]), (fixture("ns_bypass_none.txt"), []),
     ("** Error: The parameters were not valid.\n", None)],
    ids=["macOS default list", "there aren't any", "error"],
)
def test_parse_bypass_domains(text, expected):
    check(parse_bypass_domains(text), expected)


# ---------------------------------------------------------------------------------------------------------------------
# lsof, ifconfig, sw_vers


@pytest.mark.parametrize(
    "name, port, expected",
    [("lsof_table.txt", 9090, [("ZoomPrese", 4242, "0.0.0.0"), ("ZoomPrese", 4242, "::")]),
     ("lsof_fields.txt", 9090, [("ZoomPresence", 4242, "127.0.0.1"), ("ZoomPresence", 4242, "::1")]),
     ("lsof_table.txt", 9091, []),
     ("lsof_empty.txt", 9090, [])],
    ids=["table, wildcard v4 and v6", "-F fields, loopback", "other port", "nothing listens"],
)
def test_parse_lsof_listeners(name, port, expected):
    parsed = parse_lsof_listeners(fixture(name), port)
    assert [(item["process"], item["pid"], item["address"]) for item in parsed.value] == expected


def test_parse_lsof_skips_connections_and_rejects_other_output():
    established = "p1\ncZoomPresence\nf3\ntIPv4\nn10.0.0.5:9090->10.0.0.9:50000\nTST=ESTABLISHED\n"
    assert parse_lsof_listeners(established, 9090).value == []
    check(parse_lsof_listeners("lsof: unsupported option\n", 9090), None)


@pytest.mark.parametrize(
    "name, expected",
    [("ifconfig_yosemite.txt", [("en0", "172.30.7.47", 16)]),
     ("ifconfig_catalina.txt", [("en0", "192.168.6.15", 24), ("en0", "2001:db8:10::15", 64),
                                ("utun3", "10.8.0.6", 32)]),
     ("ifconfig_alias_deprecated.txt", [("en0", "192.168.12.139", 24),
                                        ("en0", "fd86:415c:c5f9::c72:1c02:f044:65de", 64),
                                        ("en0", "fd86:415c:c5f9::508d:685b:6a66:b3ce", 64)])],
    ids=["10.10: hex netmask, loopback and link-local left out", "10.15: secured v6, point-to-point",
         "an alias on lo0 and a deprecated temporary v6 address left out"],
)
def test_parse_ifconfig(name, expected):
    parsed = parse_ifconfig(fixture(name))
    assert [(item["interface"], item["address"], item["prefix"]) for item in parsed.value] == expected


def test_parse_ifconfig_rejects_other_output():
    check(parse_ifconfig("ifconfig: interface en9 does not exist\n"), None)


@pytest.mark.parametrize(
    "name, expected",
    [("sw_vers_sonoma.txt", {"name": "macOS 14.5 (23F79)", "version": "14.5"}),
     ("sw_vers_panther.txt", {"name": "Mac OS X 10.3 (7A100)", "version": "10.3"}),
     ("lsof_empty.txt", None)],
    ids=["macOS 14", "Mac OS X 10.3", "no output"],
)
def test_parse_sw_vers(name, expected):
    check(parse_sw_vers(fixture(name)), expected)


# ---------------------------------------------------------------------------------------------------------------------
# the app


def plist_reader(plists):
    def read(path):
        if path not in plists:
            raise FileNotFoundError(path)
        value = plists[path]
        if isinstance(value, Exception):
            raise value
        return value
    return read


INFO = f"{APP}/Contents/Info.plist"
ABSENT = {"version": None, "raw_version": None, "version_source": None, "version_status": "absent"}


def read(raw: str, version: str) -> dict:
    return {"version": version, "raw_version": raw, "version_source": "info_plist", "version_status": "ok"}


@pytest.mark.parametrize(
    "plists, app_path, expected",
    [({INFO: plistlib.loads(fixture("info_plist.txt").encode())}, APP,
      {"installed": True, "name": "us.zoom.ZoomPresence", **read("7.1.0.13088", "7.1.0.13088")}),
     ({}, APP, {"installed": False, "name": "us.zoom.ZoomPresence", **ABSENT}),
     ({INFO: {"CFBundleShortVersionString": "5.17.0 (3370)"}}, APP,
      {"installed": True, "name": "us.zoom.ZoomPresence", **read("5.17.0 (3370)", "5.17.0.3370")}),
     ({INFO: {"CFBundleShortVersionString": "7.1.0"}}, APP,
      {"installed": True, "name": "us.zoom.ZoomPresence", **read("7.1.0", "7.1.0.0")}),
     ({INFO: {"CFBundleShortVersionString": "4.1.5 (4.1.33237.0924)"}}, APP,
      {"installed": True, "name": "us.zoom.ZoomPresence", **read("4.1.5 (4.1.33237.0924)", "4.1.5.33237")}),
     ({INFO: {"CFBundleShortVersionString": "beta"}}, APP,
      {"installed": True, "name": "us.zoom.ZoomPresence", "version": None, "raw_version": "beta",
       "version_source": "info_plist", "version_status": "unreadable"}),
     ({"/Volumes/Rooms/ZoomPresence.app/Contents/Info.plist": {"CFBundleShortVersionString": "6.2.0.4512"}},
      "/Volumes/Rooms/ZoomPresence.app",
      {"installed": True, "name": "us.zoom.ZoomPresence", **read("6.2.0.4512", "6.2.0.4512")})],
    ids=["recorded Info.plist", "not installed", "API-style version", "no build number",
         "legacy dotted build in parentheses", "unreadable version kept",
         "other app path"],
)
def test_read_app(plists, app_path, expected):
    assert read_app(plist_reader(plists), app_path) == expected


# ---------------------------------------------------------------------------------------------------------------------
# application firewall: desired (pure), commands/apply (recording runner), facts

FW = {"enabled": True, "block_all": False, "stealth": False, "allow_signed_app": False, "app_path": APP,
      "app_state": "permitted"}
PRESENT = {"state": "present", "allow_disable_block_all": False}


@pytest.mark.parametrize(
    "before, params, changes",
    [({**FW, "enabled": False, "app_state": "absent"}, PRESENT, {}),
     ({**FW, "app_state": "blocked"}, PRESENT, {"app_state": "permitted"}),
     ({**FW, "app_state": "absent"}, PRESENT, {"app_state": "permitted"}),
     ({**FW, "enabled": False, "block_all": True, "app_state": None}, PRESENT, {}),
     ({**FW, "block_all": True, "app_state": "absent"}, {**PRESENT, "allow_disable_block_all": True},
      {"block_all": False, "app_state": "permitted"}),
     (FW, PRESENT, {}),
     (FW, {"state": "absent"}, {"app_state": "absent"}),
     ({**FW, "block_all": True}, {"state": "absent", "allow_disable_block_all": True}, {"app_state": "absent"})],
    ids=["firewall off: nothing to do", "app blocked: unblocked", "app absent: added",
         "firewall off: block-all and an unread entry do not matter", "block-all on with permission: switched off",
         "already right", "absent removes the entry", "absent leaves block-all alone"],
)
def test_firewall_desired(before, params, changes):
    snapshot = copy.deepcopy(before)
    assert AppFirewallBackend(None).desired(before, params) == {**before, **changes}
    assert before == snapshot, "desired() must not modify its input"


def test_firewall_desired_rejects_unknown_state():
    with pytest.raises(InvalidValue, match="state: 'gone' is not one of present, absent"):
        AppFirewallBackend(None).desired(FW, {"state": "gone"})


@pytest.mark.parametrize("app_state", ["permitted", "absent"], ids=["app allowed", "app unlisted"])
def test_firewall_desired_refuses_block_all_without_permission(app_state):
    """Block-all admits no app: present fails up front naming the option, instead of adding an entry first."""
    with pytest.raises(InvalidValue, match=r"^allow_disable_block_all: 'Block all incoming connections' is on"):
        AppFirewallBackend(None).desired({**FW, "block_all": True, "app_state": app_state}, PRESENT)


@pytest.mark.parametrize("wanted", [PRESENT, {"state": "absent"}], ids=["present", "absent"])
def test_firewall_desired_refuses_to_change_an_unread_entry(wanted):
    """A rollback to an entry nobody read would plan nothing and leave the change in place."""
    backend = AppFirewallBackend(None)
    backend.notes = ["socketfilterfw --listapps: no verdict"]
    with pytest.raises(InvalidValue, match=re.escape(f"firewall entry of {APP} could not be read (socketfilterfw "
                                                     "--listapps: no verdict), so it is not changed")):
        backend.desired({**FW, "app_state": None}, wanted)


@pytest.mark.parametrize(
    "before, after, message",
    [({**FW, "app_state": None}, FW, "could not be read"),
     (FW, {**FW, "app_state": None}, "the backup holds no readable firewall entry")],
    ids=["entry unread now", "restore to an unread entry"],
)
def test_firewall_check_plan_refuses_an_unread_side(before, after, message):
    with pytest.raises(InvalidValue, match=message):
        AppFirewallBackend(None).check_plan(before, after)
    AppFirewallBackend(None).check_plan({**before, "app_state": None}, {**after, "app_state": None})  # no change


class Recorder:
    """A runner that records argv and answers every command with `reply`."""

    def __init__(self, reply=(0, "", "")):
        self.calls, self.reply = [], reply

    def __call__(self, argv):
        self.calls.append(list(argv))
        return self.reply


def sfw(*args):
    return [SOCKETFILTERFW, *args]


@pytest.mark.parametrize(
    "before, after, expected",
    [({**FW, "app_state": "absent"}, FW, [sfw("--add", APP), sfw("--unblockapp", APP)]),
     ({**FW, "app_state": "blocked"}, FW, [sfw("--unblockapp", APP)]),
     ({**FW, "app_state": None}, FW, [sfw("--add", APP), sfw("--unblockapp", APP)]),
     ({**FW, "app_state": "absent", "block_all": True}, FW,
      [sfw("--add", APP), sfw("--unblockapp", APP), sfw("--setblockall", "off")]),
     (FW, {**FW, "app_state": "absent"}, [sfw("--remove", APP)]),
     (FW, {**FW, "app_state": "absent", "block_all": True}, [sfw("--remove", APP), sfw("--setblockall", "on")]),
     ({**FW, "app_state": "absent"}, {**FW, "app_state": "blocked"}, [sfw("--add", APP), sfw("--blockapp", APP)]),
     (FW, {**FW, "stealth": True, "enabled": False}, [])],
    ids=["add then unblock", "unblock only", "unknown entry: add then unblock", "then block-all off",
         "remove", "rollback restores block-all", "restore a blocked entry", "never writes stealth or global state"],
)
def test_firewall_apply_runs_exact_argv(before, after, expected):
    runner = Recorder()
    AppFirewallBackend(runner).apply(before, after)
    assert runner.calls == expected


def test_firewall_commands_refuse_to_put_back_an_unread_entry():
    """Planning nothing here would let a rollback report the entry put back while our change stays."""
    with pytest.raises(InvalidValue, match="never read"):
        AppFirewallBackend(Recorder()).commands(FW, {**FW, "app_state": None})


def test_firewall_apply_runs_nothing_when_nothing_changes():
    runner = Recorder()
    backend = AppFirewallBackend(runner)
    after = backend.desired(FW, PRESENT)
    assert after == FW
    backend.apply(FW, after)
    assert runner.calls == []


@pytest.mark.parametrize(
    "reply",
    [(1, "", "must be root"),
     (0, "Firewall settings cannot be modified from command line on managed Mac computers.\n", ""),
     (0, "The application is not part of the firewall\n", "")],
    ids=["non-zero exit", "managed Mac refuses with exit 0", "add silently ignored without root"],
)
def test_firewall_apply_fails_loudly(reply):
    with pytest.raises(MacCommandError, match="--unblockapp"):
        AppFirewallBackend(Recorder(reply)).apply({**FW, "app_state": "blocked"}, FW)


def test_firewall_remove_of_an_unlisted_app_is_not_an_error():
    runner = Recorder((0, "The application is not part of the firewall\n", ""))
    AppFirewallBackend(runner).apply({**FW, "app_state": None}, {**FW, "app_state": "absent"})
    assert runner.calls == [sfw("--remove", APP)]


@pytest.mark.parametrize(
    "state, verdict, active",
    [({**FW, "enabled": False, "block_all": True, "app_state": "blocked"}, "admitted", False),
     ({**FW, "block_all": True}, "blocked", True),
     (FW, "admitted", True),
     ({**FW, "app_state": "blocked"}, "blocked", True),
     ({**FW, "app_state": "absent", "allow_signed_app": True}, "admitted", True),
     ({**FW, "app_state": "absent", "allow_signed_app": False}, "blocked", True),
     ({**FW, "app_state": "absent", "allow_signed_app": None}, "unknown", True),
     ({**FW, "enabled": None}, "unknown", True),
     ({**FW, "block_all": None}, "unknown", True)],
    ids=["firewall off admits", "block-all blocks", "app permitted", "app blocked", "unlisted, signed allowed",
         "unlisted, signed not allowed", "unlisted, signed unknown", "state unreadable", "block-all unreadable"],
)
def test_firewall_facts_give_one_verdict_for_every_subnet(state, verdict, active):
    facts = AppFirewallBackend(None).firewall_facts(state, SUBNETS, 9090)
    assert facts["backend"] == "socketfilterfw" and facts["active"] is active
    assert [(item["subnet"], item["verdict"]) for item in facts["verdicts"]] == [
        ("10.89.90.0/24", verdict), ("10.89.91.0/24", verdict)]
    assert facts["block_all"] == state["block_all"]
    assert any(PER_APP_NOTE in note for note in facts["notes"])


def test_firewall_render_is_readable():
    text = AppFirewallBackend(None).render({**FW, "block_all": True, "app_state": "absent", "stealth": None})
    assert text == ("application firewall: on\nblock all incoming connections: on\nstealth mode: unknown\n"
                    f"{APP}: not listed\n")


# ---------------------------------------------------------------------------------------------------------------------
# proxy: desired (pure), commands/apply, facts

WIFI = {"mode": "manual", "servers": {"http": "127.0.0.1:7890", "https": "127.0.0.1:7890"}, "pac_url": None,
        "bypass": ["*.local", "169.254/16"]}
ETHERNET = {"mode": "none", "servers": {}, "pac_url": None, "bypass": []}
PROXIES = {"Wi-Fi": WIFI, "USB 10/100/1000 LAN": ETHERNET}
PAC = "http://wpad.corp.example/proxy.pac"


def params(policy, **extra):
    return {"policy": policy, "server": None, "bypass": [], "pac_url": None, "controller_subnets": SUBNETS, **extra}


@pytest.mark.parametrize(
    "policy_params, expected",
    [(params("keep"), {"Wi-Fi": {**WIFI, "bypass": [*WIFI["bypass"], *REQUIRED]}, "USB 10/100/1000 LAN": ETHERNET}),
     (params("direct"), {"Wi-Fi": {**ETHERNET, "bypass": WIFI["bypass"]}, "USB 10/100/1000 LAN": ETHERNET}),
     (params("manual", server="http://proxy.corp.example:3128", bypass=["corp.example"]),
      {service: {"mode": "manual", "pac_url": None, "bypass": ["corp.example", *REQUIRED],
                 "servers": {"http": "proxy.corp.example:3128", "https": "proxy.corp.example:3128"}}
       for service in PROXIES}),
     (params("pac", pac_url=PAC),
      {"Wi-Fi": {"mode": "pac", "servers": {}, "pac_url": PAC, "bypass": [*WIFI["bypass"], *REQUIRED]},
       "USB 10/100/1000 LAN": {"mode": "pac", "servers": {}, "pac_url": PAC, "bypass": REQUIRED}})],
    ids=["keep: only the bypass of a service with a proxy", "direct: proxies off, bypass kept",
         "manual on both services", "pac on both services"],
)
def test_proxy_desired(policy_params, expected):
    before = copy.deepcopy(PROXIES)
    assert NetworkSetupProxyBackend(None).desired(before, policy_params) == expected
    assert before == PROXIES, "desired() must not modify its input"


@pytest.mark.parametrize(
    "policy_params, message",
    [(params("manual", server="socks5://proxy:1080"), "server: 'socks5://' proxies"),
     (params("manual", server="http://user:pw@proxy:3128"), "server: networksetup keeps proxy credentials"),
     (params("sometimes"), "policy: 'sometimes' is not one of")],
    ids=["socks proxy", "credentials in the URL", "unknown policy"],
)
def test_proxy_desired_rejects(policy_params, message):
    with pytest.raises(InvalidValue, match=re.escape(message)):
        NetworkSetupProxyBackend(None).desired(PROXIES, policy_params)


def ns(*args):
    return [NETWORKSETUP, *args]


def test_proxy_commands_for_manual_touch_only_what_differs_bypass_first():
    backend = NetworkSetupProxyBackend(None)
    after = backend.desired(PROXIES, params("manual", server="127.0.0.1:7890"))
    assert backend.commands(PROXIES, after) == [
        ns("-setproxybypassdomains", "Wi-Fi", *WIFI["bypass"], *REQUIRED),
        ns("-setproxybypassdomains", "USB 10/100/1000 LAN", *REQUIRED),
        ns("-setwebproxy", "USB 10/100/1000 LAN", "127.0.0.1", "7890"),
        ns("-setsecurewebproxy", "USB 10/100/1000 LAN", "127.0.0.1", "7890"),
    ]


@pytest.mark.parametrize(
    "before, after, expected",
    [({"Wi-Fi": WIFI}, {"Wi-Fi": {**ETHERNET, "bypass": WIFI["bypass"]}},
      [ns("-setwebproxystate", "Wi-Fi", "off"), ns("-setsecurewebproxystate", "Wi-Fi", "off")]),
     ({"Wi-Fi": WIFI}, {"Wi-Fi": {"mode": "pac", "servers": {}, "pac_url": PAC, "bypass": WIFI["bypass"]}},
      [ns("-setwebproxystate", "Wi-Fi", "off"), ns("-setsecurewebproxystate", "Wi-Fi", "off"),
       ns("-setautoproxyurl", "Wi-Fi", PAC), ns("-setautoproxystate", "Wi-Fi", "on")]),
     ({"Wi-Fi": {"mode": "pac", "servers": {}, "pac_url": PAC, "bypass": ["a.example"]}}, {"Wi-Fi": WIFI},
      [ns("-setproxybypassdomains", "Wi-Fi", *WIFI["bypass"]), ns("-setwebproxy", "Wi-Fi", "127.0.0.1", "7890"),
       ns("-setsecurewebproxy", "Wi-Fi", "127.0.0.1", "7890"), ns("-setautoproxystate", "Wi-Fi", "off")]),
     ({"Wi-Fi": {**ETHERNET, "bypass": ["*.local"]}}, {"Wi-Fi": ETHERNET},
      [ns("-setproxybypassdomains", "Wi-Fi", "Empty")]),
     ({"Wi-Fi": {**WIFI, "servers": {"http": "[::1]:3128"}}}, {"Wi-Fi": {**WIFI, "servers": {"https": "[::1]:3128"}}},
      [ns("-setwebproxystate", "Wi-Fi", "off"), ns("-setsecurewebproxy", "Wi-Fi", "::1", "3128")])],
    ids=["direct", "pac replaces manual", "rollback from pac to manual", "'Empty' clears the bypass list",
         "IPv6 proxy host"],
)
def test_proxy_apply_runs_exact_argv(before, after, expected):
    runner = Recorder()
    NetworkSetupProxyBackend(runner).apply(before, after)
    assert runner.calls == expected


def test_proxy_apply_runs_nothing_when_nothing_changes():
    runner = Recorder()
    backend = NetworkSetupProxyBackend(runner)
    after = backend.desired({"USB 10/100/1000 LAN": ETHERNET}, params("keep"))
    assert after == {"USB 10/100/1000 LAN": ETHERNET}
    backend.apply({"USB 10/100/1000 LAN": ETHERNET}, after)
    assert runner.calls == []


def test_proxy_facts_one_source_per_service_redacted_and_covering_only_if_all_cover():
    state = {"Wi-Fi": {**WIFI, "servers": {"http": "http://user:secret@proxy:3128"}}, "Ethernet": ETHERNET}
    facts = NetworkSetupProxyBackend(None).proxy_facts(state, SUBNETS)
    assert [source["source"] for source in facts["sources"]] == ["networksetup:Wi-Fi", "networksetup:Ethernet"]
    assert facts["servers"] == {"http": "http://***@proxy:3128"}
    assert "secret" not in repr(facts)
    assert facts["mode"] == "manual" and facts["bypass"] == WIFI["bypass"]
    assert facts["bypass_covers_local"] is False
    assert facts["bypass_covers_subnets"] == {"10.89.90.0/24": False, "10.89.91.0/24": False}
    fixed = NetworkSetupProxyBackend(None).proxy_facts({"Wi-Fi": {**WIFI, "bypass": REQUIRED}}, SUBNETS)
    assert fixed["bypass_covers_local"] is True and set(fixed["bypass_covers_subnets"].values()) == {True}


def test_proxy_render_is_readable():
    text = NetworkSetupProxyBackend(None).render({"Wi-Fi": WIFI, "Ethernet": ETHERNET})
    assert text == ("Wi-Fi: manual http=127.0.0.1:7890 https=127.0.0.1:7890\n  bypass: *.local, 169.254/16\n"
                    "Ethernet: none\n  bypass: (none)\n")


# ---------------------------------------------------------------------------------------------------------------------
# a fake Mac: answers the read commands from its state (newest wordings), changes state on the write commands


class FakeMac:
    def __init__(self, *, firewall=1, block_all=False, stealth=True, signed_app=False, apps=None, services=None,
                 vpn_proxy=None, bypass_refused=False):
        self.firewall, self.block_all, self.stealth, self.signed_app = firewall, block_all, stealth, signed_app
        self.apps = dict(apps or {})  # path -> allowed
        self.services = copy.deepcopy(services or {})  # name -> {"enabled", "web", "secure", "auto", "bypass"}
        # scutil --proxy: configd publishes the first enabled service's settings, unless a VPN client sets
        # its own proxy (host:port, no exceptions) or configd refuses the bypass list (v2rayN#9809)
        self.vpn_proxy, self.bypass_refused = vpn_proxy, bypass_refused
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        handler = {SOCKETFILTERFW: self._socketfilterfw, NETWORKSETUP: self._networksetup, SW_VERS: self._fixture,
                   IFCONFIG: self._fixture, LSOF: self._fixture, SCUTIL: self._scutil}.get(argv[0])
        return handler(argv) if handler else (127, "", f"{argv[0]}: not simulated")

    def _fixture(self, argv):
        name = {SW_VERS: "sw_vers_sonoma.txt", IFCONFIG: "ifconfig_catalina.txt", LSOF: "lsof_fields.txt"}[argv[0]]
        return 0, fixture(name), ""

    def _socketfilterfw(self, argv):
        flag, args = argv[1], argv[2:]
        if flag.startswith("--get") and flag != "--getappblocked":
            return 0, "".join(self._getter(getter) for getter in argv[1:]), ""
        if flag == "--listapps":
            rows = "".join(f"{index} : {path} \n             ({'Allow' if allowed else 'Block'} incoming connections)\n"
                           for index, (path, allowed) in enumerate(self.apps.items(), 1))
            return 0, f"Total number of apps = {len(self.apps)} \n{rows}", ""
        if flag == "--add":
            self.apps.setdefault(args[0], True)
            return 0, f"Application at path ( {args[0]} ) added to firewall \n", ""
        if flag in ("--unblockapp", "--blockapp"):
            if args[0] not in self.apps:
                return 0, "The application is not part of the firewall \n", ""
            self.apps[args[0]] = flag == "--unblockapp"
            verdict = "permitted" if self.apps[args[0]] else "blocked"
            return 0, f"Incoming connection to the application is {verdict}\n", ""
        if flag == "--remove":
            self.apps.pop(args[0], None)
            return 0, f"Application at path ( {args[0]} ) removed from firewall \n", ""
        if flag == "--setblockall":
            self.block_all = args[0] == "on"
            return 0, f"Firewall has block all state set to {'enabled' if self.block_all else 'disabled'}.\n", ""
        return 1, "", f"unsupported {flag}"

    def _getter(self, flag):
        on_off = {True: "enabled", False: "disabled"}
        return {
            "--getglobalstate": f"Firewall is {on_off[self.firewall > 0]}. (State = {self.firewall})\n",
            "--getblockall": f"Firewall has block all state set to {on_off[self.block_all]}.\n",
            "--getstealthmode": f"Firewall stealth mode is {'on' if self.stealth else 'off'}\n",
            "--getallowsigned": ("Automatically allow built-in signed software ENABLED.\nAutomatically allow "
                                 f"downloaded signed software {on_off[self.signed_app].upper()}.\n"),
        }[flag]

    def _scutil(self, argv):
        """`scutil --proxy` in its layout (the CherryHQ/cherry-studio#5222 capture)."""
        lines = []
        if self.vpn_proxy:
            host, port = self.vpn_proxy.rsplit(":", 1)
            lines += ["  HTTPEnable : 1", f"  HTTPPort : {port}", f"  HTTPProxy : {host}",
                      "  HTTPSEnable : 1", f"  HTTPSPort : {port}", f"  HTTPSProxy : {host}"]
        else:
            primary = next((svc for svc in self.services.values() if svc["enabled"]), None)
            if primary:
                if primary["bypass"] and not self.bypass_refused:
                    lines += ["  ExceptionsList : <array> {",
                              *(f"    {index} : {entry}" for index, entry in enumerate(primary["bypass"])), "  }"]
                for prefix, kind in (("HTTP", "web"), ("HTTPS", "secure")):
                    proxy = primary[kind]
                    lines.append(f"  {prefix}Enable : {int(proxy['enabled'])}")
                    if proxy["enabled"]:
                        lines += [f"  {prefix}Port : {proxy['port']}", f"  {prefix}Proxy : {proxy['server']}"]
                lines.append(f"  ProxyAutoConfigEnable : {int(primary['auto']['enabled'])}")
                if primary["auto"]["url"]:
                    lines.append(f"  ProxyAutoConfigURLString : {primary['auto']['url']}")
        return 0, "<dictionary> {\n" + "".join(f"{line}\n" for line in lines) + "}\n", ""

    def _networksetup(self, argv):
        flag, args = argv[1], argv[2:]
        if flag == "-listallnetworkservices":
            names = "".join(("" if svc["enabled"] else "*") + f"{name}\n" for name, svc in self.services.items())
            return 0, f"An asterisk (*) denotes that a network service is disabled.\n{names}", ""
        service = self.services.get(args[0]) if args else None
        if service is None:  # the recorded answer to a name networksetup does not know, exit 4 (crc#1990)
            unknown = args[0] if args else ""
            return 4, fixture("ns_unknown_service.txt").replace("*Wi-Fi", unknown, 1), ""
        kind = "secure" if "secure" in flag else "web"
        if flag in ("-getwebproxy", "-getsecurewebproxy"):
            proxy = service[kind]
            return 0, (f"Enabled: {'Yes' if proxy['enabled'] else 'No'}\nServer: {proxy['server'] or ''}\n"
                       f"Port: {proxy['port'] or 0}\nAuthenticated Proxy Enabled: 0\n"), ""
        if flag == "-getautoproxyurl":
            auto = service["auto"]
            return 0, f"URL: {auto['url'] or '(null)'}\nEnabled: {'Yes' if auto['enabled'] else 'No'}\n", ""
        if flag == "-getproxybypassdomains":
            text = "".join(f"{entry}\n" for entry in service["bypass"])
            return 0, text or f"There aren't any bypass domains set on {args[0]}.\n", ""
        if flag in ("-setwebproxy", "-setsecurewebproxy"):
            service[kind] = {"enabled": True, "server": args[1], "port": int(args[2])}
        elif flag in ("-setwebproxystate", "-setsecurewebproxystate"):
            service[kind]["enabled"] = args[1] == "on"
        elif flag == "-setautoproxyurl":
            service["auto"] = {"url": args[1], "enabled": True}
        elif flag == "-setautoproxystate":
            service["auto"]["enabled"] = args[1] == "on"
        elif flag == "-setproxybypassdomains":
            service["bypass"] = [] if args[1:] == ["Empty"] else list(args[1:])
        else:
            return 1, "", f"unsupported {flag}"
        return 0, "", ""


def mac_service(enabled=True, web=None, secure=None, pac=None, bypass=()):
    def proxy(server):
        host, port = server.rsplit(":", 1) if server else (None, None)
        return {"enabled": bool(server), "server": host, "port": int(port) if port else None}
    return {"enabled": enabled, "web": proxy(web), "secure": proxy(secure),
            "auto": {"url": pac, "enabled": bool(pac)}, "bypass": list(bypass)}


def office_mac(**firewall):
    return FakeMac(
        apps={"/usr/sbin/cupsd": True, **firewall.pop("apps", {})},
        services={
            "Wi-Fi": mac_service(web="10.1.1.1:3128", secure="10.1.1.1:3128", bypass=["*.local", "169.254/16"]),
            "USB 10/100/1000 LAN": mac_service(),
            "Bluetooth PAN": mac_service(enabled=False, web="10.9.9.9:8080"),
        },
        **firewall,
    )


def converge(backend, mac, wanted):
    """The module's flow: read -> desired -> apply -> read; returns (before, after, now)."""
    before = backend.read()
    after = backend.desired(before, wanted)
    backend.apply(before, after)
    return before, after, backend.read()


@pytest.mark.parametrize(
    "mac_firewall, wanted",
    [({"block_all": True}, {"state": "present", "allow_disable_block_all": True}),
     ({"apps": {APP: False}}, PRESENT),
     ({}, PRESENT),
     ({"apps": {APP: True}}, {"state": "absent"})],
    ids=["block-all on, app unlisted", "app blocked", "app unlisted", "remove the app"],
)
def test_firewall_round_trip_on_a_fake_mac(mac_firewall, wanted):
    mac = office_mac(**mac_firewall)
    backend = AppFirewallBackend(mac)
    before, after, now = converge(backend, mac, wanted)
    assert after != before, "the scenario must need a change"
    assert now == after
    mac.calls.clear()
    again = backend.read()
    assert backend.desired(again, wanted) == again, "a second run changes nothing"
    backend.apply(again, backend.desired(again, wanted))
    assert [call[1] for call in mac.calls] == ["--getglobalstate", "--listapps"], "only reads on the second run"
    backend.apply(now, before)  # the module's rollback
    assert backend.read() == before


class StatusOnlyMac(FakeMac):
    """A Mac whose combined getter call answers `status` verbatim (no block-all line in it)."""

    def __init__(self, status):
        super().__init__(apps={APP: True})
        self.status = status

    def _getter(self, flag):
        return self.status if flag == "--getglobalstate" else ""


@pytest.mark.parametrize(
    "status, block_all, note_has",
    [("Firewall is enabled. (State = 2)\nStealth mode enabled\n", None, "block all or stealth mode"),
     ("Firewall is blocking all non-essential incoming connections. (State = 2)\n", True, "blocking all"),
     ("Firewall is enabled. (State = 1)\n", None, None)],
    ids=["bare State 2: block all or stealth (m-cli#160, kolide)", "Sequoia wording", "State 1"],
)
def test_read_infers_block_all_only_from_the_blocking_wording(status, block_all, note_has):
    """Only the state line's 'blocking all non-essential' wording stands in for a missing block-all answer."""
    backend = AppFirewallBackend(StatusOnlyMac(status))
    state = backend.read()
    assert state["block_all"] is block_all
    assert state["enabled"] is True
    if note_has:
        assert any(note_has in note for note in backend.notes), backend.notes
    assert not any("inferred" in note for note in backend.notes) or block_all is True


@pytest.mark.parametrize(
    "wanted",
    [params("keep"), params("direct"), params("manual", server="proxy.corp.example:3128", bypass=["corp.example"]),
     params("pac", pac_url=PAC)],
    ids=["keep", "direct", "manual", "pac"],
)
def test_proxy_round_trip_on_a_fake_mac_skips_disabled_services(wanted):
    mac = office_mac()
    disabled_before = copy.deepcopy(mac.services["Bluetooth PAN"])
    backend = NetworkSetupProxyBackend(mac)
    before, after, now = converge(backend, mac, wanted)
    assert set(before) == {"Wi-Fi", "USB 10/100/1000 LAN"}
    assert after != before and now == after
    assert mac.services["Bluetooth PAN"] == disabled_before
    assert not any("Bluetooth PAN" in call for call in mac.calls)
    assert backend.desired(now, wanted) == now, "a second run changes nothing"
    backend.apply(now, before)  # the module's rollback
    assert backend.read() == before


def test_proxy_reads_named_services_only():
    mac = office_mac()
    assert list(NetworkSetupProxyBackend(mac, ["Bluetooth PAN"]).read()) == ["Bluetooth PAN"]
    reads = ["-listallnetworkservices", "-getwebproxy", "-getsecurewebproxy", "-getautoproxyurl",
             "-getproxybypassdomains"]
    assert [call[1] for call in mac.calls] == reads


def test_proxy_read_refuses_a_service_name_the_mac_does_not_list():
    """Checked against -listallnetworkservices before any per-service command (networksetup exits 4 on it)."""
    mac = office_mac()
    with pytest.raises(InvalidValue, match=r"^services: 'Ethernet' not among this Mac's network services \(Wi-Fi, "):
        NetworkSetupProxyBackend(mac, ["Wi-Fi", "Ethernet"]).read()
    assert [call[1] for call in mac.calls] == ["-listallnetworkservices"]


class VanishingServiceMac(FakeMac):
    """Lists a service that networksetup then does not know (removed between the two commands)."""

    def _networksetup(self, argv):
        if argv[1] == "-listallnetworkservices":
            return 0, "An asterisk (*) denotes that a network service is disabled.\nEthernet\n", ""
        return super()._networksetup(argv)


def test_proxy_read_names_the_service_whose_output_it_cannot_parse():
    with pytest.raises(MacCommandError, match=r"^networksetup:Ethernet: .*not a recognized network service"):
        NetworkSetupProxyBackend(VanishingServiceMac(), ["Ethernet"]).read()


def test_services_to_restore_refuses_a_saved_service_no_longer_read():
    with pytest.raises(InvalidValue, match="restore: the backup's network services 'Ethernet' are not read"):
        services_to_restore({"Ethernet": ETHERNET, "Wi-Fi": WIFI}, {"Wi-Fi": ETHERNET})
    with pytest.raises(InvalidValue, match="restore: not a networksetup backup"):
        services_to_restore({"Wi-Fi": "direct"}, {"Wi-Fi": ETHERNET})


# ---------------------------------------------------------------------------------------------------------------------
# scutil --proxy: the proxy the system uses


@pytest.mark.parametrize(
    "name, expected",
    [("scutil_proxy_manual.txt",
      {"mode": "manual", "servers": {"http": "127.0.0.1:6152", "https": "127.0.0.1:6152"}, "pac_url": None,
       "bypass": ["192.168.0.0/24", "10.0.0.0/8", "172.16.0.0/12", "127.0.0.1", "localhost", "*.local"]}),
     ("scutil_proxy_pac_vpn.txt",
      {"mode": "pac", "servers": {}, "pac_url": "http://wpad.company.com/wpad.dat", "bypass": []})],
    ids=["manual with exceptions (cherry-studio#5222)", "PAC only, VPN environment (httptoolkit#151)"],
)
def test_scutil_proxy_reads_what_the_system_uses(name, expected):
    parsed = parse_scutil_dictionary(fixture(name))
    assert parsed.note is None
    assert scutil_proxy(parsed.value) == expected


def test_scutil_dictionary_keeps_nested_blocks_apart():
    """`__SCOPED__` holds one dictionary per interface (the keys kaivean/system_proxy#8 shows); only the
    global keys describe the system's proxy, and a scoped one must not leak into them."""
    text = ("<dictionary> {\n  ExceptionsList : <array> {\n    0 : *.local\n    1 : 169.254/16\n    2 : ::1\n  }\n"
            "  FTPPassive : 1\n  ProxyAutoConfigEnable : 1\n"
            "  ProxyAutoConfigURLString : http://example.com/wpad.dat\n  __SCOPED__ : <dictionary> {\n"
            "    en0 : <dictionary> {\n      HTTPEnable : 1\n      HTTPPort : 8080\n      HTTPProxy : scoped\n"
            "    }\n  }\n}\n")
    settings = parse_scutil_dictionary(text).value
    assert settings["ExceptionsList"] == ["*.local", "169.254/16", "::1"]
    assert settings["__SCOPED__"] == {"en0": {"HTTPEnable": "1", "HTTPPort": "8080", "HTTPProxy": "scoped"}}
    assert scutil_proxy(settings) == {"mode": "pac", "servers": {}, "pac_url": "http://example.com/wpad.dat",
                                      "bypass": ["*.local", "169.254/16", "::1"]}


@pytest.mark.parametrize(
    "text", ["", "scutil: command not found\n", "<dictionary> {\n  HTTPEnable : 1\n", "<dictionary> {\n}\n}\n",
             "HTTPEnable : 1\n"],
    ids=["no output", "an error", "unclosed", "one brace too many", "no dictionary"],
)
def test_scutil_output_not_understood_says_so(text):
    parsed = parse_scutil_dictionary(text)
    assert parsed.value is None and "scutil --proxy" in parsed.note


def office_mac_facts(mac):
    """macos_facts of a fake Mac whose app is the recorded Info.plist."""
    return macos_facts(mac, plist_reader({INFO: plistlib.loads(fixture("info_plist.txt").encode())}), 9090,
                       SUBNETS, hostname="room-mac-01")


def fixed_mac(**mac_options):
    """The office Mac after remediation: loopback and the controller subnets bypass every service's proxy."""
    mac = office_mac(apps={APP: True}, **mac_options)
    backend = NetworkSetupProxyBackend(mac)
    before = backend.read()
    backend.apply(before, backend.desired(before, params("keep")))
    return mac


def test_the_effective_proxy_agrees_with_the_services_once_they_are_fixed():
    mac = fixed_mac()
    facts = office_mac_facts(mac)
    assert facts["errors"] == []
    assert facts["proxy"]["bypass_covers_local"] is True
    assert set(facts["proxy"]["bypass_covers_subnets"].values()) == {True}


@pytest.mark.parametrize(
    "mac_options",
    [{"vpn_proxy": "10.200.0.1:8080"}, {"bypass_refused": True}],
    ids=["a VPN client's proxy over the services (ghostsproxy VPN coexistence, httptoolkit#151)",
         "configd refused the bypass list networksetup holds (v2rayN#9809)"],
)
def test_a_proxy_the_services_do_not_show_is_still_judged(mac_options):
    """networksetup shows the services fixed; the system uses another proxy, or no bypass: not covered."""
    mac = fixed_mac(**mac_options)
    facts = office_mac_facts(mac)
    services = [source for source in facts["proxy"]["sources"] if source["source"] != EFFECTIVE_SOURCE]
    assert all(coverage(source, SUBNETS, "macos")["bypass_covers_local"] for source in services)
    assert facts["proxy"]["sources"][-1]["source"] == EFFECTIVE_SOURCE
    assert facts["proxy"]["mode"] == "manual"
    assert facts["proxy"]["bypass_covers_local"] is False


# ---------------------------------------------------------------------------------------------------------------------
# facts

FACT_KEYS = {"schema", "platform", "os", "hostname", "controller_port", "app", "listener", "firewall", "proxy",
             "addresses", "errors"}


def test_macos_facts_on_a_fake_mac():
    mac = office_mac(apps={APP: True})
    plists = {INFO: plistlib.loads(fixture("info_plist.txt").encode())}
    facts = macos_facts(mac, plist_reader(plists), 9090, SUBNETS, hostname="room-mac-01")
    assert set(facts) == FACT_KEYS and facts["errors"] == []
    assert (facts["schema"], facts["platform"], facts["hostname"], facts["controller_port"]) == (
        1, "macos", "room-mac-01", 9090)
    assert facts["os"] == {"name": "macOS 14.5 (23F79)", "version": "14.5"}
    assert facts["app"]["version"] == "7.1.0.13088"
    assert facts["listener"] == {"listening": True, "addresses": ["127.0.0.1", "::1"], "process": "ZoomPresence"}
    assert [item["verdict"] for item in facts["firewall"]["verdicts"]] == ["admitted", "admitted"]
    assert facts["proxy"]["mode"] == "manual"
    assert [source["source"] for source in facts["proxy"]["sources"]] == [
        "networksetup:Wi-Fi", "networksetup:USB 10/100/1000 LAN", EFFECTIVE_SOURCE]
    assert facts["proxy"]["bypass_covers_subnets"] == {"10.89.90.0/24": False, "10.89.91.0/24": False}
    assert {"interface": "en0", "address": "192.168.6.15", "prefix": 24} in facts["addresses"]
    # sw_vers, ifconfig, lsof, 2 x socketfilterfw, networksetup list + 4 per enabled service, scutil --proxy
    assert len(mac.calls) == 5 + 1 + 4 * 2 + 1


@pytest.mark.parametrize(
    "reply, root, expected",
    [((1, "", ""), True, ({"listening": False, "addresses": [], "process": None}, None)),
     ((1, "", "lsof: WARNING: can't stat() smbfs file system /Volumes/share\n"), True,
      ({"listening": False, "addresses": [], "process": None}, None)),
     ((1, "", ""), False, ({"listening": False, "addresses": [], "process": None}, "run the facts task with become")),
     ((0, fixture("lsof_fields.txt"), ""), False,
      ({"listening": True, "addresses": ["127.0.0.1", "::1"], "process": "ZoomPresence"}, None))],
    ids=["exit 1, no output: nothing listens", "a warning is not an error", "not root: says it may not see the app",
         "not root but found it"],
)
def test_read_listener(monkeypatch, reply, root, expected):
    monkeypatch.setattr(macos, "_running_as_root", lambda: root)
    parsed = macos.read_listener(Recorder(reply), 9090)
    assert parsed.value == expected[0]
    assert (parsed.note is None) if expected[1] is None else (expected[1] in parsed.note)


def test_read_listener_reports_a_failing_lsof():
    with pytest.raises(MacCommandError, match="lsof: illegal option"):
        macos.read_listener(Recorder((1, "", "lsof: illegal option character: F\n")), 9090)


def test_macos_facts_collect_errors_and_never_raise():
    def broken(argv):
        if argv[0] == SOCKETFILTERFW:
            return 1, "", "socketfilterfw: Operation not permitted"
        if argv[0] == NETWORKSETUP:
            return 0, "** Error: The parameters were not valid.\n", ""
        if argv[0] == LSOF:
            return 0, "lsof: WARNING: can't stat() smbfs file system\n", ""
        return 0, "", ""

    facts = macos_facts(broken, plist_reader({INFO: PermissionError("Operation not permitted")}), 9090, SUBNETS,
                        hostname="room-mac-02")
    assert set(facts) == FACT_KEYS
    assert [error.split(":", 1)[0] for error in facts["errors"]] == [
        "firewall", "proxy", "proxy (effective)", "os", "app", "listener"]
    assert [item["verdict"] for item in facts["firewall"]["verdicts"]] == ["unknown", "unknown"]
    # named as an unreadable layer, so the diagnosis says the room's firewall is unknown (not the network's fault)
    assert facts["firewall"]["unreadable"] == [{"backend": facts["firewall"]["backend"],
                                                "reason": facts["errors"][0]}]
    assert facts["errors"][0].startswith("firewall: ")
    assert "host_firewall_unreadable" in [f["code"] for f in host_findings(facts, 9090)]
    assert facts["app"] == {"installed": True, "name": "us.zoom.ZoomPresence", **ABSENT}
    assert facts["listener"]["listening"] is None
    assert facts["proxy"]["bypass_covers_local"] is None and facts["addresses"] == []


def test_every_fixture_is_used_by_a_test():
    """A recorded output nobody parses proves nothing (checked on the tests' text, so it holds under xdist)."""
    source = Path(__file__).read_text() + (Path(__file__).resolve().parents[2] / "test_cross_platform.py").read_text()
    unused = sorted(path.name for path in FIXTURES.glob("*.txt") if f'"{path.name}"' not in source)
    assert not unused, f"fixtures no test reads: {unused}"


def test_bypass_domains_in_cidr_form_cover_the_controller_subnets():
    """macOS reads CIDR entries (also the short 169.254/16 of its default list) as address ranges."""
    bypass = parse_bypass_domains(fixture("ns_bypass_cidr.txt")).value
    proxy = {"mode": "manual", "servers": {"http": "127.0.0.1:7890"}, "pac_url": None, "bypass": bypass}
    assert coverage(proxy, SUBNETS, "macos") == {"bypass_covers_local": True,
                                                 "bypass_covers_subnets": {"10.89.90.0/24": True,
                                                                           "10.89.91.0/24": True}}


# ---------------------------------------------------------------------------------------------------------------------
# the zoom_room_firewall and zoom_room_proxy modules on a fake Mac (run_module, without Ansible)


class Failed(Exception):
    """fail_json of FakeModule: the keyword arguments the module failed with."""


class FakeModule:
    def __init__(self, params, check_mode=False):
        self.params, self.check_mode, self.no_log_values = params, check_mode, set()

    def fail_json(self, **result):
        raise Failed(result)


FIREWALL_PARAMS = {"sources": ["10.89.90.0/24"], "port": 9090, "state": "present", "backend": "socketfilterfw",
                   "persist": True, "restore": None, "expect": None, "backup_dir": "/nonexistent/backups",
                   "backup_keep": 5, "allow_disable_block_all": False, "app_path": APP}
PROXY_PARAMS = {"policy": "keep", "server": None, "bypass": [], "pac_url": None,
                "controller_subnets": ["10.89.90.0/24"], "environment_file": "/nonexistent/environment",
                "services": None, "restore": None, "backup_dir": "/nonexistent/backups", "backup_keep": 5,
                "windows_proxy_user": ""}


def writes(mac):
    """The changing commands the fake Mac was given (socketfilterfw --add/..., networksetup -set...)."""
    return [call[1:] for call in mac.calls
            if call[1] in ("--add", "--remove", "--unblockapp", "--blockapp", "--setblockall")
            or call[1].startswith("-set")]


def run_firewall(monkeypatch, mac, check_mode=False, **params):
    monkeypatch.setattr(zoom_room_firewall, "command_runner", lambda module: mac)
    return zoom_room_firewall.run_module(FakeModule({**FIREWALL_PARAMS, **params}, check_mode))


def run_proxy(monkeypatch, mac, check_mode=False, **params):
    monkeypatch.setattr(zoom_room_proxy.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(zoom_room_proxy, "command_runner", lambda module: mac)
    return zoom_room_proxy.run_module(FakeModule({**PROXY_PARAMS, **params}, check_mode))


class NoVerdictMac(FakeMac):
    """`--listapps` rows without their verdict lines: the app's entry cannot be read (app_state None)."""

    def _socketfilterfw(self, argv):
        if argv[1] != "--listapps":
            return super()._socketfilterfw(argv)
        rows = "".join(f"{index} : {path}\n" for index, path in enumerate(self.apps, 1))
        return 0, f"Total number of apps = {len(self.apps)}\n{rows}", ""


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check mode"])
@pytest.mark.parametrize("state", ["present", "absent"])
def test_firewall_module_refuses_to_change_an_unread_entry(monkeypatch, check_mode, state):
    """Before: --add/--unblockapp ran, and the rollback to an unread state planned nothing while the message
    said the previous state was put back (the app stayed permitted)."""
    mac = NoVerdictMac(apps={APP: False})
    with pytest.raises(Failed) as failed:
        run_firewall(monkeypatch, mac, check_mode, state=state)
    assert f"the firewall entry of {APP} could not be read" in failed.value.args[0]["msg"]
    assert failed.value.args[0]["msg"].endswith("; nothing was changed")
    assert writes(mac) == [] and mac.apps == {APP: False}


def test_firewall_module_refuses_a_restore_to_an_unread_entry(monkeypatch):
    mac = office_mac(apps={APP: True})
    backup = {"socketfilterfw": {**run_firewall(monkeypatch, mac)["backup"]["socketfilterfw"], "app_state": None}}
    with pytest.raises(Failed, match="the backup holds no readable firewall entry"):
        run_firewall(monkeypatch, mac, True, restore=backup)
    assert writes(mac) == []


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check mode"])
def test_firewall_module_fails_up_front_on_block_all_without_permission(monkeypatch, check_mode):
    """Before: check mode reported a change, and a real run added and unblocked the app, found it still
    blocked, removed it again and only then failed."""
    mac = office_mac(block_all=True)
    with pytest.raises(Failed) as failed:
        run_firewall(monkeypatch, mac, check_mode)
    assert failed.value.args[0]["msg"].startswith("allow_disable_block_all: ")
    assert writes(mac) == [] and mac.block_all is True and APP not in mac.apps


def test_firewall_module_switches_block_all_off_with_permission(monkeypatch):
    mac = office_mac(block_all=True)
    result = run_firewall(monkeypatch, mac, allow_disable_block_all=True)
    assert result["changed"] and [v["verdict"] for v in result["verdicts"]] == ["admitted"]
    assert writes(mac) == [["--add", APP], ["--unblockapp", APP], ["--setblockall", "off"]]


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check mode"])
def test_proxy_module_fails_cleanly_on_a_service_the_mac_lacks(monkeypatch, check_mode):
    """Before: networksetup's 'Ethernet is not a recognized network service' escaped as a traceback."""
    mac = office_mac()
    with pytest.raises(Failed) as failed:
        run_proxy(monkeypatch, mac, check_mode, policy="manual", server="proxy.corp.example:3128",
                  services=["Wi-Fi", "Ethernet"])
    assert failed.value.args[0] == {
        "msg": "services: 'Ethernet' not among this Mac's network services (Wi-Fi, USB 10/100/1000 LAN, "
               "Bluetooth PAN); nothing was changed", "changed": False}
    assert [call[1] for call in mac.calls] == ["-listallnetworkservices"]


def test_proxy_module_restore_leaves_a_service_added_since_alone(monkeypatch):
    """Before: the backup lacked the new service, so the whole-state check failed and nothing was put back."""
    mac = office_mac()
    changed = run_proxy(monkeypatch, mac, policy="manual", server="proxy.corp.example:3128")
    backup = changed["backup"]["networksetup"]
    assert changed["changed"] and set(backup) == {"Wi-Fi", "USB 10/100/1000 LAN"}
    mac.services["Thunderbolt Bridge"] = mac_service(web="10.7.7.7:8080", bypass=["*.local"])
    added = NetworkSetupProxyBackend(mac, ["Thunderbolt Bridge"]).read()
    mac.calls.clear()
    restored = run_proxy(monkeypatch, mac, restore=changed["backup"])
    assert restored["changed"]
    assert NetworkSetupProxyBackend(mac).read() == {**backup, **added}
    assert writes(mac) and not any("Thunderbolt Bridge" in call for call in writes(mac))


def test_proxy_module_refuses_a_restore_of_a_service_no_longer_read(monkeypatch):
    mac = office_mac()
    backup = run_proxy(monkeypatch, mac, policy="manual", server="proxy.corp.example:3128")["backup"]
    mac.services["Wi-Fi"]["enabled"] = False
    mac.calls.clear()
    with pytest.raises(Failed, match="restore: the backup's network services 'Wi-Fi' are not read"):
        run_proxy(monkeypatch, mac, restore=backup)
    assert writes(mac) == []
