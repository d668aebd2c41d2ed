import re

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_version import (
    compare,
    normalise_version,
    parse_version,
    read_version,
    version_report,
)


@pytest.mark.parametrize(
    "text, parsed",
    [("5.9.1 (2581)", (5, 9, 1, 2581)), ("5.9.1.2581", (5, 9, 1, 2581)), ("7.1.0.13088", (7, 1, 0, 13088)),
     ("6.2", (6, 2, 0, 0)), ("1:6.2.0.4512-1", (6, 2, 0, 4512)), ("5.9.1(2581)", (5, 9, 1, 2581)),
     ("4.1.5 (4.1.33237.0924)", (4, 1, 5, 33237)), ("4.6.0 (13614.1202)", (4, 6, 0, 13614)),
     ("6, 1, 5, 4300", (6, 1, 5, 4300)), ("v6.0.11.100", (6, 0, 11, 100)), (" 6.2.0 ( 4512 ) ", (6, 2, 0, 4512))],
    ids=["api spelling", "plist spelling", "five-digit build", "major.minor", "dpkg epoch and revision",
         "no space before build", "legacy: major.minor.build.MMDD in parentheses", "legacy: build.MMDD in parentheses",
         "file version with commas", "leading v", "stray spaces"],
)
def test_parse_version(text, parsed):
    assert parse_version(text) == parsed


@pytest.mark.parametrize("text", ["", "latest", "5.x", None, "4.1.5 (4.2.33237.0924)", "6.2.0.4512 (4512)",
                                  "5.9.1 (beta)", "4.6.0 (13614.12)"])
def test_parse_version_rejects_with_the_name(text):
    with pytest.raises(InvalidValue, match=re.escape(f"zoom_room_min_version: '{text}' is not a version")):
        parse_version(text, "zoom_room_min_version")


def test_api_and_plist_spellings_are_the_same_version():
    assert compare("5.9.1 (2581)", "5.9.1.2581") == 0
    assert normalise_version("5.9.1 (2581)") == "5.9.1.2581"


@pytest.mark.parametrize(
    "installed, minimum, target, controllers, expected",
    [
        ("6.2.0.4512", "6.0.0", None, [], {"below_minimum": False, "drift_detected": False}),
        ("5.16.2.3001", "6.0.0", None, [], {"below_minimum": True}),
        ("6.2.0.4512", None, "6.3.0 (100)", [], {"differs_from_target": True, "upgrade_needed": True}),
        ("6.2.0.4512", None, None, ["6.2.1 (4600)", "6.4.0 (1)"], {"drift": ["6.4.0.1"], "drift_detected": True}),
        (None, "6.0.0", None, [], {"installed": None, "below_minimum": None}),
    ],
    ids=["current", "below minimum", "target newer", "drift in major.minor only", "not installed"],
)
def test_version_report(installed, minimum, target, controllers, expected):
    report = version_report(installed, minimum, target, controllers)
    assert {key: report[key] for key in expected} == expected


@pytest.mark.parametrize("text, expected", [
    ("7.1.0.13088", {"version": "7.1.0.13088", "raw_version": "7.1.0.13088", "version_source": "info_plist",
                     "version_status": "ok"}),
    ("4.6.0 (13614.1202)", {"version": "4.6.0.13614", "raw_version": "4.6.0 (13614.1202)",
                            "version_source": "info_plist", "version_status": "ok"}),
    ("Zoom Rooms 7", {"version": None, "raw_version": "Zoom Rooms 7", "version_source": "info_plist",
                      "version_status": "unreadable"}),
    ("", {"version": None, "raw_version": None, "version_source": None, "version_status": "absent"}),
    (None, {"version": None, "raw_version": None, "version_source": None, "version_status": "absent"}),
], ids=["readable", "legacy form", "unreadable text kept", "empty", "missing"])
def test_read_version_keeps_what_it_cannot_read(text, expected):
    assert read_version(text, "info_plist") == expected


@pytest.mark.parametrize("text, parsed", [
    ("7.0.0 (7.0.0.7486)", (7, 0, 0, 7486)), ("7.1.5 (7.1.5.8017)", (7, 1, 5, 8017)),
    ("7.1.7 (7.1.7.8297)", (7, 1, 7, 8297)),
], ids=["7.0.0", "7.1.5", "7.1.7"])
def test_full_version_repeated_in_parentheses(text, parsed):
    """`X.Y.Z (X.Y.Z.build)`: winget-pkgs PR titles for Zoom.ZoomRooms (microsoft/winget-pkgs#353708
    "version 7.0.0 (7.0.0.7486)", #411533 "7.1.5 (7.1.5.8017)", #437078 "7.1.7 (7.1.7.8297)"; installer
    URLs cdn.zoom.us/prod/7.0.0.7486/...). The build is the fourth part, not the third as in the legacy
    `4.1.5 (4.1.33237.0924)`, which still reads as 4.1.5.33237."""
    assert parse_version(text) == parsed
    assert compare(text, ".".join(str(part) for part in parsed)) == 0
    assert parse_version("4.1.5 (4.1.33237.0924)") == (4, 1, 5, 33237)
