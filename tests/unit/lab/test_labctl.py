"""labctl's pure parts: names, argument checks, inventory, fault scripts; the API double's lifecycle."""

import json
import shlex
import subprocess
import sys
from types import SimpleNamespace

import pytest
import yaml
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_api import ZoomClient, settings_from
from labctl import (
    API_ACCOUNT_ID,
    API_CLIENT_ID,
    API_CLIENT_SECRET,
    API_LATEST_VERSION,
    CSAPI_PASSCODE,
    CURRENT_VERSION,
    FAULT_KINDS,
    HEAL_SCRIPT,
    LabConfig,
    LabError,
    api_command,
    api_exports,
    api_state,
    check_fault_args,
    csapi_known_hosts_lines,
    down,
    fault_script,
    heal,
    inventory,
    is_api_process,
    main,
    render_yaml,
    room_names,
    save_state,
    sim_conf_for,
    start_standalone_api,
    stop_api,
)
from zoom_api_double import LAB_ACCOUNT_ID, LAB_CLIENT_ID, LAB_CLIENT_SECRET

STATE = {
    "networks": {"ctl": {"subnet": "10.89.1.0/24"}, "mgmt": {"subnet": "10.89.0.0/24"}},
    "probe": {"name": "zr-probe", "mgmt_ip": "10.89.0.9"},
    "rooms": {
        "zr-room-02": {"mgmt_ip": "10.89.0.3", "address": "10.89.1.3", "segment": "ctl", "faults": []},
        "zr-room-01": {"mgmt_ip": "10.89.0.2", "address": "10.89.2.2", "segment": "guest", "faults": ["wrong_segment"]},
    },
}


@pytest.mark.parametrize(
    "count, expected",
    [(1, ["zr-room-01"]), (3, ["zr-room-01", "zr-room-02", "zr-room-03"])],
    ids=["one room", "three rooms"],
)
def test_room_names(count, expected):
    assert room_names("zr", count) == expected


def test_room_names_widen_past_99():
    assert room_names("zr", 100)[0] == "zr-room-001"


def test_room_names_rejects_zero():
    with pytest.raises(LabError, match="--rooms: 0"):
        room_names("zr", 0)


@pytest.mark.parametrize(
    "room, kind, message",
    [("zr-room-09", "firewall_block", "unknown room 'zr-room-09'; rooms: zr-room-01, zr-room-02"),
     ("zr-room-01", "melted", "unknown fault kind 'melted'; kinds: firewall_block")],
    ids=["unknown room", "unknown kind"],
)
def test_check_fault_args_rejects(room, kind, message):
    with pytest.raises(LabError, match=message):
        check_fault_args(STATE, room, kind)


def test_check_fault_args_on_a_lab_that_is_down():
    with pytest.raises(LabError, match=r"rooms: none \(is the lab up\?\)"):
        check_fault_args({"rooms": {}}, "zr-room-01", "firewall_block")


def test_inventory_has_the_design_groups_and_variables(tmp_path):
    config = LabConfig(name="zr", state_dir=tmp_path)
    parsed = yaml.safe_load(render_yaml(inventory(STATE, config)))
    rooms = parsed["all"]["children"]["zoom_rooms"]
    assert rooms["vars"]["zoom_room_controller_subnets"] == ["10.89.1.0/24"]
    assert rooms["vars"]["zoom_room_probe"] == "zr-probe"
    assert rooms["children"]["zoom_rooms_linux"]["hosts"]["zr-room-01"] == {
        "ansible_host": "10.89.0.2", "zoom_room_address": "10.89.2.2"}
    assert list(rooms["children"]["zoom_rooms_linux"]["hosts"]) == ["zr-room-01", "zr-room-02"]
    assert parsed["all"]["children"]["zoom_room_probes"]["hosts"] == {"zr-probe": {"ansible_host": "10.89.0.9"}}
    assert "StrictHostKeyChecking=yes" in parsed["all"]["vars"]["ansible_ssh_common_args"]
    assert str(tmp_path / "known_hosts") in parsed["all"]["vars"]["ansible_ssh_common_args"]


