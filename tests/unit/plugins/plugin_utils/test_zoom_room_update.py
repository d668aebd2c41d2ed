"""update_versions.yml's decisions as plain functions: the plan, what Zoom did, verify and the report entry."""

from __future__ import annotations

import pytest
from ansible_collections.zoomrooms.remediation.plugins.action import zoom_room_update as action
from ansible_collections.zoomrooms.remediation.plugins.filter.zoom_room_update import update_wave
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils import zoom_room_update as update

FACTS = {"platform": "linux", "app": {"installed": True, "version": "5.16.2.3001"}}
NEW_FACTS = {"platform": "linux", "app": {"installed": True, "version": "6.2.0.4512"}}


def api(version="5.16.2.3001", controllers=("6.2.0.4512",), room_id="r1"):
    return {"id": room_id, "room_computer_version": version,
            "controllers": [{"id": f"c{i}", "hostname": f"pad-{i}", "app_version": v}
                            for i, v in enumerate(controllers)]}


def finding(code):
    return {"code": code, "severity": "medium", "summary": code, "evidence": {}, "next_step": "", "fixed_by": None}


BELOW, DRIFT = finding("app_version_below_minimum"), finding("app_version_drift")


# --------------------------------------------------------------------------- options and plan

@pytest.mark.parametrize("action_name, timeout, poll, message", [
    ("sideways", 900, 15, "zoom_rooms_version_action must be upgrade or downgrade"),
    ("upgrade", 0, 15, "zoom_rooms_version_timeout must be a positive number"),
    ("upgrade", 900, "soon", "zoom_rooms_version_poll_interval must be a positive number"),
], ids=["unknown action", "zero timeout", "poll interval not a number"])
def test_check_options(action_name, timeout, poll, message):
    with pytest.raises(ValueError, match=message):
        update.check_options(action_name, timeout, poll)
    update.check_options("downgrade", "60", 1)


@pytest.mark.parametrize("findings, api_fact, action_name, wanted, reason", [
    ([BELOW], api(controllers=()), "upgrade", True, "below the minimum 6.0"),
    ([DRIFT], api(), "upgrade", True, "behind its controllers (6.2.0.4512)"),
    ([DRIFT], api("6.2.0.4512", ("5.17.5.3410",)), "upgrade", False,
     "ahead of its controllers (5.17.5.3410): update the controllers from the app store"),
    ([DRIFT], api("6.2.0.4512", ("5.17.5.3410",)), "downgrade", True,
     "ahead of its controllers (5.17.5.3410): downgrade requested"),
    ([BELOW], api(controllers=()), "downgrade", False,
     "below the minimum 6.0; below the minimum: not downgraded (run with zoom_rooms_version_action=upgrade)"),
    ([], api("6.2.0.4512", ("6.2.1.4600",)), "upgrade", False, "no version change needed"),
], ids=["below the minimum", "behind its controllers", "ahead: controllers are a person's job",
        "ahead, downgrade asked", "never downgraded below the minimum", "same major.minor"])
def test_plan(findings, api_fact, action_name, wanted, reason):
    plan = update.plan(findings, FACTS, api_fact, action_name, "6.0")
    assert (plan["wanted"], plan["change"], plan["reason"]) == (wanted, wanted, reason)


def test_controllers_without_a_readable_version_are_left_out_of_the_plan():
    """The rule the diagnosis uses (zoom_room_findings.major_minor): absent or unparsable is not compared."""
    plan = update.plan([DRIFT], FACTS, api(controllers=("6.2.0.4512", None, "beta")), "upgrade", "6.0")
    assert (plan["wanted"], plan["controllers_ahead"], plan["controllers_behind"]) == (True, ["6.2.0.4512"], [])
    assert update.controllers_to_update("room", api("6.2.0.4512", ("beta", None))) == []


def test_a_room_unknown_to_zoom_is_wanted_but_not_asked_for():
    plan = update.plan([BELOW], FACTS, None, "upgrade", "6.0")
    assert (plan["wanted"], plan["change"], plan["room_id"], plan["room_version"]) == (True, False, "", "5.16.2.3001")
    assert update.version_outcome(plan, {}, [BELOW])["outcome"] == "not_in_zoom_api"


