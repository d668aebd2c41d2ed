"""Action plugin zoom_room_diagnose: one room's facts and findings in one task.

Reads the room in one round trip (the zoom_room_facts module; on Windows rooms the facts script
through win_powershell), matches it in the batch's background Zoom API read, diagnoses it on the
controller with the pure function the zoom_room_findings filter uses, and sets the results as the
room's facts. One task result per room where there were a dozen: task results per room are the cost
that grows with a fleet (docs/performance.md). Documented in plugins/modules/zoom_room_diagnose.py.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Tuple

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_host import read_file
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_api import wait_for_room
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_action import collector_args
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_csapi import (
    TASK_OPTIONS,
    Target,
    relay_vars_of,
    room_evidence,
    task_target,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_csapi import (
    read as read_csapi,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_findings import diagnose
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_inventory_view import (
    API_IDENTITY_KEYS,
    API_VIEW_KEYS,
    api_fact_for,
    api_identity,
    api_view,
    api_view_of_fact,
    reachability_of,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_lean import lean_interpreter, run_lean
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_report_entry import room_entry
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_windows import windows_facts

FACTS_MODULE = "zoomrooms.remediation.zoom_room_facts"
FACTS_LEAN_ENTRY = "zoom_room_read.lean_facts"  # the module's room_facts, as a lean payload
WINDOWS_MODULE = "ansible.windows.win_powershell"
# Options passed through to zoom_room_facts as they are.
FACTS_MODULE_OPTIONS = ("controller_port", "controller_subnets", "package_name", "app_path")

# An option the task leaves out is read from the room's variable of the same meaning, so the role's task
# has no arguments: each "{{ variable }}" argument costs a Jinja compile for every room and option in
# ansible-core 2.19, which caches no compiled template; a variable that holds no template costs none here.
OPTION_VARIABLES: Dict[str, str] = {
    "controller_port": "zoom_room_controller_port",
    "controller_subnets": "zoom_room_controller_subnets",
    "package_name": "zoom_room_package_name",
    "app_path": "zoom_room_macos_app_path",
    "address": "zoom_room_address",
    "min_version": "zoom_room_min_version",
    "windows_proxy_user": "zoom_room_windows_proxy_user",
    "windows_app_paths": "zoom_room_windows_app_paths",
    "api_timeout": "zoom_room_diagnose_api_timeout",
    "report": "zoom_room_diagnose_report",
    "lean": "zoom_room_diagnose_lean",
}
PROBE_RESULTS_VARIABLE = "zoom_room_diagnose_reachability"  # the role's registered zoom_room_reachability loop
API_JOB_VARIABLE = "zoom_room_diagnose_api_job"  # the role's registered background zoom_rooms_api task
PLATFORM_VARIABLE = "zoom_room_platform"
WINDOWS_SCRIPT_FILE = "windows_facts.ps1"  # in the role's files/
CSAPI_VARIABLE = "zoom_room_csapi"
# csapi's options from the room's variables, when zoom_room_csapi is true.
CSAPI_OPTION_VARIABLES: Dict[str, str] = {
    "port": "zoom_room_csapi_port",
    "passcode": "zoom_room_csapi_passcode",
    "known_hosts": "zoom_room_csapi_known_hosts",
    "host_key_fingerprint": "zoom_room_csapi_host_key_fingerprint",
    "timeout": "zoom_room_csapi_timeout",
    "via": "zoom_room_csapi_via",
}
ROOM_NAME_VARIABLE = "zoom_room_name"

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
    "api_job": {"type": "dict"},
    "api_room": {"type": "dict"},
    "api_timeout": {"type": "float", "default": 900.0},
    "report": {"type": "bool", "default": False},
    "windows_script": {"type": "str"},
    "windows_proxy_user": {"type": "str", "default": ""},
    "windows_app_paths": {"type": "list", "elements": "str", "default": []},
    "lean": {"type": "bool", "default": True},
    # Read the app over ZR-CSAPI too (the zoom_room_csapi task's options); omitted: not read.
    "csapi": {"type": "dict", "options": TASK_OPTIONS},
}


# --------------------------------------------------------------------------- pure parts

def windows_script_args(args: Mapping[str, Any]) -> Dict[str, Any]:
    """win_powershell's options for the collector (files/windows_facts.ps1), as tasks/facts_windows.yml gives."""
    return collector_args(args["windows_script"], args["controller_port"], proxy_user=args["windows_proxy_user"],
                          app_paths=args["windows_app_paths"])


def diagnosis_policy(args: Mapping[str, Any]) -> Dict[str, Any]:
    """The policy the findings rules read, from the task's options."""
    return {"controller_port": int(args["controller_port"]),
            "controller_subnets": list(args["controller_subnets"]),
            "address": args["address"],
            "min_version": args["min_version"]}


