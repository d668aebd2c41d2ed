"""Zoom Rooms version strings, every form the app's version takes on every platform and source.

One parser for all of them (docs/windows.md and docs/macos.md list where each form comes from):

  `7.1.0.13088`              Info.plist CFBundleShortVersionString, Uninstall DisplayVersion, packages
  `5.9.1 (2581)`             Zoom API `app_version`, release notes
  `7.0.0 (7.0.0.7486)`       the full version repeated in parentheses (winget-pkgs Zoom.ZoomRooms titles)
  `4.1.5 (4.1.33237.0924)`   legacy (4.x) releases: major.minor.build.MMDD in parentheses
  `4.6.0 (13614.1202)`       legacy: build.MMDD in parentheses
  `6, 2, 0, 4512`            a Windows file version resource written with commas
  `1:6.2.0.4512-1`           dpkg epoch and Debian revision around the upstream version
  `v6.2.0`, `6.2`            a leading v; missing parts are 0

All are compared as (major, minor, patch, build). A text none of these forms fits is reported as
unreadable (`read_version`), never dropped silently. Pure functions; stdlib only (runs on a Mac's
Python 3.9 too).
"""

from __future__ import annotations

import re
from typing import Any, Dict, Tuple

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue

Version = Tuple[int, int, int, int]

_NUMBER = r"\d+"
_SEP = r"\s*[.,]\s*"
# major[.minor[.patch[.build]]], commas allowed (file version resources), optional leading v
_BASE = re.compile(rf"^v?({_NUMBER})(?:{_SEP}({_NUMBER}))?(?:{_SEP}({_NUMBER}))?(?:{_SEP}({_NUMBER}))?$", re.I)
# `X.Y.Z (…)` / `X.Y.Z(…)`: what is inside the parentheses is read by _build_in_parentheses
_WITH_PARENS = re.compile(r"^(.*?)\s*\(\s*([0-9.]+)\s*\)$")
# Debian epoch / revision around an upstream version, as dpkg prints it: 1:6.2.0.4512-1
_DPKG = re.compile(r"^(?:\d+:)?(.+?)(?:-[0-9A-Za-z.+~]+)?$")
FORMS = "6.2.0, 6.2.0.4512, '6.2.0 (4512)' or '4.1.5 (4.1.33237.0924)'"


def _base(text: str) -> Tuple[int, ...] | None:
    match = _BASE.match(text.strip())
    if not match:
        return None
    return tuple(int(part) if part else 0 for part in match.groups())


def _build_in_parentheses(base: Tuple[int, ...], inner: str) -> int | None:
    """`2581`; `7.0.0.7486` (the full version again); legacy `13614.1202` (build.MMDD);
    legacy `4.1.33237.0924` (major.minor.build.MMDD)."""
    parts = inner.split(".")
    if not all(part.isdigit() for part in parts):
        return None
    if len(parts) == 1:
        return int(parts[0])
    if len(parts) == 2 and len(parts[1]) == 4:
        return int(parts[0])
    if len(parts) == 4 and tuple(int(part) for part in parts[:3]) == base[:3]:
        return int(parts[3])
    if len(parts) == 4 and len(parts[3]) == 4 and (int(parts[0]), int(parts[1])) == base[:2]:
        return int(parts[2])
    return None


def _parse(text: str) -> Version | None:
    with_parens = _WITH_PARENS.match(text)
    if with_parens:
        base = _base(with_parens.group(1))
        if base is None or base[3]:
            return None
        build = _build_in_parentheses(base, with_parens.group(2))
        return None if build is None else (base[0], base[1], base[2], build)
    base = _base(text)
    if base is None:
        upstream = _DPKG.match(text)
        base = _base(upstream.group(1)) if upstream else None
    return None if base is None else (base[0], base[1], base[2], base[3])


def parse_version(text: object, name: str = "version") -> Version:
    """(major, minor, patch, build); missing parts are 0. Raises InvalidValue naming `name`."""
    value = str(text).strip() if text is not None else ""
    parsed = _parse(value) if value else None
    if parsed is None:
        raise InvalidValue(f"{name}: '{text}' is not a version like {FORMS}")
    return parsed


def normalise_version(text: object, name: str = "version") -> str:
    """The X.Y.Z.build spelling used in facts and reports."""
    return ".".join(str(part) for part in parse_version(text, name))


def read_version(text: object, source: str | None) -> Dict[str, Any]:
    """The facts fields for a version read from `source`: unreadable text is kept and said, not dropped.

    {"version": "X.Y.Z.build" | None, "raw_version": text | None, "version_source": source | None,
     "version_status": "ok" | "unreadable" | "absent"}
    """
    raw = None if text is None else str(text).strip()
    if not raw:
        return {"version": None, "raw_version": None, "version_source": None, "version_status": "absent"}
    try:
        return {"version": normalise_version(raw), "raw_version": raw, "version_source": source,
                "version_status": "ok"}
    except InvalidValue:
        return {"version": None, "raw_version": raw, "version_source": source, "version_status": "unreadable"}


def compare(left: object, right: object) -> int:
    a, b = parse_version(left, "left"), parse_version(right, "right")
    return (a > b) - (a < b)


def version_report(installed: object, minimum: object = None, target: object = None,
                   controller_versions: Any = ()) -> Dict[str, Any]:
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
