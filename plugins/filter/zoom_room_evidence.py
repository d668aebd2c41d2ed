"""Filters of the zoom_room_evidence role: the evidence pack's documents, as pure functions.

Plain data in, plain data or text out; the role's tasks do the reading (zoom_room_log_tail) and
the writing (copy, community.general.archive). Everything a document holds passes through
redact() of the run report (plugins/plugin_utils/zoom_rooms_report.py), so a proxy URL's
user:password@, a key named password/secret/token or a bearer token never reaches the pack.
The pack's layout and fields are explained in docs/evidence.md.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import is_loopback
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_report import (
    natural_key,
    redact,
    redact_text,
)

SCHEMA = 1
CONTROLLER_TYPES = ("iPad", "Android tablet", "Windows touch panel", "unknown")
CONNECTION_TYPES = ("wired", "wifi", "unknown")
DEFAULT_WINDOW = timedelta(hours=24)
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
KB_FIREWALL = 'Zoom KB0065712, "Firewall Configuration for Zoom Rooms"'
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


# --------------------------------------------------------------------------- run-wide inputs


def parse_time(value: Any, name: str) -> datetime:
    """ISO 8601 -> aware UTC datetime. A time without an offset is taken as UTC."""
    text = str(value).strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name}: '{text}' is not an ISO 8601 time (for example 2026-03-01T09:30:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ISO_FORMAT)


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number > 0 else None


def evidence_settings(inputs: Mapping[str, Any], now: str,
                      rooms: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Check the run-wide inputs and each room's controller/connection type; settle the time window.

    inputs: error_text, error_code, window_start, window_end (empty: the 24 hours before now),
    log_max_bytes. rooms: room -> its variables. Returns {"errors": [...], "date", "collected_at",
    "error": {"text", "code"}, "window": {"start", "end"}, "log_max_bytes"}; errors name the variable
    (and the room).
    """
    errors: list[str] = []
    collected = parse_time(now, "now")

    text = str(inputs.get("error_text") or "").strip()
    if not text:
        errors.append("zoom_rooms_evidence_error_text: must not be empty (the error the controller shows)")
    code = _positive_int(inputs.get("error_code"))
    if code is None:
        errors.append(f"zoom_rooms_evidence_error_code: '{inputs.get('error_code')}' is not a positive number")

    end = start = None
    try:
        end = parse_time(inputs["window_end"], "zoom_rooms_evidence_window_end") if inputs.get("window_end") \
            else collected
    except ValueError as error:
        errors.append(str(error))
    try:
        if inputs.get("window_start"):
            start = parse_time(inputs["window_start"], "zoom_rooms_evidence_window_start")
        elif end is not None:
            start = end - DEFAULT_WINDOW
    except ValueError as error:
        errors.append(str(error))
    if start is not None and end is not None and start >= end:
        errors.append(f"zoom_rooms_evidence_window_start: {iso(start)} is not before "
                      f"zoom_rooms_evidence_window_end {iso(end)}")

    max_bytes = _positive_int(inputs.get("log_max_bytes"))
    if max_bytes is None:
        errors.append(f"zoom_rooms_evidence_log_max_bytes: '{inputs.get('log_max_bytes')}' is not a positive "
                      "number of bytes")

    for room in sorted(rooms or {}, key=natural_key):
        room_vars = rooms[room]
        controller = room_vars.get("zoom_room_controller_type", "unknown")
        if controller not in CONTROLLER_TYPES:
            errors.append(f"{room}: zoom_room_controller_type '{controller}' is not one of "
                          f"{', '.join(CONTROLLER_TYPES)}")
        connection = room_vars.get("zoom_room_connection_type", "unknown")
        if connection not in CONNECTION_TYPES:
            errors.append(f"{room}: zoom_room_connection_type '{connection}' is not one of "
                          f"{', '.join(CONNECTION_TYPES)}")

    return {
        "errors": [redact_text(message) for message in errors],
        "date": collected.strftime("%Y-%m-%d"),
        "collected_at": iso(collected),
        "error": {"text": redact_text(text), "code": code},
        "window": {"start": iso(start) if start else None, "end": iso(end) if end else None},
        "log_max_bytes": max_bytes,
        "dir": f"{str(inputs.get('base_dir') or 'evidence').rstrip('/')}/{collected.strftime('%Y-%m-%d')}",
    }


