"""Action plugin zoom_room_csapi: read one room's app over ZR-CSAPI (SSH, TCP 2244) from the control node.

The session goes straight to the room, or through a relay host on the controller segment (I(via), the
probe) with `ssh -W`; either way the room's host key is verified before the passcode is sent, and the
session is closed at once (it displaces the touch controller while open). Documented in
plugins/modules/zoom_room_csapi.py; the client is plugins/plugin_utils/zoom_room_csapi.py.
"""

from __future__ import annotations

import os
from typing import Any, Dict

from ansible.plugins.action import ActionBase
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_csapi import (
    TASK_OPTIONS,
    read,
    relay_vars_of,
    room_evidence,
    task_target,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # the session starts on the control node
    _supports_check_mode = True  # it only reads

    def run(self, tmp: Any = None, task_vars: Dict[str, Any] | None = None) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _unused, args = self.validate_argument_spec(argument_spec=TASK_OPTIONS)
        try:
            relay = relay_vars_of(task_vars.get("hostvars") or {}, args["via"], self._templar.template) \
                if args["via"] else None
            target = task_target(args, relay, dict(os.environ))
        except ValueError as error:
            return {**result, "failed": True, "msg": f"{task_vars.get('inventory_hostname', '?')}: {error}"}
        return {**result, "changed": False, "csapi": room_evidence(read(target), args.get("expected_room_name"))}
