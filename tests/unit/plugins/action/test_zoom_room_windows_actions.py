"""The zoom_room_firewall and zoom_room_proxy actions on a Windows room: the plan they make from recorded
reads, the module arguments they would pass (each option checked against `ansible-doc -j` of the installed
collections), and the read -> apply -> re-read -> restore flow, with a recorded room answering the modules."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest
from ansible_collections.zoomrooms.remediation.plugins.action import zoom_room_firewall as firewall_action
from ansible_collections.zoomrooms.remediation.plugins.action import zoom_room_proxy as proxy_action
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_action import (
    COLLECTOR_MODULE,
    collector_args,
    collector_script,
    is_windows,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_windows_firewall import (
    RULE_MODULE,
    firewall_plan,
    restore_args,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_windows_proxy import (
    HTTP_MODULE,
    INET_MODULE,
    READ_ARGS,
    proxy_plan,
    proxy_target,
    restore_plan,
)
from ansible_docs import option_problems
from fixture_files import windows_fixture

RULE = "Zoom Rooms controller (TCP 9090)"
DESCRIPTION = "Zoom Rooms controllers to the room app; managed by zoom_room_firewall"
SUBNETS = ["10.89.90.0/24", "10.89.91.0/24"]
ROOM_ACCOUNT = "ZR-LON-04\\ZoomRooms"

# What the plan passes to win_firewall_rule for a room without our rule (the documented task defaults).
RULE_ARGS = {"name": RULE, "description": DESCRIPTION, "direction": "in", "action": "allow", "protocol": "tcp",
             "localport": "9090", "remoteip": "10.89.90.0/24,10.89.91.0/24", "program": "any", "localip": "any",
             "remoteport": "any", "profiles": ["domain", "private"],
             "enabled": True, "state": "present"}
# What the plan passes to the proxy modules for a room with a manual proxy on both stacks (policy keep).
INET_ARGS = {"proxy": "proxy.corp.example:3128",
             "bypass": ["corp.example", "localhost", "127.0.0.1", "10.89.90.*", "10.89.91.*", "<local>"],
             "auto_config_url": "", "auto_detect": True}
HTTP_ARGS = {"proxy": "winhttp-proxy.corp.example:8080",
             "bypass": ["localhost", "127.0.0.1", "10.89.90.*", "10.89.91.*", "<local>"]}


def firewall_args(**changes: Any) -> dict[str, Any]:
    return {"sources": SUBNETS, "port": 9090, "state": "present", "restore": None, "rule_name": RULE,
            "description": DESCRIPTION, "profiles": ["domain", "private"], **changes}


def proxy_args(**changes: Any) -> dict[str, Any]:
    return {"policy": "keep", "server": None, "bypass": [], "pac_url": None, "controller_subnets": SUBNETS,
            "restore": None, "windows_proxy_user": "", **changes}


class RecordedRoom:
    """Answers each module with its next recorded result; every call is kept (module, args, check, runas)."""

    def __init__(self, answers: dict[str, list[dict[str, Any]]]) -> None:
        self.answers = {module: list(results) for module, results in answers.items()}
        self.calls: list[tuple[str, dict[str, Any], bool | None, str]] = []

    def run(self, module: str, args: dict[str, Any], check_mode: bool | None = None,
            runas_user: str = "") -> dict[str, Any]:
        self.calls.append((module, copy.deepcopy(args), check_mode, runas_user))
        return copy.deepcopy(self.answers[module].pop(0))


def action(module: Any, check_mode: bool = False) -> Any:
    instance = module.ActionModule.__new__(module.ActionModule)
    instance._task = SimpleNamespace(check_mode=check_mode)
    return instance


def applied(room: RecordedRoom) -> list[tuple[str, dict[str, Any], bool | None, str]]:
    return [call for call in room.calls if call[0] != COLLECTOR_MODULE]


# --------------------------------------------------------------------------- the plans and their module arguments

def test_firewall_plan_for_a_room_without_our_rule():
    plan = firewall_plan(windows_fixture("firewall_read_absent"), RULE, DESCRIPTION, SUBNETS, 9090,
                         ["domain", "private"])
    assert plan["changed"] is True and plan["module_args"] == RULE_ARGS
    assert plan["backup"] == {"windows_firewall": {"name": RULE, "existed": False, "rules": [], "restore": None}}
    assert restore_args(plan["backup"]) == {"name": RULE, "state": "absent"}
    assert plan["diff"] == {"before": f"no rule named '{RULE}'\n",
                            "after": f"{RULE}: enabled, allow TCP 9090 from 10.89.90.0/24,10.89.91.0/24, "
                                     "profiles domain, private\n"}


def test_firewall_plan_for_a_room_that_holds_it_already():
    plan = firewall_plan(windows_fixture("firewall_read_after"), RULE, DESCRIPTION, SUBNETS, 9090,
                         ["private", "domain"])
    assert (plan["changed"], plan["differences"]) == (False, [])


def test_proxy_plan_for_a_room_with_proxies_on_both_stacks():
    target = proxy_target(windows_fixture("proxy_scope_autologon"))
    plan = proxy_plan(windows_fixture("inet_proxy_before_manual"), windows_fixture("http_proxy_before_manual"),
                      target, "keep", SUBNETS)
    assert plan["module_args"] == {INET_MODULE: INET_ARGS, HTTP_MODULE: HTTP_ARGS}
    assert plan["target"] == {"scope": "user", "user": ROOM_ACCOUNT, "become": True,
                              "why": "Winlogon AutoAdminLogon account"}
    assert restore_plan(plan["backup"])["module_args"] == {
        INET_MODULE: {"proxy": "proxy.corp.example:3128", "bypass": ["corp.example", "<local>"],
                      "auto_config_url": "", "auto_detect": True},
        HTTP_MODULE: {"proxy": "winhttp-proxy.corp.example:8080", "bypass": ["<local>"]}}


def every_module_call() -> list[tuple[str, str, dict[str, Any]]]:
    """(what, module, options) for every module call the Windows paths of the actions can make."""
    fw = firewall_plan(windows_fixture("firewall_read_existing_and_block"), RULE, DESCRIPTION, SUBNETS, 9090,
                       ["domain", "private", "public"])
    target = proxy_target(windows_fixture("proxy_scope_autologon"))
    proxy = proxy_plan(windows_fixture("inet_proxy_before_manual"), windows_fixture("http_proxy_before_manual"),
                       target, "manual", SUBNETS, server="proxy.corp.example:3128", bypass=["corp.example"])
    pac = proxy_plan(windows_fixture("inet_proxy_before_manual"), windows_fixture("http_proxy_before_none"),
                     target, "pac", SUBNETS, pac_url="http://wpad.corp.example/proxy.pac")
    return [
        ("the collector", COLLECTOR_MODULE, collector_args(collector_script(), 9090, RULE, ROOM_ACCOUNT, ["C:\\x"])),
        ("our rule", RULE_MODULE, RULE_ARGS),
        ("our rule, all profiles", RULE_MODULE, fw["module_args"]),
        ("our rule removed", RULE_MODULE, {"name": RULE, "state": "absent"}),
        ("the saved rule put back", RULE_MODULE, restore_args(fw["backup"])),
        ("WinINet read", INET_MODULE, READ_ARGS[INET_MODULE]),
        ("WinHTTP read", HTTP_MODULE, READ_ARGS[HTTP_MODULE]),
        *[(f"manual: {module}", module, options) for module, options in proxy["module_args"].items()],
        *[(f"pac: {module}", module, options) for module, options in pac["module_args"].items()],
        *[(f"restore: {module}", module, options)
          for module, options in restore_plan(proxy["backup"])["module_args"].items()],
    ]


CALLS = every_module_call()


@pytest.mark.parametrize("what, module, options", CALLS, ids=[what for what, _unused, _unused in CALLS])
def test_every_option_the_plan_passes_is_documented(what, module, options):
    assert option_problems(module, options) == []


def test_the_plans_use_the_well_kept_modules():
    assert {module for _unused, module, _unused in CALLS} == {COLLECTOR_MODULE, RULE_MODULE, INET_MODULE, HTTP_MODULE}


# --------------------------------------------------------------------------- the firewall action's flow

def test_firewall_check_mode_plans_and_changes_nothing():
    room = RecordedRoom({COLLECTOR_MODULE: [windows_fixture("firewall_read_absent")]})
    result = action(firewall_action, check_mode=True)._windows(firewall_args(), room)
    assert (result["changed"], result["module_args"]) == (True, {RULE_MODULE: RULE_ARGS})
    assert applied(room) == []


def test_firewall_apply_reads_back_what_windows_holds():
    room = RecordedRoom({COLLECTOR_MODULE: [windows_fixture("firewall_read_absent"),
                                            windows_fixture("firewall_read_after")],
                         RULE_MODULE: [{"changed": True}]})
    result = action(firewall_action)._windows(firewall_args(), room)
    assert result["changed"] is True and not result.get("failed")
    assert [call[0] for call in room.calls] == [COLLECTOR_MODULE, RULE_MODULE, COLLECTOR_MODULE]
    assert room.calls[0][1]["parameters"]["RuleName"] == RULE
    assert applied(room) == [(RULE_MODULE, RULE_ARGS, None, "")]


def test_firewall_change_windows_did_not_take_is_undone():
    room = RecordedRoom({COLLECTOR_MODULE: [windows_fixture("firewall_read_absent"),
                                            windows_fixture("firewall_read_absent")],
                         RULE_MODULE: [{"changed": True}, {"changed": True}]})
    result = action(firewall_action)._windows(firewall_args(), room)
    assert (result["failed"], result["rolled_back"]) == (True, True)
    assert f"rule '{RULE}' does not exist" in result["msg"]
    assert applied(room)[1] == (RULE_MODULE, {"name": RULE, "state": "absent"}, None, "")


def test_firewall_already_right_makes_no_call():
    room = RecordedRoom({COLLECTOR_MODULE: [windows_fixture("firewall_read_after")]})
    result = action(firewall_action)._windows(firewall_args(), room)
    assert result["changed"] is False and applied(room) == []


def read_with_our_rule(**changes):
    """firewall_read_after (our rule as the plan makes it) with some of the rule's properties changed."""
    read = copy.deepcopy(windows_fixture("firewall_read_after"))
    read["result"]["existing_rules"][0].update(changes)
    return read