def pack_file_name(room: str) -> str:
    """A room name safe as a file name; a name that had to change gets a short hash (no collisions)."""
    safe = SAFE_NAME.sub("-", room).strip(".-") or "room"
    if safe == room:
        return room
    return f"{safe}-{hashlib.sha256(room.encode()).hexdigest()[:8]}"


# --------------------------------------------------------------------------- logs


def _log_file_name(path: str, taken: set[str]) -> str:
    """/var/log/app.log -> logs/var_log_app.log; C:\\Logs\\a.txt -> logs/C_Logs_a.txt."""
    stem = SAFE_NAME.sub("_", path.replace("\\", "/").strip("/")).strip("._") or "log"
    name, number = f"logs/{stem}", 2
    while name in taken:
        name, number = f"logs/{stem}.{number}", number + 1
    taken.add(name)
    return name


def _decode(content_b64: str) -> str:
    try:
        data = base64.b64decode(content_b64 or "", validate=True)
    except (binascii.Error, ValueError):
        return ""
    return decode_log_bytes(data)


def decode_log_bytes(data: bytes) -> str:
    """A log's bytes as text: UTF-16 where a BOM says so or every other byte is NUL, else UTF-8.

    Windows writes UTF-16LE logs (`msiexec /l*v`, Windows PowerShell 5.1 `>` and Out-File), and a tail cut
    after its first newline byte starts one byte into a character (`\n` is `0A 00`). Read as UTF-8 its text
    is letters between NULs, which no redaction pattern matches: a secret in it would reach the pack.
    """
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace")
    sample = data[:4096]
    evens, odds = sample[0::2], sample[1::2]
    if odds and evens:
        even_nuls, odd_nuls = evens.count(0) / len(evens), odds.count(0) / len(odds)
        if odd_nuls > 0.3 and even_nuls < 0.05:  # UTF-16LE from a character's start
            return data.decode("utf-16-le", errors="replace")
        if even_nuls > 0.3 and odd_nuls < 0.05:  # UTF-16LE cut one byte in (or UTF-16BE): skip that byte
            return data[1:].decode("utf-16-le", errors="replace")
    return data.decode("utf-8", errors="replace")


def _log_note(item: Mapping[str, Any]) -> str:
    status = item.get("status")
    if status == "collected":
        return "last bytes only (tail)" if item.get("truncated") else "whole file"
    if status == "missing":
        return "not found on the room (the app may log elsewhere, or never wrote this file)"
    if status == "empty_dir":
        return "folder exists but holds no file"
    return f"could not be read: {item.get('error') or status}"


def evidence_logs(tail: Mapping[str, Any] | None, requested: Sequence[str] | None,
                  platform: str | None = None) -> list[dict[str, Any]]:
    """The registered zoom_room_log_tail (or Windows PowerShell) result as pack entries, text redacted.

    Each entry: path, requested, status (collected | missing | unreadable | not_a_file | empty_dir |
    not_read), size, mtime, truncated, bytes (collected, after the partial first line was dropped),
    file (its name in the pack, collected only), text (redacted), note.
    """
    requested = [str(path) for path in requested or []]
    tail = tail or {}
    raw = tail.get("logs")
    if raw is None and isinstance(tail.get("result"), Mapping):  # ansible.windows.win_powershell
        raw = tail["result"].get("logs")
    if raw is None:
        if tail.get("failed") or tail.get("unreachable"):
            reason = redact_text(str(tail.get("msg") or "the log reader failed"))
        elif tail.get("skipped"):
            reason = "not read (no log path for this platform, or the room is known only to the Zoom API)"
        else:
            reason = "not read"
        return [{"path": path, "requested": path, "status": "not_read", "size": None, "mtime": None,
                 "truncated": False, "bytes": 0, "file": None, "text": None, "note": reason} for path in requested]
    taken: set[str] = set()
    entries = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        collected = item.get("status") == "collected"
        text = _decode(str(item.get("content_b64") or "")) if collected else None
        entries.append({
            "path": str(item.get("path") or ""),
            "requested": str(item.get("requested") or item.get("path") or ""),
            "status": str(item.get("status") or "unreadable"),
            "size": item.get("size"),
            "mtime": item.get("mtime"),
            "truncated": bool(item.get("truncated")),
            "bytes": len(base64.b64decode(item.get("content_b64") or "")) if collected else 0,
            "file": _log_file_name(str(item.get("path") or "log"), taken) if collected else None,
            "text": redact_text(text) if text is not None else None,
            "note": redact_text(_log_note(item)),
        })
    return entries


