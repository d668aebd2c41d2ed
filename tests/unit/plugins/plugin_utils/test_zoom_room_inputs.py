"""The inputs check (zoom_room_common's validate step): run-wide values, value types, platforms, versions."""

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.zoomrooms.remediation.plugins.action import zoom_room_diagnose as diagnose_action
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_inputs import input_errors

PROJECT = Path(__file__).resolve().parents[4]
SUBNET = "10.89.1.0/24"
ROOM = {"zoom_room_controller_subnets": [SUBNET]}
# remediate.yml's run-wide values with its defaults, as its validate step passes them.
RUN = {"zoom_rooms_batch": "10%", "zoom_rooms_plan_only": False, "zoom_rooms_api_enabled": True}


@pytest.mark.parametrize("changes, message", [
    pytest.param({"zoom_rooms_batch": 0}, "run: zoom_rooms_batch: 0 is not a wave size", id="batch 0: every room"),
    pytest.param({"zoom_rooms_batch": "0"}, "run: zoom_rooms_batch: '0' is not a wave size", id="batch '0' (-e)"),
    pytest.param({"zoom_rooms_batch": -2}, "run: zoom_rooms_batch: -2 is not", id="negative batch"),
    pytest.param({"zoom_rooms_batch": "ten"}, "run: zoom_rooms_batch: 'ten' is not", id="batch a word"),
    pytest.param({"zoom_rooms_batch": "10.5%"}, "run: zoom_rooms_batch: '10.5%' is not", id="fraction of a percent"),
    pytest.param({"zoom_rooms_batch": "0%"}, "run: zoom_rooms_batch: '0%' is not", id="0%"),
    pytest.param({"zoom_rooms_batch": "150%"}, "run: zoom_rooms_batch: '150%' is not", id="over 100%"),
    pytest.param({"zoom_rooms_batch": [1, "0"]}, "run: zoom_rooms_batch: [1, '0'] is not", id="list with a 0"),
    pytest.param({"zoom_rooms_plan_only": "ture"}, "run: zoom_rooms_plan_only: 'ture' is not a boolean",
                 id="plan_only typo: would apply"),
    pytest.param({"zoom_rooms_plan_only": None}, "run: zoom_rooms_plan_only: None is not a boolean", id="null"),
    pytest.param({"zoom_rooms_api_enabled": "flase"}, "run: zoom_rooms_api_enabled: 'flase' is not a boolean",
                 id="api_enabled typo"),
])
def test_a_bad_run_wide_value_stops_the_run_once(changes, message):
    """Once for the run (not once per room), before any room is touched."""
    errors = input_errors({"room-1": ROOM, "room-2": ROOM}, True, None, {**RUN, **changes})
    assert len(errors) == 1 and errors[0].startswith(message), errors


@pytest.mark.parametrize("changes", [
    {"zoom_rooms_batch": 1}, {"zoom_rooms_batch": "20"}, {"zoom_rooms_batch": "1%"}, {"zoom_rooms_batch": "100%"},
    {"zoom_rooms_batch": [1, 5, "20%"]}, {"zoom_rooms_plan_only": "true"}, {"zoom_rooms_plan_only": "No"},
    {"zoom_rooms_plan_only": 1}, {"zoom_rooms_api_enabled": "off"},
], ids=str)
def test_good_run_wide_values_pass(changes):
    assert input_errors({"room-1": ROOM}, True, None, {**RUN, **changes}) == []


@pytest.mark.parametrize("room, message", [
    pytest.param({"zoom_room_proxy_policy": "manual", "zoom_room_proxy_server": 3128},
                 "room-1: zoom_room_proxy_server: 3128 is not a string", id="server a number"),
    pytest.param({"zoom_room_proxy_policy": "pac", "zoom_room_proxy_pac_url": 5},
                 "room-1: zoom_room_proxy_pac_url: 5 is not a string", id="pac url a number"),
])
def test_a_value_of_the_wrong_type_names_host_and_variable(room, message):
    errors = input_errors({"room-1": {**ROOM, **room}}, True)
    assert len(errors) == 1 and errors[0].startswith(message), errors


