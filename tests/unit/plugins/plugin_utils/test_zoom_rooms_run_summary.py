"""The run summary published with set_stats (AWX job artifacts), and where reports go."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_report import build_report
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_run_summary import (
    REPORT_KEY_PATTERN,
    SUMMARY_KEY,
    published_stats,
    report_base_dir,
    report_key,
    run_summary,
)

STARTED = datetime(2026, 3, 1, 6, 0, 0, tzinfo=UTC)


def room(status: str, *codes: str) -> dict:
    return {"platform": "linux", "status": status, "findings": [{"code": code} for code in codes]}


REPORT = build_report(
    run_id="20260301T060000Z-diagnose", playbook="diagnose", started=STARTED, finished=STARTED + timedelta(minutes=2),
    rooms={"room-01": room("healthy"), "room-02": room("needs_attention", "app_not_listening"),
           "room-03": room("unreachable", "room_unreachable"), "room-10": room("fixed")},
    run_data={"mode": "diagnose"})


def test_summary_counts_every_status_and_lists_the_rooms_not_healthy_worst_first():
    summary = run_summary(REPORT, "/srv/reports/20260301T060000Z-diagnose")
    assert summary == {
        "run_id": "20260301T060000Z-diagnose", "playbook": "diagnose", "mode": "diagnose", "check_mode": False,
        "rooms": 4,
        "counts": {"healthy": 1, "fixed": 1, "needs_attention": 1, "failed": 0, "unreachable": 1},
        "attention": [{"room": "room-03", "status": "unreachable", "codes": ["room_unreachable"]},
                      {"room": "room-02", "status": "needs_attention", "codes": ["app_not_listening"]},
                      {"room": "room-10", "status": "fixed", "codes": []}],
        "report": "/srv/reports/20260301T060000Z-diagnose",
    }


@pytest.mark.parametrize(("limit", "listed", "omitted"), [
    pytest.param(1, ["room-03"], 2, id="cut to the worst"),
    pytest.param(0, [], 3, id="none listed"),
    pytest.param(3, ["room-03", "room-02", "room-10"], None, id="all fit"),
])
def test_summary_limit(limit, listed, omitted):
    summary = run_summary(REPORT, "x", limit)
    assert [entry["room"] for entry in summary["attention"]] == listed
    assert summary.get("attention_omitted") == omitted


@pytest.mark.parametrize(("run_id", "key"), [
    pytest.param("20260301T060000Z-diagnose", "zoom_rooms_report_20260301T060000Z_diagnose", id="a run"),
    pytest.param("20260301T060000Z-diagnose-2", "zoom_rooms_report_20260301T060000Z_diagnose_2",
                 id="a second slice in the same second"),
    pytest.param("20260301T060000Z-site.b", "zoom_rooms_report_20260301T060000Z_site_b", id="dot in the name"),
])
def test_report_key_is_a_variable_name_merge_reports_finds(run_id, key):
    assert report_key(run_id) == key
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key)
    assert re.match(REPORT_KEY_PATTERN, key)


def test_published_stats_hold_the_summary_and_the_run_directory_under_its_own_key():
    run_dir = Path("/srv/reports/20260301T060000Z-diagnose-2")
    stats = published_stats(REPORT, run_dir)
    assert set(stats) == {SUMMARY_KEY, "zoom_rooms_report_20260301T060000Z_diagnose_2"}
    assert stats["zoom_rooms_report_20260301T060000Z_diagnose_2"] == str(run_dir)
    assert stats[SUMMARY_KEY]["report"] == str(run_dir)


@pytest.mark.parametrize(("configured", "config_file", "expected"), [
    pytest.param("/srv/zr", "/project/ansible.cfg", "/srv/zr", id="configured (ZOOM_ROOMS_REPORT_DIR)"),
    pytest.param(None, "/project/ansible.cfg", "/project/reports", id="next to ansible.cfg"),
    pytest.param("", None, "/cwd/reports", id="no ansible.cfg: the current directory"),
])
def test_report_base_dir(configured, config_file, expected):
    assert report_base_dir(configured, config_file, Path("/cwd")) == Path(expected)