# --------------------------------------------------------------------------- addresses


def evidence_addresses(facts: Mapping[str, Any] | None, inventory: Mapping[str, Any]) -> dict[str, Any]:
    """Every address that matters for the controller path, each with an explicit loopback flag."""
    facts = facts or {}
    entries: list[dict[str, Any]] = []

    def add(role: str, source: str, address: Any, **extra: Any) -> None:
        if address in (None, ""):
            return
        entries.append({"role": role, "source": source, "address": str(address),
                        "loopback": is_loopback(address), **extra})

    add("controller_target", "inventory zoom_room_address: the address controllers use",
        inventory.get("zoom_room_address"))
    add("management", "inventory ansible_host: how Ansible reached the room", inventory.get("ansible_host"))
    add("reported_by_zoom", "Zoom API device ip_address (zoom_room_reported_ip)",
        inventory.get("zoom_room_reported_ip"))
    for item in facts.get("addresses") or []:
        if isinstance(item, Mapping):
            add("interface", f"room interface {item.get('interface') or '?'}", item.get("address"),
                interface=item.get("interface"), prefix=item.get("prefix"))
    listener = facts.get("listener") or {}
    for address in listener.get("addresses") or []:
        add("listener", f"the app's listener on TCP {facts.get('controller_port', 9090)}", address)

    warnings = []
    if any(e["loopback"] for e in entries if e["role"] == "reported_by_zoom"):
        warnings.append("LOOPBACK: the Zoom API reports this room's IP as 127.0.0.1 / loopback: a web proxy on the "
                        f"room is likely intercepting local traffic ({KB_FIREWALL}).")
    if any(e["loopback"] for e in entries if e["role"] == "controller_target"):
        warnings.append("LOOPBACK: zoom_room_address is a loopback address: controllers cannot reach the room there.")
    bound = [e for e in entries if e["role"] == "listener"]
    if bound and all(e["loopback"] for e in bound):
        warnings.append("LOOPBACK: the app listens on loopback only: controllers on the network cannot connect.")
    if facts and not any(e["role"] == "interface" for e in entries):
        warnings.append("The room reported no non-loopback address.")
    return {"entries": entries, "loopback_seen": any(e["loopback"] for e in entries), "warnings": warnings}


# --------------------------------------------------------------------------- the room's document


CONTROLLER_TYPE_BY_PLATFORM = {"ios": "iPad", "android": "Android tablet", "windows": "Windows touch panel"}


