"""Run report for the Zoom Rooms toolkit: build, redact, render and store it.

Controller-side only (imported by plugins/callback/zoom_rooms_report.py, never by a module).
The first part is pure: plain data in, plain data or text out, unit-tested without
Ansible. The last part ("Files") is the only code that touches the disk.

The report contract is in docs/design.md ("Report"); docs/report.schema.json is
its JSON Schema and docs/reports.md explains it for readers.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import secrets
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_url import redact_urls_in_text
from jinja2 import Environment, FileSystemLoader, StrictUndefined

STATUSES: tuple[str, ...] = ("healthy", "fixed", "needs_attention", "failed", "unreachable")
# How the run ended: every room handled, stopped by the input checks before any room was touched, or
# interrupted (Ctrl-C, SIGTERM, a cancelled AWX job) with the rooms recorded so far.
OUTCOMES: tuple[str, ...] = ("completed", "stopped_by_input_checks", "interrupted")
FAILING_STATUSES = frozenset({"needs_attention", "failed", "unreachable"})
# Worst first: the order a reader triages in, used to sort rooms by status.
STATUS_TRIAGE_ORDER: tuple[str, ...] = ("failed", "unreachable", "needs_attention", "fixed", "healthy")
MODES: tuple[str, ...] = ("diagnose", "plan", "apply", "evidence", "update")
SEVERITY_ORDER: tuple[str, ...] = ("critical", "high", "medium", "low", "info")

REDACTED = "<redacted>"
RUN_ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z-[A-Za-z0-9_.-]+$")
LATEST_LINK = "latest"

ROOM_UNREACHABLE_NEXT_STEP = (
    "Check the room computer is powered on and reachable from the control node over SSH "
    "(macOS/Linux) or WinRM (Windows): address, port, credentials and any firewall in between."
)

_TEMPLATE_NAME = "zoom_rooms_report.html.j2"


# --------------------------------------------------------------------------- redaction

# Words that make a key (or a "key=value" in free text) secret. Matched per word of the key,
# so "bypass" or "passed" are not secrets but "ansible_password" and "apiKey" are.
_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "passphrase", "secret", "token", "authorization", "apikey",
     "cookie", "credential", "credentials"}
)
_SECRET_WORD_PAIRS = frozenset(
    {("api", "key"), ("private", "key"), ("access", "key"), ("client", "secret"), ("activation", "code")}
)
# A key ending in one of these describes a secret (its age, whether it is set, where it lives)
# and is kept: "password_set", "token_expiry", "activation_code_age_days".
_SECRET_METADATA_SUFFIXES = frozenset(
    {"set", "present", "configured", "expired", "expires", "expiry", "age", "days", "valid",
     "length", "type", "source", "file", "path", "env", "var", "name"}
)

# `user:password@host` without a scheme; a span holding `://` belongs to a URL, which
# zoom_room_url.redact_urls_in_text has parsed already.
_BARE_USERINFO = re.compile(r"(?<![\w.%+/:-])(?P<user>[\w.%+-]+):(?!//)(?![^\s@\"']*://)(?P<password>[^\s@\"']+)@(?=[\w.-])")
_SECRET_TEXT_WORDS = (r"(?:password|passwd|passphrase|passcode|secret|token|api[_-]?key|private[_-]?key"
                      r"|activation[_-]?code)")
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)(?P<key>\b[\w.-]*?" + _SECRET_TEXT_WORDS + r"[\"']?)"
    r"(?P<sep>[ \t]*[:=][ \t]*)"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s\"',;&]+)"
)
_AUTHORIZATION = re.compile(
    r"(?i)(?P<key>\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?)"
    r"(?:(?P<scheme>bearer|basic|digest|negotiate|ntlm)[ \t]+)?(?P<value>[^\s\"',;]+)"
)
# An MSI verbose log (msiexec /l*v) names a property's values in quotes after its name: "PROPERTY CHANGE:
# Adding TOKEN property. Its value is 'v'." / "Modifying X property. Its current value is 'a'. Its new value: 'b'."
_INSTALLER_PROPERTY = re.compile(r"(?i)\b(?:adding|modifying|deleting)\s+[\w.]*?" + _SECRET_TEXT_WORDS
                                 + r"[\w.]*\s+property\.[^\r\n]*")
_QUOTED = re.compile(r"'[^'\r\n]*'")
# A Zoom join link's `pwd` query value is the meeting passcode in encoded form (devforum.zoom.us/t/3363).
_URL_PASSCODE = re.compile(r"(?i)(?P<key>[?&]pwd=)(?P<value>[^&\s\"'#<>]+)")
_BEARER = re.compile(r"(?i)\b(?P<scheme>bearer)[ \t]+(?!<redacted>)[A-Za-z0-9._~+/=-]{8,}")


def _key_words(key: str) -> list[str]:
    """Split a key into lower-case words: "ansible_password" / "apiKey" / "X-Auth-Token"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    return [word for word in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if word]


