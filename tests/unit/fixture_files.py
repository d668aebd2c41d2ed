"""Recorded command output: fixture files start with `# source:` / `# command:` lines that say where they come from."""

import importlib.machinery
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = Path(__file__).resolve().parents[2]


def lab_simulator(script: str) -> ModuleType:
    """One of the lab's simulator scripts (tests/lab/sim/<script>, no .py suffix) as a module."""
    path = PROJECT / "tests" / "lab" / "sim" / script
    loader = importlib.machinery.SourceFileLoader(script.replace("-", "_") + "_sim", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses and threads look the module up by name
    loader.exec_module(module)
    return module


def recorded(relative: str) -> str:
    """The recorded output without its provenance header."""
    lines = (FIXTURES / relative).read_text().splitlines(keepends=True)
    while lines and lines[0].startswith(("# source:", "# command:", "# setup:")):
        lines.pop(0)
    return "".join(lines)


class RecordedHost:
    """A command runner: argv -> recorded (rc, stdout, stderr); every call is kept; an unrecorded
    command is not installed."""

    def __init__(self, outputs):
        self.outputs, self.calls = outputs, []

    def __call__(self, argv, data=None):
        self.calls.append(tuple(argv))
        return self.outputs.get(tuple(argv), (127, "", f"{argv[0]}: command not found"))


def nft_ruleset(name: str) -> str:
    """`nft -j list ruleset` output from a recorded nftables fixture."""
    return json.dumps(json.loads(Path(FIXTURES, "nftables", name).read_text())["ruleset"])


def windows_fixture(name: str) -> dict:
    """A recorded Windows facts-script result (fixtures/windows/<name>.json)."""
    return json.loads((FIXTURES / "windows" / f"{name}.json").read_text())


def windows_variant(name: str) -> dict:
    """A recorded Windows facts-script result with the values fixtures/windows/variants.json changes (`set`) and
    the keys it leaves out (`drop`: a collector section that failed) for `name`."""
    variant = json.loads((FIXTURES / "windows" / "variants.json").read_text())["variants"][name]
    result = json.loads((FIXTURES / "windows" / f"{variant['base']}.json").read_text())
    for path, value in variant["set"].items():
        target, last = _parent(result, path)
        target[last] = value
    for path in variant.get("drop", []):
        target, last = _parent(result, path)
        del target[last]
    return result


def _parent(result: dict, path: str) -> tuple:
    """The container a dotted path (`result.firewall_rules.3.source`) ends in, and the last key or index."""
    *parents, last = path.split(".")
    target = result
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    return target, int(last) if isinstance(target, list) else last
