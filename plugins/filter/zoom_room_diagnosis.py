"""Filters the playbooks use for diagnosis, remediation choice, verification, status, report entries and input
checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import yaml
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_findings import (
    diagnose,
    finding,
    fixes,
    room_status,
    verify,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_inputs import input_errors
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_inventory_view import (
    api_ids_known,
    api_ids_to_read,
    api_rooms_to_read,
    api_view,
    probe_of,
    probe_targets,
    probes_for,
    reachability_of,
    room_fact,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_report_entry import room_entry

ROLES = Path(__file__).resolve().parents[2] / "roles"


def role_options(role_names: Iterable[str]) -> dict[str, Any]:
    """The options of these roles' `main` entry points (roles/<name>/meta/argument_specs.yml), merged."""
    options: dict[str, Any] = {}
    for name in role_names:
        specs = yaml.safe_load((ROLES / name / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
        options.update(specs["argument_specs"]["main"].get("options") or {})
    return options


def rooms_needing_fixes(hostvars: Any, rooms: Iterable[str]) -> list[str]:
    """The rooms whose findings a host change fixes (zoom_room_fixes), in play order: remediate.yml's rollout."""
    return [room for room in rooms if fixes(room_fact(hostvars[room], "zoom_room_findings", None) or [])]


class FilterModule:
    def filters(self):
        return {
            "zoom_room_findings": diagnose,
            "zoom_room_finding": finding,
            "zoom_room_fixes": fixes,
            "zoom_room_verify": verify,
            "zoom_room_status": room_status,
            "zoom_room_report_entry": room_entry,
            "zoom_rooms_input_errors": input_errors,
            "zoom_rooms_role_options": role_options,
            "zoom_rooms_needing_fixes": rooms_needing_fixes,
            "zoom_room_probe_of": probe_of,
            "zoom_rooms_probe_targets": probe_targets,
            "zoom_rooms_probes_for": probes_for,
            "zoom_room_reachability_of": reachability_of,
            "zoom_room_api_view": api_view,
            "zoom_rooms_api_ids_to_read": api_ids_to_read,
            "zoom_rooms_api_rooms_to_read": api_rooms_to_read,
            "zoom_rooms_api_ids_known": api_ids_known,
        }
