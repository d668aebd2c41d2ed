"""Run collection code on a host without AnsiballZ: the 'lean payload' of an action plugin.

A module call ships AnsiballZ: a zip of the module, ansible's basic.py and everything it imports,
which the host's Python unpacks and compiles from source on every call (about 0.4 s on a busy
lab host, against 0.05 s for a bare command: docs/performance.md). Code that needs only the
standard library can skip that: the action sends the source of the few module_utils it needs and
one function to call, as JSON on stdin, to `python -c BOOTSTRAP`; the function's dict comes back
as JSON on stdout. The options are validated on the control node first, so bad input still fails
before anything runs on the host.

The action falls back to its module (`lean_interpreter` returns None) where the lean path would
differ from a module call: async tasks, Windows hosts, and hosts Ansible would not pipeline a
module to (pipelining off, or a become method that cannot pipeline). A Python still to be discovered is
discovered first, with ansible's own interpreter discovery.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import zlib
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Mapping, Sequence, Tuple

from ansible.errors import AnsibleActionFail
from ansible.executor.interpreter_discovery import InterpreterDiscoveryRequiredError, discover_interpreter
from ansible.executor.module_common import _get_shebang
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue

MODULE_UTILS = Path(__file__).resolve().parents[1] / "module_utils"
PACKAGE = "ansible_collections.zoomrooms.remediation.plugins.module_utils"
IMPORT = re.compile(r"plugins\.module_utils\.(\w+) import")

# Runs on the host: a finder serves our module_utils from the payload, compiling each one only when it is
# imported (as AnsiballZ's zip import does), and the packages above them as empty packages; then it calls
# the entry function with the options and prints its dict as JSON.
BOOTSTRAP = """\
import base64,importlib,importlib.machinery as M,json,sys,zlib
p=json.loads(zlib.decompress(base64.b64decode(sys.stdin.buffer.read())))
S=dict(p['modules']);P=p['package']
class F:
 @classmethod
 def find_spec(c,n,path=None,t=None):
  if n in S or P==n or P.startswith(n+'.'):return M.ModuleSpec(n,c,is_package=n not in S)
 @classmethod
 def create_module(c,s):return None
 @classmethod
 def exec_module(c,m):exec(compile(S.get(m.__name__,''),'<'+m.__name__+'>','exec'),m.__dict__)
