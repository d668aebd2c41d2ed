"""The zoom_rooms_api action plugin: pure rules, the task against the in-process double, one real playbook run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml
import zoom_api_double as zd
from ansible_collections.zoomrooms.remediation.plugins.action import zoom_rooms_api as action
from ansible_collections.zoomrooms.remediation.plugins.doc_fragments import zoom_rooms_api as fragment
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_host import read_file
from ansible_collections.zoomrooms.remediation.plugins.modules import zoom_rooms_api as stub
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_api import (
    ZoomApiError,
    ZoomClient,
    ZoomDailyLimitError,
    normalise_device,
    progress_dir_of,
    settings_from,
    wait_for_room,
)
from fixture_files import PROJECT

# --------------------------------------------------------------------------- pure parts


def dev(device_id: str, device_type: str, version: str = "6.2.0 (4512)") -> Dict[str, Any]:
    return normalise_device({"id": device_id, "device_type": device_type, "app_version": version,
                             "device_system": "Win11", "status": "Online", "ip_address": "10.0.0.5"})


RECORD = {"room_computer_id": "pc", "devices": [dev("pc", "Zoom Rooms Computer"), dev("pad", "Controller")]}


@pytest.mark.parametrize("record, device_id, expected", [
    pytest.param(RECORD, None, "pc", id="room computer by default"),
    pytest.param(RECORD, "pad", "pad", id="device named in device_ids"),
    pytest.param(RECORD, "elsewhere", None, id="device not in this room"),
    pytest.param({"room_computer_id": None, "devices": [dev("pad", "Controller")]}, None, None,
                 id="room without a computer"),
])
def test_target_device(record, device_id, expected):
    device = action.target_device(record, device_id)
    assert (device["id"] if device else None) == expected


@pytest.mark.parametrize("before, now, changed", [
    pytest.param("6.2.0 (4512)", "6.3.0 (4781)", True, id="upgraded"),
    pytest.param("6.2.0 (4512)", "6.2.0.4512", False, id="same version in the other notation"),
    pytest.param("6.2.0 (4512)", None, False, id="device gone from the answer"),
    pytest.param("beta", "beta-2", True, id="unparsable versions compared raw"),
])
def test_version_changed(before, now, changed):
    now_device = dev("pc", "Zoom Rooms Computer", now) if now else None
    assert action.version_changed(dev("pc", "Zoom Rooms Computer", before), now_device) is changed


@pytest.mark.parametrize("requested, before, now, expected", [
    ("upgrade", "6.2.0 (4512)", "6.3.0 (4781)", "upgraded"),
    ("downgrade", "6.3.0 (4781)", "6.2.0 (4512)", "downgraded"),
    ("upgrade", "6.3.0 (4781)", "6.2.0 (4512)", "downgraded"),  # report what happened, not what was asked
    ("upgrade", "beta", "beta-2", "upgraded"),
])
def test_finished_outcome_follows_the_version(requested, before, now, expected):
    assert action.finished_outcome(requested, dev("a", "x", before), dev("a", "x", now)) == expected


def test_outcome_flags_and_summary():
    device = dev("pc", "Zoom Rooms Computer")
    outcomes = {"r1": action.outcome("upgraded", device, after=dev("pc", "x", "6.3.0 (4781)")),
                "r2": action.outcome("timeout", device), "r3": action.outcome("no_room_computer", None),
                "r4": action.outcome("already_current_or_updating", device, code=8001)}
    assert [(o["ok"], o["changed"]) for o in outcomes.values()] == [(True, True), (False, True), (False, False),
                                                                    (True, False)]
    assert (outcomes["r1"]["before"], outcomes["r1"]["after"]) == ("6.2.0.4512", "6.3.0.4781")
    assert action.summarise(outcomes) == {
        "counts": {"upgraded": 1, "timeout": 1, "no_room_computer": 1, "already_current_or_updating": 1},
        "failed_room_ids": ["r2", "r3"]}


def test_a_change_that_may_have_been_accepted_is_changed_but_not_ok():
    """possibly_requested: a retry after a 5xx got 8002/8003, which Zoom also answers once the first attempt
    was carried out. Not known to be where asked (listed as failed, for a person or the next read to check),
    but maybe changed (so the room is read again)."""
    flags = action.outcome("possibly_requested", dev("pc", "Zoom Rooms Computer"), code=8002)
    assert (flags["ok"], flags["changed"]) == (False, True)
    assert "possibly_requested" in yaml.safe_load(stub.RETURN)["outcomes"]["description"][1]


def documented_options(documentation: str) -> Dict[str, Any]:
    """The options ansible-doc shows: the module's own and those of the doc fragment it extends."""
    doc = yaml.safe_load(documentation)
    options = dict(doc.get("options") or {})
    if "zoomrooms.remediation.zoom_rooms_api" in (doc.get("extends_documentation_fragment") or []):
        options.update(yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"])
    return options


def test_documentation_matches_the_argument_spec():
    argument_spec = action.ARGUMENT_SPEC
    documented = documented_options(stub.DOCUMENTATION)
    assert set(documented) == set(argument_spec)
    for name, spec in argument_spec.items():
        doc = documented[name]
        assert doc["type"] == spec["type"], name
        assert doc.get("default") == spec.get("default"), name
        assert doc.get("choices") == spec.get("choices"), name
        assert doc.get("aliases") == spec.get("aliases"), name
    yaml.safe_load(stub.EXAMPLES)
    yaml.safe_load(stub.RETURN)


@pytest.mark.parametrize("params, environ, skipped", [
    ({"if_configured": True}, {}, True),
    ({"if_configured": True, "account_id": ""}, {"ZOOM_API_BASE_URL": "https://api.zoom.example/v2"}, True),
    ({"if_configured": True}, {"ZOOM_CLIENT_ID": "c"}, False),
    ({"if_configured": True, "client_secret": "s"}, {}, False),
    ({"if_configured": False}, {}, False),
], ids=["nothing given", "no credential", "a credential in the environment", "a credential option",
        "if_configured off: the task fails and says what is missing"])
def test_if_configured_skips_only_an_unconfigured_api(params, environ, skipped):
    result = action.skip_unconfigured(params, environ)
    assert (result is not None) is skipped
    if skipped:
        assert result == {"changed": False, "skipped": True, "skip_reason": action.NOT_CONFIGURED}


def test_the_roles_and_playbooks_ask_the_one_rule():
    """No role or playbook decides "configured" itself from ZOOM_* variables: zoom_rooms_api if_configured does."""
    api_start = yaml.safe_load((PROJECT / "roles/zoom_room_diagnose/tasks/api_start.yml").read_text())
    assert api_start[0]["zoomrooms.remediation.zoom_rooms_api"]["if_configured"] is True
    for path in [*PROJECT.glob("roles/*/tasks/*.yml"), *PROJECT.glob("playbooks/*.yml")]:
        assert "'ZOOM_" not in path.read_text(), path


# --------------------------------------------------------------------------- the read in the background

def wait_until_finished(path: Path, seconds: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while '"started"' in path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize("read, expected", [
    (lambda _progress: {"changed": False, "rooms": {"r1": {"room": {"id": "r1"}}}},
     {"changed": False, "rooms": {"r1": {"room": {"id": "r1"}}}}),
    (lambda _progress: (_unused for _unused in ()).throw(ZoomApiError("Zoom API: 401 invalid client")),
     {"failed": True, "msg": "Zoom API: 401 invalid client"}),
    (lambda _progress: 1 / 0, {"failed": True, "msg": "ZeroDivisionError: division by zero"}),
], ids=["read", "api error", "any other error"])
def test_a_background_read_writes_its_result_for_collect(tmp_path, read, expected):
    path = Path(action.start_background(read, directory=str(tmp_path)))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(Path(progress_dir_of(str(path))).stat().st_mode & 0o777) == "0o700"
    wait_until_finished(path)
    assert action.collect_background({"results_file": str(path)}, timeout=5) == expected
    assert list(tmp_path.iterdir()) == [], "collect removes the file and the progress directory"


def test_a_background_read_hands_each_room_to_the_waiting_rooms_before_it_ends(tmp_path):
    """Against the double: the read's progress names every room, and each room's record equals the finished
    read's; a room waiting on it gets its record while the read is still running."""
    double = zd.start_double(6, config=zd.DoubleConfig())
    try:
        settings = settings_from({"base_url": double.base_url, "token_url": double.token_url,
                                  "account_id": zd.LAB_ACCOUNT_ID, "client_id": zd.LAB_CLIENT_ID,
                                  "client_secret": zd.LAB_CLIENT_SECRET}, {})
        release = tmp_path.parent / f"{tmp_path.name}-release"  # the read runs in a process of its own

        def read(progress):
            result = action.background_read(settings, {"room_ids": None, "max_workers": 2})(progress)
            deadline = time.monotonic() + 10
            while not release.exists() and time.monotonic() < deadline:  # done with the API, its file not written
                time.sleep(0.02)
            return result

        path = action.start_background(read, directory=str(tmp_path))
        first = sorted(double.state.rooms)[0]
        name = double.state.rooms[first]["name"]
        waited = wait_for_room(read_file, path, lambda rooms: next(
            (room_id for room_id, record in rooms.items() if record["room"]["name"] == name), None), timeout=10,
            poll=0.05)
        assert '"started"' in Path(path).read_text(), "the room did not wait for the whole read"
        assert set(waited["rooms"]) == set(double.state.rooms)
        assert waited["rooms"][first]["devices"], "the waiting room has its own record, devices and all"
        release.touch()
        wait_until_finished(Path(path))
        final = action.collect_background({"results_file": path}, timeout=5)
        assert waited["rooms"][first] == final["rooms"][first]
        assert list(tmp_path.iterdir()) == []
    finally:
        release.touch()
        double.stop()


def test_collect_gives_up_on_a_read_that_does_not_finish(tmp_path):
    path = tmp_path / "zoom-rooms-api-x.json"
    path.write_text('{"started": 1}')
    result = action.collect_background({"results_file": str(path)}, timeout=0.3)
    assert result == {"failed": True, "msg": "the background read did not finish within 0.3s"}
    assert not path.exists()


def test_rooms_matched_by_name_are_never_changed(tmp_path):
    """room_names selects rooms to read: a task that would change rooms fails before it asks Zoom anything."""
    values = {"app_version_action": "upgrade", "regenerate_activation_code": True, "restart": True}
    tasks = "".join(textwrap.dedent(f"""\
            - name: {change} of rooms matched by name
              zoomrooms.remediation.zoom_rooms_api:
                room_names: [Boardroom]
                {change}: {json.dumps(values[change])}
              ignore_errors: true
              register: refused_{change}
        """) for change in action.CHANGE_OPTIONS)
    playbook = tmp_path / "refused.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n" + textwrap.indent(tasks, "    ") +
                        textwrap.indent(textwrap.dedent(f"""\
            - ansible.builtin.copy:
                content: "{{{{ [{', '.join(f'refused_{change}' for change in action.CHANGE_OPTIONS)}] | to_json }}}}"
                dest: {tmp_path}/result.json
        """), "    "))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOOM_", "ANSIBLE_"))}
    env.update(PATH=f"{PROJECT / '.venv/bin'}:{env.get('PATH', '')}", ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
               ZOOM_API_BASE_URL="http://127.0.0.1:9/v2", ZOOM_ACCOUNT_ID="a", ZOOM_CLIENT_ID="c",
               ZOOM_CLIENT_SECRET="s", ZOOM_ROOMS_REPORT_DIR=str(tmp_path / "reports"))
    result = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local",
                             "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
                            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    refusals = json.loads((tmp_path / "result.json").read_text())
    assert [(r["failed"], r["msg"].startswith("room_names selects rooms to read")) for r in refusals] == [
        (True, True)] * len(action.CHANGE_OPTIONS)


def test_collect_of_a_read_that_never_started_says_why():
    result = action.collect_background({"failed": True, "msg": "ca_bundle: no such file"}, timeout=1)
    assert result == {"failed": True, "msg": "ca_bundle: no such file"}


# --------------------------------------------------------------------------- the task against the double


@pytest.fixture
def world():
    fake = zd.ManualClock()  # one clock for the double and the task: sleeping moves both on
    double = zd.start_double(30, config=zd.DoubleConfig(record=True, upgrade_delay=25), clock=fake)
    settings = settings_from({"base_url": double.base_url, "token_url": double.token_url,
                              "account_id": zd.LAB_ACCOUNT_ID, "client_id": zd.LAB_CLIENT_ID,
                              "client_secret": zd.LAB_CLIENT_SECRET}, {})
    client = ZoomClient(settings, sleep=fake.sleep, clock=fake)
    yield double, client, fake
    double.stop()


def params(**overrides: Any) -> Dict[str, Any]:
    defaults = {name: spec.get("default") for name, spec in action.ARGUMENT_SPEC.items()}
    return {**defaults, "poll_interval": 10.0, "wait_timeout": 120.0, **overrides}


def run(world, check_mode: bool = False, **overrides: Any) -> Dict[str, Any]:
    _unused, client, fake = world
    return action.run_api_task(client, params(**overrides), check_mode=check_mode, sleep=fake.sleep, clock=fake)


def computer(room: Dict[str, Any]) -> Dict[str, Any] | None:
    return next((d for d in room["devices"] if d["device_type"] == "Zoom Rooms Computer"), None)


def expected_outcome(room: Dict[str, Any]) -> str:
    """What Zoom (the double) should make of an upgrade request, from the raw room state."""
    pc = computer(room)
    if pc is None:
        return "no_room_computer"
    if zd.platform_of(pc["device_system"]) not in zd.UPGRADABLE_PLATFORMS:
        return "rejected"
    if pc["app_version"] == zd.DEFAULT_LATEST_VERSION:
        return "already_current_or_updating"
    return "upgraded" if pc["status"] == "Online" else "timeout"


def test_read_only_returns_every_room(world):
    double = world[0]
    result = run(world)
    assert result["changed"] is False and result["missing_room_ids"] == [] and result["errors"] == {}
    assert list(result["rooms"]) == list(double.state.rooms)
    for room_id, record in result["rooms"].items():
        raw = double.state.rooms[room_id]
        assert "activation_code" not in record["room"]
        assert record["reported_ip"] == (computer(raw)["ip_address"] if computer(raw) else None)
        assert [d["app_version_raw"] for d in record["devices"]] == [d["app_version"] for d in raw["devices"]]
    assert not [ex for ex in double.state.exchanges if ex["method"] != "GET"]


def test_selected_rooms_and_missing_ids(world):
    double = world[0]
    wanted = list(double.state.rooms)[3:6]
    result = run(world, room_ids=[*wanted, "no-such-room"])
    assert sorted(result["rooms"]) == sorted(wanted) and result["missing_room_ids"] == ["no-such-room"]
    assert run(world, room_ids=[])["rooms"] == {}


def test_upgrade_waits_until_each_room_reports_the_new_version(world):
    double, _unused, fake = world
    expected = {room_id: expected_outcome(room) for room_id, room in double.state.rooms.items()}
    assert {"upgraded", "rejected", "timeout", "no_room_computer"} <= set(expected.values())
    started = fake.now
    result = run(world, app_version_action="upgrade")
    outcomes = result["outcomes"]
    assert {room_id: o["outcome"] for room_id, o in outcomes.items()} == expected
    for room_id, o in outcomes.items():
        if o["outcome"] == "upgraded":
            assert o["after"] == "6.3.0.4781" != o["before"]
            assert result["rooms"][room_id]["room_computer_version"] == "6.3.0.4781"  # re-read after the change
    assert result["changed"] is True
    assert result["summary"]["failed_room_ids"] == sorted(r for r, e in expected.items()
                                                          if e in ("rejected", "timeout", "no_room_computer"))
    assert fake.now - started >= 120  # the offline rooms kept the wait going to the timeout


def test_upgrade_then_downgrade(world):
    double = world[0]
    room_id = next(r for r, room in double.state.rooms.items() if expected_outcome(room) == "upgraded")
    assert run(world, room_ids=[room_id], app_version_action="upgrade")["outcomes"][room_id]["outcome"] == "upgraded"
    down = run(world, room_ids=[room_id], app_version_action="downgrade")["outcomes"][room_id]
    assert (down["outcome"], down["before"]) == ("downgraded", "6.3.0.4781")


def test_no_wait_and_cancel(world):
    double = world[0]
    room_id = next(r for r, room in double.state.rooms.items() if expected_outcome(room) == "upgraded")
    steps = [("upgrade", False), ("cancel", True), ("cancel", True)]
    outcomes = [run(world, room_ids=[room_id], app_version_action=step, wait=wait)["outcomes"][room_id]["outcome"]
                for step, wait in steps]
    assert outcomes == ["requested", "cancelled", "nothing_to_cancel"]


def test_device_ids_pick_another_device(world):
    double = world[0]
    room_id, room = next((r, room) for r, room in double.state.rooms.items() if expected_outcome(room) == "upgraded")
    controller = next(d["id"] for d in room["devices"] if d["device_type"] == "Controller")
    result = run(world, room_ids=[room_id], app_version_action="upgrade", device_ids={room_id: controller})
    assert (result["outcomes"][room_id]["outcome"], result["outcomes"][room_id]["code"]) == ("rejected", 300)
    result = run(world, room_ids=[room_id], app_version_action="upgrade", device_ids={room_id: "elsewhere"})
    assert result["outcomes"][room_id]["outcome"] == "device_not_in_room"
    assert not [ex for ex in double.state.exchanges if "elsewhere" in ex["path"]]  # decided before asking Zoom


def test_check_mode_changes_nothing(world):
    double = world[0]
    result = run(world, check_mode=True, app_version_action="upgrade", regenerate_activation_code=True)
    assert result["changed"] is True and "activation_codes" not in result
    assert {o["outcome"] for o in result["outcomes"].values()} == {"would_upgrade", "no_room_computer"}
    assert [ex for ex in double.state.exchanges if ex["method"] != "GET" or ex["query"].get(
        "regenerate_activation_code")] == []


def test_regenerate_activation_codes(world):
    double = world[0]
    wanted = list(double.state.rooms)[:2]
    before = {r: double.state.rooms[r]["activation_code"] for r in wanted}
    result = run(world, room_ids=wanted, regenerate_activation_code=True)
    assert result["changed"] is True
    assert result["activation_codes"] == {r: double.state.rooms[r]["activation_code"] for r in wanted}
    assert all(result["activation_codes"][r] != before[r] for r in wanted)


def test_restart_asks_zoom_once_per_room_and_offline_is_an_outcome(world):
    double = world[0]
    online = next(r for r, room in double.state.rooms.items() if (computer(room) or {}).get("status") == "Online")
    offline = next(r for r, room in double.state.rooms.items() if (computer(room) or {}).get("status") == "Offline")
    result = run(world, room_ids=[online, offline], restart=True)
    assert {r: o["outcome"] for r, o in result["restarts"].items()} == {online: "restart_requested",
                                                                        offline: "offline"}
    assert result["restarts"][offline]["code"] == 300 and result["changed"] is True
    patches = [ex["path"] for ex in double.state.exchanges if ex["method"] == "PATCH"]
    assert sorted(patches) == sorted(f"/v2/rooms/{r}/events" for r in (online, offline))


def test_regenerate_keeps_the_codes_issued_before_and_after_a_refused_room(world):
    """Zoom Rooms OpenAPI, GET /rooms/{roomId}: 400 code 200 "No permission to regenerate an activation code".
    A new code invalidates the old one, so the codes already issued must not be lost with the task."""
    double = world[0]
    first, refused, last = sorted(double.state.rooms)[:3]
    double.state.rooms[refused]["_no_regenerate_permission"] = True
    old_code = double.state.rooms[refused]["activation_code"]
    result = run(world, room_ids=[first, refused, last], regenerate_activation_code=True)
    assert result["activation_codes"] == {r: double.state.rooms[r]["activation_code"] for r in (first, last)}
    error = result["activation_code_errors"][refused]
    assert (error["ok"], error["outcome"], error["status"], error["code"]) == (False, "error", 400, 200)
    assert "No permission to regenerate" in error["message"]
    assert double.state.rooms[refused]["activation_code"] == old_code
    assert result["changed"] is True and result["failed"] is True
    assert refused in result["msg"] and "No permission to regenerate" in result["msg"]
    refusal = next(ex for ex in double.state.exchanges if ex["path"] == f"/v2/rooms/{refused}")
    assert zd.OpenApiCheck().response_errors(refusal) == []  # the double answers as the document says


def test_restart_keeps_going_past_a_room_zoom_no_longer_has(world, monkeypatch):
    """Zoom Rooms OpenAPI, PATCH /rooms/{id}/events: 404 code 1012 "Room does not exist". That room's outcome,
    not the end of the task: the restarts already requested are still reported."""
    double = world[0]
    ids = sorted(r for r, room in double.state.rooms.items() if (computer(room) or {}).get("status") == "Online")[:3]
    gone = ids[1]
    read = action.gather

    def read_then_room_deleted(*args, **kwargs):
        answer = read(*args, **kwargs)
        del double.state.rooms[gone]  # deleted in Zoom between the read and the restart
        return answer

    monkeypatch.setattr(action, "gather", read_then_room_deleted)
    result = run(world, room_ids=ids, restart=True)
    assert {r: o["outcome"] for r, o in result["restarts"].items()} == {
        ids[0]: "restart_requested", gone: "error", ids[2]: "restart_requested"}
    error = result["restarts"][gone]
    assert (error["ok"], error["status"], error["code"]) == (False, 404, 1012) and "Room does not exist" in \
        error["message"]
    assert result["changed"] is True and result["failed"] is True and gone in result["msg"]


def test_a_version_change_keeps_going_past_a_room_whose_request_fails(world, monkeypatch):
    """One room's API error while the versions are changed (the double answers its PUT with a 404) is that room's
    outcome; the rooms before and after it keep theirs."""
    double, client, _unused = world
    ids = sorted(r for r, room in double.state.rooms.items() if expected_outcome(room) == "upgraded")[:3]
    failing = ids[1]
    put = client.set_app_version

    def put_failing_for_one_room(room_id, device_id, action_name):
        if room_id == failing:
            double.state.add_fault({"kind": "server_error", "status": 404})  # the next /v2 request: this PUT
        return put(room_id, device_id, action_name)

    monkeypatch.setattr(client, "set_app_version", put_failing_for_one_room)
    result = run(world, room_ids=ids, app_version_action="upgrade")
    outcomes = {r: o["outcome"] for r, o in result["outcomes"].items()}
    assert outcomes == {ids[0]: "upgraded", failing: "error", ids[2]: "upgraded"}, outcomes
    assert (result["outcomes"][failing]["ok"], result["outcomes"][failing]["code"]) == (False, 404)
    assert failing in result["summary"]["failed_room_ids"] and result["changed"] is True


def test_a_fatal_error_still_stops_the_restarts(world):
    double, client, _unused = world
    ids = sorted(double.state.rooms)[:3]
    client.get_room(ids[0])  # token first: faults apply to /v2 calls
    double.state.add_fault({"kind": "daily_429", "count": 3})
    with pytest.raises(ZoomDailyLimitError):
        action.restart_rooms(client, ids, check_mode=False)
    assert [ex["method"] for ex in double.state.exchanges].count("PATCH") == 1


def test_restart_in_check_mode_asks_nothing(world):
    double = world[0]
    room_id = next(iter(double.state.rooms))
    result = run(world, check_mode=True, room_ids=[room_id], restart=True)
    assert result["restarts"][room_id]["outcome"] == "would_restart"
    assert [ex for ex in double.state.exchanges if ex["method"] == "PATCH"] == []


# --------------------------------------------------------------------------- a real playbook


def test_playbook_runs_the_action_on_the_controller(tmp_path):
    with zd.start_double(4, config=zd.DoubleConfig(upgrade_delay=0.2)) as double:
        room_id = next(r for r, room in double.state.rooms.items() if expected_outcome(room) == "upgraded")
        playbook = tmp_path / "api.yml"
        playbook.write_text(textwrap.dedent(f"""\
            - hosts: localhost
              gather_facts: false
              tasks:
                - name: Read every room
                  zoomrooms.remediation.zoom_rooms_api:
                    max_requests_per_second: 0
                  register: read
                - name: Upgrade one room
                  zoomrooms.remediation.zoom_rooms_api:
                    room_ids: [{room_id}]
                    action: upgrade
                    poll_interval: 0.1
                    wait_timeout: 20
                  register: upgrade
                - ansible.builtin.copy:
                    content: "{{{{ {{'read': read, 'upgrade': upgrade}} | to_json }}}}"
                    dest: {tmp_path}/result.json
            """))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOOM_", "ANSIBLE_"))}
        env.update(PATH=f"{PROJECT / '.venv/bin'}:{env.get('PATH', '')}", ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
                   ZOOM_API_BASE_URL=double.base_url, ZOOM_OAUTH_TOKEN_URL=double.token_url,
                   ZOOM_ACCOUNT_ID=zd.LAB_ACCOUNT_ID, ZOOM_CLIENT_ID=zd.LAB_CLIENT_ID,
                   ZOOM_CLIENT_SECRET=zd.LAB_CLIENT_SECRET, ZOOM_ROOMS_REPORT_DIR=str(tmp_path / "reports"))
        # A real host list now that ansible.cfg enables host_list: name the interpreter, as implicit localhost did.
        result = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", "-vvv",
                                 "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
                                cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        data = json.loads((tmp_path / "result.json").read_text())
        assert set(data["read"]["rooms"]) == set(double.state.rooms)
        assert data["upgrade"]["outcomes"][room_id]["outcome"] == "upgraded"
        tokens = double.state.issued_tokens
        assert tokens and [s for s in [zd.LAB_CLIENT_SECRET, *tokens] if s in result.stdout + result.stderr] == []
