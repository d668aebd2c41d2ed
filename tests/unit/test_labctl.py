"""labctl's pure parts: names, argument checks, inventory, fault scripts."""

import pytest
import yaml
from labctl import (
    FAULT_KINDS,
    LabConfig,
    LabError,
    check_fault_args,
    fault_script,
    inventory,
    main,
    render_yaml,
    room_names,
)

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


@pytest.mark.parametrize(
    "argv, message",
    [(["fault", "zr-room-01", "bogus"], "unknown fault kind 'bogus'"), (["heal", "nope"], "unknown room 'nope'")],
    ids=["bad kind", "bad room"],
)
def test_cli_exits_2_with_a_message_before_touching_anything(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZR_LAB_DIR", str(tmp_path))
    (tmp_path / "state.json").write_text('{"rooms": {"zr-room-01": {}}}')
    monkeypatch.setattr("labctl.Podman.__init__", lambda self: None)
    monkeypatch.setattr("labctl.Podman.run", lambda *a, **k: pytest.fail("podman must not run"))
    assert main(argv) == 2
    assert message in capsys.readouterr().err
