"""report.html in a real browser (headless Chromium): what a person sees matches report.json.

Renders a synthetic but realistic report (every status, several sites, a hostile room name),
then checks it with tests/browser/report_check.py. The screenshot goes to
tests/artifacts/report.png (gitignored). A lab-run variant can call check_report_in_browser
on reports/latest the same way.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_report import (
    build_report,
    summarize,
    write_report,
)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from report_check import CHROMIUM, check_report_in_browser  # noqa: E402

ARTIFACTS = ROOT / "tests" / "artifacts"
HOSTILE = "<script>alert(1)</script>"
STARTED = datetime(2026, 3, 1, 9, 30, 0, tzinfo=UTC)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} missing (make apt installs chromium)")


def facts(listening: bool = True, verdict: str = "admitted", bypass_ok: bool = True) -> dict:
    """Room facts in the docs/facts.md shape (trimmed)."""
    return {
        "schema": 1, "platform": "linux", "controller_port": 9090,
        "app": {"installed": True, "name": "zoom-rooms-sim", "version": "6.2.0.4512", "version_source": "dpkg"},
        "listener": {"listening": listening, "addresses": ["0.0.0.0"], "process": "zoom-rooms-sim"},
        "firewall": {"backend": "nftables", "active": True, "block_all": False, "notes": [],
                     "verdicts": [{"subnet": "10.89.90.0/24", "verdict": verdict,
                                   "decided_by": "inet filter input: tcp dport 9090 drop"}]},
        "proxy": {"mode": "manual", "servers": {"http": "http://ops:hunter2@proxy.example:3128"},
                  "bypass": ["localhost", "127.0.0.1"], "bypass_covers_local": True,
                  "bypass_covers_subnets": {"10.89.90.0/24": bypass_ok}},
        "addresses": [{"interface": "eth0", "address": "10.89.90.11", "prefix": 24}],
        "errors": [],
    }


def finding(code: str, severity: str, summary: str, next_step: str, evidence: object) -> dict:
    return {"code": code, "severity": severity, "summary": summary, "evidence": evidence, "next_step": next_step}


FIREWALL = finding("host_firewall_blocks_controller_port", "high",
                   "The room's firewall drops TCP 9090 from the controller subnet.",
                   "Run remediate.yml (firewall role) or admit 9090 from 10.89.90.0/24.",
                   {"verdict": "blocked", "decided_by": "inet filter input: tcp dport 9090 drop"})
PROXY = finding("proxy_intercepts_local_traffic", "high", "A proxy is set and the bypass lacks 10.89.90.0/24.",
                "Add the controller subnets to the proxy bypass.",
                "http_proxy=http://ops:hunter2@proxy.example:3128 no_proxy=localhost")
BLOCKED = finding("controller_port_blocked", "medium", "The room admits 9090 but the probe times out.",
                  "Check the network ACL between the controller VLAN and the room.", {"probe": "timeout", "ms": 3000})


def synthetic_rooms() -> dict[str, dict]:
    def room(status: str, site: str, **extra: object) -> dict:
        return {"platform": "linux", "status": status, "site": site, "findings": [], "planned": [], "changed": [],
                "verify": {"passed": None, "findings": []}, "rolled_back": False, **extra}

    firewall_change = {"summary": "nftables: admit tcp/9090 from 10.89.90.0/24",
                       "diff": {"before": "tcp dport 9090 drop\n",
                                "after": "ip saddr 10.89.90.0/24 tcp dport 9090 accept\n",
                                "before_header": "ruleset", "after_header": "ruleset"}}
    rooms = {f"hq-room-{n:02d}": room("healthy", "HQ Floor 3", facts_before=facts()) for n in range(1, 6)}
    rooms.update({
        "hq-room-06": room("fixed", "HQ Floor 3", findings=[FIREWALL], planned=[firewall_change],
                           changed=[firewall_change], verify={"passed": True, "findings": []},
                           facts_before=facts(verdict="blocked"), facts_after=facts()),
        "lyon-room-01": room("needs_attention", "Branch Lyon", findings=[BLOCKED]),
        "lyon-room-02": room("failed", "Branch Lyon", findings=[PROXY], rolled_back=True,
                             changed=[{"summary": "no_proxy += 10.89.90.0/24",
                                       "before": {"no_proxy": "localhost"},
                                       "after": {"no_proxy": "localhost,10.89.90.0/24"}}],
                             verify={"passed": False, "findings": [PROXY]}),
        "lyon-room-03": room("unreachable", "Branch Lyon", findings=[finding(
            "room_unreachable", "critical", "Ansible could not connect to the room computer.",
            "Check the room computer is on and reachable over SSH.",
            "ssh: connect to host 10.89.91.13 port 22: Connection timed out")]),
        HOSTILE: room("needs_attention", '"><img src=x onerror=alert(2)>', findings=[BLOCKED],
                      errors=[{"kind": "task_failed", "task": HOSTILE, "msg": "</pre><script>alert(3)</script>"}]),
    })
    return rooms


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[dict, dict]:
    report = build_report(run_id="20260301T093000Z-remediate", playbook="remediate", started=STARTED,
                          finished=STARTED + timedelta(minutes=4), rooms=synthetic_rooms(),
                          run_data={"mode": "apply", "controllers_to_update": ["lyon-ctl-02"]})
    run_dir = write_report(tmp_path_factory.mktemp("reports"), report, keep=20)
    report = json.loads((run_dir / "report.json").read_text())
    return report, check_report_in_browser(run_dir, ARTIFACTS / "report.png")


def test_counts_shown_match_report_json(rendered):
    report, seen = rendered
    expected = summarize(report)
    assert {status: seen["counts"][status] for status in expected} == expected
    assert seen["counts"]["total"] == len(report["rooms"]) == len(seen["rows"])
    assert sorted(row["room"] for row in seen["rows"]) == sorted(report["rooms"])
    assert {row["room"]: row["status"] for row in seen["rows"]} == {
        name: room["status"] for name, room in report["rooms"].items()}


def test_status_filter_hides_other_rooms(rendered):
    report, seen = rendered
    chosen = seen["filter"]["status"]
    assert chosen == "needs_attention"
    wanted = sorted(name for name, room in report["rooms"].items() if room["status"] == chosen)
    assert sorted(seen["filter"]["visible_rooms"]) == wanted
    assert set(seen["filter"]["visible_statuses"]) == {chosen}
    assert seen["filter"]["visible_count_label"] == str(len(wanted))


def test_site_filter_matches_part_of_the_site(rendered):
    report, seen = rendered
    typed = seen["site_filter"]["site"].lower()
    assert typed
    wanted = sorted(name for name, room in report["rooms"].items() if typed in room.get("site", "").lower())
    assert sorted(seen["site_filter"]["visible_rooms"]) == wanted
    assert 0 < len(wanted) < len(report["rooms"])


def test_sorting_by_status_reorders_rows(rendered):
    statuses = rendered[1]["sorted_by_status"]
    order = ["healthy", "fixed", "needs_attention", "unreachable", "failed"]  # flipped from worst first
    assert statuses == sorted(statuses, key=order.index)


def test_no_console_errors_and_no_script_ran(rendered):
    seen = rendered[1]
    assert seen["console_errors"] == []
    assert seen["dialogs"] == []
    assert seen["script_elements"] == 1


def test_hostile_name_is_shown_as_text(rendered):
    row = next(row for row in rendered[1]["rows"] if row["room"] == HOSTILE)
    assert row["name_text"] == HOSTILE
    assert row["site_text"] == '"><img src=x onerror=alert(2)>'


def test_screenshot_saved(rendered):
    shot = Path(rendered[1]["screenshot"])
    assert shot == ARTIFACTS / "report.png"
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_checker_catches_an_injected_script(tmp_path):
    """The checker itself can fail: a page that runs a script it should not is reported."""
    report = build_report(run_id="20260301T093000Z-x", playbook="x", started=STARTED, finished=STARTED,
                          rooms={"room-1": {"status": "healthy"}})
    run_dir = write_report(tmp_path, report, keep=20)
    page = run_dir / "report.html"
    html = page.read_text()
    nonce = html.split("script-src 'nonce-", 1)[1].split("'", 1)[0]
    # One script carries the page's nonce (as a template bug would), one does not (CSP blocks it).
    page.write_text(html.replace("<main>", f'<main><script nonce="{nonce}">alert("xss")</script>'
                                           '<script>alert("blocked")</script>', 1))
    seen = check_report_in_browser(run_dir, tmp_path / "shot.png")
    assert seen["dialogs"] == ["alert:xss"]
    assert any("Content Security Policy" in error for error in seen["console_errors"]), seen["console_errors"]
