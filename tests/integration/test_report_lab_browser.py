"""report.html of a real lab run, in headless Chromium: what a person sees is what report.json says."""

import json
import sys
from pathlib import Path

import pytest
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_report import summarize

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from report_check import CHROMIUM, check_report_in_browser  # noqa: E402

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} missing (make apt installs it)")


def test_lab_run_report_in_a_browser(healed, tmp_path):
    rooms = healed.rooms
    healed.labctl("fault", rooms[0], "firewall_block")
    healed.labctl("fault", rooms[1], "not_listening")
    reports = tmp_path / "reports"
    healed.playbook("playbooks/remediate.yml", "-e", "zoom_rooms_batch=100%",
                    extra_env={"ZOOM_ROOMS_REPORT_DIR": str(reports)})
    latest = reports / "latest"
    report = json.loads((latest / "report.json").read_text())
    seen = check_report_in_browser(latest, ROOT / "tests" / "artifacts" / "report-lab.png",
                                   filter_status="needs_attention")
    expected = summarize(report)
    assert expected["fixed"] == 1 and expected["needs_attention"] == 1
    assert {status: seen["counts"][status] for status in expected} == expected
    assert {row["room"]: row["status"] for row in seen["rows"]} == {
        name: room["status"] for name, room in report["rooms"].items()}
    assert seen["filter"]["visible_rooms"] == [rooms[1]]
    assert seen["console_errors"] == [] and seen["dialogs"] == []
    assert (ROOT / "tests" / "artifacts" / "report-lab.png").stat().st_size > 10_000
