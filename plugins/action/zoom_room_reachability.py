"""Action plugin zoom_room_reachability: the probe without AnsiballZ.

The probe is stdlib code (sockets and a selector) on the critical path of every diagnose run: one
call per probe host, before any room is read. Its module call spent about as long unpacking and
compiling ansible's basic.py on the probe host as it spent above its own timeout, so this action
validates the options here and runs the same code (module_utils/zoom_room_tcp.probe_report) as a
lean payload (plugin_utils/zoom_room_lean.py). The module runs instead with lean=false, with async
and on Windows.
Documented in plugins/modules/zoom_room_reachability.py.
"""

from __future__ import annotations

from typing import Any, Dict

from ansible.plugins.action import ActionBase
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_tcp import (
    PROBE_ARGUMENT_SPEC,
    checked_targets,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_lean import lean_interpreter, run_lean

PAYLOAD_ENTRY = "zoom_room_tcp.lean_probe"  # with what zoom_room_tcp imports


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp: Any = None, task_vars: Dict[str, Any] | None = None) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _unused, args = self.validate_argument_spec(argument_spec=PROBE_ARGUMENT_SPEC)
        try:
            checked_targets(args)  # the module's own checks, before anything runs on the probe
        except InvalidValue as error:
            return {**result, "failed": True, "msg": str(error)}
        interpreter, facts = lean_interpreter(self, task_vars) if args["lean"] else (None, {})
        if interpreter is None:
            return {**result, **self._execute_module(module_args=dict(self._task.args), task_vars=task_vars)}
        probe = run_lean(self, interpreter, PAYLOAD_ENTRY, args, task_vars)
        return {**result, **probe, **({"ansible_facts": facts} if facts else {})}