sys.meta_path.insert(0,F)
o,f=p['entry'].rsplit('.',1)
sys.stdout.write(json.dumps(getattr(importlib.import_module(o),f)(p['args'])))
"""


def module_closure(roots: Sequence[str]) -> List[str]:
    """The module_utils the roots import, directly or not, the imports inside functions included."""
    found: List[str] = []
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.append(name)
        pending.extend(IMPORT.findall((MODULE_UTILS / f"{name}.py").read_text(encoding="utf-8")))
    return sorted(found)


def payload(entry: str, args: Mapping[str, Any], module_utils: Sequence[str] | None = None) -> bytes:
    """What the bootstrap reads: `entry` is "<module_utils name>.<function>"; module_utils defaults to
    everything that module imports. zlib and base64, as AnsiballZ packs its zip."""
    names = module_utils if module_utils is not None else module_closure([entry.split(".", 1)[0]])
    modules = [(f"{PACKAGE}.{name}", (MODULE_UTILS / f"{name}.py").read_text(encoding="utf-8")) for name in names]
    document = {"modules": modules, "package": PACKAGE, "entry": f"{PACKAGE}.{entry}", "args": dict(args)}
    # Level 1: built per room on the control node's hot path; 3 ms instead of 10 ms for diagnose's payload,
    # 68 KB instead of 55 KB on the wire.
    return base64.b64encode(zlib.compress(json.dumps(document).encode("utf-8"), 1))


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


def _host_vars(action: Any, task_vars: Dict[str, Any]) -> Dict[str, Any]:
    if action._task.delegate_to:
        return task_vars.get("ansible_delegated_vars", {}).get(action._task.delegate_to, task_vars)
    return task_vars


def lean_interpreter(action: Any, task_vars: Dict[str, Any]) -> Tuple[str | None, Dict[str, Any]]:
    """(the host's Python as a module call would pick it, facts to return), or (None, {}) when the module
    must run instead (async, Windows, pipelining off). A Python still to be discovered is discovered here,
    with ansible's own discovery, and returned as the fact a module call returns
    (discovered_interpreter_python), so the next tasks on the host skip it; for a delegated task the
    fact is not the task host's, so it is left out, as ansible does."""
    connection = action._connection
    if action._task.async_val or getattr(getattr(connection, "_shell", None), "_IS_WINDOWS", False):
        return None, {}
    # The payload goes over stdin, as a pipelined module does: only where Ansible would pipeline a module
    # (pipelining on for the host, a become method that allows it: sudo with requiretty would not).
    if not connection.is_pipelining_enabled():
        return None, {}
    host_vars = _host_vars(action, task_vars)
    remote_is_local = bool(getattr(action._connection, "_remote_is_local", False))
    try:
        _shebang, interpreter = _get_shebang("/usr/bin/python", host_vars, action._templar,
                                             remote_is_local=remote_is_local)
    except InterpreterDiscoveryRequiredError as needed:
        interpreter = discover_interpreter(action=action, interpreter_name=needed.interpreter_name,
                                           discovery_mode=needed.discovery_mode, task_vars=host_vars)
        facts = {} if action._task.delegate_to else {f"discovered_interpreter_{needed.interpreter_name}": interpreter}
        return interpreter or None, facts
    return interpreter or None, {}


def run_lean(action: Any, interpreter: str, entry: str, args: Mapping[str, Any],
             task_vars: Dict[str, Any]) -> Dict[str, Any]:
    """Run `entry(args)` on the task's host; become and the connection are the task's."""
    environment: Dict[str, Any] = {}
    action._compute_environment_string(environment)
    host = action._task.delegate_to or task_vars.get("inventory_hostname", "host")
    # A connection failure propagates, as from a module call: Ansible then reports the host unreachable.
    done = action._low_level_execute_command(command(interpreter, environment, action._connection._shell.env_prefix),
                                             in_data=payload(entry, args), sudoable=True)
    return result_of(done["rc"], done.get("stdout", ""), done.get("stderr", ""), host)


def validated_options(task_args: Mapping[str, Any], spec: Mapping[str, Any], bulk: Sequence[str],
                      module_name: str) -> Dict[str, Any]:
    """The task's options checked against ``spec`` by Ansible's validator, except the items of the ``bulk``
    lists, which are passed through as given (the caller's own checks validate them).

    Ansible's validator deep-copies its input, and a copy of task values costs about ten times a plain
    one: they carry data tags. For the probe's 500 targets that was 60-75 ms of each call's 2.5 s
    (docs/performance.md). So a bulk list reaches the validator empty: it still checks that the option
    is there and is a list; anything else given for it is validated as it is. AnsibleActionFail as from
    ActionBase.validate_argument_spec."""
    lists = {name: task_args[name] for name in bulk if isinstance(task_args.get(name), (list, tuple))}
    outcome = ArgumentSpecValidator(spec).validate({**task_args, **{name: [] for name in lists}})
    if outcome.error_messages:
        message = outcome.errors.msg
        if isinstance(outcome.errors[0], UnsupportedError):  # ActionBase.validate_argument_spec's wording
            message = f"Unsupported parameters for ({module_name}) module: {message}"
        raise AnsibleActionFail(message, obj=task_args)
    return {**outcome.validated_parameters, **lists}


class LeanAction(ActionBase):
    """An action that runs its module's work as a lean payload where it can, else the module itself.

    Subclasses name the options (ARGUMENT_SPEC, with `lean`), the payload's entry function (ENTRY) and
    the module's own checks (`check`, raising InvalidValue), which run here before anything runs on the host.
    BULK_OPTIONS are list options whose items `check` validates (hundreds of dicts): Ansible's validator
    sees them empty (validated_options).
    """

    TRANSFERS_FILES = False
    _requires_connection = True
    ARGUMENT_SPEC: ClassVar[Dict[str, Any]] = {}
    BULK_OPTIONS: ClassVar[Tuple[str, ...]] = ()
    ENTRY: ClassVar[str] = ""

    def check(self, args: Dict[str, Any]) -> None:
        """The module's own checks of the validated options; InvalidValue names the bad one."""

    def payload_args(self, args: Dict[str, Any]) -> Dict[str, Any]:
        """What the entry function gets: the validated options (a subclass may add the task's check mode)."""
        return args

    def run(self, tmp: Any = None, task_vars: Dict[str, Any] | None = None) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = validated_options(self._task.args, self.ARGUMENT_SPEC, self.BULK_OPTIONS, self._load_name)
        try:
            self.check(args)
        except InvalidValue as error:
            return {**result, "failed": True, "msg": str(error)}
        interpreter, facts = lean_interpreter(self, task_vars) if args["lean"] else (None, {})
        if interpreter is None:
            return {**result, **self._execute_module(module_args=dict(self._task.args), task_vars=task_vars)}
        done = run_lean(self, interpreter, self.ENTRY, self.payload_args(args), task_vars)
        return {**result, **done, **({"ansible_facts": facts} if facts else {})}