def options_from_room(given: Mapping[str, Any], room_vars: Mapping[str, Any], hostname: str) -> Dict[str, Any]:
    """The options the task left out, from the room's variables (templated): OPTION_VARIABLES, this room's
    entry of the probe results, the background API read when it started, and csapi when zoom_room_csapi is
    true. An option whose variable is undefined is left to its default. windows_script is the action's own
    (a file of the role)."""
    options = {option: room_vars[variable] for option, variable in OPTION_VARIABLES.items()
               if option not in given and variable in room_vars}
    if "reachability" not in given:
        entry = reachability_of(hostname, room_vars.get(PROBE_RESULTS_VARIABLE) or {})
        if entry is not None:
            options["reachability"] = entry
    job = room_vars.get(API_JOB_VARIABLE)
    if "api_job" not in given and isinstance(job, Mapping) and job.get("results_file"):
        options["api_job"] = job
    if "csapi" not in given and boolean(room_vars.get(CSAPI_VARIABLE, False), strict=False):
        options["csapi"] = csapi_options(room_vars, hostname, options.get("address", given.get("address", "")))
    return options


def csapi_options(room_vars: Mapping[str, Any], hostname: str, address: str) -> Dict[str, Any]:
    """The csapi option of a room with zoom_room_csapi true, from its zoom_room_csapi_* variables; empty values
    (a fingerprint or relay not set) are left out."""
    options = {option: room_vars[variable] for option, variable in CSAPI_OPTION_VARIABLES.items()
               if room_vars.get(variable) not in (None, "")}
    return {**options, "address": address or hostname,
            "expected_room_name": room_vars.get(ROOM_NAME_VARIABLE) or hostname}


NO_API_READ = object()  # the API was not read in this run (not configured, or the read failed)


def api_side(job_result_data: Dict[str, Any] | None, room: Mapping[str, Any],
             fallback_view: Dict[str, Any] | None) -> Tuple[Dict[str, Any] | None, Any]:
    """(the API view the findings read, the room's zoom_room_api fact or NO_API_READ).

    A read that failed or did not finish leaves the view the inventory gave (the zoom_rooms
    inventory plugin's host vars, or an earlier read's fact) with its `read_error`, as does a room
    whose own device read failed (a 5xx after the retries): the findings then say the room's cloud
    data is missing (api_data_missing) instead of leaving it silently healthy.
    """
    if job_result_data is None:
        return fallback_view, NO_API_READ
    if job_result_data.get("failed") or "rooms" not in job_result_data:
        error = str(job_result_data.get("msg") or "the Zoom API read failed")
        return {**(fallback_view or {}), "read_error": error}, NO_API_READ
    fact = api_fact_for(job_result_data["rooms"], room)
    device_error = (job_result_data.get("errors") or {}).get((fact or {}).get("id"))
    if device_error:
        fact = {**fact, "read_error": f"devices: {device_error}"}
    return api_view_of_fact(fact, room), fact


def room_results(facts: Dict[str, Any], findings: List[Dict[str, Any]], api_fact: Any,
                 report: bool, csapi: Dict[str, Any] | None = None) -> Dict[str, Any]:
    """The facts the task sets on the room.

    zoom_room_api only when this run read the API: null then means the API has no such room, and
    a missing fact means the API was not read (docs/zoom-api.md). zoom_room_report (for the report
    callback) only when the play asks, as diagnose.yml does; remediate.yml records the rooms it
    changes itself. zoom_room_csapi (and the entry's csapi) only when ZR-CSAPI was read.
    """
    results: Dict[str, Any] = {"zoom_room_facts": facts, "zoom_room_findings": findings}
    if api_fact is not NO_API_READ:
        results["zoom_room_api"] = api_fact
    if csapi is not None:
        results["zoom_room_csapi"] = csapi
    if report:
        with_csapi = {"csapi": csapi} if csapi is not None else {}
        results["zoom_room_report"] = room_entry(findings, facts.get("platform"), facts_before=facts, **with_csapi)
    return results


# --------------------------------------------------------------------------- the action

