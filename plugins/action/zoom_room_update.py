"""Action plugin zoom_room_update: update_versions.yml's per-room steps, as one action.

step=plan reads the room's facts, findings and Zoom API record (set by zoom_room_diagnose) and plans
what to ask Zoom; step=record reads back the wave's answers (version change, restart, new code);
step=report judges the re-read and builds the room's report entry. The decisions are the pure
functions of plugins/plugin_utils/zoom_room_update.py; this only moves data. Documented in
plugins/modules/zoom_room_update.py.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping

from ansible.plugins.action import ActionBase
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils import zoom_room_update as update

ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    "step": {"type": "str", "required": True, "choices": ["check", "plan", "record", "report"]},
    "version_action": {"type": "str", "default": "upgrade"},
    "version_timeout": {"type": "raw", "default": 900},
    "poll_interval": {"type": "raw", "default": 15},
    "min_version": {"type": "str", "default": ""},
    "restart_unresponsive": {"type": "bool", "default": False},
    "regenerate_activation_codes": {"type": "bool", "default": False},
    "versions": {"type": "dict"},
    "restarts": {"type": "dict"},
    "new_code_room_ids": {"type": "list", "elements": "str", "default": []},
}


def room_read(facts: Mapping[str, Any]) -> Dict[str, Any]:
    """The room's last read (zoom_room_diagnose's facts)."""
    return {"facts": facts.get("zoom_room_facts") or {}, "findings": list(facts.get("zoom_room_findings") or []),
            "api": facts.get("zoom_room_api")}


def record_step(state: Mapping[str, Any], args: Mapping[str, Any], check_mode: bool) -> Dict[str, Any]:
    """What Zoom did for the room, from the wave's registered answers (skipped tasks give none)."""
    room_plan = state["plan"]
    version = update.version_outcome(room_plan, (args["versions"] or {}).get("outcomes"), state["before"]["findings"])
    restart = update.restart_outcome(room_plan, (args["restarts"] or {}).get("restarts"), check_mode)
    new_code = update.regenerated(room_plan, args["new_code_room_ids"], check_mode)
    return {**state, "version": version, "restart": restart, "regenerated": new_code,
            "did_change": update.changed(version, restart, new_code)}


def report_step(state: Mapping[str, Any], read_now: Mapping[str, Any], room: str) -> Dict[str, Any]:
    """The room's report entry; `read_now` is the re-read when something changed."""
    after = read_now if state["did_change"] else None
    final_api = (after or state["before"])["api"]
    return update.updated_room_entry(state["plan"], state["before"], after, state["version"], state["restart"],
                                     state["regenerated"], update.controllers_to_update(room, final_api))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # plain data on the control node
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: Dict[str, Any] | None = None) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _unused, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        facts = task_vars.get("ansible_facts") or {}
        room = task_vars.get("inventory_hostname", "?")
        try:
            if args["step"] == "check":
                update.check_options(args["version_action"], args["version_timeout"], args["poll_interval"])
                return {**result, "changed": False}
            if args["step"] == "plan":
                before = room_read(facts)
                plan = update.plan(before["findings"], before["facts"], before["api"], args["version_action"],
                                   args["min_version"], args["restart_unresponsive"],
                                   args["regenerate_activation_codes"])
                state = {"plan": plan, "before": before}
            elif args["step"] == "record":
                state = record_step(facts["zoom_room_update"], args, bool(self._task.check_mode))
            else:
                entry = report_step(facts["zoom_room_update"], room_read(facts), room)
                return {**result, "changed": False, "status": entry["status"],
                        "ansible_facts": {"zoom_room_report": entry}}
        except (KeyError, ValueError) as error:
            return {**result, "failed": True, "msg": f"{room}: zoom_room_update step {args['step']}: {error}"}
        return {**result, "changed": False, "ansible_facts": {"zoom_room_update": state}}
