"""Every module option the Windows-facing task files pass exists in the installed collections' documentation.

The task files are parsed as YAML, every task (inside blocks, rescue and always too) is reduced to its FQCN
module and the options it passes, and each option is looked up in `ansible-doc -j <module>` (names and
aliases; literal values against `choices`). The roles now carry one task per change for every platform;
the Windows module arguments those tasks lead to are checked in
tests/unit/plugins/action/test_zoom_room_windows_actions.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from ansible_docs import option_problems
from fixture_files import PROJECT as ROOT

TASK_FILES = [
    "roles/zoom_room_diagnose/tasks/facts_windows.yml",
    "roles/zoom_room_firewall/tasks/main.yml",
    "roles/zoom_room_firewall/tasks/rollback.yml",
    "roles/zoom_room_proxy/tasks/main.yml",
    "roles/zoom_room_proxy/tasks/rollback.yml",
]
PLAYBOOKS = [
    "roles/zoom_room_firewall/molecule/windows/converge.yml",
    "roles/zoom_room_firewall/molecule/windows/verify.yml",
]
FQCN = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+$")
NESTED = ("block", "rescue", "always")


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


CALLS = [(f"{task_file}: {label}", module, args)
         for task_file in TASK_FILES + PLAYBOOKS for label, module, args in module_calls(ROOT / task_file)]


def test_task_files_call_one_task_per_change():
    modules = {module for _unused, module, _unused in CALLS}
    assert {"ansible.windows.win_powershell", "zoomrooms.remediation.zoom_room_firewall",
            "zoomrooms.remediation.zoom_room_proxy"} <= modules
    assert not modules & {"ansible.windows.win_inet_proxy", "ansible.windows.win_http_proxy",
                          "community.windows.win_firewall_rule"}, "the actions call these, not the roles"


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
