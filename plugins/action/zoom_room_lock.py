"""Action plugin zoom_room_lock: the room's run lock without AnsiballZ.

The lock is taken and given back once per changed room in every rollout wave; each was a module call
whose AnsiballZ unpacking and imports cost the room more than the flock itself. This action validates
the options here and runs the same code (module_utils/zoom_room_lock.lock_state) as a lean payload
(plugin_utils/zoom_room_lean.py). The module runs instead with lean=false, with async, on Windows,
and where Ansible would not pipeline a module.
Documented in plugins/modules/zoom_room_lock.py.
"""

from __future__ import annotations

from typing import Any, Dict

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_lock import (
    LOCK_ARGUMENT_SPEC,
    checked_lock_options,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_lean import LeanAction

PAYLOAD_ENTRY = "zoom_room_lock.lean_lock"
# The path is the room's: validated as text here, where a "path" would be expanded against the control node.
ACTION_SPEC = {**LOCK_ARGUMENT_SPEC, "path": {**LOCK_ARGUMENT_SPEC["path"], "type": "str"}}


class ActionModule(LeanAction):
    ARGUMENT_SPEC = ACTION_SPEC
    ENTRY = PAYLOAD_ENTRY

    def check(self, args: Dict[str, Any]) -> None:
        checked_lock_options(args)

    def payload_args(self, args: Dict[str, Any]) -> Dict[str, Any]:
        return {**args, "check_mode": bool(self._task.check_mode)}