@pytest.mark.parametrize("changes, difference", [
    ({"application_name": "C:\\Tools\\other.exe"}, "program: found C:\\Tools\\other.exe, wanted any"),
    ({"service_name": "TermService"}, "service: found TermService, wanted any"),
    ({"local_addresses": "10.89.90.5"}, "local addresses: found 10.89.90.5, wanted any"),
    ({"remote_ports": "443"}, "remote ports: found 443, wanted any"),
], ids=["limited to a program", "limited to a service", "limited to a local address", "limited to a remote port"])
def test_a_same_named_rule_with_a_condition_ours_lacks_is_not_taken_as_right(changes, difference):
    """win_firewall_rule changes only what it is given: a hand-made rule of our name that admits less than asked
    must show as a difference (and is reset by the options the plan passes, but for the service)."""
    plan = firewall_plan(read_with_our_rule(**changes), RULE, DESCRIPTION, SUBNETS, 9090, ["domain", "private"])
    assert plan["changed"] is True
    assert any(found.endswith(difference) for found in plan["differences"]), plan["differences"]
    assert {key: plan["module_args"][key] for key in ("program", "localip", "remoteport")} == {
        "program": "any", "localip": "any", "remoteport": "any"}


def test_a_same_named_rule_for_another_protocol_is_made_tcp_before_its_port_is_set():
    """win_firewall_rule sets LocalPorts before Protocol, and COM refuses a port on an Any-protocol rule."""
    read = read_with_our_rule(protocol=256, local_ports="*")
    room = RecordedRoom({COLLECTOR_MODULE: [read, windows_fixture("firewall_read_after")],
                         RULE_MODULE: [{"changed": True}, {"changed": True}]})
    result = action(firewall_action)._windows(firewall_args(), room)
    assert result["changed"] is True and not result.get("failed")
    assert applied(room) == [(RULE_MODULE, {"name": RULE, "protocol": "tcp", "state": "present"}, None, ""),
                             (RULE_MODULE, RULE_ARGS, None, "")]
    # and its restore clears the ports before it sets the protocol back
    restore = restore_args(result["backup"])
    assert (restore["protocol"], restore["localport"], restore["remoteport"]) == ("any", "any", "any")


