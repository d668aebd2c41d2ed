"""Action plugin zoom_room_lock: the room's run lock without AnsiballZ.

The lock is taken and given back once per changed room in every rollout wave; each was a module call
whose AnsiballZ unpacking and imports cost the room more than the flock itself. This action validates
the options here and runs the same code (module_utils/zoom_room_lock.lock_state) as a lean payload
(plugin_utils/zoom_room_lean.py). The module runs instead with lean=false, with async and on Windows.
Documented in plugins/modules/zoom_room_lock.py.
"""

from __future__ import annotations

from typing import Any, Dict

from ansible.plugins.action import ActionBase
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_lock import (
    LOCK_ARGUMENT_SPEC,
    checked_lock_options,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_lean import lean_interpreter, run_lean

PAYLOAD_ENTRY = "zoom_room_lock.lean_lock"
# The path is the room's: validated as text here, where a "path" would be expanded against the control node.
ACTION_SPEC = {**LOCK_ARGUMENT_SPEC, "path": {**LOCK_ARGUMENT_SPEC["path"], "type": "str"}}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp: Any = None, task_vars: Dict[str, Any] | None = None) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _unused, args = self.validate_argument_spec(argument_spec=ACTION_SPEC)
        try:
            checked_lock_options(args)
        except InvalidValue as error:
            return {**result, "failed": True, "msg": str(error)}
        interpreter, facts = lean_interpreter(self, task_vars) if args["lean"] else (None, {})
        if interpreter is None:
            return {**result, **self._execute_module(module_args=dict(self._task.args), task_vars=task_vars)}
        lock = run_lean(self, interpreter, PAYLOAD_ENTRY, {**args, "check_mode": bool(self._task.check_mode)},
                        task_vars)
        return {**result, **lock, **({"ansible_facts": facts} if facts else {})}
