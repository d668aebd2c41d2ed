"""The one builder of a room's report entry: its shape per mode, its status and rolled_back rules, that
what it builds is a valid report room, and that every producer goes through it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Iterator

import jsonschema
import pytest
import yaml
from ansible_collections.zoomrooms.remediation.plugins.action import zoom_room_diagnose as diagnose_action
from ansible_collections.zoomrooms.remediation.plugins.filter import zoom_room_diagnosis as filters
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_report_entry import (
    rolled_back,
    room_entry,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_report import build_report
from fixture_files import PROJECT

SCHEMA = json.loads((PROJECT / "docs" / "report.schema.json").read_text())
FACTS = {"platform": "linux", "schema": 1}
BLOCKED = {"code": "host_firewall_blocks_controller_port", "severity": "high", "summary": "s", "evidence": "e",
           "next_step": "n", "fixed_by": "firewall"}
VERIFIED = {"passed": True, "findings": [], "remaining_targeted": [], "new": []}


def test_a_diagnosis_entry_holds_what_was_found_and_the_extras_in_order():
    entry = room_entry([BLOCKED], "linux", facts_before=FACTS, csapi={"state": "idle", "message": ""})
    assert entry == {"platform": "linux", "status": "needs_attention", "findings": [BLOCKED], "facts_before": FACTS,
                     "csapi": {"state": "idle", "message": ""}}
    assert list(entry) == ["platform", "status", "findings", "facts_before", "csapi"]
    assert room_entry([], "appliance") == {"platform": "appliance", "status": "healthy", "findings": []}


def test_a_run_that_may_change_the_room_records_plan_change_verify_and_rollback():
    entry = room_entry([BLOCKED], "linux", "plan", planned=[{"summary": "firewall"}], facts_before=FACTS,
                       facts_after=None)
    assert entry == {"platform": "linux", "status": "needs_attention", "findings": [BLOCKED],
                     "planned": [{"summary": "firewall"}], "changed": [], "verify": {"passed": None, "findings": []},
                     "rolled_back": False, "facts_before": FACTS, "facts_after": None}
    assert "rollback" not in entry  # only when the run rolls back layers (remediate)


@pytest.mark.parametrize("mode, applied, verify, apply_failed, status", [
    ("apply", ["firewall"], VERIFIED, False, "fixed"),
    ("apply", ["firewall"], {**VERIFIED, "passed": False, "findings": [BLOCKED]}, False, "failed"),
    ("apply", ["firewall"], None, True, "failed"),
    ("plan", [], None, False, "needs_attention"),
], ids=["verified", "did not verify", "a step failed", "plan only"])
def test_status_is_the_one_status_rule(mode, applied, verify, apply_failed, status):
    entry = room_entry([BLOCKED], "linux", mode, applied=applied, verify=verify, apply_failed=apply_failed)
    assert entry["status"] == status
    assert entry["verify"] == (verify if verify is not None else {"passed": None, "findings": []})


def test_the_status_may_judge_other_than_the_verify_shown():
    shown = {"passed": False, "findings": [], "new": [BLOCKED]}
    entry = room_entry([BLOCKED], "linux", "apply", applied=["update_versions"], verify=shown,
                       status_verify={"passed": True, "findings": []})
    assert (entry["status"], entry["verify"]) == ("fixed", shown)


@pytest.mark.parametrize("rollback, expected", [
    (None, False),
    ([], False),
    ([{"layer": "proxy", "restored": True}, {"layer": "firewall", "restored": True}], True),
    ([{"layer": "proxy", "restored": True}, {"layer": "firewall", "restored": False, "msg": "x"}], False),
], ids=["no rollback", "nothing to roll back", "all restored", "one not restored"])
def test_rolled_back_means_every_layer_was_restored(rollback, expected):
    assert rolled_back(rollback) is expected
    entry = room_entry([BLOCKED], "linux", "apply", applied=["proxy"], verify={"passed": False, "findings": []},
                       rollback=rollback)
    assert entry["rolled_back"] is expected


@pytest.mark.parametrize("entry", [
    room_entry([BLOCKED], "linux", facts_before=FACTS),
    room_entry([], "appliance"),
    room_entry([BLOCKED], None),
    room_entry([BLOCKED], "linux", "apply", applied=["firewall"], verify=VERIFIED, changed=[{"layer": "firewall"}],
               rollback=[], facts_before=FACTS, facts_after=FACTS),
], ids=["diagnose", "appliance", "no platform (busy)", "apply"])
def test_every_entry_is_a_valid_report_room(entry):
    started = datetime(2026, 3, 1, tzinfo=UTC)
    report = build_report(run_id="20260301T000000Z-remediate", playbook="remediate", started=started,
                          finished=started, rooms={"room-1": entry}, platform_hints={"room-1": "linux"})
    jsonschema.validate(report, SCHEMA)
    assert report["rooms"]["room-1"]["status"] == entry["status"]
    assert report["rooms"]["room-1"]["errors"] == []  # the builder always sets a valid status


# --------------------------------------------------------------------------- every producer uses it

def test_the_filter_and_the_diagnose_action_are_the_builder():
    assert filters.FilterModule().filters()["zoom_room_report_entry"] is room_entry
    assert diagnose_action.room_entry is room_entry


def _set_facts(tasks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for task in tasks or []:
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks"):
            yield from _set_facts(task.get(key))
        if "ansible.builtin.set_fact" in task:
            yield task["ansible.builtin.set_fact"]


def test_playbooks_build_entries_only_with_the_builder():
    """A room's entry in a playbook comes from zoom_room_report_entry; the one other form is remediate.yml's
    running record of what was applied ({changed}), merged into the entry by the callback."""
    seen = 0
    for playbook in sorted((PROJECT / "playbooks").glob("*.yml")):
        for set_fact in _set_facts(yaml.safe_load(playbook.read_text())):
            value = set_fact.get("zoom_room_report")
            if value is None:
                continue
            seen += 1
            built = isinstance(value, str) and "zoomrooms.remediation.zoom_room_report_entry(" in value
            assert built or (isinstance(value, dict) and set(value) == {"changed"}), (playbook.name, value)
    assert seen >= 5
