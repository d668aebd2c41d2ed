"""update_versions.yml's opt-in restart of an app that does not listen, through the Zoom API action
(zoom_rooms_api restart): one PATCH per room to the double, nothing under --check."""

from __future__ import annotations

from test_api_findings import requests_served
from test_update_versions import update

RESTART = ("-e", "zoom_rooms_restart_unresponsive=true")


def test_restart_is_asked_once_and_check_mode_asks_nothing(healed, tmp_path):
    lab, room = healed, healed.rooms[0]
    lab.labctl("fault", room, "not_listening")

    before = requests_served(lab).get("room_event", 0)
    planned = update(lab, tmp_path, "--check", "-l", room, *RESTART)
    assert requests_served(lab).get("room_event", 0) == before
    assert planned["rooms"][room]["restart"]["outcome"] == "would_restart"

    report = update(lab, tmp_path, "-l", room, *RESTART)
    assert requests_served(lab).get("room_event", 0) == before + 1
    entry = report["rooms"][room]
    assert entry["restart"]["outcome"] in ("restart_requested", "offline"), entry["restart"]
    assert [p["summary"] for p in entry["planned"]] == [
        "restart the Zoom Rooms app through the Zoom API (app_not_listening)"]
    assert entry["status"] == "needs_attention"  # the app is still down until the next diagnose sees it listen
