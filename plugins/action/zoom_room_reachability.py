"""Action plugin zoom_room_reachability: the probe without AnsiballZ.

The probe is stdlib code (sockets and a selector) on the critical path of every diagnose run: one
call per probe host, before any room is read. Its module call spent about as long unpacking and
compiling ansible's basic.py on the probe host as it spent above its own timeout, so this action
validates the options here and runs the same code (module_utils/zoom_room_tcp.probe_report) as a
lean payload (plugin_utils/zoom_room_lean.py). The module runs instead with lean=false, with async,
on Windows, and where Ansible would not pipeline a module.
Documented in plugins/modules/zoom_room_reachability.py.
"""

from __future__ import annotations

from typing import Any, Dict

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_tcp import (
    PROBE_ARGUMENT_SPEC,
    checked_targets,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_lean import LeanAction

PAYLOAD_ENTRY = "zoom_room_tcp.lean_probe"  # with what zoom_room_tcp imports


class ActionModule(LeanAction):
    ARGUMENT_SPEC = PROBE_ARGUMENT_SPEC
    BULK_OPTIONS = ("targets",)  # hundreds of dicts: checked_targets validates them
    ENTRY = PAYLOAD_ENTRY

    def check(self, args: Dict[str, Any]) -> None:
        checked_targets(args)