class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True  # the facts module runs on the room

    def run(self, tmp: Any = None, task_vars: Dict[str, Any] | None = None) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        self._task.args = {**self._options_from_room(task_vars), **self._task.args}
        _unused, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:  # bad ZR-CSAPI options stop the room before anything is read
            csapi_target = self._csapi_target(args["csapi"], task_vars) if args["csapi"] else None
        except ValueError as error:
            return {**result, "failed": True, "msg": f"{task_vars.get('inventory_hostname', '?')}: {error}"}
        facts = args["facts"]
        if facts is None and args["windows_script"]:
            facts = self._read_windows_facts(args, task_vars)
        discovered: Dict[str, Any] = {}
        if facts is None:
            read, discovered = self._read_facts(args, task_vars)
            if read.get("failed") or not isinstance(read.get("facts"), dict):
                read.setdefault("msg", f"{FACTS_MODULE} returned no facts")
                return {**result, **read, "failed": True}
            facts = read["facts"]
        # The batch's API read ran in the background while this room was read: collect it now.
        room_vars = self._room_vars(task_vars, API_IDENTITY_KEYS + API_VIEW_KEYS)
        api_room = args["api_room"] if args["api_room"] is not None else api_identity(room_vars)
        fallback_view = args["api"] if args["api"] is not None else api_view(room_vars)
        api_view_now, api_fact = api_side(self._api_read(args, api_room), api_room, fallback_view)
        csapi = room_evidence(read_csapi(csapi_target), args["csapi"]["expected_room_name"]) if csapi_target else None
        findings = diagnose(facts, args["reachability"], api_view_now, diagnosis_policy(args), csapi)
        result.update(changed=False, findings=[finding["code"] for finding in findings],
                      ansible_facts={**discovered, **room_results(facts, findings, api_fact, args["report"], csapi)})
        return result

    def _options_from_room(self, task_vars: Mapping[str, Any]) -> Dict[str, Any]:
        """options_from_room() over the room's variables, each templated only when it is needed."""
        given = self._task.args
        wanted = {**OPTION_VARIABLES, "reachability": PROBE_RESULTS_VARIABLE, "api_job": API_JOB_VARIABLE,
                  "csapi": CSAPI_VARIABLE}
        room_vars = self._room_vars(task_vars, tuple(name for option, name in wanted.items() if option not in given))
        if "csapi" not in given and boolean(room_vars.get(CSAPI_VARIABLE, False), strict=False):
            room_vars.update(self._room_vars(task_vars, (*CSAPI_OPTION_VARIABLES.values(), ROOM_NAME_VARIABLE)))
        options = options_from_room(given, room_vars, str(task_vars.get("inventory_hostname", "")))
        if "windows_script" not in given and "facts" not in given and self._is_windows(task_vars):
            options["windows_script"] = self._role_file(WINDOWS_SCRIPT_FILE)
        return options

    def _role_file(self, name: str) -> str:
        """A file of the role's files/ (as the file lookup finds it)."""
        path = self._find_needle("files", name)
        text = read_file(path)
        if text is None:
            raise AnsibleActionFail(f"cannot read {path}")
        return text

    def _is_windows(self, task_vars: Mapping[str, Any]) -> bool:
        return PLATFORM_VARIABLE in task_vars and self._templar.template(task_vars[PLATFORM_VARIABLE]) == "windows"

    def _csapi_target(self, options: Dict[str, Any], task_vars: Mapping[str, Any]) -> Target:
        relay = (relay_vars_of(task_vars.get("hostvars") or {}, options["via"], self._templar.template)
                 if options.get("via") else None)
        return task_target(options, relay, dict(os.environ))

    def _room_vars(self, task_vars: Mapping[str, Any], names: Tuple[str, ...]) -> Dict[str, Any]:
        """These variables of the room, templated: read here rather than through hostvars[...] in the
        task's arguments, which would build every variable of the room again (docs/performance.md)."""
        values = {name: self._templar.template(task_vars[name]) for name in names if name in task_vars}
        facts = task_vars.get("ansible_facts") or {}
        if "zoom_room_api" in facts:  # an earlier read's fact (room_fact() looks there first)
            values["ansible_facts"] = {"zoom_room_api": facts["zoom_room_api"]}
        return values

    def _read_facts(self, args: Mapping[str, Any], task_vars: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        """(zoom_room_facts's result, facts to return): as a lean payload (the room's Python runs the module's
        room_facts without AnsiballZ: a third of the room's CPU per read, docs/performance.md), or the module."""
        module_args = {name: args[name] for name in FACTS_MODULE_OPTIONS}
        interpreter, discovered = lean_interpreter(self, task_vars) if args["lean"] else (None, {})
        if interpreter is not None:
            return run_lean(self, interpreter, FACTS_LEAN_ENTRY, module_args, task_vars), discovered
        try:
            read = self._execute_module(module_name=FACTS_MODULE, module_args=module_args, task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return read, dict(read.get("ansible_facts") or {})

    def _read_windows_facts(self, args: Mapping[str, Any], task_vars: Dict[str, Any]) -> Dict[str, Any]:
        """Windows rooms: the facts script in one win_powershell round trip; a failed script gives partial
        facts with its error (as the zoom_room_windows_facts filter does), not a failed task."""
        try:
            raw = self._execute_module(module_name=WINDOWS_MODULE, module_args=windows_script_args(args),
                                       task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return windows_facts(raw, args["controller_subnets"], args["controller_port"])

    @staticmethod
    def _api_read(args: Mapping[str, Any], api_room: Mapping[str, Any]) -> Dict[str, Any] | None:
        """The batch's background API read (zoom_rooms_api background=true), its file on the control node: as
        soon as it has this room (wait_for_room), not the whole batch, so a waiting room holds its worker
        no longer than its own record takes."""
        results_file = (args["api_job"] or {}).get("results_file")
        if not results_file:
            return None
        result = wait_for_room(read_file, results_file, lambda rooms: (api_fact_for(rooms, api_room) or {}).get("id"),
                               args["api_timeout"])
        if result is None:
            return {"failed": True, "msg": f"the Zoom API read did not finish within {args['api_timeout']:g} s"}
        return result
