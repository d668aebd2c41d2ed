"""ZR-CSAPI for real: the client on the control node, through the probe on the controller segment
(`ssh -W`), against each lab room's ZR-CSAPI endpoint; faults csapi_busy and csapi_down; what the
room's server saw (its session file and log) is the world these tests check."""

from __future__ import annotations

import base64

import pytest
import yaml
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils import zoom_room_csapi as csapi

SESSION_FILE = "/run/zoom-rooms-csapi.session"
LOG = "/var/log/zoom-rooms-csapi.log"


def target_for(lab, room: str, **overrides) -> csapi.Target:
    """The Target the toolkit builds for a room: the inventory's values, relayed by the probe."""
    inventory = yaml.safe_load(lab.inventory.read_text())["all"]
    room_vars = inventory["children"]["zoom_rooms"]["vars"]
    options = {
        "address": lab.state["rooms"][room]["address"],
        "passcode": room_vars["zoom_room_csapi_passcode"],
        "known_hosts": room_vars["zoom_room_csapi_known_hosts"],
        "relay": {"host": lab.state["probe"]["mgmt_ip"], "user": inventory["vars"]["ansible_user"],
                  "private_key_file": inventory["vars"]["ansible_ssh_private_key_file"],
                  "ssh_args": inventory["vars"]["ansible_ssh_common_args"]},
    }
    options.update(overrides)
    return csapi.target_from(options, {})


def sessions_logged(lab, room: str) -> list[str]:
    return lab.sh(room, f"cat {LOG} 2>/dev/null || true").splitlines()


def test_every_room_answers_as_itself_and_the_session_is_closed(healed):
    for room in healed.rooms:
        before = len(sessions_logged(healed, room))
        result = csapi.read(target_for(healed, room))
        assert result["state"] == "answered", result
        assert result["room_name"] == room
        package = healed.sh(room, "dpkg-query -W -f='${Version}' zoom-rooms-sim")
        assert result["app_version"] == "{} ({})".format(*package.rsplit(".", 1))
        log = sessions_logged(healed, room)[before:]
        assert [line.split(" ", 1)[1].split(" from ")[0] for line in log] == ["session opened", "session closed"]
        assert healed.sh(room, f"test -e {SESSION_FILE} && echo held || echo free").strip() == "free"


def test_the_apps_view_follows_the_installed_version(healed):
    room = healed.rooms[0]
    healed.labctl("fault", room, "old_version")
    assert csapi.read(target_for(healed, room))["app_version"] == "5.16.2 (3001)"


def test_busy_when_a_control_system_holds_the_session(healed):
    room = healed.rooms[0]
    healed.labctl("fault", room, "csapi_busy")
    holder = healed.sh(room, f"cat {SESSION_FILE}").strip()
    result = csapi.read(target_for(healed, room))
    assert result["state"] == "busy", result
    assert healed.sh(room, f"cat {SESSION_FILE}").strip() == holder  # the holder kept its session
    healed.labctl("heal", room)
    assert csapi.read(target_for(healed, room))["state"] == "answered"


def test_down_while_the_controller_port_still_listens(healed):
    room = healed.rooms[1]
    healed.labctl("fault", room, "csapi_down")
    result = csapi.read(target_for(healed, room))
    assert result["state"] == "down", result
    assert "Connection refused" in result["message"]
    assert healed.connect(room) == "open"  # 9090 from the probe
    assert healed.connect(room, port=2244) == "refused"


@pytest.mark.parametrize("case", ["wrong passcode", "unknown host key", "another room's key"])
def test_refusals_never_open_a_session(healed, case, tmp_path):
    room, other = healed.rooms[0], healed.rooms[1]
    if case == "wrong passcode":
        overrides, state = {"passcode": "not-the-lab-passcode"}, "auth_failed"
    elif case == "unknown host key":
        (tmp_path / "empty").write_text("")
        overrides, state = {"known_hosts": str(tmp_path / "empty")}, "host_key_unknown"
    else:
        other_key = csapi.fingerprint(base64.b64decode(
            healed.state["rooms"][other]["csapi_host_key"].split()[1]))
        overrides, state = {"known_hosts": None, "fingerprint": other_key}, "host_key_mismatch"
    before = len(sessions_logged(healed, room))
    result = csapi.read(target_for(healed, room, **overrides))
    assert result["state"] == state, result
    assert sessions_logged(healed, room)[before:] == []
