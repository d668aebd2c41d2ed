"""The zoom_room_diagnose action's pure parts, and the batch's Zoom API matching it is fed from."""

from __future__ import annotations

import json

import pytest
from ansible_collections.zoomrooms.remediation.plugins.action import zoom_room_diagnose as action
from ansible_collections.zoomrooms.remediation.plugins.filter import zoom_room_diagnosis as filters
from ansible_collections.zoomrooms.remediation.plugins.modules import zoom_room_diagnose as stub
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_api import (
    PROGRESS_INDEX,
    PROGRESS_SUFFIX,
    background_result,
    room_file_name,
    wait_for_background,
    wait_for_room,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_inventory_view import (
    api_fact_for,
    api_identity,
    api_ids_known,
    api_ids_to_read,
    api_rooms_to_read,
    api_view,
)
from fixture_files import PROJECT

FACTS = {"platform": "linux", "schema": 1}
BLOCKED = [{"code": "host_firewall_blocks_controller_port"}]


# --------------------------------------------------------------------------- the action's results

@pytest.mark.parametrize(
    "findings, api_fact, report, expected_keys, status",
    [
        ([], action.NO_API_READ, False, {"zoom_room_facts", "zoom_room_findings"}, None),
        ([], {"id": "r1"}, False, {"zoom_room_facts", "zoom_room_findings", "zoom_room_api"}, None),
        ([], None, False, {"zoom_room_facts", "zoom_room_findings", "zoom_room_api"}, None),
        ([], action.NO_API_READ, True, {"zoom_room_facts", "zoom_room_findings", "zoom_room_report"}, "healthy"),
        (BLOCKED, action.NO_API_READ, True, {"zoom_room_facts", "zoom_room_findings", "zoom_room_report"},
         "needs_attention"),
    ],
    ids=["facts and findings only", "api read this run", "api has no such room", "report of a healthy room",
         "report of a blocked room"],
)
def test_room_results(findings, api_fact, report, expected_keys, status):
    results = action.room_results(FACTS, findings, api_fact, report)
    assert set(results) == expected_keys
    assert results["zoom_room_findings"] == findings
    if api_fact is not action.NO_API_READ:
        assert results["zoom_room_api"] == api_fact
    if report:
        assert results["zoom_room_report"] == {"platform": "linux", "status": status, "findings": findings,
                                               "facts_before": FACTS}


# --------------------------------------------------------------------------- waiting for the background API read

@pytest.mark.parametrize(
    "text, expected",
    [
        (None, None),
        ("", None),
        ('{"started": 1, "finished": 0, "ansible_job_id": "j1"}', None),
        ('{"rooms": {}, "whole', None),
        ('{"rooms": {}, "changed": false}', {"rooms": {}, "changed": False}),
        ('{"failed": true, "msg": "Zoom API: 401"}', {"failed": True, "msg": "Zoom API: 401"}),
    ],
    ids=["no file yet", "empty file", "still running", "half written", "finished", "failed"],
)
def test_background_result(text, expected):
    assert background_result(text) == expected


def test_wait_for_background_polls_until_the_read_finished():
    answers = iter(['{"started": 1}', '{"started": 1}', '{"rooms": {"r1": {}}}'])
    clock = iter(range(100))
    slept = []
    result = wait_for_background(lambda: next(answers), 10, sleep=slept.append, clock=lambda: next(clock))
    assert result == {"rooms": {"r1": {}}} and len(slept) == 2


def test_wait_for_background_gives_up_after_the_timeout():
    clock = iter([0, 0, 5, 11])
    result = wait_for_background(lambda: '{"started": 1}', 10, sleep=lambda _unused: None, clock=lambda: next(clock))
    assert result is None


INDEX = {"r1": {"room": {"id": "r1", "name": "Boardroom"}}, "r2": {"room": {"id": "r2", "name": "Huddle"}}}
R1 = {"room": {"id": "r1", "name": "Boardroom", "status": "Available"}, "devices": [{"id": "pc"}]}


def progress_files(index=None, own=None, final=None):
    """A background read's files as read() sees them: the results file, its progress index and r1's file."""
    files = {"read.json": json.dumps(final) if final is not None else '{"started": 1}'}
    if index is not None:
        files[f"read.json{PROGRESS_SUFFIX}/{PROGRESS_INDEX}"] = json.dumps({"rooms": index})
    if own is not None:
        files[f"read.json{PROGRESS_SUFFIX}/{room_file_name('r1')}"] = json.dumps(own)
    return files.get


def by_name(name):
    return lambda rooms: next((room_id for room_id, rec in rooms.items() if rec["room"]["name"] == name), None)


@pytest.mark.parametrize(
    "files, room, expected",
    [
        (progress_files(), "Boardroom", None),
        (progress_files(INDEX), "Boardroom", None),
        (progress_files(INDEX, {"record": R1, "error": None}), "Boardroom",
         {"rooms": {**INDEX, "r1": R1}, "errors": {}}),
        (progress_files(INDEX, {"record": R1, "error": "404 no such room"}), "Boardroom",
         {"rooms": {**INDEX, "r1": R1}, "errors": {"r1": "404 no such room"}}),
        (progress_files(INDEX), "Lobby", {"rooms": INDEX}),
        (progress_files(INDEX, final={"rooms": {"r1": R1}, "changed": False}), "Boardroom",
         {"rooms": {"r1": R1}, "changed": False}),
    ],
    ids=["nothing listed yet", "listed, its devices not read yet", "its record is in", "its record with its error",
         "no such room: the list says so", "the finished read"],
)
def test_wait_for_room_answers_as_soon_as_the_room_is_read(files, room, expected):
    clock = iter([0, 0, 11])
    result = wait_for_room(files, "read.json", by_name(room), 10, sleep=lambda _unused: None,
                           clock=lambda: next(clock))
    assert result == expected


def test_a_room_read_so_far_is_matched_as_the_finished_read_matches_it():
    """A name two API rooms share matches neither, in the progress as in the finished read."""
    twins = {"r1": {"room": {"id": "r1", "name": "Twin"}}, "r3": {"room": {"id": "r3", "name": "Twin"}}}
    read = progress_files(twins, {"record": R1, "error": None})
    room = {"inventory_hostname": "Twin"}
    so_far = wait_for_room(read, "read.json", lambda rooms: (api_fact_for(rooms, room) or {}).get("id"), 0,
                           sleep=lambda _unused: None, clock=lambda: 0)
    assert so_far == {"rooms": twins} and api_fact_for(so_far["rooms"], room) is None


FALLBACK = {"room": {"status": "Offline"}}


@pytest.mark.parametrize(
    "read, expected_status, expected_fact_id",
    [
        (None, "Offline", "none read"),
        ({"failed": True, "msg": "401"}, "Offline", "none read"),
        ({"rooms": {}}, None, None),
    ],
    ids=["no read: the inventory's view", "a failed read: the inventory's view", "read, no such room"],
)
def test_api_side_without_a_match(read, expected_status, expected_fact_id):
    view, fact = action.api_side(read, {"inventory_hostname": "a"}, FALLBACK)
    assert (view or {}).get("room", {}).get("status") == expected_status
    assert (fact is action.NO_API_READ) == (expected_fact_id == "none read")


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
        ([{"inventory_hostname": "a", "zoom_room_api": {"id": "r3"}},
          {"inventory_hostname": "b", "zoom_room_api": None}], {}, ["r3"]),
    ],
    ids=["ids from the inventory", "an id an earlier batch matched", "a room the API does not have",
         "one unknown room reads the account", "one id read once", "rooms this run read before"],
)
def test_api_ids_to_read(batch, known, expected):
    assert api_ids_to_read(batch, known) == expected


