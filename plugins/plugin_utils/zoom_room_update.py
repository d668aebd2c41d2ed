"""update_versions.yml's decisions, as plain functions: plan a room's version change, read back what
Zoom did, verify, and the pieces of the room's report entry (built by zoom_room_report_entry).

The playbook only moves data between these and the Zoom API action (docs/zoom-api.md,
"update_versions.yml"). Room computers only: controllers behind their room are listed for a person,
because they cannot be updated remotely. Pure functions over plain data; unit-tested without Ansible.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_version import compare, parse_version
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_findings import major_minor, verify
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_report_entry import room_entry

VERSION_CODES = ("app_version_below_minimum", "app_version_drift")
UPDATE_ACTIONS = ("upgrade", "downgrade")
CONTROLLER_REASON = "controllers cannot be updated remotely; update from the app store"

# What each outcome of the Zoom API action means for the person reading the report.
OUTCOME_TEXT = {
    "upgraded": "the room app was upgraded and the new version shows in the Zoom API",
    "downgraded": "the room app was downgraded and the new version shows in the Zoom API",
    "requested": "Zoom accepted the request",
    "timeout": "Zoom accepted the request, but the new version did not show within zoom_rooms_version_timeout",
    "already_current_or_updating": "Zoom refused (8001): the room app is already on the newest version Zoom offers, "
                                   "or an update is in progress; nothing was changed",
    "no_downgrade_target": "Zoom refused (8002): there is no earlier version to downgrade to, or a downgrade is "
                           "already in progress; nothing was changed",
    "nothing_to_cancel": "Zoom refused (8003): no upgrade or downgrade is in progress; nothing was changed",
    "possibly_requested": "the first request got a server error and was retried; Zoom's answer to the retry "
                          "(8002/8003) is also what it gives once the first was carried out: it may have been "
                          "accepted, the re-read shows which",
    "device_not_in_room": "Zoom refused (8004): the room computer is not in this room any more (its devices "
                          "changed); nothing was changed, run again",
    "rejected": "Zoom refused the change",
    "error": "the Zoom API answered the request with an error (see the message); read the room again to see "
             "whether anything changed",
    "no_room_computer": "the Zoom API shows no room computer for this room; nothing was requested",
    "not_in_zoom_api": "the Zoom API has no room that matches this host (set zoom_room_id or name it as in Zoom)",
    "would_upgrade": "would upgrade the room app (check mode, nothing requested)",
    "would_downgrade": "would downgrade the room app (check mode, nothing requested)",
    "not_requested": "nothing was requested for the room app",
}


def check_options(action: str, timeout: Any, poll_interval: Any) -> None:
    """The run-wide options, checked before any room is read; ValueError names the variable."""
    if action not in UPDATE_ACTIONS:
        raise ValueError(f"zoom_rooms_version_action must be upgrade or downgrade (got {action})")
    for name, value in (("zoom_rooms_version_timeout", timeout), ("zoom_rooms_version_poll_interval", poll_interval)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = 0.0
        if number <= 0:
            raise ValueError(f"{name} must be a positive number of seconds (got {value})")


# --------------------------------------------------------------------------- plan

def room_version(api_fact: Mapping[str, Any] | None, facts: Mapping[str, Any] | None) -> str:
    """The room computer's version: the Zoom API's, else the room's own."""
    return str((api_fact or {}).get("room_computer_version") or ((facts or {}).get("app") or {}).get("version") or "")


def controllers_by_side(api_fact: Mapping[str, Any] | None, version: str) -> tuple[list[dict], list[dict]]:
    """(controllers ahead of the room, behind it) in major.minor; one without a readable version is neither."""
    if not version:
        return [], []
    room = parse_version(version)[:2]
    sides = [(c, major_minor(c.get("app_version"))) for c in (api_fact or {}).get("controllers") or []]
    ahead = [c for c, side in sides if side is not None and side > room]
    behind = [c for c, side in sides if side is not None and side < room]
    return ahead, behind