def zoom_api_view(inventory: Mapping[str, Any], api: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The room's Zoom API data, from the zoom_rooms inventory's host vars or the diagnose role's
    zoom_room_api fact (a static inventory with the API configured), whichever has it."""
    api = api or {}
    devices = list(inventory.get("zoom_room_devices") or [])
    controllers = list(api.get("controllers") or [d for d in devices if isinstance(d, Mapping)
                                                  and d.get("role") == "controller"])
    view = {
        "room_id": inventory.get("zoom_room_id") or api.get("id"),
        "name": inventory.get("zoom_room_name") or api.get("name"),
        "status": inventory.get("zoom_room_status") or (api.get("room") or {}).get("status"),
        "reported_ip": inventory.get("zoom_room_reported_ip") or api.get("reported_ip"),
        "room_computer_version": inventory.get("zoom_room_app_version") or api.get("room_computer_version"),
        "controller_versions": list(inventory.get("zoom_room_controller_versions") or api.get("controller_versions")
                                    or []),
        "controllers": controllers,
        "devices": devices,
    }
    return view if view["room_id"] or view["status"] or view["reported_ip"] else None


def controller_section(user_type: str | None, connection: str | None, api: Mapping[str, Any] | None
                       ) -> dict[str, Any]:
    """The controller as the user described it; the Zoom API fills the type when the user did not."""
    api = api or {}
    versions = list(api.get("controller_versions") or [])
    section = {"type": user_type or "unknown", "type_source": "variable zoom_room_controller_type",
               "connection_type": connection or "unknown", "versions": versions,
               "versions_source": "Zoom API" if versions else None,
               "devices": [{key: device.get(key) for key in ("type", "device_system", "app_version", "status",
                                                             "hostname", "ip_address")}
                           for device in api.get("controllers") or [] if isinstance(device, Mapping)]}
    api_types = {CONTROLLER_TYPE_BY_PLATFORM.get(str(device.get("platform"))) for device in api.get("controllers") or []
                 if isinstance(device, Mapping)}
    if section["type"] == "unknown" and len(api_types) == 1 and None not in api_types:
        section["type"] = api_types.pop()
        section["type_source"] = "Zoom API controller device_system"
    return section


def evidence_document(data: Mapping[str, Any]) -> dict[str, Any]:
    """evidence.json of one room, redacted.

    data: room, settings (evidence_settings), facts (docs/facts.md, or none for API-only rooms),
    findings, status, reachability, inventory (the room's inventory/API variables), api (the
    diagnose role's zoom_room_api fact, or none), logs (evidence_logs), controller_type,
    connection_type, check_mode.
    """
    settings = data.get("settings") or {}
    facts = data.get("facts") or None
    inventory = data.get("inventory") or {}
    api = zoom_api_view(inventory, data.get("api"))
    logs = [{key: value for key, value in entry.items() if key != "text"} for entry in data.get("logs") or []]
    controller = controller_section(data.get("controller_type"), data.get("connection_type"), api)
    notes = []
    if facts is None:
        notes.append("No room facts: the room is known only to the Zoom API (Ansible cannot log in to it) "
                     "or could not be read.")
    for error in (facts or {}).get("errors") or []:
        notes.append(f"room facts: {error}")
    for entry in logs:
        if entry["status"] != "collected":
            notes.append(f"log {entry['path']}: {entry['note']}")
    if not logs and facts is not None:
        notes.append(f"No log path is configured for the {facts.get('platform', 'unknown')} platform "
                     "(zoom_room_evidence_log_paths_*); Zoom documents none for Windows rooms.")
    if api is None:
        notes.append("No Zoom API data (neither the zoom_rooms inventory nor zoom_rooms_api_* settings): "
                     "controller versions and the IP Zoom sees are unknown.")
    elif not controller["versions"]:
        notes.append("Controller version unknown: the Zoom API lists no controller for this room.")

    document = {
        "schema": SCHEMA,
        "room": data.get("room"),
        "collected_at": settings.get("collected_at"),
        "check_mode": bool(data.get("check_mode")),
        "error": {**(settings.get("error") or {}), "window": settings.get("window")},
        "controller": controller,
        "room_computer": {
            "platform": (facts or {}).get("platform") or data.get("platform") or inventory.get("zoom_room_platform")
            or "unknown",
            "os": (facts or {}).get("os"),
            "hostname": (facts or {}).get("hostname"),
            "app": (facts or {}).get("app"),
            "app_version_zoom_api": (api or {}).get("room_computer_version"),
            "min_version": inventory.get("zoom_room_min_version") or None,
        },
        "zoom_api": api,
        "addresses": evidence_addresses(facts, {**inventory, "zoom_room_reported_ip": (api or {}).get("reported_ip")}),
        "controller_port": {
            "port": (facts or {}).get("controller_port") or inventory.get("zoom_room_controller_port") or 9090,
            "listener": (facts or {}).get("listener"),
            "reachability_from_controller_segment": data.get("reachability"),
            "controller_subnets": list(inventory.get("zoom_room_controller_subnets") or []),
        },
        "firewall": (facts or {}).get("firewall"),
        "proxy": (facts or {}).get("proxy"),
        "status": data.get("status"),
        "findings": list(data.get("findings") or []),
        "logs": logs,
        "notes": notes,
    }
    return redact(document)


def _md(value: Any) -> str:
    """A value in a Markdown table cell or line: no pipes, no newlines."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(item) for item in value) or "-"
    return str(value).replace("|", "\\|").replace("\n", " ")


def evidence_markdown(document: Mapping[str, Any]) -> str:
    """summary.md of one room: what a support engineer reads first."""
    error = document.get("error") or {}
    window = error.get("window") or {}
    controller = document.get("controller") or {}
    computer = document.get("room_computer") or {}
    app = computer.get("app") or {}
    os_info = computer.get("os") or {}
    port = document.get("controller_port") or {}
    listener = port.get("listener") or {}
    firewall = document.get("firewall") or {}
    proxy = document.get("proxy") or {}
    addresses = document.get("addresses") or {}
    lines = [
        f"# Zoom Rooms evidence: {_md(document.get('room'))}",
        "",
        f"- Error: {_md(error.get('text'))} (code {_md(error.get('code'))})",
        f"- Time window (UTC): {_md(window.get('start'))} to {_md(window.get('end'))}",
        f"- Collected: {_md(document.get('collected_at'))}; status {_md(document.get('status'))}",
        f"- Controller: {_md(controller.get('type'))} (from {_md(controller.get('type_source'))}), connected "
        f"{_md(controller.get('connection_type'))}; app versions {_md(controller.get('versions'))}",
    ]
    lines += [f"  - {_md(d.get('type'))}: {_md(d.get('device_system'))}, app {_md(d.get('app_version'))}, "
              f"{_md(d.get('status'))}" for d in controller.get("devices") or []]
    lines += [
        f"- Room computer: {_md(computer.get('platform'))}, {_md(os_info.get('name'))} {_md(os_info.get('version'))}",
        f"- Room app: {_md(app.get('name'))} {_md(app.get('version'))}"
        f" (Zoom API: {_md(computer.get('app_version_zoom_api'))})",
    ]
    api = document.get("zoom_api")
    if api:
        lines.append(f"- Zoom API: room {_md(api.get('name'))} ({_md(api.get('room_id'))}), status "
                     f"{_md(api.get('status'))}, reported IP {_md(api.get('reported_ip'))}")
    lines += ["", "## Addresses", ""]
    lines += [f"- {_md(entry['address'])}{'/' + str(entry['prefix']) if entry.get('prefix') else ''}"
              f"{' **LOOPBACK**' if entry['loopback'] else ''}: {_md(entry['source'])}"
              for entry in addresses.get("entries") or []] or ["- none known"]
    lines += [f"- {_md(warning)}" for warning in addresses.get("warnings") or []]
    reach = port.get("reachability_from_controller_segment") or {}
    lines += ["", f"## Controller port TCP {_md(port.get('port'))}", ""]
    if not listener and not firewall and not proxy:
        lines.append("- Not read: no room facts (see Notes).")
    lines += [
        f"- Listening: {_md(listener.get('listening'))} on {_md(listener.get('addresses'))}",
        f"- From the controller segment: {_md(reach.get('result') or reach.get('state') or reach or None)}",
        f"- Firewall: {_md(firewall.get('backend'))}, active {_md(firewall.get('active'))}, "
        f"block all {_md(firewall.get('block_all'))}",
    ]
    lines += [f"  - {_md(v.get('subnet'))}: {_md(v.get('verdict'))} ({_md(v.get('decided_by'))})"
              for v in firewall.get("verdicts") or [] if isinstance(v, Mapping)]
    servers = proxy.get("servers") or {}
    lines += [
        f"- Proxy: {_md(proxy.get('mode'))}; servers {_md([f'{k}={v}' for k, v in servers.items()])}; "
        f"PAC {_md(proxy.get('pac_url'))}; bypass {_md(proxy.get('bypass'))}; "
        f"bypass covers local {_md(proxy.get('bypass_covers_local'))}",
        "",
        "## Findings",
        "",
    ]
    lines += [f"- `{_md(f.get('code'))}` ({_md(f.get('severity'))}): {_md(f.get('summary'))}. "
              f"Next: {_md(f.get('next_step'))}"
              for f in document.get("findings") or [] if isinstance(f, Mapping)] or ["- none"]
    lines += ["", "## Logs", ""]
    lines += [f"- {_md(entry.get('path'))}: {_md(entry.get('status'))}"
              f"{' -> ' + entry['file'] if entry.get('file') else ''}; {_md(entry.get('note'))}"
              for entry in document.get("logs") or []] or ["- none configured"]
    if document.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {_md(note)}" for note in document["notes"]]
    lines += ["", "Secrets and proxy credentials are redacted (`<redacted>`). Full data: evidence.json.", ""]
    return redact_text("\n".join(lines))


# --------------------------------------------------------------------------- the index


def _finding_codes(findings: Any) -> list[str]:
    return [str(f.get("code")) if isinstance(f, Mapping) else str(f) for f in findings or []]


def index_entry(entry: Mapping[str, Any], report: Mapping[str, Any] | None) -> dict[str, Any]:
    """One room's row: the pack the room wrote (or its placeholder) and its status from the report."""
    report = report or {}
    row = {
        "status": report.get("status") or "needs_attention",
        "platform": entry.get("platform") or report.get("platform") or "unknown",
        "findings": _finding_codes(report.get("findings")),
        **{key: value for key, value in entry.items() if key not in ("status", "findings")},
    }
    if not row.get("archive") and row["status"] == "unreachable":
        row["note"] = "not collected: Ansible could not reach the room (see the finding room_unreachable)"
    return row


def evidence_index(hostvars: Mapping[str, Mapping[str, Any]], rooms: Sequence[str], settings: Mapping[str, Any],
                   previous: Any = None, updated: str | None = None) -> dict[str, Any]:
    """index.json of a date folder: this run's rooms over the rooms an earlier run that day indexed.

    A room is in this run when it has zoom_room_evidence_entry (prepare.yml sets a placeholder
    before anything can fail). A room this run could not pack keeps the archive an earlier run
    wrote, with a note.
    """
    if isinstance(previous, str):
        try:
            previous = json.loads(previous) if previous.strip() else {}
        except ValueError:
            previous = {}
    previous_rooms = dict(previous.get("rooms") or {}) if isinstance(previous, Mapping) else {}
    merged = dict(previous_rooms)
    for room in rooms:
        room_vars = hostvars.get(room) or {}
        entry = room_vars.get("zoom_room_evidence_entry")
        if not isinstance(entry, Mapping):
            continue
        row = index_entry(entry, room_vars.get("zoom_room_report"))
        earlier = previous_rooms.get(room) or {}
        if not row.get("archive") and earlier.get("archive"):
            row["note"] = "; ".join(filter(None, [
                row.get("note"), f"the archive is from the earlier run at {earlier.get('collected_at')}"]))
            for key in ("archive", "size", "sha256", "collected_at", "window"):
                row[key] = earlier.get(key)
        merged[room] = row
    return redact({
        "schema": SCHEMA,
        "date": settings.get("date"),
        "updated": updated or settings.get("collected_at"),
        "error": settings.get("error"),
        "window": settings.get("window"),
        "rooms": {room: merged[room] for room in sorted(merged, key=natural_key)},
    })


def evidence_index_markdown(index: Mapping[str, Any]) -> str:
    error = index.get("error") or {}
    window = index.get("window") or {}
    lines = [
        f"# Zoom Rooms evidence {_md(index.get('date'))}",
        "",
        f"Error: {_md(error.get('text'))} (code {_md(error.get('code'))}); "
        f"window {_md(window.get('start'))} to {_md(window.get('end'))} (UTC) as of the last run, "
        f"{_md(index.get('updated'))}; each pack records its own.",
        "",
        "| room | status | findings | archive | controller | loopback | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for room, entry in (index.get("rooms") or {}).items():
        controller = f"{entry.get('controller_type') or 'unknown'}, {entry.get('connection_type') or 'unknown'}"
        lines.append(
            f"| {_md(room)} | {_md(entry.get('status'))} | {_md(entry.get('findings'))} | {_md(entry.get('archive'))} "
            f"| {_md(controller)} | {'YES' if entry.get('loopback') else 'no'} | {_md(entry.get('note'))} |"
        )
    lines += ["", "Each archive holds summary.md (read first), evidence.json and logs/. See docs/evidence.md.", ""]
    return redact_text("\n".join(lines))


class FilterModule:
    def filters(self):
        return {
            "zoom_rooms_evidence_settings": evidence_settings,
            "zoom_room_evidence_file_name": pack_file_name,
            "zoom_room_evidence_logs": evidence_logs,
            "zoom_room_evidence_document": evidence_document,
            "zoom_room_evidence_markdown": evidence_markdown,
            "zoom_rooms_evidence_index": evidence_index,
            "zoom_rooms_evidence_index_markdown": evidence_index_markdown,
        }