@pytest.mark.parametrize(
    "batch, known, expected",
    [
        ([{"inventory_hostname": "a", "zoom_room_id": "r1"}, {"inventory_hostname": "b"}], {"b": "r2"},
         {"room_ids": ["r1", "r2"], "room_names": None}),
        ([{"inventory_hostname": "a", "zoom_room_id": "r1"}, {"inventory_hostname": "b"}], {},
         {"room_ids": ["r1"], "room_names": ["b"]}),
        ([{"inventory_hostname": "a", "zoom_room_name": "Huddle"},
          {"inventory_hostname": "b", "zoom_room_name": "Huddle"}, {"inventory_hostname": "c"}], {},
         {"room_ids": [], "room_names": ["Huddle", "c"]}),
        ([{"inventory_hostname": "a"}, {"inventory_hostname": "b", "zoom_room_api": None}], {"a": ""},
         {"room_ids": [], "room_names": None}),
        ([{"inventory_hostname": "a", "zoom_room_api": {"id": "r3"}}, {"inventory_hostname": "Boardroom"}], {},
         {"room_ids": ["r3"], "room_names": ["Boardroom"]}),
    ],
    ids=["every id known: ids only", "one room unknown: its name beside the known id",
         "names from zoom_room_name, else the hostname, once each", "rooms the API does not have: nothing to read",
         "a room read before this run by its id"],
)
def test_api_rooms_to_read(batch, known, expected):
    assert api_rooms_to_read(batch, known) == expected


