"""Action zoom_room_proxy: the same task on every room platform (documented in plugins/modules/zoom_room_proxy.py).

Linux and macOS: the zoom_room_proxy module. Windows: both HTTP stacks, since which one the Zoom Rooms app
uses is not documented. The collector says whose WinINet settings count (the machine's, or the room
account's); ansible.windows.win_inet_proxy (as that account) and win_http_proxy read the current values in
check mode; the plan is made here in Python (plugin_utils/zoom_room_windows_proxy.py); the modules apply
it, are run again in check mode (a module that would still change something means the host did not take
it), and on failure the saved settings go back. The result carries `changed`, `diff` and `backup`.
"""

from __future__ import annotations

from typing import Any, Dict

from ansible_collections.zoomrooms.remediation.plugins.modules import zoom_room_proxy as module_doc
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_action import (
    COLLECTOR_MODULE,
    ModuleRunner,
    RoomAction,
    collector_args,
    collector_script,
    spec_from_documentation,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_windows_proxy import (
    HTTP_MODULE,
    INET_MODULE,
    READ_ARGS,
    proxy_plan,
    proxy_target,
    redact_proxy_text,
    restore_plan,
    shown_args,
)

POSIX_MODULE = "zoomrooms.remediation.zoom_room_proxy"
WINDOWS_ONLY = ("windows_proxy_user",)
ARGUMENT_SPEC = spec_from_documentation(module_doc.DOCUMENTATION)


class ActionModule(RoomAction):
    POSIX_MODULE = POSIX_MODULE
    WINDOWS_ONLY = WINDOWS_ONLY
    ARGUMENT_SPEC = ARGUMENT_SPEC

    @staticmethod
    def _runas(target: Dict[str, Any]) -> str:
        return target["user"] if target.get("become") and target.get("user") else ""

    def _current(self, target: Dict[str, Any], modules: ModuleRunner) -> Dict[str, Dict[str, Any]]:
        """Each stack's module run in check mode with diff: its own view of the current values."""
        return {INET_MODULE: modules.run(INET_MODULE, READ_ARGS[INET_MODULE], check_mode=True,
                                         runas_user=self._runas(target)),
                HTTP_MODULE: modules.run(HTTP_MODULE, READ_ARGS[HTTP_MODULE], check_mode=True)}

    def _apply(self, module_args: Dict[str, Dict[str, Any]], target: Dict[str, Any], modules: ModuleRunner,
               check_mode: bool | None = None) -> Dict[str, Dict[str, Any]]:
        return {module: modules.run(module, options, check_mode=check_mode,
                                    runas_user=self._runas(target) if module == INET_MODULE else "")
                for module, options in module_args.items()}

    def _windows(self, args: Dict[str, Any], modules: ModuleRunner) -> Dict[str, Any]:
        if args["restore"] is not None:
            restore = restore_plan(args["restore"])
            applied = {} if self._task.check_mode else self._apply(restore["module_args"], restore["target"], modules)
            failed = [f"{module}: {outcome.get('msg')}" for module, outcome in applied.items() if outcome.get("failed")]
            return {"changed": any(outcome.get("changed") for outcome in applied.values()) or self._task.check_mode,
                    "module_args": shown_args(restore["module_args"]), "backup": args["restore"],
                    "failed": bool(failed), "msg": redact_proxy_text("; ".join(failed))}
        read = modules.run(COLLECTOR_MODULE, collector_args(collector_script(), 9090,
                                                            proxy_user=args["windows_proxy_user"]), check_mode=False)
        target = proxy_target(read, args["windows_proxy_user"])
        current = self._current(target, modules)
        plan = proxy_plan(current[INET_MODULE], current[HTTP_MODULE], target, args["policy"],
                          args["controller_subnets"], args["server"], args["bypass"], args["pac_url"])
        outcome = {**{key: plan[key] for key in ("changed", "backup", "target", "diff")},
                   "module_args": shown_args(plan["module_args"])}
        if not plan["changed"] or self._task.check_mode:
            return outcome
        applied = self._apply(plan["module_args"], target, modules)
        rechecked = {} if any(r.get("failed") for r in applied.values()) else \
            self._apply(plan["module_args"], target, modules, check_mode=True)
        problems = [f"{module}: {r.get('msg', 'failed')}" for module, r in applied.items() if r.get("failed")] + \
            [f"{module} still differs after the change" for module, r in rechecked.items() if r.get("changed")]
        if problems:
            undo = self._apply(restore_plan(plan["backup"])["module_args"], target, modules)
            restored = not any(r.get("failed") for r in undo.values())
            return {**outcome, "failed": True, "rolled_back": restored,
                    "msg": redact_proxy_text(f"the host did not take the change ({'; '.join(problems)}); the previous "
                                             "settings were " + ("restored" if restored else "NOT restored"))}
        return outcome
