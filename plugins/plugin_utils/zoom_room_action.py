"""What the zoom_room_firewall and zoom_room_proxy actions share: which room this is, and running a
module on it from the action (in check mode, or as another Windows account, when asked).

The actions plan in Python on the control node and hand the change to a module: our own module on
Linux and macOS, the well-kept ansible.windows / community.windows modules on Windows. So the roles
carry one task per change for every platform.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Dict, Iterator, Mapping, Sequence

import yaml
from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import become_loader

COLLECTOR_MODULE = "ansible.windows.win_powershell"
# The one read-only PowerShell of the collection; diagnose, the firewall and the proxy actions run it.
COLLECTOR_SCRIPT = Path(__file__).resolve().parents[2] / "roles" / "zoom_room_diagnose" / "files" / "windows_facts.ps1"
RUNAS = "ansible.builtin.runas"


def is_windows(connection: Any) -> bool:
    """Windows rooms are reached through a PowerShell (or cmd) shell: the connection says so."""
    return bool(getattr(getattr(connection, "_shell", None), "_IS_WINDOWS", False))


def collector_script() -> str:
    return COLLECTOR_SCRIPT.read_text(encoding="utf-8")


def collector_args(script: str, port: int, rule_name: str = "", proxy_user: str = "",
                   app_paths: Sequence[str] = ()) -> Dict[str, Any]:
    """win_powershell's options for the collector (roles/zoom_room_diagnose/files/windows_facts.ps1)."""
    return {"depth": 5, "script": script,
            "parameters": {"Port": int(port), "ProxyUser": proxy_user, "AppPaths": list(app_paths),
                           "RuleName": rule_name}}


SPEC_KEYS = ("type", "elements", "default", "choices")


def spec_from_documentation(documentation: str) -> Dict[str, Dict[str, Any]]:
    """The argument spec an action validates, from its module's DOCUMENTATION: one list of options for both."""
    options = yaml.safe_load(documentation)["options"]
    return {name: {key: option[key] for key in SPEC_KEYS if key in option} for name, option in options.items()}


def without(args: Mapping[str, Any], names: Sequence[str]) -> Dict[str, Any]:
    return {key: value for key, value in args.items() if key not in names}


class ModuleRunner:
    """Runs modules on the room from inside an action plugin."""

    def __init__(self, action: Any, task_vars: Dict[str, Any]) -> None:
        self.action, self.task_vars = action, task_vars

    def run(self, module: str, args: Mapping[str, Any], check_mode: bool | None = None,
            runas_user: str = "") -> Dict[str, Any]:
        """The module's result. check_mode True/False overrides the task's; runas_user runs it as that
        Windows account (ansible.builtin.runas, the become that win_inet_proxy's per-user settings need)."""
        task = self.action._task
        saved = task.check_mode, task.diff
        if check_mode is not None:
            task.check_mode = check_mode
            task.diff = True if check_mode else task.diff
        try:
            with self._runas(runas_user):
                return self.action._execute_module(module_name=module, module_args=dict(args),
                                                   task_vars=self.task_vars)
        finally:
            task.check_mode, task.diff = saved

    @contextmanager
    def _runas(self, user: str) -> Iterator[None]:
        if not user:
            yield
            return
        connection = self.action._connection
        saved = connection.become
        become = become_loader.get(RUNAS)
        become.set_options(var_options=self.task_vars, direct={"become_user": user})
        connection.set_become_plugin(become)
        try:
            yield
        finally:
            connection.set_become_plugin(saved)


class RoomAction(ActionBase):
    """One task for every platform: our module on Linux and macOS; on Windows `_windows()` reads, plans in
    Python and applies with the well-kept modules. Subclasses name the module, the options only Windows
    knows (left out for the module) and the argument spec the Windows side validates."""

    TRANSFERS_FILES = False
    _requires_connection = True
    POSIX_MODULE = ""
    WINDOWS_ONLY: ClassVar[Sequence[str]] = ()
    ARGUMENT_SPEC: ClassVar[Dict[str, Dict[str, Any]]] = {}

    def run(self, tmp: Any = None, task_vars: Dict[str, Any] | None = None) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        modules = ModuleRunner(self, task_vars)
        try:
            if not is_windows(self._connection):
                return {**result, **modules.run(self.POSIX_MODULE, without(self._task.args, self.WINDOWS_ONLY))}
            _unused, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
            return {**result, **self._windows(args, modules)}
        except AnsibleError as error:  # bad input or a failed read: named after the room, nothing changed
            return {**result, "failed": True, "msg": f"{task_vars.get('inventory_hostname', 'room')}: {error}"}
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _windows(self, args: Dict[str, Any], modules: ModuleRunner) -> Dict[str, Any]:
        raise NotImplementedError