@pytest.mark.parametrize("value", ["plain", 'quote " and: colon', "#hash", "yes", "01"])
def test_render_yaml_strings_round_trip(value):
    assert yaml.safe_load(render_yaml({"key": value, "list": [value]})) == {"key": value, "list": [value]}


@pytest.mark.parametrize("kind", [k for k in FAULT_KINDS if k != "wrong_segment"])
def test_every_host_side_fault_has_a_script(kind):
    assert fault_script(kind).strip()


# ----------------------------------------------------------------------------- ZR-CSAPI (2244)

CSAPI_STATE = {**STATE, "rooms": {
    "zr-room-02": {**STATE["rooms"]["zr-room-02"], "csapi_host_key": "ssh-rsa AAAAB3Nza2 zoom-rooms-csapi"},
    "zr-room-01": {**STATE["rooms"]["zr-room-01"], "csapi_host_key": "ssh-rsa AAAAB3Nza1 zoom-rooms-csapi"},
    "zr-room-03": {"mgmt_ip": "10.89.0.4", "address": "10.89.1.4", "segment": "ctl", "faults": []},
}}


def test_csapi_known_hosts_name_each_room_at_its_controller_address_and_port():
    # A room moved to another segment (zr-room-01) is trusted at its new address; a room whose key
    # was never read (zr-room-03) has no line, so a session to it is refused, not trusted blindly.
    assert csapi_known_hosts_lines(CSAPI_STATE) == [
        "[10.89.2.2]:2244 ssh-rsa AAAAB3Nza1", "[10.89.1.3]:2244 ssh-rsa AAAAB3Nza2"]


def test_save_state_rewrites_the_csapi_known_hosts_with_the_inventory(tmp_path):
    config = LabConfig(name="zr", state_dir=tmp_path)
    save_state(config, CSAPI_STATE)
    assert config.csapi_known_hosts.read_text().splitlines() == csapi_known_hosts_lines(CSAPI_STATE)
    room_vars = yaml.safe_load(config.inventory_file.read_text())["all"]["children"]["zoom_rooms"]["vars"]
    assert room_vars["zoom_room_csapi_known_hosts"] == str(config.csapi_known_hosts)
    assert room_vars["zoom_room_csapi_passcode"] == CSAPI_PASSCODE
    assert "zoom_room_csapi" not in room_vars  # opt-in: a session displaces the controller


def test_sim_conf_gives_the_csapi_endpoint_its_port_passcode_and_key(tmp_path):
    config = LabConfig(name="zr", state_dir=tmp_path)
    conf = sim_conf_for(config, "zr-room-01", STATE["networks"], None).read_text().splitlines()
    assert {"CSAPI_PORT=2244", f"CSAPI_PASSCODE={CSAPI_PASSCODE}"} <= set(conf)
    assert any(line.startswith("CSAPI_HOST_KEY=/var/lib/") for line in conf)


@pytest.mark.parametrize("kind, command", [("csapi_busy", "zoom-rooms-simctl csapi-hold"),
                                           ("csapi_down", "zoom-rooms-simctl csapi-stop")])
def test_csapi_faults_use_the_simulators_service_manager(kind, command):
    assert kind in FAULT_KINDS
    assert fault_script(kind).endswith(command)