@pytest.mark.parametrize("codes, restart, regenerate, expected", [
    (["app_not_listening"], True, False, (True, False)),
    (["app_not_listening"], False, False, (False, False)),
    (["activation_code_expired"], False, True, (False, True)),
    (["activation_code_expired"], False, False, (False, False)),
], ids=["restart asked", "restart not opted in", "new code asked", "new code not opted in"])
def test_opt_in_restart_and_new_code(codes, restart, regenerate, expected):
    plan = update.plan([finding(c) for c in codes], FACTS, api(), "upgrade", "", restart, regenerate)
    assert (plan["restart"], plan["regenerate"]) == expected


def test_room_ids_of_a_wave_each_once():
    plans = [{"room_id": "r1", "change": True}, None, {"room_id": "r2", "change": False},
             {"room_id": "r1", "change": True}, {"room_id": "r3", "change": True}]
    assert update.room_ids(plans, "change") == ["r1", "r3"]


def test_the_wave_filter_reads_only_the_update_facts():
    hostvars = {"a": {"ansible_facts": {"zoom_room_update": {"plan": {"room_id": "r1", "restart": True}}}},
                "b": {"ansible_facts": {}},
                "c": {"ansible_facts": {"zoom_room_report": {"controllers_to_update": [{"controller": "pad"}]}}}}
    assert update_wave(["a", "b", "c"], hostvars, "restart") == ["r1"]
    assert update_wave(["a", "b", "c"], hostvars, "controllers_to_update") == [{"controller": "pad"}]
    with pytest.raises(ValueError, match="'everything' is not one of"):
        update_wave(["a"], hostvars, "everything")


# --------------------------------------------------------------------------- what Zoom did

UPGRADED = {"outcome": "upgraded", "ok": True, "changed": True, "code": None, "message": "",
            "before": "5.16.2.3001", "after": "6.2.0.4512"}


@pytest.mark.parametrize("outcome, text", [
    (UPGRADED, "the room app was upgraded and the new version shows in the Zoom API (5.16.2.3001 -> 6.2.0.4512)"),
    ({**UPGRADED, "outcome": "timeout", "message": "version unchanged after 60s"},
     "Zoom accepted the request, but the new version did not show within zoom_rooms_version_timeout: "
     "version unchanged after 60s"),
    ({**UPGRADED, "outcome": "already_current_or_updating", "code": 8001}, "Zoom refused (8001): the room app is"),
    ({**UPGRADED, "outcome": "something_new"}, "something_new"),
    ({**UPGRADED, "outcome": "error", "ok": False, "code": 404, "message": "Zoom API PUT ... failed: HTTP 404"},
     "the Zoom API answered the request with an error (see the message); read the room again to see whether "
     "anything changed: Zoom API PUT ... failed: HTTP 404"),
], ids=["upgraded", "timeout with Zoom's reason", "refusal", "an outcome without a text", "one room's API error"])
def test_result_text(outcome, text):
    plan = update.plan([BELOW], FACTS, api(), "upgrade", "6.0")
    assert update.result_text(outcome, plan).startswith(text)


def test_not_requested_says_why():
    plan = update.plan([DRIFT], FACTS, api("6.2.0.4512", ("5.17.5.3410",)), "upgrade", "")
    version = update.version_outcome(plan, None, [DRIFT])
    assert version["outcome"] == "not_requested"
    assert update.result_text(version, plan).endswith(": ahead of its controllers (5.17.5.3410): update the "
                                                      "controllers from the app store")
    assert update.version_outcome(plan, None, []) is None  # nothing to do with versions: no entry


@pytest.mark.parametrize("answer, check_mode, expected", [
    ({"r1": {"outcome": "restart_requested", "ok": True, "code": None, "message": "restart requested"}}, False,
     "restart_requested"),
    ({"r1": {"outcome": "offline", "ok": False, "code": 300, "message": "offline"}}, False, "offline"),
    (None, False, "rejected"),
    (None, True, "would_restart"),
], ids=["requested", "room offline", "no answer", "check mode"])
def test_restart_outcome(answer, check_mode, expected):
    plan = update.plan([finding("app_not_listening")], FACTS, api(), "upgrade", "", True)
    assert update.restart_outcome(plan, answer, check_mode)["outcome"] == expected