def is_secret_key(key: object) -> bool:
    """True when a mapping key names a secret (its value must never be written)."""
    if not isinstance(key, str):
        return False
    words = _key_words(key)
    if not words or (len(words) > 1 and words[-1] in _SECRET_METADATA_SUFFIXES):
        return False
    if any(word in _SECRET_WORDS for word in words):
        return True
    return any(pair in _SECRET_WORD_PAIRS for pair in pairwise(words))


def redact_text(text: str) -> str:
    """Remove credentials from free text: URL userinfo, key=value secrets (passcodes and activation codes
    too), a join link's `pwd`, an MSI log's secret properties, Authorization headers."""
    text = redact_urls_in_text(text, REDACTED)
    text = _BARE_USERINFO.sub(f"{REDACTED}@", text)
    text = _AUTHORIZATION.sub(
        lambda m: f"{m['key']}{m['scheme'] + ' ' if m['scheme'] else ''}{REDACTED}", text
    )
    text = _SECRET_ASSIGNMENT.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)
    text = _URL_PASSCODE.sub(lambda m: f"{m['key']}{REDACTED}", text)
    text = _INSTALLER_PROPERTY.sub(lambda m: _QUOTED.sub(f"'{REDACTED}'", m.group(0)), text)
    return _BEARER.sub(lambda m: f"{m['scheme']} {REDACTED}", text)


