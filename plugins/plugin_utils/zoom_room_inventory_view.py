"""What the playbooks read from the inventory about rooms and probes, with the defaults of docs/design.md.

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


MISSING = object()  # room_fact(): the room has no such fact


def room_fact(room_vars: Mapping[str, Any], name: str, default: Any = MISSING) -> Any:
    """A fact the zoom_room_diagnose action set on the room: `ansible_facts[name]` (the project's
    ansible.cfg does not inject facts as top-level variables; ansible-core 2.20 deprecates that), else
    a top-level variable of that name. `default` when the room has neither.

    One lookup: reading `ansible_facts` through Ansible's hostvars templates all of the room's facts.
    """
    facts = room_vars.get("ansible_facts")
    if isinstance(facts, Mapping) and name in facts:
        return facts[name]
    return room_vars.get(name, default)


# The room variables api_view reads (the zoom_room_api fact, else the zoom_rooms inventory plugin's).
API_VIEW_KEYS = ("zoom_room_api", "zoom_room_id", "zoom_room_status", "zoom_room_reported_ip",
                 "zoom_room_app_version", "zoom_room_controller_versions", "zoom_room_activated",
                 "zoom_room_activation_code_issued_at")


def api_view(room_vars: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Zoom API data of a room as the diagnosis reads it, without this run's API read.

    Prefers the `zoom_room_api` fact an earlier read set (the zoom_room_diagnose action sets it
    from the batch's read and uses that read first), else the zoom_rooms inventory plugin's host
    vars. A fact that is null (the API is configured but has no such room) means no API data.
    """
    fact = room_fact(room_vars, "zoom_room_api")
    if fact is not MISSING:
        return api_view_of_fact(fact, room_vars)
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


def api_view_of_fact(fact: Any, room_vars: Mapping[str, Any]) -> dict[str, Any] | None:
    if not isinstance(fact, Mapping):
        return None
    view = {
        "room": {"status": (fact.get("room") or {}).get("status") or fact.get("status")},
        "reported_ip": fact.get("reported_ip"),
        "room_computer_version": fact.get("room_computer_version"),
        "controller_versions": list(fact.get("controller_versions") or []),
    }
    controllers = controller_addresses(fact.get("controllers"))
    if controllers:
        view["controllers"] = controllers
    if fact.get("read_error"):
        view["read_error"] = fact["read_error"]
    # The API does not say when a code was issued: the fact carries it when something knew it.
    issued = fact.get("activation_code_issued_at") or room_vars.get("zoom_room_activation_code_issued_at")
    activated = fact.get("activated")
    if activated is None:
        activated = room_vars.get("zoom_room_activated", False)
    _add_activation(view, activated, issued)
    return view


def controller_addresses(controllers: Any) -> list[dict[str, Any]]:
    """Where the fact's controllers (normalised API devices) say they are, for the controller segment check;
    a controller that gave no address says nothing of it."""
    return [{"address": d["ip_address"], "status": d.get("status"), "hostname": d.get("hostname"),
             "device_system": d.get("device_system")}
            for d in (controllers if isinstance(controllers, list) else [])
            if isinstance(d, Mapping) and d.get("ip_address")]


def _add_activation(view: dict[str, Any], activated: Any, issued_at: Any) -> None:
    if issued_at:
        view["activated"] = bool(activated)
        view["activation_code_issued_at"] = issued_at


# --------------------------------------------------------------------------- the batch's Zoom API read
# The zoom_room_diagnose role reads the API once per batch (zoom_rooms_api, run_once), then these
# functions match the rooms of the batch to the API's rooms: by zoom_room_id, else by name
# (zoom_room_name, else the inventory hostname) when exactly one API room has that name.

def api_ids_to_read(batch: Iterable[Mapping[str, Any]], known_ids: Mapping[str, str]) -> list[str] | None:
    """The API room ids to read for the batch, or None to read the whole account.

    A room's id comes from the inventory (zoom_room_id), from an earlier read of this room (its
    zoom_room_api fact; null = the API has no such room) or from an earlier batch's match
    (known_ids, hostname -> id, '' = the API has no such room). One room with no known id means
    matching by name, which needs the whole account.
    """
    to_read = api_rooms_to_read(batch, known_ids)
    return to_read["room_ids"] if to_read["room_names"] is None else None


def api_rooms_to_read(batch: Iterable[Mapping[str, Any]], known_ids: Mapping[str, str]) -> dict[str, list[str] | None]:
    """The batch's part of the account, as zoom_rooms_api's room_ids and room_names.

    Every room's id known: those ids, room_names None (api_ids_to_read gives the ids alone).
    Otherwise the known ids and the names the other rooms match by (_match_name): the read lists the
    account and reads the devices of those rooms only, every room of such a name included, so a name
    two API rooms share still matches neither. Not the whole account's devices: a run limited to a
    few rooms of a large account reads a few rooms.
    """
    ids: list[str] = []
    names: list[str] = []
    for room_vars in batch:
        room_id = _known_id(room_vars, known_ids)
        if room_id is None:
            name = _match_name(room_vars)
            if name not in names:
                names.append(name)
        elif room_id and room_id not in ids:
            ids.append(room_id)
    return {"room_ids": ids, "room_names": names or None}


