"""Merging run reports (job slices, sites): every room once, run ids listed, same-time contradictions fail."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_report import (
    build_report,
    make_run_id,
    write_report,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_report_merge import (
    ReportMergeError,
    SourceReport,
    merge_reports,
    runs_overlap,
)

ROOT = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text())
NINE = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)


def room(status: str, *codes: str, **extra: object) -> dict:
    findings = [{"code": code, "severity": "high", "summary": code, "evidence": {"latency_ms": 3},
                 "next_step": "look"} for code in codes]
    return {"platform": "linux", "status": status, "findings": findings, **extra}


def report(rooms: dict, start_minute: int = 0, minutes: int = 5, playbook: str = "diagnose",
           mode: str = "diagnose", **run_data: object) -> dict:
    started = NINE + timedelta(minutes=start_minute)
    return build_report(run_id=make_run_id(started, playbook), playbook=playbook, started=started,
                        finished=started + timedelta(minutes=minutes), rooms=rooms,
                        run_data={"mode": mode, **run_data})


def source(name: str, data: dict) -> SourceReport:
    return SourceReport(source=f"/reports/{name}/report.json", report=data)


SLICE_1 = report({"room-01": room("healthy"), "room-02": room("needs_attention", "controller_port_blocked")})
SLICE_2 = report({"room-03": room("healthy"), "room-10": room("unreachable", "room_unreachable")}, start_minute=1)


# --------------------------------------------------------------------------- rooms

def test_two_slices_give_every_room_once_and_list_both_runs():
    merged = merge_reports([source("s1", SLICE_1), source("s2", SLICE_2)])
    assert list(merged["rooms"]) == ["room-01", "room-02", "room-03", "room-10"]
    assert {name: entry["status"] for name, entry in merged["rooms"].items()} == {
        "room-01": "healthy", "room-02": "needs_attention", "room-03": "healthy", "room-10": "unreachable"}
    assert [entry["id"] for entry in merged["run"]["merged_from"]] == [SLICE_1["run"]["id"], SLICE_2["run"]["id"]]
    assert [entry["rooms"] for entry in merged["run"]["merged_from"]] == [2, 2]
    assert merged["rooms"]["room-03"]["run_id"] == SLICE_2["run"]["id"]


def test_merged_run_spans_the_slices_and_keeps_their_mode():
    run = merge_reports([source("s1", SLICE_1), source("s2", SLICE_2)])["run"]
    assert (run["started"], run["finished"]) == ("2026-03-01T09:00:00Z", "2026-03-01T09:06:00Z")
    assert (run["playbook"], run["mode"], run["id"]) == ("diagnose", "diagnose", "20260301T090000Z-diagnose-merged")


def test_merged_report_is_a_valid_report_and_is_written(tmp_path):
    merged = merge_reports([source("s1", SLICE_1), source("s2", SLICE_2)])
    jsonschema.validate(merged, SCHEMA)
    run_dir = write_report(tmp_path, merged, keep=0)
    assert json.loads((run_dir / "report.json").read_text())["rooms"].keys() == merged["rooms"].keys()
    assert (run_dir / "junit.xml").read_text().count("<testcase") == 4
    assert "room-10" in (run_dir / "report.html").read_text()


SAME_ROOM_CASES = [
    pytest.param(0, room("healthy"), room("healthy"), "healthy", id="same time, same answer: kept once"),
    pytest.param(30, room("healthy"), room("needs_attention", "app_not_listening"), "needs_attention",
                 id="later run supersedes an earlier one"),
    pytest.param(30, room("needs_attention", "app_not_listening"), room("fixed"), "fixed",
                 id="a remediation after the diagnosis wins"),
    pytest.param(2, room("needs_attention", "controller_port_blocked", findings_note="a"),
                 room("needs_attention", "controller_port_blocked"), "needs_attention",
                 id="same time, same status and codes, other details: agree"),
]


@pytest.mark.parametrize(("second_start", "first_room", "second_room", "status"), SAME_ROOM_CASES)
def test_a_room_in_two_runs(second_start, first_room, second_room, status):
    first = report({"room-01": first_room})
    second = report({"room-01": second_room}, start_minute=second_start)
    merged = merge_reports([source("b", second), source("a", first)])
    assert list(merged["rooms"]) == ["room-01"]
    assert merged["rooms"]["room-01"]["status"] == status


CONFLICT_CASES = [
    pytest.param(room("healthy"), room("needs_attention", "app_not_listening"), id="status differs"),
    pytest.param(room("needs_attention", "app_not_listening"), room("needs_attention", "controller_port_blocked"),
                 id="same status, other finding codes"),
]


@pytest.mark.parametrize(("first_room", "second_room"), CONFLICT_CASES)
def test_a_room_reported_differently_at_the_same_time_fails_naming_room_and_runs(first_room, second_room):
    first = report({"room-07": first_room, "room-01": room("healthy")})
    second = report({"room-07": second_room}, start_minute=3)
    with pytest.raises(ReportMergeError) as error:
        merge_reports([source("slice-1", first), source("slice-2", second)])
    message = str(error.value)
    assert "room 'room-07'" in message
    assert "/reports/slice-1/report.json" in message and "/reports/slice-2/report.json" in message
    assert "room-01" not in message


def test_two_slices_with_the_same_run_id_are_told_apart_by_source():
    first = report({"room-01": room("healthy")})
    second = report({"room-02": room("healthy")})
    assert first["run"]["id"] == second["run"]["id"]
    merged = merge_reports([source("node-a", first), source("node-b", second)])
    assert list(merged["rooms"]) == ["room-01", "room-02"]
    assert [entry["source"] for entry in merged["run"]["merged_from"]] == [
        "/reports/node-a/report.json", "/reports/node-b/report.json"]


def test_the_same_report_given_twice_counts_once():
    merged = merge_reports([source("run", SLICE_1), SourceReport("/reports/latest/report.json", SLICE_1)])
    assert len(merged["run"]["merged_from"]) == 1
    assert list(merged["rooms"]) == ["room-01", "room-02"]


def test_merging_merged_reports_lists_the_original_runs():
    site_a = merge_reports([source("s1", SLICE_1), source("s2", SLICE_2)])
    site_b = report({"room-20": room("healthy")}, start_minute=2)
    fleet = merge_reports([SourceReport("/site-a.json", site_a), source("b", site_b)])
    assert [entry["id"] for entry in fleet["run"]["merged_from"]] == [
        SLICE_1["run"]["id"], SLICE_2["run"]["id"], site_b["run"]["id"]]
    assert fleet["rooms"]["room-03"]["run_id"] == SLICE_2["run"]["id"]


# --------------------------------------------------------------------------- run data

def test_run_extras_and_errors_are_merged():
    first = report({"room-01": room("healthy")}, playbook="update_versions", mode="update",
                   controllers_to_update=["ipad-1"], notes="n",
                   errors=[{"kind": "task_failed", "task": "probe", "msg": "x", "host": "probe-1"}])
    second = report({"room-02": room("healthy")}, start_minute=1, playbook="update_versions", mode="update",
                    controllers_to_update=["ipad-1", "ipad-2"], notes="n")
    run = merge_reports([source("a", first), source("b", second)])["run"]
    assert run["controllers_to_update"] == ["ipad-1", "ipad-2"]
    assert run["notes"] == "n"
    assert run["errors"] == [{"kind": "task_failed", "task": "probe", "msg": "x", "host": "probe-1",
                              "run": first["run"]["id"]}]


def test_other_playbooks_of_one_mode_merge_as_merged():
    other = report({"room-05": room("healthy")}, playbook="diagnose-site-b")
    run = merge_reports([source("a", SLICE_1), source("b", other)])["run"]
    assert (run["playbook"], run["id"]) == ("merged", "20260301T090000Z-merged")


# --------------------------------------------------------------------------- bad input

BAD_INPUT_CASES = [
    pytest.param([], "no reports to merge", id="nothing"),
    pytest.param([source("x", {"rooms": {}})], "/reports/x/report.json: not a Zoom Rooms run report",
                 id="not a report"),
    pytest.param([source("x", {**SLICE_1, "run": {**SLICE_1["run"], "started": "yesterday"}})],
                 "/reports/x/report.json: run.started: 'yesterday' is not a UTC time", id="bad time"),
    pytest.param([source("x", {**SLICE_1, "run": {**SLICE_1["run"], "mode": ""}})],
                 "/reports/x/report.json: run has no mode", id="no mode"),
    pytest.param([source("x", {**SLICE_1, "rooms": {"room-01": {"status": "fine"}}})],
                 "/reports/x/report.json: room 'room-01' has no valid status", id="bad room status"),
    pytest.param([source("a", SLICE_1), source("b", report({"room-09": room("fixed")}, mode="apply"))],
                 "reports of different modes cannot make one report", id="diagnose with apply"),
]


@pytest.mark.parametrize(("sources", "message"), BAD_INPUT_CASES)
def test_bad_input_fails_with_a_clear_message(sources, message):
    with pytest.raises(ReportMergeError, match=message.replace("(", r"\(").replace(".", r"\.")):
        merge_reports(sources)


@pytest.mark.parametrize(("second_start", "overlap"), [
    pytest.param(4, True, id="starts before the first finishes"),
    pytest.param(5, True, id="starts the second the first finishes"),
    pytest.param(6, False, id="starts after the first finished"),
])
def test_runs_overlap(second_start, overlap):
    assert runs_overlap(SLICE_1["run"], report({}, start_minute=second_start)["run"]) is overlap
