"""The filter update_versions.yml uses to gather a wave's plans: zoom_rooms_update_wave."""

from __future__ import annotations

from typing import Any, Iterable

from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_inventory_view import room_fact
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_update import room_ids

WAVE_KEYS = ("change", "restart", "regenerate", "controllers_to_update")


def update_wave(rooms: Iterable[str], hostvars: Any, what: str) -> list[Any]:
    """For the wave's rooms: the Zoom room ids whose plan asks for `what` (change, restart, regenerate),
    or every room's controllers to update (controllers_to_update), from the zoom_room_update facts."""
    if what not in WAVE_KEYS:
        raise ValueError(f"zoom_rooms_update_wave: '{what}' is not one of {', '.join(WAVE_KEYS)}")
    if what == "controllers_to_update":
        reports = [room_fact(hostvars[room], "zoom_room_report", None) or {} for room in rooms]
        return [controller for report in reports for controller in report.get("controllers_to_update") or []]
    states = [room_fact(hostvars[room], "zoom_room_update", None) or {} for room in rooms]
    return room_ids([state.get("plan") for state in states], what)


class FilterModule:
    def filters(self):
        return {"zoom_rooms_update_wave": update_wave}