@pytest.mark.parametrize(
    "argv, message",
    [(["fault", "zr-room-01", "bogus"], "unknown fault kind 'bogus'"), (["heal", "nope"], "unknown room 'nope'"),
     (["heal", "zr-room-01", "nope"], "unknown room 'nope'")],
    ids=["bad kind", "bad room", "a bad room after a good one"],
)
def test_cli_exits_2_with_a_message_before_touching_anything(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZR_LAB_DIR", str(tmp_path))
    (tmp_path / "state.json").write_text('{"rooms": {"zr-room-01": {}}}')
    monkeypatch.setattr("labctl.Podman.__init__", lambda self: None)
    monkeypatch.setattr("labctl.Podman.run", lambda *a, **k: pytest.fail("podman must not run"))
    assert main(argv) == 2
    assert message in capsys.readouterr().err


class RecordingPodman:
    """Podman as heal uses it: the scripts it ran per container, and a room's move back to the ctl segment."""

    def __init__(self):
        self.scripts: list[tuple[str, str]] = []
        self.commands: list[tuple[str, ...]] = []

    def sh(self, container, script, check=True):
        self.scripts.append((container, script))
        return ""

    def run(self, *args, check=True):
        self.commands.append(args)
        return ""

    def address_on(self, container, network):
        return "10.89.1.2"


def test_heal_of_several_rooms_runs_each_script_and_clears_their_faults(tmp_path):
    config = LabConfig(name="zr", state_dir=tmp_path)
    state = json.loads(json.dumps(STATE))
    state["networks"]["guest"] = {"name": "zr-guest"}
    state["networks"]["ctl"]["name"] = "zr-ctl"
    state["rooms"]["zr-room-02"]["faults"] = ["firewall_block"]
    save_state(config, state)
    podman = RecordingPodman()
    heal(podman, config, ["zr-room-01", "zr-room-02"])
    assert sorted(podman.scripts) == [("zr-room-01", HEAL_SCRIPT), ("zr-room-02", HEAL_SCRIPT)]
    assert podman.commands == [("network", "disconnect", "zr-guest", "zr-room-01"),
                               ("network", "connect", "zr-ctl", "zr-room-01")]
    healed = json.loads(config.state_file.read_text())["rooms"]
    assert {room: (entry["faults"], entry["segment"], entry["address"]) for room, entry in healed.items()} == {
        "zr-room-01": ([], "ctl", "10.89.1.2"), "zr-room-02": ([], "ctl", "10.89.1.3")}


# ----------------------------------------------------------------------------- the Zoom API double

API = {"pid": 4242, "port": 41234, "base_url": "http://127.0.0.1:41234/v2",
       "token_url": "http://127.0.0.1:41234/oauth/token", "report_url": "http://10.89.0.1:41234", "log": "/x"}


def test_inventory_points_the_rooms_at_the_double_over_loopback(tmp_path):
    parsed = yaml.safe_load(render_yaml(inventory({**STATE, "api": API}, LabConfig(name="zr", state_dir=tmp_path))))
    room_vars = parsed["all"]["children"]["zoom_rooms"]["vars"]
    assert room_vars["zoom_rooms_api_base_url"] == "http://127.0.0.1:41234/v2"
    assert room_vars["zoom_rooms_api_token_url"] == "http://127.0.0.1:41234/oauth/token"
    assert (room_vars["zoom_rooms_api_account_id"], room_vars["zoom_rooms_api_client_id"],
            room_vars["zoom_rooms_api_client_secret"]) == (LAB_ACCOUNT_ID, LAB_CLIENT_ID, LAB_CLIENT_SECRET)


@pytest.mark.parametrize("api", [{}, {"pid": 1}], ids=["lab without the double", "double that did not start"])
def test_inventory_without_the_double_has_no_api_variables(tmp_path, api):
    parsed = yaml.safe_load(render_yaml(inventory({**STATE, "api": api}, LabConfig(name="zr", state_dir=tmp_path))))
    assert not [k for k in parsed["all"]["children"]["zoom_rooms"]["vars"] if k.startswith("zoom_rooms_api_")]


@pytest.mark.parametrize("info, base_url, report_url", [
    ({"base_url": "http://10.89.0.1:5000/v2", "token_url": "http://10.89.0.1:5000/oauth/token", "port": 5000,
      "extra_base_urls": ["http://127.0.0.1:5000/v2"], "extra_token_urls": ["http://127.0.0.1:5000/oauth/token"]},
     "http://127.0.0.1:5000/v2", "http://10.89.0.1:5000"),
    ({"base_url": "http://127.0.0.1:5001/v2", "token_url": "http://127.0.0.1:5001/oauth/token", "port": 5001,
      "extra_base_urls": [], "extra_token_urls": []},
     "http://127.0.0.1:5001/v2", "http://127.0.0.1:5001"),
], ids=["lab double: bridge plus loopback", "standalone double: loopback only"])
def test_api_state_keeps_the_control_nodes_loopback_urls(info, base_url, report_url, tmp_path):
    state = api_state(info, 77, tmp_path / "api.log")
    assert (state["base_url"], state["report_url"], state["pid"]) == (base_url, report_url, 77)
    assert state["token_url"] == base_url.replace("/v2", "/oauth/token")


def test_double_command_targets_the_lab_package_and_listens_on_loopback_too():
    command = api_command("10.89.0.1", 0, ("127.0.0.1",))
    assert command[command.index("--latest-version") + 1] == API_LATEST_VERSION
    # The version an upgrade goes to must be one the rooms have a package of.
    assert API_LATEST_VERSION.replace(" (", ".").rstrip(")") == CURRENT_VERSION
    assert command[command.index("--extra-host") + 1] == "127.0.0.1"
    assert (API_ACCOUNT_ID, API_CLIENT_ID, API_CLIENT_SECRET) == (LAB_ACCOUNT_ID, LAB_CLIENT_ID, LAB_CLIENT_SECRET)


def test_api_exports_is_one_shell_line_with_the_five_variables():
    line = api_exports(API)
    words = shlex.split(line)
    assert words[0] == "export"
    assert dict(word.split("=", 1) for word in words[1:]) == {
        "ZOOM_API_BASE_URL": API["base_url"], "ZOOM_OAUTH_TOKEN_URL": API["token_url"],
        "ZOOM_ACCOUNT_ID": LAB_ACCOUNT_ID, "ZOOM_CLIENT_ID": LAB_CLIENT_ID, "ZOOM_CLIENT_SECRET": LAB_CLIENT_SECRET}


def test_api_start_prints_exports_that_reach_a_double_and_api_stop_stops_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZR_LAB_DIR", str(tmp_path))
    assert main(["api", "start", "--rooms", "3"]) == 0
    out, err = capsys.readouterr()
    exports = dict(word.split("=", 1) for word in shlex.split(out.strip())[1:])
    pid = json.loads((tmp_path / "api-standalone.json").read_text())["pid"]
    try:
        assert LAB_CLIENT_SECRET not in err  # the export line on stdout is the only place it appears
        assert is_api_process(pid)
        client = ZoomClient(settings_from({
            "base_url": exports["ZOOM_API_BASE_URL"], "token_url": exports["ZOOM_OAUTH_TOKEN_URL"],
            "account_id": exports["ZOOM_ACCOUNT_ID"], "client_id": exports["ZOOM_CLIENT_ID"],
            "client_secret": exports["ZOOM_CLIENT_SECRET"]}, environ={}))
        statuses = ("Available", "Offline", "InMeeting", "UnderConstruction")
        assert sum(len(list(client.list_rooms(status=status))) for status in statuses) == 3
    finally:
        assert main(["api", "stop"]) == 0
    assert not is_api_process(pid)
    assert not (tmp_path / "api-standalone.json").exists()
    assert main(["api", "stop"]) == 0
    assert "no standalone Zoom API double was running" in capsys.readouterr().err


def test_down_stops_a_standalone_double_too(tmp_path, monkeypatch):
    config = LabConfig(name="zr", state_dir=tmp_path)
    api = start_standalone_api(config, 0)
    podman = SimpleNamespace(run=lambda *args, **kwargs: "", exists=lambda kind, name: False)
    down(podman, config)
    assert not is_api_process(api["pid"])


def test_stop_api_leaves_a_process_that_is_not_a_double_alone():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        stop_api(process.pid, timeout=0.2)
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()
