"""What the playbooks read from the inventory about rooms and probes, with DESIGN.md's defaults.

`hostvars` here is any mapping of host -> variables (Ansible's HostVars or a plain dict).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

DEFAULT_PORT = 9090


def probe_of(room_vars: Mapping[str, Any], groups: Mapping[str, list[str]]) -> str | None:
    """The probe that tests this room: `zoom_room_probe`, else the first host of zoom_room_probes."""
    probes = list(groups.get("zoom_room_probes", []))
    return room_vars.get("zoom_room_probe") or (probes[0] if probes else None)


def address_of(room: str, room_vars: Mapping[str, Any]) -> str:
    return room_vars.get("zoom_room_address") or room_vars.get("ansible_host") or room


def probe_targets(hostvars: Mapping[str, Mapping[str, Any]], groups: Mapping[str, list[str]], probe: str,
                  rooms: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Targets for one zoom_room_reachability call: the rooms this probe serves (of `rooms`, if given)."""
    appliances = set(groups.get("zoom_rooms_appliance", []))
    wanted = list(rooms) if rooms is not None else list(groups.get("zoom_rooms", []))
    targets = []
    for room in wanted:
        room_vars = hostvars[room]
        if room in appliances or probe_of(room_vars, groups) != probe:
            continue
        targets.append({"name": room, "address": address_of(room, room_vars),
                        "port": int(room_vars.get("zoom_room_controller_port") or DEFAULT_PORT)})
    return targets


def probes_for(hostvars: Mapping[str, Mapping[str, Any]], groups: Mapping[str, list[str]],
               rooms: Iterable[str]) -> list[str]:
    """The distinct probes that serve these rooms, in a stable order."""
    return sorted({probe for room in rooms if (probe := probe_of(hostvars[room], groups))})


def reachability_of(room: str, probe_results: Any) -> dict[str, Any] | None:
    """This room's entry in registered zoom_room_reachability results (one call, or a loop of calls)."""
    results = probe_results.get("results", [probe_results]) if isinstance(probe_results, Mapping) else []
    for result in results:
        entry = (result.get("reachability") or {}).get(room)
        if entry is not None:
            return entry
    return None


def api_view(room_vars: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Zoom API data of a room as the diagnosis reads it.

    Prefers the `zoom_room_api` fact (set by the zoom_room_diagnose role from one zoom_rooms_api
    call per batch, for any inventory), else the zoom_rooms inventory plugin's host vars. A fact
    that is null (the API is configured but has no such room) means no API data.
    """
    if "zoom_room_api" in room_vars:
        return _view_of_fact(room_vars.get("zoom_room_api"), room_vars)
    if not room_vars.get("zoom_room_id") and not room_vars.get("zoom_room_status"):
        return None
    view = {
        "room": {"status": room_vars.get("zoom_room_status")},
        "reported_ip": room_vars.get("zoom_room_reported_ip"),
        "room_computer_version": room_vars.get("zoom_room_app_version"),
        "controller_versions": list(room_vars.get("zoom_room_controller_versions") or []),
    }
    _add_activation(view, room_vars.get("zoom_room_activated", False),
                    room_vars.get("zoom_room_activation_code_issued_at"))
    return view


def _view_of_fact(fact: Any, room_vars: Mapping[str, Any]) -> dict[str, Any] | None:
    if not isinstance(fact, Mapping):
        return None
    view = {
        "room": {"status": (fact.get("room") or {}).get("status") or fact.get("status")},
        "reported_ip": fact.get("reported_ip"),
        "room_computer_version": fact.get("room_computer_version"),
        "controller_versions": list(fact.get("controller_versions") or []),
    }
    # The API does not say when a code was issued: the fact carries it when something knew it.
    issued = fact.get("activation_code_issued_at") or room_vars.get("zoom_room_activation_code_issued_at")
    activated = fact.get("activated")
    if activated is None:
        activated = room_vars.get("zoom_room_activated", False)
    _add_activation(view, activated, issued)
    return view


def _add_activation(view: dict[str, Any], activated: Any, issued_at: Any) -> None:
    if issued_at:
        view["activated"] = bool(activated)
        view["activation_code_issued_at"] = issued_at