def test_controllers_behind_the_final_version_are_listed_for_a_person():
    listed = update.controllers_to_update("zr-room-02", api("6.2.0.4512", ("5.17.5.3410", "6.2.0.4512")))
    assert listed == [{"room": "zr-room-02", "controller": "pad-0", "controller_id": "c0", "version": "5.17.5.3410",
                       "room_version": "6.2.0.4512", "reason": update.CONTROLLER_REASON}]


# --------------------------------------------------------------------------- verify and the report entry

def entry(findings_before, version, after_findings, facts_after=None, api_after=None, restart=None,
          new_code=False):
    facts_after = NEW_FACTS if facts_after is None else facts_after
    plan = update.plan(findings_before, FACTS, api(), "upgrade", "6.0")
    before = {"facts": FACTS, "findings": findings_before, "api": api()}
    did_change = update.changed(version, restart, new_code)
    after = {"facts": facts_after, "findings": after_findings, "api": api_after or api("6.2.0.4512")}
    return update.updated_room_entry(plan, before, after if did_change else None, version, restart, new_code, [])


def test_an_upgrade_that_shows_everywhere_is_fixed():
    report = entry([BELOW], UPGRADED, [])
    assert report["status"] == "fixed"
    assert report["verify"] == {"passed": True, "findings": [], "remaining_targeted": [], "new": [],
                                "versions_agree": True}
    assert report["changed"] == [{"summary": "room app: " + update.result_text(UPGRADED, update.plan(
        [BELOW], FACTS, api(), "upgrade", "6.0")), "before": "5.16.2.3001", "after": "6.2.0.4512"}]
    assert report["facts_after"] == NEW_FACTS and report["version_update"]["action"] == "upgrade"


@pytest.mark.parametrize("after_findings, facts_after, version, reason", [
    ([BELOW], NEW_FACTS, UPGRADED, "the targeted finding is still there"),
    ([], FACTS, UPGRADED, "the room's own version and the API's disagree"),
    ([BELOW], FACTS, {**UPGRADED, "outcome": "timeout", "ok": False}, "the new version never showed"),
], ids=["finding remains", "versions disagree", "timeout"])
def test_a_change_that_does_not_verify_fails_the_room(after_findings, facts_after, version, reason):
    report = entry([BELOW], version, after_findings, facts_after=facts_after)
    assert report["status"] == "failed", reason
    assert report["verify"]["passed"] is False


def test_a_refusal_changes_nothing_and_needs_attention():
    refused = {**UPGRADED, "outcome": "no_downgrade_target", "ok": False, "changed": False, "code": 8002,
               "after": "5.16.2.3001"}
    report = entry([BELOW], refused, [])
    assert (report["status"], report["changed"], report["verify"]) == (
        "needs_attention", [], {"passed": None, "findings": []})
    assert report["facts_after"] is None


def test_a_new_code_clears_its_finding_and_a_restart_must_bring_the_listener_back():
    expired, down = finding("activation_code_expired"), finding("app_not_listening")
    report = entry([expired], None, [expired], new_code=True)
    assert report["status"] == "fixed" and report["activation_code_regenerated"] is True
    restarted = {"outcome": "restart_requested", "code": None, "message": ""}
    report = entry([down], None, [down], restart=restarted)
    assert report["verify"]["passed"] is False and report["status"] == "needs_attention"


def test_healthy_room_entry():
    current = api("6.2.0.4512", ("6.2.0.4512",))
    plan = update.plan([], NEW_FACTS, current, "upgrade", "6.0")
    report = update.updated_room_entry(plan, {"facts": NEW_FACTS, "findings": [], "api": current}, None, None, None,
                                       False, [])
    assert (report["status"], report["planned"], report["version_update"]) == ("healthy", [], None)


# --------------------------------------------------------------------------- the action's steps

def test_record_step_reads_the_waves_answers():
    plan = update.plan([BELOW, finding("activation_code_expired")], FACTS, api(), "upgrade", "6.0", False, True)
    state = {"plan": plan, "before": {"facts": FACTS, "findings": [BELOW], "api": api()}}
    args = {"versions": {"outcomes": {"r1": UPGRADED}}, "restarts": {"skipped": True}, "new_code_room_ids": ["r1"]}
    recorded = action.record_step(state, args, check_mode=False)
    assert (recorded["version"]["outcome"], recorded["restart"], recorded["regenerated"],
            recorded["did_change"]) == ("upgraded", None, True, True)
    assert action.record_step(state, args, check_mode=True)["regenerated"] is False