def test_api_side_matches_by_id_then_unique_name():
    rooms = [{"inventory_hostname": "a", "zoom_room_id": "r2"},          # id wins over the hostname
             {"inventory_hostname": "Boardroom"},                          # hostname as the name
             {"inventory_hostname": "c", "zoom_room_name": "Huddle"},     # zoom_room_name
             {"inventory_hostname": "Twin"},                               # two API rooms of that name
             {"inventory_hostname": "e", "zoom_room_id": "gone"}]          # id the API does not have
    facts = {room["inventory_hostname"]: action.api_side({"rooms": API_ROOMS}, room, FALLBACK)[1] for room in rooms}
    assert {room: (fact or {}).get("id") for room, fact in facts.items()} == {
        "a": "r2", "Boardroom": "r1", "c": "r2", "Twin": None, "e": None}
    assert facts["a"]["controllers"] == [{"role": "controller", "app_version": "6.2.0.1"}]
    assert "activated" not in facts["a"]
    view, _unused = action.api_side({"rooms": API_ROOMS}, rooms[0], FALLBACK)
    assert view["room"]["status"] == "Available" and view["reported_ip"] == "10.0.0.5"


def test_api_fact_carries_the_inventorys_activation_data():
    room = api_identity({"inventory_hostname": "a", "zoom_room_id": "r1", "zoom_room_activated": True,
                         "zoom_room_activation_code_issued_at": "2026-01-01T00:00:00Z", "ansible_host": "10.0.0.9"})
    assert "ansible_host" not in room
    fact = api_fact_for(API_ROOMS, room)
    assert (fact["activated"], fact["activation_code_issued_at"]) == (True, "2026-01-01T00:00:00Z")


def test_api_ids_known_after_an_account_read_and_a_batch():
    play = [{"inventory_hostname": "Boardroom"}, {"inventory_hostname": "Twin"}, {"inventory_hostname": "x"},
            {"inventory_hostname": "named", "zoom_room_name": "Huddle"},
            {"inventory_hostname": "y", "zoom_room_id": "r2"}]
    batch = [{"inventory_hostname": "y", "zoom_room_api": {"id": "r2"}},
             {"inventory_hostname": "z", "zoom_room_api": None},
             {"inventory_hostname": "unread"}]
    known = api_ids_known({"old": "r9"}, API_ROOMS, batch, play, read_whole_account=True)
    # Only rooms matched by hostname are remembered for the play; the batch's own matches always.
    assert known == {"old": "r9", "Boardroom": "r1", "Twin": "", "x": "", "y": "r2", "z": ""}
    assert api_ids_known({}, API_ROOMS, batch, play, read_whole_account=False) == {"y": "r2", "z": ""}