def _redact_secret_value(value: Any) -> Any:
    """Everything under a secret key goes, except values that cannot hold one (None, booleans)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Mapping):
        return {key: _redact_secret_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_secret_value(item) for item in value]
    return REDACTED


def redact(obj: Any) -> Any:
    """Return a copy of obj with secret-looking keys' values and credentials in strings removed."""
    if isinstance(obj, Mapping):
        return {
            key: _redact_secret_value(value) if is_secret_key(key) else redact(value)
            for key, value in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [redact(item) for item in obj]
    if isinstance(obj, str):
        return redact_text(obj)
    return obj


# --------------------------------------------------------------------------- room data


def merge_room_report(current: Mapping[str, Any] | None, update: Mapping[str, Any]) -> dict[str, Any]:
    """Shallow merge of one zoom_room_report set_fact into what was captured before; later wins."""
    merged = dict(current or {})
    merged.update(update)
    return merged


def room_unreachable_finding(message: str) -> dict[str, Any]:
    return {
        "code": "room_unreachable",
        "severity": "critical",
        "summary": "Ansible could not connect to the room computer.",
        "evidence": redact_text(message or "unreachable (no message)"),
        "next_step": ROOM_UNREACHABLE_NEXT_STEP,
    }


def has_final_status(room: Mapping[str, Any] | None) -> bool:
    return bool(room) and room.get("status") in STATUSES


def mark_unreachable(room: Mapping[str, Any] | None, message: str, task: str = "") -> dict[str, Any]:
    """Record an unreachable event: the room is unreachable, whatever status an earlier step gave it.

    A room whose connection died mid-run is counted unreachable, with the room_unreachable finding
    only: what an earlier step found is kept apart in `findings_before_unreachable` (it may no longer
    hold), what was planned and changed stays listed, and the event is in `errors` with its task.
    """
    marked = add_room_error(room, "unreachable", task, message) if has_final_status(room) else dict(room or {})
    earlier = [f for f in marked.get("findings") or [] if _finding_code(f) != "room_unreachable"]
    if earlier:
        marked["findings_before_unreachable"] = earlier
    marked["findings"] = [room_unreachable_finding(message)]
    marked["status"] = "unreachable"
    return marked


def add_room_error(room: Mapping[str, Any] | None, kind: str, task: str, message: str) -> dict[str, Any]:
    """Append {"kind", "task", "msg"} to the room's "errors" list (kept apart from the findings)."""
    updated = dict(room or {})
    errors = list(updated.get("errors") or [])
    errors.append({"kind": kind, "task": task, "msg": redact_text(message or "")})
    updated["errors"] = errors
    return updated


def _finding_code(finding: Any) -> str:
    if isinstance(finding, Mapping):
        return str(finding.get("code") or "")
    return str(finding)


def normalize_finding(finding: Any) -> dict[str, Any]:
    """Every finding gets the five contract keys; a bare string is taken as its code."""
    source = finding if isinstance(finding, Mapping) else {"code": str(finding)}
    normal = {
        "code": str(source.get("code") or "unknown"),
        "severity": str(source.get("severity") or "unknown"),
        "summary": str(source.get("summary") or ""),
        "evidence": source.get("evidence"),
        "next_step": str(source.get("next_step") or ""),
    }
    extras = {key: value for key, value in source.items() if key not in normal}
    return {**normal, **extras}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def as_bool(value: Any) -> bool:
    """A flag as a playbook may send it: true/false, or "yes"/"True"/"1" from a template."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)


def normalize_verify(verify: Any) -> dict[str, Any]:
    if isinstance(verify, (bool, str)):
        return {"passed": as_bool(verify), "findings": []}
    source = verify if isinstance(verify, Mapping) else {}
    passed = source.get("passed")
    return {
        **source,
        "passed": None if passed is None or passed == "" else as_bool(passed),
        "findings": [normalize_finding(f) for f in _as_list(source.get("findings"))],
    }


def normalize_room(raw: Mapping[str, Any], platform_hint: str | None = None) -> dict[str, Any]:
    """Fill the contract keys of one room with safe defaults and settle its status."""
    room = dict(raw)
    errors = _as_list(room.get("errors"))
    status = room.get("status")
    if status not in STATUSES:
        if status is not None:
            errors.append({"kind": "invalid_status", "task": "",
                           "msg": f"status {status!r} is not one of {', '.join(STATUSES)}"})
        elif not errors:
            errors.append({"kind": "no_status", "task": "", "msg": "the playbook set no status for this room"})
        status = "needs_attention"
    normal = {
        "platform": str(room.get("platform") or platform_hint or "unknown"),
        "status": status,
        "findings": [normalize_finding(f) for f in _as_list(room.get("findings"))],
        "planned": _as_list(room.get("planned")),
        "changed": _as_list(room.get("changed")),
        "verify": normalize_verify(room.get("verify")),
        "rolled_back": as_bool(room.get("rolled_back", False)),
        "errors": errors,
    }
    # Contract keys first (readable JSON), then whatever else the playbook sent (site, facts_before, ...).
    return {**normal, **{key: value for key, value in room.items() if key not in normal}}


def resolve_mode(run_data: Mapping[str, Any], check_mode: bool) -> str:
    """The playbook's zoom_rooms_run.mode wins, but a run under --check never reports "apply"."""
    mode = run_data.get("mode")
    if mode not in MODES:
        mode = "apply"
    if check_mode and mode == "apply":
        return "plan"
    return mode


def run_outcome(run_data: Mapping[str, Any], interrupted: bool) -> str:
    """interrupted wins; a run whose input checks found errors (zoom_rooms_run.input_errors) stopped there."""
    if interrupted:
        return "interrupted"
    if run_data.get("input_errors"):
        return "stopped_by_input_checks"
    return "completed"


def natural_key(name: str) -> list[Any]:
    """Sort "room-2" before "room-10"."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_report(
    *,
    run_id: str,
    playbook: str,
    started: datetime,
    finished: datetime,
    rooms: Mapping[str, Mapping[str, Any]],
    run_data: Mapping[str, Any] | None = None,
    check_mode: bool = False,
    platform_hints: Mapping[str, str] | None = None,
    run_errors: Sequence[Mapping[str, Any]] = (),
    interrupted: bool = False,
) -> dict[str, Any]:
    """The report.json document, redacted. rooms: inventory_hostname -> captured zoom_room_report."""
    extras = dict(run_data or {})
    hints = platform_hints or {}
    run = {
        "id": run_id,
        "playbook": playbook,
        "mode": resolve_mode(extras, check_mode),
        "started": iso_utc(started),
        "finished": iso_utc(finished),
        "check_mode": check_mode,
        "outcome": run_outcome(extras, interrupted),
    }
    run.update((key, value) for key, value in extras.items() if key not in run)
    if run_errors:
        run["errors"] = [*_as_list(extras.get("errors")), *run_errors]
    ordered = sorted(rooms, key=natural_key)
    report = {
        "run": run,
        "rooms": {name: normalize_room(rooms[name], hints.get(name)) for name in ordered},
    }
    return redact(report)


# --------------------------------------------------------------------------- summaries


def summarize(report: Mapping[str, Any]) -> dict[str, int]:
    """Rooms per status, every status present (zero when none)."""
    counts = Counter(room.get("status") for room in report.get("rooms", {}).values())
    return {status: counts.get(status, 0) for status in STATUSES}


def room_codes(room: Mapping[str, Any]) -> list[str]:
    """Finding codes of a room, then the ones verify still saw, without repeats."""
    verify = room.get("verify") or {}
    codes = [_finding_code(f) for f in [*room.get("findings", []), *verify.get("findings", [])]]
    return list(dict.fromkeys(code for code in codes if code))


def rooms_needing_attention(report: Mapping[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(room, status, codes) of every room that is not healthy, worst status first."""
    rank = {status: index for index, status in enumerate(STATUS_TRIAGE_ORDER)}
    rows = [
        (name, room["status"], room_codes(room))
        for name, room in report.get("rooms", {}).items()
        if room.get("status") != "healthy"
    ]
    return sorted(rows, key=lambda row: (rank.get(row[1], 0), natural_key(row[0])))


def finding_frequency(report: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(code, rooms with it), most frequent first."""
    counts = Counter(code for room in report.get("rooms", {}).values() for code in room_codes(room))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def duration_seconds(run: Mapping[str, Any]) -> float:
    try:
        started = datetime.strptime(run["started"], "%Y-%m-%dT%H:%M:%SZ")
        finished = datetime.strptime(run["finished"], "%Y-%m-%dT%H:%M:%SZ")
    except (KeyError, TypeError, ValueError):
        return 0.0
    return max((finished - started).total_seconds(), 0.0)


def terminal_summary(report: Mapping[str, Any], location: str, limit: int = 40) -> list[str]:
    """Lines printed at the end of a run: counts, the rooms that are not healthy, where the report is."""
    run = report["run"]
    counts = summarize(report)
    lines = [
        f"Zoom Rooms report {run['id']} ({run['playbook']}, mode {run['mode']}): "
        f"{sum(counts.values())} rooms",
        "  " + "  ".join(f"{status}={count}" for status, count in counts.items()),
    ]
    problems = rooms_needing_attention(report)
    width = max((len(name) for name, _unused, _unused in problems[:limit]), default=0)
    for name, status, codes in problems[:limit]:
        lines.append(f"  {name:<{width}}  {status:<15}  {', '.join(codes) or '-'}")
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more (see the report)")
    lines.append(f"  report: {location}")
    return lines


# --------------------------------------------------------------------------- HTML

_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def pretty(value: Any) -> str:
    """A value as a person reads it: strings as they are, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _diff_text(before: Any, after: Any, before_header: str = "before", after_header: str = "after") -> str:
    lines = difflib.unified_diff(
        pretty(before).splitlines(), pretty(after).splitlines(), before_header, after_header, lineterm=""
    )
    return "\n".join(lines)


def diff_texts(diff: Any) -> list[str]:
    """Ansible-style diff(s) ({"before","after",...} / {"prepared"} / str / list of those) as text."""
    if isinstance(diff, str):
        return [diff] if diff else []
    if isinstance(diff, (list, tuple)):
        return [text for item in diff for text in diff_texts(item)]
    if not isinstance(diff, Mapping):
        return []
    if diff.get("prepared"):
        return [str(diff["prepared"])]
    if "before" in diff or "after" in diff:
        text = _diff_text(diff.get("before", ""), diff.get("after", ""),
                          str(diff.get("before_header") or "before"), str(diff.get("after_header") or "after"))
        return [text] if text else []
    return []


_CHANGE_TITLE_KEYS = ("summary", "name", "task", "what", "change", "action", "description")


def change_view(item: Any) -> dict[str, Any]:
    """How one planned/changed entry is shown: a title, diffs, and the remaining details."""
    if not isinstance(item, Mapping):
        return {"title": pretty(item), "diffs": [], "details": None}
    title_key = next((key for key in _CHANGE_TITLE_KEYS if item.get(key)), None)
    diffs = diff_texts(item.get("diff"))
    used = {title_key, "diff"}
    if not diffs and ("before" in item or "after" in item):
        diffs = [_diff_text(item.get("before", ""), item.get("after", ""))]
        used |= {"before", "after"}
    rest = {key: value for key, value in item.items() if key not in used}
    return {
        "title": str(item[title_key]) if title_key else "change",
        "diffs": [text for text in diffs if text],
        "details": pretty(rest) if rest else None,
    }


def diff_line_class(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return "ctx"


def room_view(name: str, room: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the template shows for one room, computed here so the template only lays out."""
    verify = room.get("verify") or {}
    severity_rank = {severity: index for index, severity in enumerate(SEVERITY_ORDER)}
    findings = sorted(room.get("findings", []), key=lambda f: severity_rank.get(f.get("severity"), 99))
    return {
        "name": name,
        "room": room,
        "site": str(room.get("site") or ""),
        "codes": room_codes(room),
        "findings": findings,
        "verify_findings": verify.get("findings", []),
        "verify_passed": verify.get("passed"),
        "planned": [change_view(item) for item in room.get("planned", [])],
        "changed": [change_view(item) for item in room.get("changed", [])],
        "errors": [error_line(error) for error in room.get("errors", [])],
        "rollback": [step for step in room.get("rollback") or [] if isinstance(step, Mapping)],
        "status_rank": STATUS_TRIAGE_ORDER.index(room["status"]) if room.get("status") in STATUSES else 0,
        # What the room's app said over ZR-CSAPI (docs/zoom-csapi.md), then the room's facts.
        "facts": {("ZR-CSAPI" if key == "csapi" else key): pretty(room[key])
                  for key in ("csapi", "facts_before", "facts_after") if room.get(key)},
    }


def chart_bars(counts: Mapping[str, int], width: int = 260) -> list[dict[str, Any]]:
    """One horizontal bar per status for the inline SVG chart."""
    biggest = max(counts.values(), default=0) or 1
    return [
        {"status": status, "count": count, "y": index * 26, "width": round(width * count / biggest)}
        for index, (status, count) in enumerate(counts.items())
    ]


_RUN_HEADER_KEYS = ("id", "playbook", "mode", "started", "finished", "check_mode", "errors")


def _run_error_line(error: Any) -> str:
    if isinstance(error, Mapping) and error.get("host"):
        return f"{error['host']}: {error_line(error)}"
    return error_line(error)


def html_context(report: Mapping[str, Any]) -> dict[str, Any]:
    run = report["run"]
    counts = summarize(report)
    rooms = sorted((room_view(name, room) for name, room in report.get("rooms", {}).items()),
                   key=lambda view: (view["status_rank"], natural_key(view["name"])))
    return {
        "run": run,
        "run_extras": {key: pretty(value) for key, value in run.items() if key not in _RUN_HEADER_KEYS},
        "run_errors": [_run_error_line(error) for error in run.get("errors", [])],
        "duration": duration_seconds(run),
        "counts": counts,
        "total": sum(counts.values()),
        "bars": chart_bars(counts),
        "statuses": STATUSES,
        "sites": sorted({view["site"] for view in rooms if view["site"]}, key=natural_key),
        "frequency": finding_frequency(report),
        "rooms": rooms,
    }


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).resolve().parent)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pretty"] = pretty
    env.filters["diff_class"] = diff_line_class
    return env


def render_html(report: Mapping[str, Any], nonce: str | None = None) -> str:
    """report.html: one self-contained page (inline CSS/JS, strict CSP, every value escaped)."""
    template = _environment().get_template(_TEMPLATE_NAME)
    return template.render(nonce=nonce or secrets.token_urlsafe(16), **html_context(report))


# --------------------------------------------------------------------------- JUnit


def _xml_safe(text: Any) -> str:
    return _XML_INVALID.sub("\ufffd", str(text))


def error_line(error: Any) -> str:
    """One room error as a line: "task_failed in task 'x': message"."""
    if not isinstance(error, Mapping):
        return pretty(error)
    where = f" in task '{error['task']}'" if error.get("task") else ""
    return f"{error.get('kind') or 'error'}{where}: {error.get('msg', '')}"


def failure_text(room: Mapping[str, Any]) -> str:
    """The body of a room's <failure>: its findings, what verify still saw, and errors."""
    lines = [f"status: {room.get('status')}"]
    for finding in room.get("findings", []):
        lines.append(f"[{finding.get('severity')}] {finding.get('code')}: {finding.get('summary')}")
        if finding.get("next_step"):
            lines.append(f"  next step: {finding['next_step']}")
        if finding.get("evidence") not in (None, "", [], {}):
            evidence = pretty(finding["evidence"]).replace("\n", "\n    ")
            lines.append(f"  evidence: {evidence}")
    verify = room.get("verify") or {}
    if verify.get("passed") is False:
        codes = [_finding_code(f) for f in verify.get("findings", [])]
        lines.append(f"verify failed; still present: {', '.join(codes) or '-'}")
    for step in room.get("rollback") or []:
        if isinstance(step, Mapping):
            state = "restored" if step.get("restored") else "NOT restored"
            lines.append(f"rollback {step.get('layer')}: {state}" + (f" ({step['msg']})" if step.get("msg") else ""))
    if room.get("rolled_back"):
        lines.append("rolled back to the state found before the change")
    for error in room.get("errors", []):
        lines.append(f"error: {error_line(error)}")
    return "\n".join(lines)


def _junit_testcase(name: str, room: Mapping[str, Any]) -> ET.Element:
    case = ET.Element("testcase", classname=_xml_safe(f"zoom_rooms.{room.get('platform')}"),
                      name=_xml_safe(name), time="0")
    if room.get("status") in FAILING_STATUSES:
        failure = ET.SubElement(case, "failure", message=_xml_safe(", ".join(room_codes(room)) or room["status"]),
                                type=_xml_safe(room["status"]))
        failure.text = _xml_safe(failure_text(room))
    elif room.get("errors"):
        system_err = ET.SubElement(case, "system-err")
        system_err.text = _xml_safe("\n".join(error_line(error) for error in room["errors"]))
    return case


def run_problems(run: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(kind, text) of what went wrong for the run as a whole: it did not complete, the Zoom API could
    not be read, or a task failed on a host that is not a room (a probe)."""
    problems = []
    outcome = run.get("outcome", "completed")
    if outcome != "completed":
        detail = "; ".join(str(error) for error in _as_list(run.get("input_errors")))
        problems.append((outcome, f"the run {outcome.replace('_', ' ')}" + (f": {detail}" if detail else "")))
    if run.get("api_error"):
        problems.append(("api_error", str(run["api_error"])))
    problems.extend(("run_error", _run_error_line(error)) for error in run.get("errors", []))
    return problems


def _junit_run_testcase(run: Mapping[str, Any]) -> ET.Element | None:
    """A failing testcase "run" when the run itself had problems, so CI does not see all-pass."""
    problems = run_problems(run)
    if not problems:
        return None
    case = ET.Element("testcase", classname="zoom_rooms.run", name="run", time="0")
    failure = ET.SubElement(case, "failure", message=_xml_safe(", ".join(dict.fromkeys(k for k, _unused in problems))),
                            type=_xml_safe(problems[0][0]))
    failure.text = _xml_safe("\n".join(f"{kind}: {text}" for kind, text in problems))
    return case


def render_junit(report: Mapping[str, Any]) -> str:
    """junit.xml: <testsuites> with one <testsuite name="zoom-rooms.<playbook>">, one testcase per room,
    and a failing testcase "run" when the run did not complete, the Zoom API failed or a probe failed."""
    run = report["run"]
    rooms = report.get("rooms", {})
    run_case = _junit_run_testcase(run)
    failures = sum(1 for room in rooms.values() if room.get("status") in FAILING_STATUSES) + (run_case is not None)
    elapsed = f"{duration_seconds(run):.3f}"
    totals = {"tests": str(len(rooms) + (run_case is not None)), "failures": str(failures), "errors": "0"}
    suites = ET.Element("testsuites", name="zoom-rooms", time=elapsed, **totals)
    suite = ET.SubElement(
        suites, "testsuite", name=_xml_safe(f"zoom-rooms.{run['playbook']}"), skipped="0", time=elapsed,
        timestamp=str(run["started"]).rstrip("Z"), id=_xml_safe(run["id"]), **totals,
    )
    properties = ET.SubElement(suite, "properties")
    for key in ("id", "playbook", "mode", "started", "finished"):
        ET.SubElement(properties, "property", name=f"run.{key}", value=_xml_safe(run.get(key, "")))
    if run_case is not None:
        suite.append(run_case)
    for name, room in rooms.items():
        suite.append(_junit_testcase(name, room))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def render_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"


# --------------------------------------------------------------------------- run ids


def playbook_short_name(playbook_path: str) -> str:
    """"playbooks/remediate.yml" -> "remediate"; safe for a directory name."""
    stem = Path(playbook_path or "run").name
    stem = re.sub(r"\.ya?ml$", "", stem)
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.") or "run"


def make_run_id(started: datetime, playbook: str) -> str:
    """Sortable: UTC timestamp first. Uniqueness on disk comes from create_run_dir."""
    return f"{started.astimezone(UTC):%Y%m%dT%H%M%SZ}-{playbook_short_name(playbook)}"


def run_id_candidates(run_id: str) -> Iterable[str]:
    yield run_id
    for suffix in range(2, 1000):
        yield f"{run_id}-{suffix}"


# --------------------------------------------------------------------------- files (the only I/O)


def create_run_dir(base: Path, run_id: str) -> Path:
    """mkdir base/<run_id>, or <run_id>-2, -3, ... when that run id is taken (never reuses one)."""
    base.mkdir(parents=True, exist_ok=True)
    for candidate in run_id_candidates(run_id):
        try:
            (base / candidate).mkdir()
        except FileExistsError:
            continue
        return base / candidate
    raise FileExistsError(f"no free run directory for {run_id} under {base}")


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, text: str) -> None:
    """Write a temp file next to path and rename it over path: readers never see half a file."""
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp_name, 0o666 & ~_current_umask())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def point_latest(base: Path, run_dir: Path) -> Path:
    """base/latest -> <run_dir name> (relative), swapped atomically."""
    link = base / LATEST_LINK
    temp = base / f".{LATEST_LINK}.{os.getpid()}.{secrets.token_hex(4)}"
    os.symlink(run_dir.name, temp)
    try:
        os.replace(temp, link)
    except OSError:
        temp.unlink(missing_ok=True)
        raise
    return link


def run_dirs(base: Path) -> list[Path]:
    """Run directories this toolkit wrote under base, oldest first (run ids sort by time)."""
    if not base.is_dir():
        return []
    found = [
        entry for entry in base.iterdir()
        if RUN_ID_PATTERN.match(entry.name) and entry.is_dir() and not entry.is_symlink()
        and (entry / "report.json").is_file()
    ]
    return sorted(found, key=lambda entry: entry.name)


def prune_runs(base: Path, keep: int, protect: Iterable[str] = ()) -> list[Path]:
    """Delete run directories beyond the newest `keep` (keep <= 0 keeps all). Returns what went."""
    if keep <= 0:
        return []
    protected = set(protect)
    latest = base / LATEST_LINK
    if latest.is_symlink():
        protected.add(os.readlink(latest))
    removed = []
    for entry in run_dirs(base)[:-keep]:
        if entry.name in protected:
            continue
        shutil.rmtree(entry)
        removed.append(entry)
    return removed


def write_report(base: Path, report: Mapping[str, Any], keep: int) -> Path:
    """Write report.json/html/junit.xml into a new run dir, point latest at it, prune. Returns the dir."""
    report = redact(report)  # build_report already did; a report from elsewhere gets it here
    run_dir = create_run_dir(base, str(report["run"]["id"]))
    if run_dir.name != report["run"]["id"]:
        report = {**report, "run": {**report["run"], "id": run_dir.name}}
    # report.json last: a run dir counts as complete (and prunable) once it exists.
    write_atomic(run_dir / "report.html", render_html(report))
    write_atomic(run_dir / "junit.xml", render_junit(report))
    write_atomic(run_dir / "report.json", render_json(report))
    point_latest(base, run_dir)
    prune_runs(base, keep, protect={run_dir.name})
    return run_dir
