"""The zoom_room_diagnose action's pure parts, and the batch's Zoom API matching it is fed from."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.module_utils.zoom_room_inventory_view import (
    api_facts_of_batch,
    api_ids_known,
    api_ids_to_read,
    api_view,
)

PROJECT = Path(__file__).resolve().parents[2]


def load(path: str, name: str):
    # plugins/action and plugins/modules both hold zoom_room_diagnose.py: import by path, not by name.
    spec = importlib.util.spec_from_file_location(name, PROJECT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


action = load("plugins/action/zoom_room_diagnose.py", "zoom_room_diagnose_action")
stub = load("plugins/modules/zoom_room_diagnose.py", "zoom_room_diagnose_module_doc")

FACTS = {"platform": "linux", "schema": 1}
BLOCKED = [{"code": "host_firewall_blocks_controller_port"}]


# --------------------------------------------------------------------------- the action's results

@pytest.mark.parametrize(
    "findings, api_facts, report, expected_keys, status",
    [
        ([], None, False, {"zoom_room_facts", "zoom_room_findings"}, None),
        ([], {"room-1": {"id": "r1"}}, False, {"zoom_room_facts", "zoom_room_findings", "zoom_room_api"}, None),
        ([], None, True, {"zoom_room_facts", "zoom_room_findings", "zoom_room_report"}, "healthy"),
        (BLOCKED, None, True, {"zoom_room_facts", "zoom_room_findings", "zoom_room_report"}, "needs_attention"),
    ],
    ids=["facts and findings only", "api read this run", "report of a healthy room", "report of a blocked room"],
)
def test_room_results(findings, api_facts, report, expected_keys, status):
    results = action.room_results(FACTS, findings, "room-1", api_facts, report)
    assert set(results) == expected_keys
    assert results["zoom_room_findings"] == findings
    if report:
        assert results["zoom_room_report"] == {"platform": "linux", "status": status, "findings": findings,
                                               "facts_before": FACTS}


def test_room_results_api_fact_is_null_for_a_room_the_api_does_not_have():
    assert action.room_results(FACTS, [], "room-2", {"room-1": {"id": "r1"}}, False)["zoom_room_api"] is None


def test_policy_takes_the_task_options():
    args = {"controller_port": "9091", "controller_subnets": ["10.0.0.0/24"], "address": "10.1.1.5",
            "min_version": "6.0.0"}
    assert action.diagnosis_policy(args) == {"controller_port": 9091, "controller_subnets": ["10.0.0.0/24"],
                                             "address": "10.1.1.5", "min_version": "6.0.0"}


def test_argument_spec_matches_the_documented_options():
    import yaml

    documented = yaml.safe_load(stub.DOCUMENTATION)["options"]
    assert set(documented) == set(action.ARGUMENT_SPEC)
    for name, spec in action.ARGUMENT_SPEC.items():
        assert documented[name]["type"] == spec["type"], name
        assert documented[name].get("default") == spec.get("default"), name


# --------------------------------------------------------------------------- the batch's API matching

def api_room(room_id: str, name: str, **extra):
    return {"room": {"id": room_id, "name": name, "status": "Available", "location_id": ""}, "platform": "linux",
            "room_computer_id": f"pc-{room_id}", "reported_ip": "10.0.0.5", "room_computer_version": "6.2.0.1",
            "controller_versions": ["6.2.0.1"],
            "devices": [{"role": "controller", "app_version": "6.2.0.1"}, {"role": "room_computer"}], **extra}


API_ROOMS = {"r1": api_room("r1", "Boardroom"), "r2": api_room("r2", "Huddle"), "r3": api_room("r3", "Twin"),
             "r4": api_room("r4", "Twin")}


@pytest.mark.parametrize(
    "batch, known, expected",
    [
        ([{"inventory_hostname": "a", "zoom_room_id": "r1"}], {}, ["r1"]),
        ([{"inventory_hostname": "a", "zoom_room_id": "r1"}, {"inventory_hostname": "b"}], {"b": "r2"}, ["r1", "r2"]),
        ([{"inventory_hostname": "a"}, {"inventory_hostname": "b"}], {"a": "", "b": "r2"}, ["r2"]),
        ([{"inventory_hostname": "a", "zoom_room_id": "r1"}, {"inventory_hostname": "b"}], {}, None),
        ([{"inventory_hostname": "a", "zoom_room_id": "r1"}, {"inventory_hostname": "b", "zoom_room_id": "r1"}], {},
         ["r1"]),
    ],
    ids=["ids from the inventory", "an id an earlier batch matched", "a room the API does not have",
         "one unknown room reads the account", "one id read once"],
)
def test_api_ids_to_read(batch, known, expected):
    assert api_ids_to_read(batch, known) == expected


def test_api_facts_of_batch_match_by_id_then_unique_name():
    batch = [{"inventory_hostname": "a", "zoom_room_id": "r2"},          # id wins over the hostname
             {"inventory_hostname": "Boardroom"},                          # hostname as the name
             {"inventory_hostname": "c", "zoom_room_name": "Huddle"},     # zoom_room_name
             {"inventory_hostname": "Twin"},                               # two API rooms of that name
             {"inventory_hostname": "e", "zoom_room_id": "gone"}]          # id the API does not have
    facts = api_facts_of_batch(API_ROOMS, batch)
    assert {room: (fact or {}).get("id") for room, fact in facts.items()} == {
        "a": "r2", "Boardroom": "r1", "c": "r2", "Twin": None, "e": None}
    assert facts["a"]["controllers"] == [{"role": "controller", "app_version": "6.2.0.1"}]
    assert "activated" not in facts["a"]


def test_api_fact_carries_the_inventorys_activation_data():
    batch = [{"inventory_hostname": "a", "zoom_room_id": "r1", "zoom_room_activated": True,
              "zoom_room_activation_code_issued_at": "2026-01-01T00:00:00Z"}]
    fact = api_facts_of_batch(API_ROOMS, batch)["a"]
    assert (fact["activated"], fact["activation_code_issued_at"]) == (True, "2026-01-01T00:00:00Z")


def test_api_ids_known_after_an_account_read_and_a_batch():
    play = [{"inventory_hostname": "Boardroom"}, {"inventory_hostname": "Twin"}, {"inventory_hostname": "x"},
            {"inventory_hostname": "named", "zoom_room_name": "Huddle"},
            {"inventory_hostname": "y", "zoom_room_id": "r2"}]
    batch_facts = {"y": {"id": "r2"}}
    known = api_ids_known({"old": "r9"}, API_ROOMS, batch_facts, play, read_whole_account=True)
    # Only rooms matched by hostname are remembered for the play; the batch's own matches always.
    assert known == {"old": "r9", "Boardroom": "r1", "Twin": "", "x": "", "y": "r2"}
    assert api_ids_known({}, API_ROOMS, batch_facts, play, read_whole_account=False) == {"y": "r2"}


@pytest.mark.parametrize(
    "room_vars, batch_facts, expected_status",
    [
        ({"inventory_hostname": "a", "zoom_room_status": "Offline", "zoom_room_id": "r1"}, None, "Offline"),
        ({"inventory_hostname": "a", "zoom_room_status": "Offline", "zoom_room_id": "r1"},
         {"a": {"room": {"status": "Available"}}}, "Available"),
        ({"inventory_hostname": "a", "zoom_room_api": {"room": {"status": "Offline"}}},
         {"a": {"room": {"status": "Available"}}}, "Available"),
        ({"inventory_hostname": "a", "zoom_room_status": "Offline", "zoom_room_id": "r1"}, {"a": None}, None),
        ({"inventory_hostname": "a", "zoom_room_api": {"room": {"status": "Offline"}}}, {"b": {}}, "Offline"),
    ],
    ids=["inventory plugin vars", "this batch's read wins", "over an earlier read", "the API has no such room",
         "a batch without this room"],
)
def test_api_view_prefers_the_batch_read(room_vars, batch_facts, expected_status):
    view = api_view(room_vars, batch_facts)
    assert (view or {}).get("room", {}).get("status") == expected_status


# --------------------------------------------------------------------------- the role's options, checked up front

filters = load("plugins/filter/zoom_room_diagnosis.py", "zoom_room_diagnosis_filters")


@pytest.mark.parametrize(
    "host_vars, message",
    [
        ({"zoom_room_diagnose_probe_timeout": "soon"},
         "room-1: argument 'zoom_room_diagnose_probe_timeout' is of type str and we were unable to convert to float"),
        ({"zoom_room_diagnose_probe_concurrency": [1]},
         "room-1: argument 'zoom_room_diagnose_probe_concurrency' is of type list and we were unable"),
        ({"zoom_room_diagnose_report": "perhaps"}, "room-1: argument 'zoom_room_diagnose_report' is of type str"),
    ],
    ids=["timeout not a number", "concurrency not an int", "report not a bool"],
)
def test_input_errors_check_the_options_of_the_roles_run_without_their_validation(host_vars, message):
    from ansible.module_utils.zoom_room_inputs import input_errors

    options = filters.role_options(["zoom_room_diagnose"])
    errors = input_errors({"room-1": host_vars}, False, options)
    assert len(errors) == 1 and errors[0].startswith(message), errors
    assert input_errors({"room-1": {"zoom_room_diagnose_probe_timeout": 0.5}}, False, options) == []