@pytest.mark.parametrize(
    "room_vars, expected_status",
    [
        ({"inventory_hostname": "a", "zoom_room_status": "Offline", "zoom_room_id": "r1"}, "Offline"),
        ({"inventory_hostname": "a", "zoom_room_status": "Offline", "zoom_room_api": {"room": {"status": "Available"}}},
         "Available"),
        ({"inventory_hostname": "a", "zoom_room_status": "Offline", "zoom_room_api": None}, None),
        ({"inventory_hostname": "a", "zoom_room_status": "Offline",
          "ansible_facts": {"zoom_room_api": {"room": {"status": "Available"}}}}, "Available"),
        ({"inventory_hostname": "a", "zoom_room_status": "Offline", "ansible_facts": {"zoom_room_api": None}}, None),
    ],
    ids=["inventory plugin vars", "an earlier read's fact wins", "the API has no such room",
         "the fact in ansible_facts", "no such room, in ansible_facts"],
)
def test_api_view_without_this_runs_read(room_vars, expected_status):
    assert (api_view(room_vars) or {}).get("room", {}).get("status") == expected_status


def test_rooms_needing_fixes_lists_only_rooms_a_host_change_fixes():
    from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_findings import finding

    hostvars = {"ok": {"zoom_room_findings": []},
                "blocked": {"ansible_facts": {
                    "zoom_room_findings": [finding("host_firewall_blocks_controller_port", {})]}},
                "down": {}, "app": {"zoom_room_findings": [finding("app_not_listening", {})]}}
    assert filters.rooms_needing_fixes(hostvars, ["ok", "blocked", "down", "app"]) == ["blocked"]


# --------------------------------------------------------------------------- the role's options, checked up front

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
    from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_inputs import input_errors

    options = filters.role_options(["zoom_room_diagnose"])
    errors = input_errors({"room-1": host_vars}, False, options)
    assert len(errors) == 1 and errors[0].startswith(message), errors
    assert input_errors({"room-1": {"zoom_room_diagnose_probe_timeout": 0.5}}, False, options) == []


# --------------------------------------------------------------------------- Windows rooms in the same task

WINDOWS_FIXTURES = PROJECT / "tests" / "unit" / "fixtures" / "windows"


def test_a_windows_room_is_read_by_its_script_and_the_filters_code():
    """The action's Windows read gives what facts_windows.yml + the zoom_room_windows_facts filter give."""
    import json
    from types import SimpleNamespace

    raw = json.loads((WINDOWS_FIXTURES / "wininet_proxy_no_bypass.json").read_text())
    calls = []

    def execute(module_name, module_args, task_vars):
        calls.append((module_name, module_args))
        return raw

    fake = SimpleNamespace(_execute_module=execute, _remove_tmp_path=lambda path: None,
                           _connection=SimpleNamespace(_shell=SimpleNamespace(tmpdir=None)))
    args = {"windows_script": "param()", "controller_port": 9090, "controller_subnets": ["10.89.90.0/24"],
            "windows_proxy_user": "", "windows_app_paths": ["C:\\ZoomRooms.exe"]}
    facts = action.ActionModule._read_windows_facts(fake, args, {})
    assert calls == [("ansible.windows.win_powershell",
                      {"depth": 5, "script": "param()",
                       "parameters": {"Port": 9090, "ProxyUser": "", "AppPaths": ["C:\\ZoomRooms.exe"],
                                      "RuleName": ""}})]
    from ansible_collections.zoomrooms.remediation.plugins.filter import zoom_room_windows as windows
    assert facts == windows.windows_facts(raw, ["10.89.90.0/24"], 9090)
    assert facts["platform"] == "windows" and facts["proxy"]["mode"] != "none"


def test_the_role_and_the_action_run_the_same_windows_script():
    import yaml

    task = yaml.safe_load((PROJECT / "roles/zoom_room_diagnose/tasks/facts_windows.yml").read_text())[0]
    options = task["ansible.windows.win_powershell"]
    assert "windows_facts.ps1" in options["script"]
    assert action.WINDOWS_SCRIPT_FILE in options["script"]  # the action reads the same file of the role
    assert (PROJECT / "roles/zoom_room_diagnose/files" / action.WINDOWS_SCRIPT_FILE).is_file()
    assert options["depth"] == action.windows_script_args(
        {"windows_script": "", "controller_port": 9090, "windows_proxy_user": "", "windows_app_paths": []})["depth"]


# --------------------------------------------------------------------------- missing cloud data (issue 12, case 11)