def plan(findings: list[Mapping[str, Any]], facts: Mapping[str, Any] | None, api_fact: Mapping[str, Any] | None,
         action: str, min_version: str = "", restart_unresponsive: bool = False,
         regenerate_codes: bool = False) -> dict[str, Any]:
    """What to ask Zoom for this room: the version change (upgrade below the minimum or behind the
    controllers; downgrade ahead of them), a restart of an app that does not listen, a new code."""
    codes = [f["code"] for f in findings]
    room_id = str((api_fact or {}).get("id") or "")
    version = room_version(api_fact, facts)
    ahead, behind = controllers_by_side(api_fact, version)
    below_min = "app_version_below_minimum" in codes
    wanted = (action == "upgrade" and (below_min or bool(ahead))) or (
        action == "downgrade" and not below_min and bool(behind))
    return {
        "wanted": wanted,
        "change": wanted and bool(room_id),
        "action": action,
        "reason": plan_reason(action, min_version, below_min, ahead, behind),
        "room_id": room_id,
        "room_version": version,
        "controllers_ahead": [c["app_version"] for c in ahead],
        "controllers_behind": [c["app_version"] for c in behind],
        "restart": bool(restart_unresponsive) and "app_not_listening" in codes and bool(room_id),
        "regenerate": bool(regenerate_codes) and "activation_code_expired" in codes and bool(room_id),
    }


def plan_reason(action: str, min_version: str, below_min: bool, ahead: list[dict], behind: list[dict]) -> str:
    parts = []
    if below_min:
        parts.append(f"below the minimum {min_version}")
    if ahead:
        parts.append(f"behind its controllers ({', '.join(c['app_version'] for c in ahead)})")
    if behind:
        then = "downgrade requested" if action == "downgrade" else "update the controllers from the app store"
        parts.append(f"ahead of its controllers ({', '.join(c['app_version'] for c in behind)}): {then}")
    if below_min and action == "downgrade":
        parts.append("below the minimum: not downgraded (run with zoom_rooms_version_action=upgrade)")
    return "; ".join(parts) or "no version change needed"


def room_ids(plans: Iterable[Mapping[str, Any] | None], key: str) -> list[str]:
    """The Zoom room ids of a wave whose plan asks for `key` (change, restart, regenerate), each once."""
    seen: list[str] = []
    for item in plans:
        if item and item.get(key) and item["room_id"] not in seen:
            seen.append(item["room_id"])
    return seen


# --------------------------------------------------------------------------- what Zoom did

