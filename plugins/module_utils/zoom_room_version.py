"""Zoom Rooms version strings: `X.Y.Z (build)` (Zoom API) and `X.Y.Z.build` (Info.plist, DisplayVersion).

Both spell the same version; compare them as tuples. Pure functions.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue

_VERSION = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(?:\.|\s*\(\s*)(\d+)\s*\)?)?\s*$")
# Debian revision / epoch around an upstream version, as dpkg prints it: 1:6.2.0.4512-1
_DPKG = re.compile(r"^(?:\d+:)?(.+?)(?:-[0-9A-Za-z.+~]+)?$")


def parse_version(text: object, name: str = "version") -> tuple[int, int, int, int]:
    """(major, minor, patch, build); missing parts are 0. Raises InvalidValue naming `name`."""
    value = str(text) if text is not None else ""
    match = _VERSION.match(value)
    if not match:
        upstream = _DPKG.match(value.strip())
        match = _VERSION.match(upstream.group(1)) if upstream else None
    if not match:
        raise InvalidValue(f"{name}: '{text}' is not a version like 6.2.0, 6.2.0.4512 or '6.2.0 (4512)'")
    return tuple(int(part) if part else 0 for part in match.groups())  # type: ignore[return-value]


def normalise_version(text: object, name: str = "version") -> str:
    """The X.Y.Z.build spelling used in facts and reports."""
    return ".".join(str(part) for part in parse_version(text, name))


def compare(left: object, right: object) -> int:
    a, b = parse_version(left, "left"), parse_version(right, "right")
    return (a > b) - (a < b)


def version_report(installed: object, minimum: object = None, target: object = None,
                   controller_versions: Any = ()) -> dict[str, Any]:
    """What the version module and the diagnosis need, from plain values; inputs validated first."""
    parsed_min = parse_version(minimum, "minimum") if minimum else None
    parsed_target = parse_version(target, "target") if target else None
    controllers = [(v, parse_version(v, f"controller_versions[{i}]")) for i, v in enumerate(controller_versions or [])]
    if installed in (None, ""):
        return {"installed": None, "below_minimum": None, "differs_from_target": None, "drift": [],
                "drift_detected": False}
    current = parse_version(installed, "installed")
    drift = [normalise_version(v) for v, parsed in controllers if parsed[:2] != current[:2]]
    return {
        "installed": normalise_version(installed),
        "below_minimum": bool(parsed_min and current < parsed_min),
        "differs_from_target": bool(parsed_target and current != parsed_target),
        "upgrade_needed": bool(parsed_target and current < parsed_target),
        "drift": drift,
        "drift_detected": bool(drift),
    }