def _read_with_device_fault(room_names, failing):
    """A real read of the double (room list fine) where one room's device reads keep answering 503."""
    import zoom_api_double as zd
    from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_api import (
        ZoomClient,
        gather,
        settings_from,
    )

    with zd.start_double(0) as double:
        for name in room_names:
            double.state.report(name, {"ip_address": "10.89.1.5", "app_version": "6.2.0 (4512)",
                                       "status": "Online", "platform": "linux"})
            double.state.set_controller_version(name, "5.17.5 (3410)")  # drift: a cloud-side finding
        double.state.force_devices_error(failing, 503, 50)  # more than the client's retries
        client = ZoomClient(settings_from({"base_url": double.base_url, "token_url": double.token_url,
                                           "account_id": zd.LAB_ACCOUNT_ID, "client_id": zd.LAB_CLIENT_ID,
                                           "client_secret": zd.LAB_CLIENT_SECRET, "max_attempts": 2,
                                           "max_requests_per_second": 0}, {}))
        rooms, missing, errors = gather(client, None, 2)
    return {"rooms": rooms, "missing_room_ids": missing, "errors": errors}


def test_a_room_whose_device_read_fails_is_marked_and_never_healthy():
    read = _read_with_device_fault(["zr-room-01", "zr-room-02"], "zr-room-01")
    results = {}
    for name in ("zr-room-01", "zr-room-02"):
        view, _unused = action.api_side(read, {"inventory_hostname": name}, None)
        findings = filters.diagnose(FACTS, None, view, {})
        results[name] = ([f["code"] for f in findings], filters.room_status(findings, "diagnose"))
    assert results["zr-room-02"] == (["app_version_drift"], "needs_attention")  # its devices were read
    codes, status = results["zr-room-01"]
    assert codes == ["api_data_missing"] and status == "needs_attention", results


@pytest.mark.parametrize("read", [
    pytest.param({"failed": True, "msg": "Zoom API: 503 after 5 attempts"}, id="the whole read failed"),
    pytest.param({"failed": True, "msg": "the Zoom API read did not finish within 900 s"}, id="it did not finish"),
])
def test_a_failed_read_marks_every_room(read):
    view, fact = action.api_side(read, {"inventory_hostname": "a"}, FALLBACK)
    assert fact is action.NO_API_READ
    assert view["room"]["status"] == "Offline"  # what the inventory knew still counts
    codes = [f["code"] for f in filters.diagnose(FACTS, None, view, {})]
    assert codes == ["api_data_missing", "room_offline"]


# --------------------------------------------------------------------------- options from the room's variables

ROOM_VARS = {
    "zoom_room_controller_port": 9091, "zoom_room_controller_subnets": ["10.89.1.0/24"],
    "zoom_room_address": "10.89.0.5", "zoom_room_diagnose_report": True, "zoom_room_diagnose_lean": False,
    "zoom_room_diagnose_reachability": {"results": [{"reachability": {"room-1": {"outcome": "open"}}}]},
    "zoom_room_diagnose_api_job": {"results_file": "/tmp/read.json", "changed": False},
}


def test_the_options_left_out_come_from_the_rooms_variables():
    options = action.options_from_room({}, ROOM_VARS, "room-1")
    assert options == {"controller_port": 9091, "controller_subnets": ["10.89.1.0/24"], "address": "10.89.0.5",
                       "report": True, "lean": False, "reachability": {"outcome": "open"},
                       "api_job": ROOM_VARS["zoom_room_diagnose_api_job"]}


def test_options_the_task_gives_win_and_undefined_variables_leave_the_default():
    options = action.options_from_room({"controller_port": 9090, "reachability": None}, ROOM_VARS, "room-1")
    assert "controller_port" not in options and "reachability" not in options
    assert "package_name" not in options  # no zoom_room_package_name: the option's own default applies


@pytest.mark.parametrize("room_vars", [
    {"zoom_room_diagnose_api_job": {"skipped": True, "changed": False}},  # the API is not configured
    {"zoom_room_diagnose_reachability": {"results": []}},  # no probe tested this room
    {},
], ids=["api read skipped", "no probe entry", "nothing registered"])
def test_no_api_job_or_reachability_without_their_results(room_vars):
    options = action.options_from_room({}, room_vars, "room-1")
    assert "api_job" not in options and "reachability" not in options


