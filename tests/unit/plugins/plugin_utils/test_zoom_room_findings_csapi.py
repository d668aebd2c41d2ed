"""What ZR-CSAPI adds to the diagnosis: findings where its silence or its answer says something,
the app's version where the host gave none, and evidence (never an error) for everything else."""

from __future__ import annotations

import copy
import json

import pytest
from ansible_collections.zoomrooms.remediation.plugins.action import zoom_room_diagnose as action
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_csapi import room_evidence
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_findings import (
    SEVERITY,
    diagnose,
    verify,
)
from fixture_files import PROJECT
from test_zoom_room_findings import HEALTHY, OPEN, SUBNET  # the triage table's healthy room

POLICY = {"controller_port": 9090, "controller_subnets": [SUBNET], "address": "10.89.1.5", "min_version": "6.0"}


def said(state: str, name: str | None = "zr-room-01", version: str | None = "6.2.0 (4512)",
         expected: str = "zr-room-01") -> dict:
    result = {"state": state, "message": state, "address": "10.89.1.5", "port": 2244, "host_key": None}
    if state == "answered":
        result.update(room_name=name, app_version=version)
    return room_evidence(result, expected)


@pytest.mark.parametrize("csapi, expected", [
    (said("answered"), []),
    (said("answered", name="ZR-ROOM-01"), []),
    (said("answered", name="zr-room-07"), ["csapi_reports_other_room"]),
    (said("down"), ["csapi_not_answering"]),
    (said("timeout"), ["csapi_not_answering"]),
    (said("no_answer"), ["csapi_not_answering"]),
    (said("busy"), []),
    (said("displaced"), []),
    (said("auth_failed"), []),
    (said("host_key_unknown"), []),
    (said("host_key_mismatch"), []),
    (said("host_key_unsupported"), []),
    (said("not_ssh"), ["csapi_not_answering"]),
    (None, []),
], ids=["answers as itself", "name differs only in case", "answers as another room", "down while 9090 listens",
        "timeout while 9090 listens", "logged in, no SystemUnit", "busy: evidence only",
        "a controller took over: evidence only", "wrong passcode: evidence only", "unknown host key: evidence only",
        "host key changed: evidence only",
        "only host key algorithms we refuse (an SSH server answered): evidence only, not silence",
        "not an SSH server while 9090 listens", "not read"])
def test_csapi_findings(csapi, expected):
    codes = [f["code"] for f in diagnose(copy.deepcopy(HEALTHY), OPEN, None, POLICY, csapi)]
    assert codes == expected


def test_silence_is_not_blamed_on_csapi_when_the_app_is_down_anyway():
    facts = copy.deepcopy(HEALTHY)
    facts["listener"] = {"listening": False}
    codes = [f["code"] for f in diagnose(facts, {"state": "refused"}, None, POLICY, said("down"))]
    assert codes == ["app_not_listening"]


def test_the_finding_carries_the_session_as_evidence():
    finding = diagnose(copy.deepcopy(HEALTHY), OPEN, None, POLICY, said("answered", name="zr-room-07"))[0]
    assert finding["evidence"]["room_name"] == "zr-room-07"
    assert finding["evidence"]["expected_room_name"] == "zr-room-01"
    assert finding["severity"] == "high" and "another room" in finding["summary"]


@pytest.mark.parametrize("host_version, csapi_version, expected", [
    (None, "5.16.2 (3001)", {"installed": "5.16.2.3001", "minimum": "6.0.0.0", "source": "zr_csapi"}),
    ("5.16.2.3001", "6.2.0 (4512)", {"installed": "5.16.2.3001", "minimum": "6.0.0.0"}),
    (None, "not a version", None),
    (None, None, None),
], ids=["the app's word where the host gave none", "the host's version first", "unparsable: evidence only",
        "no version anywhere"])
def test_csapi_version_joins_the_version_sources(host_version, csapi_version, expected):
    facts = copy.deepcopy(HEALTHY)
    facts["app"]["version"] = host_version
    findings = diagnose(facts, OPEN, None, POLICY, said("answered", version=csapi_version))
    below = [f["evidence"] for f in findings if f["code"] == "app_version_below_minimum"]
    assert below == ([expected] if expected else [])


def test_verify_can_name_its_targets_and_count_api_findings():
    before = [{"code": "app_version_drift"}, {"code": "app_version_below_minimum"}]
    by_fix = verify(before, [{"code": "app_version_drift"}], ["update_versions"])
    assert by_fix["passed"] is True  # remediate: API findings wait for the next diagnose
    named = verify(before, [{"code": "app_version_drift"}], [], targeted=["app_version_drift"], include_api=True)
    assert (named["passed"], named["remaining_targeted"]) == (False, ["app_version_drift"])


def test_the_diagnose_action_reports_what_csapi_said():
    csapi = said("busy")
    results = action.room_results({"platform": "linux"}, [], action.NO_API_READ, True, csapi)
    assert results["zoom_room_csapi"] == csapi
    assert results["zoom_room_report"]["csapi"]["state"] == "busy"
    assert results["zoom_room_report"]["status"] == "healthy"  # busy is evidence, not a finding
    assert "zoom_room_csapi" not in action.room_results({"platform": "linux"}, [], action.NO_API_READ, True)


def test_every_finding_code_is_one_the_report_schema_admits():
    schema = json.loads((PROJECT / "docs" / "report.schema.json").read_text())
    assert set(SEVERITY) <= set(schema["$defs"]["finding_code"]["enum"])
