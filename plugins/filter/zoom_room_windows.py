"""Filters over the Windows collector's registered result; the logic lives in plugins/plugin_utils.

zoom_room_windows_facts                 -> the room facts schema (roles/zoom_room_diagnose/tasks/facts_windows.yml)
zoom_room_windows_firewall_mismatches   -> how our rule differs from what was asked (the molecule `windows`
                                           scenario's verify, which asserts on the host's own read)
The zoom_room_diagnose, zoom_room_firewall and zoom_room_proxy actions call the same functions directly.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_windows import windows_facts
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_windows_firewall import (
    firewall_mismatches,
)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"zoom_room_windows_facts": windows_facts,
                "zoom_room_windows_firewall_mismatches": firewall_mismatches}
