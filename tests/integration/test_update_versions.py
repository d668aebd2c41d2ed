"""update_versions.yml against the lab and its Zoom API double: --check plans only, a real run
upgrades a room whose package really changes, Zoom's refusals 8001-8004 become per-room results,
controllers behind their room are listed for a person.

What is asserted is the world: the double's state and request counts, and dpkg on the room.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from test_api_findings import (
    CURRENT_API_VERSION,
    OLD_API_VERSION,
    OLD_CONTROLLER,
    computers,
    lab_api,
    requests_served,
    wait_for_api,
)

PACKAGE = "zoom-rooms-sim"
FAST = ("-e", "zoom_rooms_version_poll_interval=1", "-e", "zoom_rooms_version_timeout=60",
        "-e", "zoom_rooms_batch=100%")
REASON = "controllers cannot be updated remotely; update from the app store"


def dpkg_version(lab, room: str) -> str:
    return lab.sh(room, f"dpkg-query -W -f='${{Version}}' {PACKAGE}")


def update(lab, tmp_path, *args: str, check: bool = True) -> dict[str, Any]:
    reports = tmp_path / f"reports-{time.monotonic_ns()}"
    lab.playbook("playbooks/update_versions.yml", *FAST, *args, check=check,
                 extra_env={"ZOOM_ROOMS_REPORT_DIR": str(reports)})
    return json.loads((reports / "latest" / "report.json").read_text())


@pytest.fixture
def old_room(healed):
    """The first lab room runs the old package and the double has heard so; controllers current."""
    lab, room = healed, healed.rooms[0]
    wait_for_api(lab, lambda seen: all(seen.get(r, {}).get("app_version") == CURRENT_API_VERSION
                                       for r in lab.rooms), "every lab room at the current version")
    for other in lab.rooms:
        lab_api(lab, "POST", f"/_lab/rooms/{other}/controller", {"app_version": CURRENT_API_VERSION})
    lab.labctl("fault", room, "old_version")
    wait_for_api(lab, lambda seen: seen[room]["app_version"] == OLD_API_VERSION, f"{room} on the old version")
    yield lab, room
    for other in lab.rooms:
        lab_api(lab, "POST", f"/_lab/rooms/{other}/controller", {"app_version": CURRENT_API_VERSION})


def test_check_mode_plans_without_asking_zoom(old_room, tmp_path):
    lab, room = old_room
    before_requests, before_rooms = requests_served(lab), computers(lab)

    report = update(lab, tmp_path, "--check", "-l", room, "-e", "zoom_room_min_version=6.0")

    assert requests_served(lab).get("change_app_version", 0) == before_requests.get("change_app_version", 0)
    after_rooms = computers(lab)
    assert after_rooms[room]["_pending"] is None
    assert {r: d["app_version"] for r, d in after_rooms.items()} == \
        {r: d["app_version"] for r, d in before_rooms.items()}
    assert dpkg_version(lab, room) == "5.16.2.3001"
    entry = report["rooms"][room]
    assert report["run"]["mode"] == "update" and report["run"]["check_mode"] is True
    assert entry["version_update"]["outcome"] == "would_upgrade"
    assert entry["planned"] and entry["changed"] == []
    assert entry["status"] == "needs_attention"


def test_upgrade_changes_the_room_and_lists_controllers_behind(old_room, tmp_path):
    lab, room = old_room
    behind = lab.rooms[1]
    lab_api(lab, "POST", f"/_lab/rooms/{behind}/controller", {"app_version": OLD_CONTROLLER})
    before = requests_served(lab).get("change_app_version", 0)

    report = update(lab, tmp_path, "-l", f"{room},{behind}", "-e", "zoom_room_min_version=6.0")

    # The room really runs the new package, and the API shows the same version.
    assert dpkg_version(lab, room) == "6.2.0.4512"
    assert computers(lab)[room]["app_version"] == CURRENT_API_VERSION
    entry = report["rooms"][room]
    assert entry["status"] == "fixed", entry
    assert entry["version_update"]["outcome"] == "upgraded"
    assert entry["verify"]["passed"] is True and entry["verify"]["versions_agree"] is True
    # Only that room was asked to change: never a controller, never a room that is fine.
    assert requests_served(lab).get("change_app_version", 0) == before + 1
    assert report["rooms"][behind]["version_update"]["outcome"] == "not_requested"
    listed = report["run"]["controllers_to_update"]
    assert [(c["room"], c["version"], c["reason"]) for c in listed] == [(behind, "5.17.5.3410", REASON)]


# code -> (outcome, whether the action counts the room as where it was asked to be, the result's start)
REFUSALS = {
    8001: ("already_current_or_updating", True, "Zoom refused (8001)"),
    8002: ("no_downgrade_target", False, "Zoom refused (8002)"),
    8003: ("nothing_to_cancel", False, "Zoom refused (8003)"),
    8004: ("device_not_in_room", False, "Zoom refused (8004)"),
}


def test_each_refusal_is_a_clear_per_room_result(healed, tmp_path):
    lab = healed
    rooms = lab.rooms[:4]
    wait_for_api(lab, lambda seen: all(seen.get(r, {}).get("app_version") == CURRENT_API_VERSION for r in rooms),
                 "every lab room at the current version")
    for room, code in zip(rooms, REFUSALS, strict=True):
        lab_api(lab, "POST", f"/_lab/rooms/{room}/app_version_error", {"code": code})

    # A minimum above every lab version: each room asks for an upgrade, and Zoom refuses each.
    report = update(lab, tmp_path, "-e", "zoom_room_min_version=7.0")

    for room, (code, (outcome, ok, text)) in zip(rooms, REFUSALS.items(), strict=True):
        result = report["rooms"][room]["version_update"]
        assert (result["code"], result["outcome"], result["ok"]) == (code, outcome, ok), result
        assert result["result"].startswith(text), result
        assert report["rooms"][room]["status"] == "needs_attention"
        assert report["rooms"][room]["changed"] == []
        assert dpkg_version(lab, room) == "6.2.0.4512"
    raw = {r["name"]: r for r in lab_api(lab, "GET", "/_lab/rooms")["rooms"]}
    assert all(not raw[room].get("_forced_app_version_errors") for room in rooms)  # each refusal was used