def version_outcome(room_plan: Mapping[str, Any], outcomes: Mapping[str, Any] | None,
                    findings: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The room's version outcome: the API action's, not_in_zoom_api / not_requested, or None when
    the room had nothing to do with versions."""
    version = room_plan["room_version"]
    if room_plan["wanted"]:
        default = {"outcome": "not_in_zoom_api", "ok": False, "changed": False, "code": None, "message": "",
                   "before": version, "after": version}
        return dict((outcomes or {}).get(room_plan["room_id"]) or default)
    if any(f["code"] in VERSION_CODES for f in findings):
        return {"outcome": "not_requested", "ok": True, "changed": False, "code": None, "message": "",
                "before": version, "after": version}
    return None


def restart_outcome(room_plan: Mapping[str, Any], restarts: Mapping[str, Any] | None,
                    check_mode: bool) -> dict[str, Any] | None:
    if not room_plan["restart"]:
        return None
    if check_mode:
        return {"outcome": "would_restart", "status": None, "code": None, "message": "check mode, nothing requested"}
    answer = (restarts or {}).get(room_plan["room_id"]) or {"outcome": "rejected", "code": None,
                                                            "message": "no answer from the Zoom API"}
    return {"outcome": answer["outcome"], "status": answer.get("status"), "code": answer.get("code"),
            "message": answer.get("message", "")}


def regenerated(room_plan: Mapping[str, Any], new_code_room_ids: Iterable[str] | None, check_mode: bool) -> bool:
    """True when Zoom issued the room a new activation code (the code itself is never kept)."""
    return bool(room_plan["regenerate"]) and not check_mode and room_plan["room_id"] in set(new_code_room_ids or ())


def changed(version: Mapping[str, Any] | None, restart: Mapping[str, Any] | None, new_code: bool) -> bool:
    return bool((version or {}).get("changed")) or (restart or {}).get("outcome") == "restart_requested" or new_code


def result_text(version: Mapping[str, Any] | None, room_plan: Mapping[str, Any]) -> str:
    if version is None:
        return ""
    name = version["outcome"]
    text = OUTCOME_TEXT.get(name, name)
    if name in ("upgraded", "downgraded"):
        text += f" ({version['before']} -> {version['after']})"
    if version.get("message") and name in ("rejected", "timeout", "error"):
        text += f": {version['message']}"
    if name == "not_requested":
        text += f": {room_plan['reason']}"
    return text


def controllers_to_update(room: str, api_fact: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Controllers behind the room's final version, for a person (they cannot be updated remotely)."""
    version = str((api_fact or {}).get("room_computer_version") or "")
    _unused, behind = controllers_by_side(api_fact, version)
    return [{"room": room, "controller": c.get("hostname") or c.get("id"), "controller_id": c.get("id"),
             "version": c["app_version"], "room_version": version, "reason": CONTROLLER_REASON} for c in behind]


# --------------------------------------------------------------------------- verify and report

def verify_update(before: list[Mapping[str, Any]], after: list[Mapping[str, Any]], version: Mapping[str, Any] | None,
                  restart: Mapping[str, Any] | None, new_code: bool, facts_after: Mapping[str, Any] | None,
                  api_after: Mapping[str, Any] | None) -> dict[str, Any]:
    """The re-read after a change, judged by the same rule as remediate (zoom_room_findings.verify):
    the targeted findings gone and none new; plus the version's own checks (it showed in time, and the
    room's own version and the API's agree). A new activation code clears its finding: Zoom does not
    say when a code was issued, so the finding cannot be re-read."""
    after = [f for f in after if not (new_code and f["code"] == "activation_code_expired")]
    version_ok = bool((version or {}).get("changed")) and bool((version or {}).get("ok"))
    targeted = [c for c in VERSION_CODES if version_ok and c in {f["code"] for f in before}]
    judged = verify(list(before), list(after), [], targeted=targeted, include_api=True)
    agree = versions_agree(facts_after, api_after) if version_ok else None
    failed = (version or {}).get("outcome") == "timeout" or bool(judged["remaining_targeted"]) or agree is False
    still_down = (restart or {}).get("outcome") == "restart_requested" and any(
        f["code"] == "app_not_listening" for f in after)
    return {**judged, "passed": not failed and not judged["new"] and not still_down, "failed": failed,
            "versions_agree": agree}


def versions_agree(facts: Mapping[str, Any] | None, api_fact: Mapping[str, Any] | None) -> bool:
    mine = ((facts or {}).get("app") or {}).get("version") or ""
    theirs = (api_fact or {}).get("room_computer_version") or ""
    return bool(mine) and bool(theirs) and compare(mine, theirs) == 0


def planned_entries(room_plan: Mapping[str, Any]) -> list[dict[str, str]]:
    entries = []
    if room_plan["change"]:
        entries.append({"summary": f"{room_plan['action']} the room app {room_plan['room_version']} through the "
                                   f"Zoom API: {room_plan['reason']}"})
    if room_plan["restart"]:
        entries.append({"summary": "restart the Zoom Rooms app through the Zoom API (app_not_listening)"})
    if room_plan["regenerate"]:
        entries.append({"summary": "issue a new activation code through the Zoom API (activation_code_expired)"})
    return entries


def changed_entries(version: Mapping[str, Any] | None, restart: Mapping[str, Any] | None, new_code: bool,
                    text: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    if (version or {}).get("changed"):
        entries.append({"summary": f"room app: {text}", "before": version["before"], "after": version["after"]})
    if (restart or {}).get("outcome") == "restart_requested":
        entries.append({"summary": "restart requested through the Zoom API"})
    if new_code:
        entries.append({"summary": "new activation code issued (not shown)"})
    return entries


def updated_room_entry(room_plan: Mapping[str, Any], before: Mapping[str, Any], after: Mapping[str, Any] | None,
                       version: Mapping[str, Any] | None, restart: Mapping[str, Any] | None, new_code: bool,
                       controllers: list[dict[str, Any]]) -> dict[str, Any]:
    """The room's entry in the run report, by the one builder (zoom_room_report_entry.room_entry).
    `before` / `after`: {"facts", "findings", "api"} of the read before the change and of the re-read
    (None when nothing changed, so there was no re-read)."""
    did_change = changed(version, restart, new_code)
    text = result_text(version, room_plan)
    judged = None
    if did_change and after is not None:
        judged = verify_update(before["findings"], after["findings"], version, restart, new_code, after["facts"],
                               after["api"])
    return room_entry(
        before["findings"], before["facts"].get("platform"), "apply" if judged else "update",
        applied=["update_versions"] if judged else None,
        # Only a change that failed fails the room; new findings or a listener still down leave it needing attention.
        status_verify={"passed": not judged["failed"], "findings": judged["findings"]} if judged else None,
        verify=({"passed": judged["passed"], "findings": judged["findings"],
                 "remaining_targeted": judged["remaining_targeted"], "new": judged["new"],
                 "versions_agree": judged["versions_agree"]} if judged else None),
        planned=planned_entries(room_plan),
        changed=changed_entries(version, restart, new_code, text),
        version_update=None if version is None else {**version, "action": room_plan["action"],
                                                     "reason": room_plan["reason"], "result": text},
        restart=restart,
        activation_code_regenerated=new_code,
        controllers_to_update=controllers,
        facts_before=before["facts"],
        facts_after=after["facts"] if judged else None,
    )
