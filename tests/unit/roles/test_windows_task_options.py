"""Every module option the Windows task files pass exists in the installed collections' documentation.

No Windows host runs here, so a renamed or removed option in ansible.windows / community.windows would
otherwise only show on a customer's room. The task files are parsed as YAML, every task (inside blocks,
rescue and always too) is reduced to its FQCN module and the options it passes, and each option is looked
up in `ansible-doc -j <module>` (names and aliases; literal values against `choices`).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from fixture_files import PROJECT as ROOT

BIN = ROOT / ".venv" / "bin"
TASK_FILES = [
    "roles/zoom_room_diagnose/tasks/facts_windows.yml",
    "roles/zoom_room_firewall/tasks/windows.yml",
    "roles/zoom_room_firewall/tasks/rollback_windows.yml",
    "roles/zoom_room_proxy/tasks/windows.yml",
    "roles/zoom_room_proxy/tasks/rollback_windows.yml",
]
PLAYBOOKS = [
    "roles/zoom_room_firewall/molecule/windows/converge.yml",
    "roles/zoom_room_firewall/molecule/windows/verify.yml",
]
FQCN = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+$")
# Modules whose arguments are free-form names rather than documented options.
FREE_FORM = {"ansible.builtin.set_fact": {"cacheable"}}
NESTED = ("block", "rescue", "always")


def ansible_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}


@functools.cache
def module_doc(module: str) -> dict[str, Any]:
    """`ansible-doc -j` for one module, once per test run; {} when the module is not installed."""
    completed = subprocess.run([str(BIN / "ansible-doc"), "-j", module], capture_output=True, text=True,
                               env=ansible_env(), cwd=ROOT, timeout=120, check=False)
    assert completed.returncode == 0, f"ansible-doc -j {module} failed: {completed.stderr.strip()}"
    return json.loads(completed.stdout or "{}").get(module, {}).get("doc", {})


def walk_tasks(tasks: list[dict[str, Any]], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for index, task in enumerate(tasks or []):
        label = f"{where}[{index}] {task.get('name', '')}".strip()
        if any(key in task for key in NESTED):
            for key in NESTED:
                yield from walk_tasks(task.get(key) or [], f"{label} {key}")
        else:
            yield label, task


def module_calls(path: Path) -> list[tuple[str, str, dict[str, Any] | str | None]]:
    """(task label, module FQCN, arguments) for every task of a task file or of every play of a playbook."""
    data = yaml.safe_load(path.read_text())
    if data and "hosts" in data[0]:
        data = [task for play in data for key in ("pre_tasks", "tasks", "post_tasks") for task in play.get(key) or []]
    calls = []
    for label, task in walk_tasks(data, path.name):
        modules = [key for key in task if FQCN.match(key)]
        assert len(modules) == 1, f"{label}: expected exactly one module called by its FQCN, found {modules}"
        calls.append((label, modules[0], task[modules[0]]))
    return calls


def option_problems(module: str, args: dict[str, Any] | str | None) -> list[str]:
    """What in `args` the installed documentation of `module` does not know."""
    doc = module_doc(module)
    if not doc:
        return [f"{module}: not installed (ansible-doc knows no such module)"]
    if not isinstance(args, dict):
        return []  # free-form string (include_tasks: file.yml) or no arguments
    options = doc.get("options") or {}
    names = {name: name for name in options}
    names.update({alias: name for name, spec in options.items() for alias in spec.get("aliases") or []})
    problems = []
    for key, value in args.items():
        if module in FREE_FORM:
            if key in options and key not in FREE_FORM[module]:
                problems.append(f"{module}: '{key}' is a documented option, not a fact name")
            continue
        if key not in names:
            problems.append(f"{module}: option '{key}' is not documented (options: {', '.join(sorted(options))})")
            continue
        choices = options[names[key]].get("choices")
        literal = isinstance(value, (str, int, bool)) and "{{" not in str(value)
        if choices and literal and value not in choices:
            problems.append(f"{module}: option '{key}' value {value!r} is not one of {choices}")
    return problems


CALLS = [(f"{task_file}: {label}", module, args)
         for task_file in TASK_FILES + PLAYBOOKS for label, module, args in module_calls(ROOT / task_file)]


def test_task_files_call_windows_modules():
    modules = {module for _unused, module, _unused in CALLS}
    assert {"ansible.windows.win_powershell", "ansible.windows.win_inet_proxy", "ansible.windows.win_http_proxy",
            "community.windows.win_firewall_rule"} <= modules


@pytest.mark.parametrize("label, module, args", CALLS, ids=[label for label, _unused, _unused in CALLS])
def test_every_option_is_documented(label, module, args):
    assert option_problems(module, args) == []


@pytest.mark.parametrize(
    "module, args, expected",
    [
        ("community.windows.win_firewall_rule", {"name": "x", "remote_ip": "10.0.0.0/24"},
         "option 'remote_ip' is not documented"),
        ("community.windows.win_firewall_rule", {"name": "x", "direction": "inbound"},
         "value 'inbound' is not one of ['in', 'out']"),
        ("ansible.windows.win_inet_proxy", {"proxy_server": "p:8080"}, "option 'proxy_server' is not documented"),
        ("ansible.windows.win_no_such_module", {"a": 1}, "not installed"),
    ],
    ids=["renamed option", "value outside choices", "removed option", "module that does not exist"],
)
def test_checker_catches(module, args, expected):
    problems = option_problems(module, args)
    assert any(expected in problem for problem in problems), problems


def test_aliases_count_as_documented():
    assert option_problems("community.windows.win_firewall_rule", {"name": "x", "profile": ["domain"]}) == []
