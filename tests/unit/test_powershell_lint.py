"""The PowerShell lint (tests/lint/powershell_lint.py): bad snippets fail with a message naming what and where."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

LINT_PATH = Path(__file__).resolve().parents[1] / "lint" / "powershell_lint.py"
_spec = importlib.util.spec_from_file_location("powershell_lint", LINT_PATH)
lint = sys.modules.setdefault("powershell_lint", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(lint)


def problems_in(source: str) -> list[str]:
    return [problem.message for problem in lint.lint_source(lint.Script("x.ps1", 1, source))]


@pytest.mark.parametrize("source, message", [
    ("$a = $b ?? 'x'", "'??' (null-coalescing operator)"),
    ("$a ??= 1", "'??=' (null-coalescing assignment)"),
    ("$name = $process?.Name", "'?.' (null-conditional member access)"),
    ("${list}?[0]", "'?[]' (null-conditional index)"),
    ("$a = $null -eq $b ? 'none' : $b", "'? :' (ternary operator)"),
    ("Get-Item C:\\x && Write-Output ok", "'&&' (pipeline chain operator)"),
    ("Get-Item C:\\x || Write-Output missing", "'||' (pipeline chain operator)"),
], ids=["null-coalescing", "null-coalescing assignment", "null-conditional member", "null-conditional index",
        "ternary", "chain and", "chain or"])
def test_powershell_7_syntax_fails_naming_it(source, message):
    assert problems_in(source) == [f"{message}: Windows PowerShell 5.1 (what WinRM runs) lacks it"]


@pytest.mark.parametrize("source", ["if ($a) {\n  1\n", "$a = 1 +\n", "$total = (1 + 2"],
                         ids=["unclosed block", "dangling operator", "unclosed parenthesis"])
def test_parse_errors_fail(source):
    found = problems_in(source)
    assert found and all(message.startswith("parse error") for message in found)


@pytest.mark.parametrize("source", [
    "Get-Process | ? { $_.CPU -gt 1 }",
    "$x = if ($a) { 1 } else { 2 }",
    "Write-Output 'a ?? b && c'",
    "# a ?? b\n$a = 1",
    "$s = @'\nhello ?? x ? y : z\n'@\n",
    "[CmdletBinding()]\nparam ([string]$Name, [int]$Port = 9090)\n$a = $Name -and $Port -or $false",
], ids=["? is Where-Object", "if as a value", "operators in a string", "operators in a comment", "here-string",
        "param block and logical operators"])
def test_windows_powershell_5_1_code_passes(source):
    assert problems_in(source) == []


def test_yaml_scripts_are_found_with_their_file_lines(tmp_path):
    playbook = tmp_path / "tasks.yml"
    playbook.write_text(
        "- name: read\n"
        "  ansible.windows.win_powershell:\n"
        "    script: |\n"
        "      $a = 1\n"
        "      $b = $a ?? 2\n"
        "- name: run\n"
        "  ansible.windows.win_shell: Get-Item x && Write-Output {{ item }}\n"
        "- name: from a file (checked as .ps1)\n"
        "  ansible.windows.win_powershell:\n"
        "    script: \"{{ lookup('ansible.builtin.file', 'facts.ps1') }}\"\n"
        "- name: templated\n"
        "  ansible.windows.win_powershell:\n"
        "    script: |\n"
        "      $port = {{ zoom_room_controller_port | int }}\n"
        "      {% if zoom_room_debug %}Write-Output $port{% endif %}\n")
    problems, count = lint.lint_paths([playbook])
    assert count == 3
    assert [(p.line, p.message.split(":")[0]) for p in problems] == [
        (5, "'??' (null-coalescing operator)"), (7, "'&&' (pipeline chain operator)")]


def test_the_repository_passes():
    problems, count = lint.lint_paths(lint.repository_files())
    assert [str(problem) for problem in problems] == []
    assert count >= 2  # the collector and the evidence script; YAML holds no PowerShell of its own now
