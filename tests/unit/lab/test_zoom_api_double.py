"""The Zoom API double behaves like the documented API and cannot drift from Zoom's OpenAPI document.

Every response the double gives in these tests is validated against tests/lab/zoom-rooms-openapi.json
(Zoom's own OpenAPI, API Hub snapshot 2026-02-07) by the `checked_double` fixture.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import urllib.parse
from collections import Counter
from typing import Any, Dict, Tuple

import pytest
import zoom_api_double as zd
from double_client import call, spec_problems
from fixture_files import PROJECT


@pytest.fixture
def double(clock, openapi):
    """20 seeded rooms; on teardown every recorded /v2 response must match the OpenAPI document."""
    running = zd.start_double(20, config=zd.DoubleConfig(record=True, upgrade_delay=5), clock=clock)
    yield running
    running.stop()
    assert spec_problems(running, openapi) == []


def q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def first_room(double, predicate=lambda room: True) -> Dict[str, Any]:
    return next(r for r in double.state.rooms.values() if predicate(r))


def computer_of(room: Dict[str, Any]) -> Dict[str, Any]:
    return next(d for d in room["devices"] if d["device_type"] == "Zoom Rooms Computer")


def upgradable(room: Dict[str, Any]) -> bool:
    devices = [d for d in room["devices"] if d["device_type"] == "Zoom Rooms Computer"]
    return bool(devices) and zd.platform_of(devices[0]["device_system"]) in ("windows", "macos") \
        and devices[0]["status"] == "Online"


# --------------------------------------------------------------------------- seeding


def test_seeded_rooms_are_deterministic_and_mixed():
    fleet = [zd.seeded_room(i, 7) for i in range(200)]
    assert fleet == [zd.seeded_room(i, 7) for i in range(200)]
    assert fleet[0] != zd.seeded_room(0, 8)
    statuses = Counter(r["status"] for r in fleet)
    assert set(statuses) == set(zd.ROOM_STATUSES)
    platforms = Counter(zd.platform_of(computer_of(r)["device_system"]) for r in fleet if r["devices"])
    assert {"windows", "macos", "appliance"} <= set(platforms)
    assert any(computer_of(r)["ip_address"] == "127.0.0.1" for r in fleet if r["devices"])
    assert len({r["name"] for r in fleet}) < len(fleet), "some duplicate names, to test unique host names"
    assert all(not r["devices"] for r in fleet if r["status"] == "UnderConstruction")


# --------------------------------------------------------------------------- OAuth


def basic(client_id: str, secret: str) -> Dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("secret, account, status, error", [
    pytest.param(zd.LAB_CLIENT_SECRET, zd.LAB_ACCOUNT_ID, 200, None, id="right credentials"),
    pytest.param("nope", zd.LAB_ACCOUNT_ID, 401, "invalid_client", id="wrong secret"),
    pytest.param(zd.LAB_CLIENT_SECRET, "other-account", 400, "invalid_request", id="wrong account"),
])
def test_oauth_token_endpoint(double, secret, account, status, error):
    conn = http.client.HTTPConnection(double.host, double.port, timeout=10)
    body = urllib.parse.urlencode({"grant_type": "account_credentials", "account_id": account})
    conn.request("POST", "/oauth/token", body=body, headers=basic(zd.LAB_CLIENT_ID, secret))
    response = conn.getresponse()
    data = json.loads(response.read())
    assert response.status == status
    if status == 200:
        assert data["token_type"] == "bearer" and data["expires_in"] == 3599
        assert double.state.token_state(data["access_token"]) == "valid"
    else:
        assert data["error"] == error and "access_token" not in data


def test_tokens_expire(double, clock):
    token = double.state.issue_token()
    assert call(double, "GET", "/v2/rooms", token=token)[0] == 200
    clock.now += 3600
    status, _unused, body = call(double, "GET", "/v2/rooms", token=token)
    assert (status, body["code"], body["message"]) == (401, 124, "Access token is expired.")
    assert call(double, "GET", "/v2/rooms", token=None)[0] == 401


# --------------------------------------------------------------------------- GET /rooms


@pytest.mark.parametrize("query, expected_pages", [
    ("", [20]),                    # default page size 30
    ("page_size=7", [7, 7, 6]),
    ("page_size=300", [20]),
    ("page_size=20", [20]),
])
def test_list_rooms_pages(double, query, expected_pages):
    sizes, token, ids = [], "", []
    while True:
        path = "/v2/rooms?" + "&".join(p for p in (query, f"next_page_token={token}" if token else "") if p)
        status, _unused, body = call(double, "GET", path)
        assert status == 200
        sizes.append(len(body["rooms"]))
        ids += [r["id"] for r in body["rooms"]]
        token = body["next_page_token"]
        if not token:
            break
    assert sizes == expected_pages
    assert ids == list(double.state.rooms)


@pytest.mark.parametrize("query, spec_valid", [
    ("page_size=301", False),
    ("page_size=0", True),  # the document sets no minimum; Zoom refuses it
    ("status=Broken", False),
    ("next_page_token=forged", True),
])
def test_list_rooms_rejects_bad_input(double, openapi, query, spec_valid):
    status, _unused, body = call(double, "GET", f"/v2/rooms?{query}")
    assert status == 400 and body["code"] == 300
    exchange = double.state.exchanges.pop()
    assert (openapi.request_errors(exchange) == []) == spec_valid
    # The five-operation subset lists no 400 for GET /rooms: nothing to validate the answer against.


@pytest.mark.parametrize("filters, keep", [
    ({"status": "Offline"}, lambda r: r["status"] == "Offline"),
    ({"query_name": "huddle"}, lambda r: "huddle" in r["name"].lower()),
    ({"location_id": "Be49D7a0xPQvGQ2DCMZgSw"}, lambda r: r["location_id"] == "Be49D7a0xPQvGQ2DCMZgSw"),
    ({"type": "Kiosk"}, lambda r: False),
])
def test_list_rooms_filters(double, filters, keep):
    status, _unused, body = call(double, "GET", "/v2/rooms?page_size=300&" + urllib.parse.urlencode(filters))
    expected = [r["id"] for r in double.state.rooms.values() if keep(r)]
    assert status == 200
    assert [r["id"] for r in body["rooms"]] == expected
    assert set(body["rooms"][0]) == {"id", "room_id", "name", "activation_code", "status", "location_id",
                                     "tag_ids"} if expected else body["rooms"] == []


# --------------------------------------------------------------------------- GET /rooms/{id}, devices


def test_get_room_and_regenerate_activation_code(double):
    room = first_room(double)
    status, _unused, profile = call(double, "GET", f"/v2/rooms/{room['id']}")
    assert status == 200 and profile["basic"]["activation_code"] == room["activation_code"]
    old_code = room["activation_code"]
    status, _unused, regenerated = call(double, "GET", f"/v2/rooms/{room['id']}?regenerate_activation_code=true")
    assert status == 200 and regenerated["basic"]["activation_code"] != old_code
    assert double.state.rooms[room["id"]]["activation_code"] == regenerated["basic"]["activation_code"]


@pytest.mark.parametrize("path, status, code", [
    ("/v2/rooms/no-such-room", 404, 1012),
    ("/v2/rooms/no-such-room/devices", 400, 1012),
])
def test_unknown_room(double, path, status, code):
    answer = call(double, "GET", path)
    assert (answer[0], answer[2]["code"]) == (status, code)


def test_devices_hide_internal_fields(double):
    room = first_room(double, lambda r: r["devices"])
    status, _unused, body = call(double, "GET", f"/v2/rooms/{room['id']}/devices")
    assert status == 200
    assert [d["id"] for d in body["devices"]] == [d["id"] for d in room["devices"]]
    assert not any(key.startswith("_") for device in body["devices"] for key in device)


# --------------------------------------------------------------------------- PUT app_version


def put_version(double, room_id: str, device_id: str, action: str):
    return call(double, "PUT", f"/v2/rooms/{q(room_id)}/devices/{q(device_id)}/app_version", {"action": action})


def test_upgrade_completes_only_after_the_delay(double, clock):
    room = first_room(double, lambda r: upgradable(r) and computer_of(r)["app_version"] != zd.DEFAULT_LATEST_VERSION)
    device = computer_of(room)
    before = device["app_version"]
    assert put_version(double, room["id"], device["id"], "upgrade")[0] == 204
    assert call(double, "GET", f"/v2/rooms/{room['id']}/devices")[2]["devices"][0]["app_version"] == before
    assert put_version(double, room["id"], device["id"], "upgrade")[2]["code"] == 8001  # being updated
    clock.now += 5
    assert call(double, "GET", f"/v2/rooms/{room['id']}/devices")[2]["devices"][0]["app_version"] == \
        zd.DEFAULT_LATEST_VERSION
    assert put_version(double, room["id"], device["id"], "upgrade")[2]["code"] == 8001  # already current
    assert put_version(double, room["id"], device["id"], "downgrade")[0] == 204
    clock.now += 5
    assert computer_of(double.state.room(room["id"]))["app_version"] == before
    assert put_version(double, room["id"], device["id"], "downgrade")[2]["code"] == 8002  # no target left


@pytest.mark.parametrize("situation, action, expected", [
    ("nothing pending", "cancel", (400, 8003)),
    ("device of another room", "upgrade", (400, 8004)),
    ("controller", "upgrade", (400, 300)),
    ("appliance", "upgrade", (400, 300)),
    ("invalid action", "update", (400, 300)),
])
def test_app_version_refusals(double, situation, action, expected):
    rooms = [r for r in double.state.rooms.values() if r["devices"]]
    room = next(r for r in rooms if upgradable(r))
    device = {
        "nothing pending": computer_of(room),
        "device of another room": computer_of(next(r for r in rooms if r is not room)),
        "controller": next(d for d in room["devices"] if d["device_type"] == "Controller"),
        "appliance": computer_of(next(r for r in rooms if zd.platform_of(computer_of(r)["device_system"])
                                      == "appliance")),
        "invalid action": computer_of(room),
    }[situation]
    room_id = room["id"] if situation != "appliance" else next(r["id"] for r in rooms if device in r["devices"])
    status, _unused, body = put_version(double, room_id, device["id"], action)
    assert (status, body["code"]) == expected


def test_cancel_stops_a_pending_upgrade(double, clock):
    room = first_room(double, lambda r: upgradable(r) and computer_of(r)["app_version"] != zd.DEFAULT_LATEST_VERSION)
    device = computer_of(room)
    before = device["app_version"]
    assert put_version(double, room["id"], device["id"], "upgrade")[0] == 204
    assert put_version(double, room["id"], device["id"], "cancel")[0] == 204
    clock.now += 60
    assert computer_of(double.state.room(room["id"]))["app_version"] == before


def test_offline_device_does_not_finish_an_upgrade(double, clock):
    double.state.report("Offline Lab Room", {"ip_address": "10.1.2.3", "app_version": "6.1.5 (4410)",
                                             "status": "Offline", "platform": "windows"})
    room = double.state.rooms[zd.stable_id("lab", "Offline Lab Room")]
    assert put_version(double, room["id"], computer_of(room)["id"], "upgrade")[0] == 204
    clock.now += 60
    assert computer_of(double.state.room(room["id"]))["app_version"] == "6.1.5 (4410)"
    double.state.report("Offline Lab Room", {"status": "Online", "platform": "windows"})
    assert computer_of(double.state.room(room["id"]))["app_version"] == zd.DEFAULT_LATEST_VERSION


# --------------------------------------------------------------------------- PATCH events


@pytest.mark.parametrize("situation, body, expected", [
    ("online room restarts", {"method": "zoomroom.restart"}, (202, None)),
    ("offline room", {"method": "zoomroom.restart"}, (400, 300)),
    ("unknown room", {"method": "zoomroom.restart"}, (404, 1012)),
    ("unknown method", {"method": "zoomroom.dance"}, (400, 300)),
])
def test_room_events(double, situation, body, expected):
    room = first_room(double, (lambda r: r["status"] == "Offline") if situation == "offline room"
                      else (lambda r: r["status"] == "Available" and r["devices"]))
    room_id = "no-such-room" if situation == "unknown room" else room["id"]
    status, _unused, answer = call(double, "PATCH", f"/v2/rooms/{room_id}/events", body)
    assert (status, answer["code"] if answer else None) == expected
    assert room["_restart_requests"] == (1 if expected[0] == 202 else 0)


# --------------------------------------------------------------------------- lab endpoints


def test_lab_room_reports_create_and_update_a_room(double):
    report = {"ip_address": "10.89.90.11", "app_version": "6.2.0 (4512)", "status": "Online", "platform": "linux"}
    status, _unused, answer = call(double, "POST", "/_lab/rooms/zr-room-01/report", report, token=None)
    assert status == 200
    devices = call(double, "GET", f"/v2/rooms/{answer['room_id']}/devices")[2]["devices"]
    assert [(d["device_type"], d["app_version"]) for d in devices] == [
        ("Zoom Rooms Computer", "6.2.0 (4512)"), ("Controller", "6.2.0 (4512)")]
    assert devices[0]["ip_address"] == "10.89.90.11" and devices[0]["device_system"].startswith("Linux")

    call(double, "POST", "/_lab/rooms/zr-room-01/report", dict(report, ip_address="127.0.0.1", status="Offline"),
         token=None)
    assert call(double, "POST", "/_lab/rooms/zr-room-01/controller", {"app_version": "5.17.5 (3410)"},
                token=None)[0] == 200
    raw = {r["name"]: r for r in call(double, "GET", "/_lab/rooms", token=None)[2]["rooms"]}["zr-room-01"]
    assert raw["status"] == "Offline"
    assert [(d["status"], d["ip_address"], d["app_version"]) for d in raw["devices"]] == [
        ("Offline", "127.0.0.1", "6.2.0 (4512)"), ("Offline", "", "5.17.5 (3410)")]
    assert call(double, "POST", "/_lab/rooms/zr-unknown/controller", {"app_version": "1"}, token=None)[0] == 404


@pytest.mark.parametrize("kind, status, headers", [
    ("per_second_429", 429, {"x-ratelimit-type": "QPS", "x-ratelimit-category": "Medium"}),
    ("daily_429", 429, {"x-ratelimit-type": "Daily-limit", "retry-after": "2025-10-10T00:00:00Z"}),
    ("server_error", 500, {}),
])
def test_faults_answer_like_zoom_then_clear(double, kind, status, headers):
    assert call(double, "POST", "/_lab/faults", {"kind": kind, "count": 2}, token=None)[0] == 200
    for _unused in range(2):
        answer = call(double, "GET", "/v2/rooms")
        assert answer[0] == status
        assert {k: answer[1].get(k) for k in headers} == headers
    assert call(double, "GET", "/v2/rooms")[0] == 200


def test_slow_fault_delays_one_answer(double):
    call(double, "POST", "/_lab/faults", {"kind": "slow", "delay": 0.3}, token=None)
    conn = http.client.HTTPConnection(double.host, double.port, timeout=0.1)
    conn.request("GET", "/v2/rooms", headers={"Authorization": f"Bearer {double.state.issue_token()}"})
    with pytest.raises(TimeoutError):
        conn.getresponse()
    conn.close()
    assert call(double, "GET", "/v2/rooms")[0] == 200


def test_unknown_fault_kind_is_refused(double):
    assert call(double, "POST", "/_lab/faults", {"kind": "meteor"}, token=None)[0] == 400
    assert call(double, "GET", "/_lab/faults", token=None)[2] == {"faults": []}


# --------------------------------------------------------------------------- the rate limit


def test_rate_limiter_is_a_sliding_one_second_window(clock):
    limiter = zd.RateLimiter(3, clock)
    assert [limiter.allow() for _unused in range(4)] == [True, True, True, False]
    clock.now += 0.5
    assert limiter.allow() is False  # the first three are still inside the last second
    clock.now += 0.5
    assert [limiter.allow() for _unused in range(4)] == [True, True, True, False]  # 1 s later: room for 3
    assert limiter.throttled == 3


def test_rate_limiter_refuses_nonsense(clock):
    with pytest.raises(ValueError, match="positive"):
        zd.RateLimiter(0, clock)
    assert zd.RateLimiter(0.5, clock).capacity == 1  # at least one request a second


@pytest.fixture
def limited(clock, openapi):
    """5 seeded rooms behind a limit of 4 /v2 requests a second; the clock only moves by hand."""
    running = zd.start_double(5, config=zd.DoubleConfig(record=True), clock=clock, rate_limit_per_second=4)
    yield running
    running.stop()
    assert spec_problems(running, openapi) == []


def test_one_request_over_the_limit_in_one_second_gets_one_429(limited, clock):
    token = limited.state.issue_token()
    answers = [call(limited, "GET", "/v2/rooms", token=token) for _unused in range(5)]
    assert [status for status, _headers, _body in answers] == [200, 200, 200, 200, 429]
    _status, headers, body = answers[-1]
    assert {k: headers.get(k) for k in ("x-ratelimit-category", "x-ratelimit-type", "x-ratelimit-limit")} == {
        "x-ratelimit-category": "Medium", "x-ratelimit-type": "QPS", "x-ratelimit-limit": "4"}
    assert body["code"] == 429 and "per-second rate limit" in body["message"]
    clock.now += 1.0
    assert call(limited, "GET", "/v2/rooms", token=token)[0] == 200
    assert call(limited, "GET", "/_lab/requests", token=None)[2] == {"requests": {"list_rooms": 5}, "throttled": 1}


def test_the_limit_is_shared_by_every_operation_and_spares_token_and_lab_calls(limited):
    room_id = next(iter(limited.state.rooms))
    token = limited.state.issue_token()
    statuses = [call(limited, "GET", path, token=token)[0]
                for path in ("/v2/rooms", f"/v2/rooms/{q(room_id)}", f"/v2/rooms/{q(room_id)}/devices",
                             "/v2/rooms", f"/v2/rooms/{q(room_id)}/devices")]
    assert statuses == [200, 200, 200, 200, 429]
    conn = http.client.HTTPConnection(limited.host, limited.port, timeout=10)
    body = urllib.parse.urlencode({"grant_type": "account_credentials", "account_id": zd.LAB_ACCOUNT_ID})
    conn.request("POST", "/oauth/token", body=body, headers=basic(zd.LAB_CLIENT_ID, zd.LAB_CLIENT_SECRET))
    assert conn.getresponse().status == 200  # the token endpoint is not a Rooms endpoint
    conn.close()
    assert call(limited, "GET", "/_lab/rooms", token=None)[0] == 200
    assert limited.state.throttled == 1


def test_no_limit_by_default(double):
    token = double.state.issue_token()
    assert {call(double, "GET", "/v2/rooms", token=token)[0] for _unused in range(30)} == {200}
    assert double.state.rate_limiter is None and double.state.throttled == 0


# --------------------------------------------------------------------------- the validator itself


def test_openapi_check_catches_drift(double, openapi):
    """The validator must be able to fail: a room with an undocumented status does not pass."""
    call(double, "GET", "/v2/rooms?page_size=2")
    exchange = dict(double.state.exchanges[-1])
    assert openapi.response_errors(exchange) == []
    body = json.loads(exchange["response_body"])
    body["rooms"][0]["status"] = "Online"  # devices say Online, rooms never do
    exchange["response_body"] = json.dumps(body).encode()
    assert any("Online" in problem for problem in openapi.response_errors(exchange))
    double.state.exchanges.pop()


def test_openapi_check_flags_bad_requests(double, openapi):
    call(double, "GET", "/v2/rooms?page_size=301")
    assert openapi.request_errors(double.state.exchanges.pop())


# --------------------------------------------------------------------------- CLI and state file


def start_cli(*args: str) -> Tuple[subprocess.Popen, Dict[str, Any]]:
    process = subprocess.Popen([sys.executable, str(PROJECT / "tests/lab/zoom_api_double.py"), "--port", "0",
                                *args], stdout=subprocess.PIPE, text=True)
    info = json.loads(process.stdout.readline())
    return process, info


def stop_cli(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_cli_prints_where_it_listens_and_keeps_state(tmp_path):
    state_file = tmp_path / "api-state.json"
    process, info = start_cli("--rooms", "3", "--state-file", str(state_file), "--extra-host", "127.0.0.2")
    try:
        assert info["pid"] == process.pid and info["base_url"] == f"http://127.0.0.1:{info['port']}/v2"
        assert info["token_url"] == f"http://127.0.0.1:{info['port']}/oauth/token"
        assert info["extra_base_urls"] == [f"http://127.0.0.2:{info['port']}/v2"]
        assert info["extra_token_urls"] == [f"http://127.0.0.2:{info['port']}/oauth/token"]
        for host in ("127.0.0.1", "127.0.0.2"):
            conn = http.client.HTTPConnection(host, info["port"], timeout=10)
            conn.request("POST", "/_lab/rooms/zr-room-07/report", body=json.dumps(
                {"ip_address": "10.89.90.17", "app_version": "6.2.0 (4512)", "status": "Online",
                 "platform": "linux"}), headers={"Content-Type": "application/json"})
            assert conn.getresponse().status == 200
    finally:
        stop_cli(process)
    process, info = start_cli("--rooms", "3", "--state-file", str(state_file))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", info["port"], timeout=10)
        conn.request("GET", "/_lab/rooms")
        names = [r["name"] for r in json.loads(conn.getresponse().read())["rooms"]]
    finally:
        stop_cli(process)
    assert len(names) == 4 and names.count("zr-room-07") == 1
    assert not [p for p in os.listdir(tmp_path) if ".tmp." in p]
