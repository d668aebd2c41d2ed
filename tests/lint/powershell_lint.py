#!/usr/bin/env python3
"""PowerShell lint: parse every .ps1 and every PowerShell string in the YAML with tree-sitter-powershell.

PowerShell cannot run here, so this is its check (`make lint`). It fails on
  * a parse error (tree-sitter ERROR or MISSING node), and
  * syntax that Windows PowerShell 5.1 lacks (WinRM runs 5.1): the pipeline chain operators `&&` and
    `||`, null-coalescing `??` and `??=`, null-conditional `?.` and `?[]`, and the ternary `a ? b : c`
    (PowerShell 7.0 added them all: learn.microsoft.com "What's New in PowerShell 7.0").
The PowerShell strings in YAML are the `script` of ansible.windows.win_powershell and the command of
ansible.windows.win_shell (free form, `cmd` or `_raw_params`). A string that is only a Jinja expression
(`{{ lookup('ansible.builtin.file', 'x.ps1') }}`) is skipped: the file it names is checked as a .ps1.
Jinja expressions inside a script become a variable so the rest still parses.

Usage: powershell_lint.py [PATH ...]   (default: the repository's tracked and new files)
Exit status 1 when anything is found; each problem is printed as `file:line:column: message`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import tree_sitter
import tree_sitter_powershell
import yaml

ROOT = Path(__file__).resolve().parents[2]
POWERSHELL_MODULES = {
    "ansible.windows.win_powershell": ("script",),
    "win_powershell": ("script",),
    "ansible.windows.win_shell": ("cmd", "_raw_params"),
    "win_shell": ("cmd", "_raw_params"),
}
JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)
JINJA_STATEMENT = re.compile(r"\{%.*?%\}", re.S)
# What PowerShell 7 added and 5.1 rejects, as the grammar leaves it behind in an error: the first that fits.
PS7_ONLY = (
    (re.compile(r"\?\?="), "'??=' (null-coalescing assignment)"),
    (re.compile(r"\?\?"), "'??' (null-coalescing operator)"),
    (re.compile(r"[\w})\]]\?\."), "'?.' (null-conditional member access)"),
    (re.compile(r"[\w})\]]\?\["), "'?[]' (null-conditional index)"),
    (re.compile(r"\s\?\s.*\s:\s"), "'? :' (ternary operator)"),
)
PS51 = "Windows PowerShell 5.1 (what WinRM runs) lacks it"


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True)
class Script:
    """PowerShell source and where its first line sits in the file it came from."""

    path: str
    first_line: int
    source: str


PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def _nodes(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    yield node
    for child in node.children:
        yield from _nodes(child)


def _ps7_syntax(line_text: str) -> str | None:
    for pattern, name in PS7_ONLY:
        if pattern.search(line_text):
            return name
    return None


def lint_source(script: Script) -> list[Problem]:
    """Parse errors and PowerShell 7-only syntax in one script; line numbers are the file's."""
    source = script.source.encode()
    tree = PARSER.parse(source)
    lines = script.source.splitlines() or [""]
    problems: list[Problem] = []
    reported_rows: set[int] = set()
    for node in _nodes(tree.root_node):
        row, column = node.start_point
        where = (script.path, script.first_line + row, column + 1)
        if node.type == "pipeline_chain_tail":
            operator = node.text.decode(errors="replace").strip()
            problems.append(Problem(*where, f"'{operator}' (pipeline chain operator): {PS51}"))
        elif (node.type == "ERROR" or node.is_missing) and row not in reported_rows:
            reported_rows.add(row)
            line_text = lines[min(row, len(lines) - 1)]
            ps7 = _ps7_syntax(line_text)
            if ps7:
                problems.append(Problem(*where, f"{ps7}: {PS51}"))
            elif node.is_missing:
                problems.append(Problem(*where, f"parse error: missing {node.type}"))
            else:
                near = node.text.decode(errors="replace").strip().splitlines()[0][:60] if node.text else ""
                problems.append(Problem(*where, f"parse error near '{near}'"))
    return problems


def _without_jinja(text: str) -> str:
    """Jinja statements vanish and expressions become a variable; newlines are kept so lines still match."""
    text = JINJA_STATEMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return JINJA_EXPRESSION.sub(lambda m: "$zrJinja" + "\n" * m.group(0).count("\n"), text)


def _is_only_jinja(text: str) -> bool:
    return JINJA_EXPRESSION.sub("", text).strip() == ""


def _scalar(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str) else None


def _script_of(module_args: yaml.Node, keys: tuple[str, ...]) -> yaml.Node | None:
    if isinstance(module_args, yaml.ScalarNode):
        return module_args  # free form: win_shell: Get-Item x
    if isinstance(module_args, yaml.MappingNode):
        for key, value in module_args.value:
            if _scalar(key) in keys:
                return value
    return None


def _yaml_scripts(node: yaml.Node, path: str, seen: set[int]) -> Iterator[Script]:
    """Every PowerShell string under a PowerShell module's key; an alias (`*anchor`) is checked once."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            keys = POWERSHELL_MODULES.get(_scalar(key) or "")
            script = _script_of(value, keys) if keys else None
            text = _scalar(script) if script is not None else None
            if text is not None and id(script) not in seen:
                seen.add(id(script))
                if not _is_only_jinja(text):
                    block = script.style in ("|", ">")  # a block scalar starts on the line after its key
                    yield Script(path, script.start_mark.line + 1 + int(block), _without_jinja(text))
            yield from _yaml_scripts(value, path, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _yaml_scripts(item, path, seen)


def scripts_in(path: Path) -> Iterator[Script]:
    shown = str(path.relative_to(ROOT)) if path.is_absolute() and path.is_relative_to(ROOT) else str(path)
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".ps1":
        yield Script(shown, 1, text)
        return
    for document in yaml.compose_all(text, Loader=yaml.SafeLoader):
        if document is not None:
            yield from _yaml_scripts(document, shown, set())


def repository_files() -> list[Path]:
    """Tracked and new (not ignored) .ps1 and YAML files."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    return [ROOT / name for name in listed
            if name.lower().endswith((".ps1", ".yml", ".yaml")) and (ROOT / name).is_file()]


def lint_paths(paths: list[Path]) -> tuple[list[Problem], int]:
    problems: list[Problem] = []
    count = 0
    for path in paths:
        try:
            scripts = list(scripts_in(path))
        except yaml.YAMLError as error:
            problems.append(Problem(str(path), 1, 1, f"YAML does not parse: {error}"))
            continue
        count += len(scripts)
        for script in scripts:
            problems.extend(lint_source(script))
    return problems, count


def main(argv: list[str]) -> int:
    paths = [Path(arg).resolve() for arg in argv] or repository_files()
    problems, count = lint_paths(paths)
    for problem in problems:
        print(problem)
    print(f"powershell lint: {count} scripts checked, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
