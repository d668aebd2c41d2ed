"""A module's options as the installed collections document them (`ansible-doc -j`), and a checker of the
options a task or a plan passes against them. No Windows host runs here: this is what catches a renamed or
removed option of ansible.windows / community.windows before a customer's room does."""

from __future__ import annotations

import functools
import json
import os
import subprocess
from typing import Any

from fixture_files import PROJECT as ROOT

BIN = ROOT / ".venv" / "bin"
# Modules whose arguments are free-form names rather than documented options.
FREE_FORM = {"ansible.builtin.set_fact": {"cacheable"}}


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
        values = value if isinstance(value, list) else [value]
        literal = all(isinstance(v, (str, int, bool)) and "{{" not in str(v) for v in values)
        outside = [v for v in values if v not in (choices or [])]
        if choices and literal and outside:
            problems.append(f"{module}: option '{key}' value {value!r} is not one of {choices}")
    return problems