CSAPI_VARS = {"zoom_room_csapi": "true", "zoom_room_csapi_port": 2244, "zoom_room_csapi_passcode": "s3cret",
              "zoom_room_csapi_known_hosts": "~/.ssh/known_hosts", "zoom_room_csapi_host_key_fingerprint": "",
              "zoom_room_csapi_timeout": 10, "zoom_room_csapi_via": "", "zoom_room_address": "10.89.0.5"}


def test_csapi_only_for_a_room_with_zoom_room_csapi_true():
    assert "csapi" not in action.options_from_room({}, {**CSAPI_VARS, "zoom_room_csapi": False}, "room-1")
    assert "csapi" not in action.options_from_room({}, {k: v for k, v in CSAPI_VARS.items()
                                                        if k != "zoom_room_csapi"}, "room-1")
    csapi = action.options_from_room({}, CSAPI_VARS, "room-1")["csapi"]
    assert csapi == {"address": "10.89.0.5", "port": 2244, "passcode": "s3cret", "known_hosts": "~/.ssh/known_hosts",
                     "timeout": 10, "expected_room_name": "room-1"}  # no fingerprint, no relay: left out


def test_csapi_names_the_room_and_its_relay():
    room_vars = {**CSAPI_VARS, "zoom_room_name": "Board Room", "zoom_room_csapi_via": "probe-1"}
    csapi = action.options_from_room({}, room_vars, "room-1")["csapi"]
    assert csapi["expected_room_name"] == "Board Room" and csapi["via"] == "probe-1"


def test_every_variable_the_action_reads_has_a_default_in_the_roles():
    """A renamed variable would leave its option at the module's default without a word: each one the action
    reads is a role default (the passcode has none: it comes from vault or the environment)."""
    import yaml

    defaults = {}
    for path in (PROJECT / "roles").glob("*/defaults/main.yml"):
        defaults.update(yaml.safe_load(path.read_text()) or {})
    read = {*action.OPTION_VARIABLES.values(), *action.CSAPI_OPTION_VARIABLES.values(), action.CSAPI_VARIABLE,
            action.PLATFORM_VARIABLE} - {"zoom_room_csapi_passcode"}
    assert read - set(defaults) == set()


def test_the_roles_task_leaves_every_option_to_the_action():
    """No "{{ variable }}" arguments: each would be a Jinja compile per room (docs/performance.md)."""
    import yaml

    main = yaml.safe_load((PROJECT / "roles/zoom_room_diagnose/tasks/main.yml").read_text())
    task = next(t for t in main if "zoomrooms.remediation.zoom_room_diagnose" in t)
    assert task["zoomrooms.remediation.zoom_room_diagnose"] == {}
    assert set(action.OPTION_VARIABLES) | {"reachability", "api_job", "csapi", "windows_script"} == (
        set(action.ARGUMENT_SPEC) - {"facts", "api", "api_room"})


def _action_for(task_args, platform):
    """The action with a templar that resolves the role's one template and a role file finder."""
    from types import SimpleNamespace

    instance = action.ActionModule.__new__(action.ActionModule)
    instance._task = SimpleNamespace(args=dict(task_args))
    instance._templar = SimpleNamespace(template=lambda value: platform if value == "{{ platform }}" else value)
    instance._find_needle = lambda folder, name: str(PROJECT / "roles/zoom_room_diagnose" / folder / name)
    return instance


def test_a_windows_room_gets_the_roles_script_and_other_rooms_none():
    task_vars = {**ROOM_VARS, "zoom_room_platform": "{{ platform }}", "inventory_hostname": "room-1"}
    script = (PROJECT / "roles/zoom_room_diagnose/files/windows_facts.ps1").read_text()
    assert _action_for({}, "windows")._options_from_room(task_vars)["windows_script"] == script
    assert "windows_script" not in _action_for({}, "posix")._options_from_room(task_vars)
    given = _action_for({"facts": FACTS}, "windows")._options_from_room(task_vars)
    assert "windows_script" not in given  # facts already read: nothing runs on the room
