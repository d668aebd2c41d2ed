"""Run collection code on a host without AnsiballZ: the 'lean payload' of an action plugin.

A module call ships AnsiballZ: a zip of the module, ansible's basic.py and everything it imports,
which the host's Python unpacks and compiles from source on every call (about 0.4 s on a busy
lab host, against 0.05 s for a bare command: docs/performance.md). Code that needs only the
standard library can skip that: the action sends the source of the few module_utils it needs and
one function to call, as JSON on stdin, to `python -c BOOTSTRAP`; the function's dict comes back
as JSON on stdout. The options are validated on the control node first, so bad input still fails
before anything runs on the host.

The action falls back to its module (`lean_interpreter` returns None) where the lean path would
differ from a module call: Python not known yet (interpreter discovery runs with the module),
async tasks, and Windows hosts.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any, Dict, Mapping, Sequence

from ansible.errors import AnsibleError
from ansible.executor.interpreter_discovery import InterpreterDiscoveryRequiredError
from ansible.executor.module_common import _get_shebang

MODULE_UTILS = Path(__file__).resolve().parents[1] / "module_utils"
PACKAGE = "ansible_collections.zoomrooms.remediation.plugins.module_utils"

# Runs on the host: registers each module_utils source under its import name, in order (dependencies
# first, so their imports resolve from sys.modules), then calls the entry function with the options.
BOOTSTRAP = (
    "import json,sys,types\n"
    "p=json.loads(sys.stdin.buffer.read())\n"
    "for n,s in p['modules']:\n"
    " m=types.ModuleType(n);m.__file__='<'+n+'>';sys.modules[n]=m\n"
    " exec(compile(s,m.__file__,'exec'),m.__dict__)\n"
    "o,f=p['entry'].rsplit('.',1)\n"
    "sys.stdout.write(json.dumps(getattr(sys.modules[o],f)(p['args'])))\n"
)


def payload(module_utils: Sequence[str], entry: str, args: Mapping[str, Any]) -> str:
    """The JSON the bootstrap reads: [(import name, source)] of our module_utils, the entry and its options."""
    modules = [(f"{PACKAGE}.{name}", (MODULE_UTILS / f"{name}.py").read_text(encoding="utf-8"))
               for name in module_utils]
    return json.dumps({"modules": modules, "entry": f"{PACKAGE}.{entry}", "args": dict(args)})


def command(interpreter: str, environment: Mapping[str, str], env_prefix: Any) -> str:
    """The shell command: the task's `environment:` (as a module call would have it), then Python."""
    prefix = env_prefix(**environment) if environment else ""
    return f"{prefix} {shlex.quote(interpreter)} -c {shlex.quote(BOOTSTRAP)}".strip()


def result_of(rc: int, stdout: str, stderr: str, host: str) -> Dict[str, Any]:
    """The entry's dict, or a failure that says what the host's Python printed."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]  # skip MOTD-like noise
    if rc == 0 and lines:
        try:
            return json.loads(lines[-1])
        except ValueError:
            pass
    detail = (stderr or stdout).strip()[-2000:] or "no output"
    return {"failed": True, "rc": rc, "msg": f"{host}: the lean payload failed (rc={rc}): {detail}"}


def lean_interpreter(action: Any, task_vars: Dict[str, Any]) -> str | None:
    """The host's Python as a module call would pick it, or None when the module must run instead."""
    if action._task.async_val or getattr(getattr(action._connection, "_shell", None), "_IS_WINDOWS", False):
        return None
    host_vars = task_vars
    if action._task.delegate_to:
        host_vars = task_vars.get("ansible_delegated_vars", {}).get(action._task.delegate_to, task_vars)
    remote_is_local = bool(getattr(action._connection, "_remote_is_local", False))
    try:
        _shebang, interpreter = _get_shebang("/usr/bin/python", host_vars, action._templar,
                                             remote_is_local=remote_is_local)
    except InterpreterDiscoveryRequiredError:
        return None  # the module call discovers it (and records it for the rest of the run)
    return interpreter or None


def run_lean(action: Any, interpreter: str, module_utils: Sequence[str], entry: str,
             args: Mapping[str, Any], task_vars: Dict[str, Any]) -> Dict[str, Any]:
    """Run `entry(args)` on the task's host; become and the connection are the task's."""
    environment: Dict[str, Any] = {}
    action._compute_environment_string(environment)
    host = task_vars.get("inventory_hostname", "host")
    if action._task.delegate_to:
        host = action._task.delegate_to
    try:
        done = action._low_level_execute_command(
            command(interpreter, environment, action._connection._shell.env_prefix),
            in_data=payload(module_utils, entry, args), sudoable=True)
    except AnsibleError as error:
        return {"failed": True, "msg": f"{host}: {error}"}
    return result_of(done["rc"], done.get("stdout", ""), done.get("stderr", ""), host)
