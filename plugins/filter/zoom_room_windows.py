"""Filters the Windows task files use; the logic lives in plugin_utils/zoom_room_windows.py."""

from __future__ import annotations

from typing import Any

from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_windows import (
    firewall_mismatches,
    firewall_review,
    proxy_backup,
    proxy_restore,
    proxy_settings,
    proxy_target,
    windows_bypass,
    windows_facts,
)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "zoom_room_windows_facts": windows_facts,
            "zoom_room_windows_bypass": windows_bypass,
            "zoom_room_windows_proxy_target": proxy_target,
            "zoom_room_windows_proxy_backup": proxy_backup,
            "zoom_room_windows_proxy_settings": proxy_settings,
            "zoom_room_windows_proxy_restore": proxy_restore,
            "zoom_room_windows_firewall_review": firewall_review,
            "zoom_room_windows_firewall_mismatches": firewall_mismatches,
        }
