"""Action zoom_room_firewall: one task for every room platform (documented in plugins/modules/zoom_room_firewall.py).

Linux and macOS: the zoom_room_firewall module, which reads, plans, applies and re-reads on the room.
Windows: the collector reads (read-only PowerShell), the plan is made here in Python
(plugin_utils/zoom_room_windows_firewall.py), community.windows.win_firewall_rule applies it, the collector
reads again, and a host that did not take the change gets the saved rule back. Either way the result
carries `changed`, `diff`, `backup` (pass it back as `restore`) and `notes`.
"""

from __future__ import annotations

from typing import Any, Dict

from ansible.errors import AnsibleError
from ansible_collections.zoomrooms.remediation.plugins.modules import zoom_room_firewall as module_doc
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_action import (
    COLLECTOR_MODULE,
    ModuleRunner,
    RoomAction,
    collector_args,
    collector_script,
    spec_from_documentation,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_windows_firewall import (
    RULE_MODULE,
    firewall_mismatches,
    firewall_plan,
    restore_args,
)

POSIX_MODULE = "zoomrooms.remediation.zoom_room_firewall"
WINDOWS_ONLY = ("rule_name", "description", "profiles")
ARGUMENT_SPEC = spec_from_documentation(module_doc.DOCUMENTATION)


class ActionModule(RoomAction):
    POSIX_MODULE = POSIX_MODULE
    WINDOWS_ONLY = WINDOWS_ONLY
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def _read(self, args: Dict[str, Any], modules: ModuleRunner) -> Dict[str, Any]:
        read = modules.run(COLLECTOR_MODULE, collector_args(collector_script(), args["port"], args["rule_name"]),
                           check_mode=False)
        if read.get("failed"):
            raise AnsibleError(f"the read-only collector failed: {read.get('msg', 'no message')}")
        return read

    def _windows(self, args: Dict[str, Any], modules: ModuleRunner) -> Dict[str, Any]:
        args = {**args, "rule_name": args["rule_name"] or f"Zoom Rooms controller (TCP {args['port']})"}
        before = self._read(args, modules)
        if args["restore"] is not None:
            change = restore_args(args["restore"])
            outcome = {"changed": True, "module_args": {RULE_MODULE: change}, "backup": args["restore"],
                       "notes": [], "diff": {"before": "", "after": f"restore {change}\n"}}
            prepare = None
        else:
            plan = firewall_plan(before, args["rule_name"], args["description"], args["sources"], args["port"],
                                 args["profiles"], args["state"])
            # `applied` is what the rollback passes back as `expect` (used by the Linux layers; on Windows the
            # restore re-reads and puts back the saved rule whatever happened since)
            outcome = {"changed": plan["changed"], "module_args": {RULE_MODULE: plan["module_args"]},
                       "backup": plan["backup"], "notes": plan["notes"], "diff": plan["diff"],
                       "applied": {"windows_firewall": plan["module_args"]}}
            prepare = plan["prepare_args"]  # a same-named rule that is not TCP yet: made TCP before its port is set
        if not outcome["changed"] or self._task.check_mode:
            return outcome
        prepared = modules.run(RULE_MODULE, prepare) if prepare else {}
        applied = prepared if prepared.get("failed") else modules.run(RULE_MODULE, outcome["module_args"][RULE_MODULE])
        if args["restore"] is not None:
            return {**outcome, "changed": bool(applied.get("changed")), "failed": bool(applied.get("failed")),
                    "msg": applied.get("msg", "")}
        problems = [applied.get("msg", "win_firewall_rule failed")] if applied.get("failed") else \
            firewall_mismatches(self._read(args, modules), args["rule_name"], args["sources"], args["port"],
                                args["profiles"], args["state"])
        if problems:
            undone = modules.run(RULE_MODULE, restore_args(outcome["backup"]))
            return {**outcome, "failed": True, "rolled_back": not undone.get("failed"),
                    "msg": f"the host did not take the change ({'; '.join(problems)}); the previous rule was "
                           + ("restored" if not undone.get("failed") else f"NOT restored: {undone.get('msg')}")}
        return outcome
