"""Action plugin zoom_room_diagnose: one room's facts and findings in one task.

Runs the zoom_room_facts module on the room (one round trip) unless the facts are given (Windows
rooms read theirs with ansible.windows modules), then diagnoses on the controller with the pure
function the zoom_room_findings filter uses, and sets the results as the room's facts. One task
result per room instead of a module call and three set_facts: task results per room are the cost
that grows with a fleet (docs/performance.md). Documented in plugins/modules/zoom_room_diagnose.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping

import ansible.module_utils

# Controller-side plugins do not see the project module_utils by default: add them.
ansible.module_utils.__path__.append(str(Path(__file__).resolve().parents[1] / "module_utils"))

from ansible.module_utils.zoom_room_findings import diagnose, room_status  # noqa: E402
from ansible.plugins.action import ActionBase  # noqa: E402

FACTS_MODULE = "zoom_room_facts"
# Options passed through to zoom_room_facts as they are.
FACTS_MODULE_OPTIONS = ("controller_port", "controller_subnets", "package_name", "app_path")

ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    "controller_port": {"type": "int", "default": 9090},
    "controller_subnets": {"type": "list", "elements": "str", "default": []},
    "package_name": {"type": "str", "default": "zoom-rooms"},
    "app_path": {"type": "str", "default": "/Applications/ZoomPresence.app"},
    "facts": {"type": "dict"},
    "address": {"type": "str", "default": ""},
    "min_version": {"type": "str", "default": ""},
    "reachability": {"type": "dict"},
    "api": {"type": "dict"},
    "api_facts": {"type": "dict"},
    "report": {"type": "bool", "default": False},
}


# --------------------------------------------------------------------------- pure parts

def diagnosis_policy(args: Mapping[str, Any]) -> Dict[str, Any]:
    """The policy the findings rules read, from the task's options."""
    return {"controller_port": int(args["controller_port"]),
            "controller_subnets": list(args["controller_subnets"]),
            "address": args["address"],
            "min_version": args["min_version"]}


def room_results(facts: Dict[str, Any], findings: List[Dict[str, Any]], room: str,
                 api_facts: Mapping[str, Any] | None, report: bool) -> Dict[str, Any]:
    """The facts the task sets on the room.

    zoom_room_api only when the batch's API read ran (api_facts given): null then means the API
    has no such room, and a missing fact means the API was not read (docs/zoom-api.md).
    zoom_room_report (for the report callback) only when the play asks, as diagnose.yml does;
    remediate.yml records the room itself after the change.
    """
    results: Dict[str, Any] = {"zoom_room_facts": facts, "zoom_room_findings": findings}
    if api_facts is not None:
        results["zoom_room_api"] = api_facts.get(room)
    if report:
        results["zoom_room_report"] = {"platform": facts.get("platform"),
                                       "status": room_status(findings, "diagnose"),
                                       "findings": findings,
                                       "facts_before": facts}
    return results


# --------------------------------------------------------------------------- the action

class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True  # the facts module runs on the room

    def run(self, tmp: Any = None, task_vars: Dict[str, Any] | None = None) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        facts = args["facts"]
        if facts is None:
            read = self._read_facts(args, task_vars)
            if read.get("failed") or not isinstance(read.get("facts"), dict):
                read.setdefault("msg", f"{FACTS_MODULE} returned no facts")
                return {**result, **read, "failed": True}
            facts = read["facts"]
        findings = diagnose(facts, args["reachability"], args["api"], diagnosis_policy(args))
        room = str(task_vars.get("inventory_hostname", ""))
        result.update(changed=False, findings=[finding["code"] for finding in findings],
                      ansible_facts=room_results(facts, findings, room, args["api_facts"], args["report"]))
        return result

    def _read_facts(self, args: Mapping[str, Any], task_vars: Dict[str, Any]) -> Dict[str, Any]:
        module_args = {name: args[name] for name in FACTS_MODULE_OPTIONS}
        try:
            return self._execute_module(module_name=FACTS_MODULE, module_args=module_args, task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