def test_a_failed_first_step_is_undone_like_any_failed_change():
    read = read_with_our_rule(protocol=1, local_ports="*")
    room = RecordedRoom({COLLECTOR_MODULE: [read],
                         RULE_MODULE: [{"failed": True, "msg": "0x80070057"}, {"changed": True}]})
    result = action(firewall_action)._windows(firewall_args(), room)
    assert (result["failed"], result["rolled_back"]) == (True, True)
    assert "0x80070057" in result["msg"]
    assert applied(room)[0][1] == {"name": RULE, "protocol": "tcp", "state": "present"}


def test_firewall_restore_puts_back_the_saved_rule():
    saved = firewall_plan(windows_fixture("firewall_read_existing_and_block"), RULE, DESCRIPTION, SUBNETS, 9090,
                          ["domain", "private"])["backup"]
    room = RecordedRoom({COLLECTOR_MODULE: [windows_fixture("firewall_read_after")],
                         RULE_MODULE: [{"changed": True}]})
    result = action(firewall_action)._windows(firewall_args(restore=saved), room)
    assert result["changed"] is True
    assert applied(room) == [(RULE_MODULE, restore_args(saved), None, "")]
    assert applied(room)[0][1]["remoteip"] == "10.89.0.0/255.255.0.0"  # the hand-made rule as it was