def test_an_unquoted_version_is_refused_with_a_hint_to_quote_it():
    """YAML reads `zoom_room_min_version: 5.10` as the float 5.1; a str or an int stays a version."""
    errors = input_errors({"room-1": {**ROOM, "zoom_room_min_version": 5.10}}, True)
    assert len(errors) == 1 and errors[0].startswith("room-1: zoom_room_min_version: 5.1 is a number, not a version")
    assert "quote it" in errors[0]
    for version in ("5.10", 6, "6.2.0 (4512)"):
        assert input_errors({"room-1": {**ROOM, "zoom_room_min_version": version}}, True) == []


def test_an_api_room_of_unknown_platform_does_not_stop_the_others():
    """The Zoom API inventory's `unknown` (no system reported): diagnosed over SSH like a POSIX room."""
    rooms = {"room-1": {**ROOM, "zoom_room_platform": "unknown"}, "room-2": ROOM}
    assert input_errors(rooms, True) == []


def _platform_default(host: str, groups: dict[str, list[str]]) -> str:
    """zoom_room_common's zoom_room_platform default, templated as Ansible does for this host."""
    defaults = yaml.safe_load((PROJECT / "roles/zoom_room_common/defaults/main.yml").read_text())
    templar = Templar(loader=DataLoader(), variables={"inventory_hostname": host, "groups": groups})
    return templar.template(trust_as_template(defaults["zoom_room_platform"]))


def test_a_static_mac_is_checked_as_macos_before_its_wave():
    """A host of zoom_rooms_macos gets platform macos, so a proxy server with credentials (kept in the
    keychain on macOS) is refused up front; the diagnosis still takes the POSIX read for it."""
    groups = {"zoom_rooms_macos": ["mac-1"], "zoom_rooms_windows": ["win-1"], "zoom_rooms_linux": ["lin-1"]}
    platforms = {host: _platform_default(host, groups) for host in ("mac-1", "win-1", "lin-1")}
    assert platforms == {"mac-1": "macos", "win-1": "windows", "lin-1": "posix"}
    room = {**ROOM, "zoom_room_platform": platforms["mac-1"], "zoom_room_proxy_policy": "manual",
            "zoom_room_proxy_server": "http://svc:S3cret@proxy.example:8080"}
    errors = input_errors({"mac-1": room}, True)
    assert len(errors) == 1 and errors[0].startswith("mac-1: zoom_room_proxy_server: networksetup keeps")
    assert "S3cret" not in errors[0]
    instance = diagnose_action.ActionModule.__new__(diagnose_action.ActionModule)
    instance._templar = SimpleNamespace(template=lambda value: value)
    assert instance._is_windows({diagnose_action.PLATFORM_VARIABLE: "macos"}) is False


@pytest.mark.parametrize("room, message", [
    pytest.param({"zoom_room_firewall_backup_keep": 0}, "room-1: zoom_room_firewall_backup_keep: 0 must be 1 or more",
                 id="no firewall backup kept"),
    pytest.param({"zoom_room_proxy_backup_keep": -1}, "room-1: zoom_room_proxy_backup_keep: -1 must be 1 or more",
                 id="negative proxy backups"),
    pytest.param({"zoom_room_csapi": "maybe"}, "room-1: zoom_room_csapi: 'maybe' is not a boolean",
                 id="csapi switch not a boolean"),
    pytest.param({"zoom_room_csapi": True, "zoom_room_csapi_port": "abc"},
                 "room-1: zoom_room_csapi_port: 'abc' is not a port number", id="csapi port a word"),
    pytest.param({"zoom_room_csapi": "yes", "zoom_room_csapi_timeout": -1},
                 "room-1: zoom_room_csapi_timeout: -1 is not a number of seconds above 0", id="csapi timeout negative"),
])
def test_a_value_the_room_would_refuse_mid_run_is_refused_before_any_room(room, message):
    """The modules refuse these on the room (backups) or the diagnosis per room (ZR-CSAPI): after earlier
    waves changed rooms, or with the room's diagnosis lost. Refused here, before any room is touched."""
    errors = input_errors({"room-1": {**ROOM, **room}}, True)
    assert len(errors) == 1 and errors[0].startswith(message), errors


def test_csapi_values_of_a_room_that_does_not_read_it_are_not_judged():
    assert input_errors({"room-1": {**ROOM, "zoom_room_csapi": False, "zoom_room_csapi_port": "abc"}}, True) == []
    assert input_errors({"room-1": {**ROOM, "zoom_room_csapi": True, "zoom_room_csapi_port": "2244",
                                    "zoom_room_csapi_timeout": "2.5", "zoom_room_firewall_backup_keep": 1}}, True) == []
