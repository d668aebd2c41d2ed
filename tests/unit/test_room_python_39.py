"""Code that runs on rooms must run on Python 3.9: the Command Line Tools' Python on macOS 12-15
(docs/macos.md). The control node runs 3.11, so nothing else would catch a newer syntax or API here.

Checked without a 3.9 interpreter: the syntax with ast's feature_version, postponed annotations (so
`X | None` and `list[str]` in annotations are never evaluated), and the 3.10/3.11 APIs that have
bitten or are easy to reach for (datetime.UTC, tomllib, StrEnum, zip(strict=), dataclass slots/kw_only).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
# module_utils and modules run on the rooms (AnsiballZ or lean payloads); plugins/action and the rest on
# the control node.
ROOM_SIDE = sorted([*PROJECT.glob("plugins/module_utils/*.py"), *PROJECT.glob("plugins/modules/*.py")])
NEWER_MODULES = {"tomllib": "3.11"}
NEWER_NAMES = {("datetime", "UTC"): "3.11", ("enum", "StrEnum"): "3.11", ("typing", "Self"): "3.11",
               ("typing", "TypeAlias"): "3.10", ("typing", "ParamSpec"): "3.10"}
NEWER_KEYWORDS = {("zip", "strict"): "3.10", ("dataclass", "slots"): "3.10", ("dataclass", "kw_only"): "3.10"}


def newer_than_39(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name} ({NEWER_MODULES[a.name]})" for a in node.names if a.name in NEWER_MODULES]
        elif isinstance(node, ast.ImportFrom):
            found += [f"from {node.module} import {a.name} ({NEWER_NAMES[(node.module, a.name)]})"
                      for a in node.names if (node.module, a.name) in NEWER_NAMES]
            if node.module in NEWER_MODULES:
                found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in NEWER_NAMES:
                found.append(f"{node.value.id}.{node.attr} ({NEWER_NAMES[(node.value.id, node.attr)]})")
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            found += [f"{name}({k.arg}=) ({NEWER_KEYWORDS[(name, k.arg)]})" for k in node.keywords
                      if (name, k.arg) in NEWER_KEYWORDS]
    return found


@pytest.mark.parametrize("path", ROOM_SIDE, ids=[p.relative_to(PROJECT).as_posix() for p in ROOM_SIDE])
def test_room_side_code_runs_on_python_39(path):
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, feature_version=(3, 9))  # a newer syntax (match, except*) is a SyntaxError
    assert "from __future__ import annotations" in source, "annotations must not be evaluated on 3.9"
    assert newer_than_39(tree) == []


@pytest.mark.parametrize("source, expected", [
    ("from datetime import UTC", ["from datetime import UTC (3.11)"]),
    ("import datetime\ndatetime.UTC", ["datetime.UTC (3.11)"]),
    ("import tomllib", ["import tomllib (3.11)"]),
    ("zip(a, b, strict=True)", ["zip(strict=) (3.10)"]),
    ("from datetime import timezone\ntimezone.utc", []),
], ids=["datetime.UTC imported", "datetime.UTC used", "tomllib", "zip strict", "timezone.utc is fine"])
def test_the_check_finds_newer_apis(source, expected):
    assert newer_than_39(ast.parse(source)) == expected


def test_newer_syntax_is_refused():
    with pytest.raises(SyntaxError):
        ast.parse("match x:\n    case 1:\n        pass\n", feature_version=(3, 9))