# --------------------------------------------------------------------------- the proxy action's flow

def proxy_room(recheck_changed: bool = False) -> RecordedRoom:
    return RecordedRoom({
        COLLECTOR_MODULE: [windows_fixture("proxy_scope_autologon")],
        INET_MODULE: [windows_fixture("inet_proxy_before_manual"), {"changed": True},
                      {"changed": recheck_changed}, {"changed": True}],
        HTTP_MODULE: [windows_fixture("http_proxy_before_manual"), {"changed": True}, {"changed": False},
                      {"changed": True}],
    })


def test_proxy_check_mode_reads_in_check_mode_as_the_room_account_and_plans():
    room = proxy_room()
    result = action(proxy_action, check_mode=True)._windows(proxy_args(), room)
    assert result["module_args"] == {INET_MODULE: INET_ARGS, HTTP_MODULE: HTTP_ARGS}
    assert [call[2:] for call in room.calls[1:]] == [(True, ROOM_ACCOUNT), (True, "")]


def test_proxy_apply_then_rechecks_in_check_mode():
    room = proxy_room()
    result = action(proxy_action)._windows(proxy_args(), room)
    assert result["changed"] is True and not result.get("failed")
    assert [(call[0], call[2], call[3]) for call in room.calls[3:]] == [
        (INET_MODULE, None, ROOM_ACCOUNT), (HTTP_MODULE, None, ""),
        (INET_MODULE, True, ROOM_ACCOUNT), (HTTP_MODULE, True, "")]


def test_proxy_change_the_host_does_not_hold_is_undone():
    room = proxy_room(recheck_changed=True)
    result = action(proxy_action)._windows(proxy_args(), room)
    assert (result["failed"], result["rolled_back"]) == (True, True)
    assert "ansible.windows.win_inet_proxy still differs" in result["msg"]
    assert room.calls[-2][:2] == (INET_MODULE, {"proxy": "proxy.corp.example:3128",
                                                "bypass": ["corp.example", "<local>"],
                                                "auto_config_url": "", "auto_detect": True})


# --------------------------------------------------------------------------- which room

@pytest.mark.parametrize("shell, windows", [("powershell", True), ("sh", False)])
def test_the_connection_says_which_platform(shell, windows):
    from ansible.plugins.loader import shell_loader

    assert is_windows(SimpleNamespace(_shell=shell_loader.get(shell))) is windows