def _known_id(room_vars: Mapping[str, Any], known_ids: Mapping[str, str]) -> str | None:
    """The room's API id if anything knows it ('' = the API has no such room), else None."""
    return next((found for found in (room_vars.get("zoom_room_id") or None, _earlier_read_id(room_vars),
                                     known_ids.get(room_vars["inventory_hostname"])) if found is not None), None)


def _earlier_read_id(room_vars: Mapping[str, Any]) -> str | None:
    fact = room_fact(room_vars, "zoom_room_api")
    if fact is MISSING:
        return None
    return (fact or {}).get("id") or ""


def _api_rooms_by_name(api_rooms: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for record in api_rooms.values():
        by_name.setdefault((record.get("room") or {}).get("name"), []).append(record)
    return by_name


def _match_name(room_vars: Mapping[str, Any]) -> str:
    """The API room name a room with no known id matches by: zoom_room_name, else its inventory hostname."""
    return room_vars.get("zoom_room_name") or room_vars["inventory_hostname"]


def _api_record_of(room_vars: Mapping[str, Any], api_rooms: Mapping[str, Any],
                   by_name: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any] | None:
    room_id = room_vars.get("zoom_room_id")
    if room_id:
        return api_rooms.get(room_id)
    matches = by_name.get(_match_name(room_vars)) or []
    return matches[0] if len(matches) == 1 else None


def api_fact_of(record: Mapping[str, Any] | None, room_vars: Mapping[str, Any]) -> dict[str, Any] | None:
    """A room's zoom_room_api fact from its API record: status, reported IP, versions, controllers.

    Never the activation code: the API does not give it here. Whether the room is activated and
    when its code was issued come from the inventory, when something there knew it.
    """
    if record is None:
        return None
    room = record.get("room") or {}
    fact = {"id": room.get("id"), "name": room.get("name"),
            "room": {"status": room.get("status"), "location_id": room.get("location_id") or ""},
            "platform": record.get("platform"),
            "room_computer_id": record.get("room_computer_id"),
            "reported_ip": record.get("reported_ip"),
            "room_computer_version": record.get("room_computer_version"),
            "controller_versions": list(record.get("controller_versions") or []),
            "controllers": [device for device in record.get("devices") or [] if device.get("role") == "controller"]}
    issued_at = room_vars.get("zoom_room_activation_code_issued_at") or ""
    if issued_at:
        fact.update(activated=bool(room_vars.get("zoom_room_activated", False)), activation_code_issued_at=issued_at)
    return fact


# The room's own values the matching reads (any other host variable is not needed).
API_IDENTITY_KEYS = ("inventory_hostname", "zoom_room_id", "zoom_room_name", "zoom_room_activated",
                     "zoom_room_activation_code_issued_at")


def api_identity(room_vars: Mapping[str, Any]) -> dict[str, Any]:
    """What api_fact_for needs of a room's variables, small enough to pass to a task."""
    return {key: room_vars[key] for key in API_IDENTITY_KEYS if key in room_vars}


def api_fact_for(api_rooms: Mapping[str, Any], room_vars: Mapping[str, Any]) -> dict[str, Any] | None:
    """The room's zoom_room_api fact from an API read (None: the API has no such room, or several of its name)."""
    return api_fact_of(_api_record_of(room_vars, api_rooms, _api_rooms_by_name(api_rooms)), room_vars)


def api_ids_known(known_ids: Mapping[str, str], api_rooms: Mapping[str, Any], batch: Iterable[Mapping[str, Any]],
                  play: Iterable[Mapping[str, Any]], read_whole_account: bool) -> dict[str, str]:
    """What later batches need not look up again: hostname -> API room id ('' = no such room).

    Adds the batch's matches (each room's zoom_room_api fact), and after a read of the whole
    account the rooms of the play that can only be matched by their inventory hostname (no
    zoom_room_id, no zoom_room_name).
    """
    known = dict(known_ids)
    if read_whole_account:
        by_name = _api_rooms_by_name(api_rooms)
        for room_vars in play:
            if room_vars.get("zoom_room_id") is None and room_vars.get("zoom_room_name") is None:
                record = _api_record_of(room_vars, api_rooms, by_name)
                known[room_vars["inventory_hostname"]] = (record or {}).get("room", {}).get("id") or ""
    for room_vars in batch:
        room_id = _earlier_read_id(room_vars)
        if room_id is not None:
            known[room_vars["inventory_hostname"]] = room_id
    return known
