"""The API double's lab behaviour the lab tests build on (in-process, no containers): a room that
follows updates changes version only when it reports the new one; an idle room's wait for a change;
forced refusals; request counts.

Every /v2 answer given here is validated against Zoom's OpenAPI document, as in the unit tests.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from typing import Any, Dict, Tuple

import pytest
import zoom_api_double as zd
from double_client import call as api_call
from double_client import spec_problems

OLD, CURRENT = "5.16.2 (3001)", "6.2.0 (4512)"
REPORT = {"ip_address": "10.89.1.5", "status": "Online", "platform": "linux", "follows_updates": True}


@pytest.fixture
def double(clock, openapi):
    config = zd.DoubleConfig(record=True, upgrade_delay=1, latest_version=CURRENT)
    running = zd.start_double(0, config=config, clock=clock)
    yield running
    running.stop()
    assert spec_problems(running, openapi) == []


def call(double, method: str, path: str, body: Any = None, token: bool = True) -> Tuple[int, Any]:
    """(status, JSON body); the lab's own endpoints take no token."""
    status, _unused, answer = api_call(double, method, path, body, token="issue" if token else None)
    return status, answer


def report(double, name: str, **fields: Any) -> Dict[str, Any]:
    status, answer = call(double, "POST", f"/_lab/rooms/{name}/report", {**REPORT, **fields}, token=False)
    assert status == 200, answer
    return answer


def api_version(double, room_id: str) -> str:
    return call(double, "GET", f"/v2/rooms/{room_id}/devices")[1]["devices"][0]["app_version"]


def change(double, room_id: str, device_id: str, action: str) -> Tuple[int, Any]:
    quoted = urllib.parse.quote(device_id, safe="")
    return call(double, "PUT", f"/v2/rooms/{room_id}/devices/{quoted}/app_version", {"action": action})


def test_a_room_that_follows_updates_changes_only_when_it_reports_the_new_version(double, clock):
    first = report(double, "zr-room-01", app_version=OLD)
    room_id, device_id = first["room_id"], first["device_id"]
    assert change(double, room_id, device_id, "upgrade")[0] == 204

    clock.now += 5  # past the delay: the change is ready for the room, the API still shows the old version
    assert api_version(double, room_id) == OLD
    answer = report(double, "zr-room-01", app_version=OLD)
    assert answer["pending"]["ready"] is True and answer["pending"]["target"] == CURRENT
    assert change(double, room_id, device_id, "upgrade")[1]["code"] == 8001  # being updated

    report(double, "zr-room-01", app_version=CURRENT)  # the room installed it
    assert api_version(double, room_id) == CURRENT
    assert report(double, "zr-room-01", app_version=CURRENT)["pending"] is None

    # The upgrade left a downgrade target: the old version, installed the same way.
    assert change(double, room_id, device_id, "downgrade")[0] == 204
    clock.now += 5
    assert report(double, "zr-room-01", app_version=CURRENT)["pending"]["target"] == OLD
    report(double, "zr-room-01", app_version=OLD)
    assert api_version(double, room_id) == OLD
    assert change(double, room_id, device_id, "downgrade")[1]["code"] == 8002


def test_a_room_that_cannot_install_abandons_the_change(double, clock):
    first = report(double, "zr-room-02", app_version=OLD)
    assert change(double, first["room_id"], first["device_id"], "upgrade")[0] == 204
    clock.now += 5
    report(double, "zr-room-02", app_version=OLD)
    answer = report(double, "zr-room-02", app_version=OLD, update_error="no lab package for version 6.2.0 (4512)")
    assert answer["pending"] is None
    assert api_version(double, first["room_id"]) == OLD
    raw = double.state.rooms[first["room_id"]]["devices"][0]
    assert raw["_last_update_error"].startswith("no lab package")


@pytest.mark.parametrize("code", [8001, 8002, 8003, 8004, 300])
def test_forced_refusal_answers_once_then_the_room_behaves_normally(double, code):
    first = report(double, "zr-room-03", app_version=OLD)
    status, answer = call(double, "POST", "/_lab/rooms/zr-room-03/app_version_error", {"code": code}, token=False)
    assert status == 200 and answer["forced_app_version_errors"] == [code]
    status, body = change(double, first["room_id"], first["device_id"], "upgrade")
    assert (status, body["code"]) == (400, code)
    assert body["message"]
    assert change(double, first["room_id"], first["device_id"], "upgrade")[0] == 204


@pytest.mark.parametrize("path, body, status", [
    ("/_lab/rooms/zr-nobody/app_version_error", {"code": 8001}, 404),
    ("/_lab/rooms/zr-room-04/app_version_error", {"count": 1}, 400),
    ("/_lab/rooms/zr-room-04/app_version_error", {"code": "soon"}, 400),
], ids=["unknown room", "no code", "code not a number"])
def test_forced_refusal_rejects_bad_input(double, path, body, status):
    report(double, "zr-room-04", app_version=OLD)
    assert call(double, "POST", path, body, token=False)[0] == status


def test_request_counts_per_operation(double):
    first = report(double, "zr-room-05", app_version=OLD)
    call(double, "GET", "/v2/rooms")
    call(double, "GET", f"/v2/rooms/{first['room_id']}/devices")
    change(double, first["room_id"], first["device_id"], "cancel")
    counts = call(double, "GET", "/_lab/requests", token=False)[1]["requests"]
    assert counts == {"list_rooms": 1, "list_devices": 1, "change_app_version": 1}


def wait_for_pending(double, name: str, seconds: float) -> Tuple[int, Any]:
    return call(double, "GET", f"/_lab/rooms/{name}/pending?wait={seconds}", token=False)


def test_an_idle_rooms_wait_is_held_until_a_change_is_requested(double):
    first = report(double, "zr-room-06", app_version=OLD)
    answers: list = []
    waiter = threading.Thread(target=lambda: answers.append(wait_for_pending(double, "zr-room-06", 20)))
    started = time.monotonic()
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive(), "the double answered before any change was requested"
    assert change(double, first["room_id"], first["device_id"], "upgrade")[0] == 204
    waiter.join(10)
    assert not waiter.is_alive() and time.monotonic() - started < 10
    status, answer = answers[0]
    assert status == 200 and answer["pending"]["action"] == "upgrade" and answer["pending"]["target"] == CURRENT


def test_a_wait_answers_at_once_with_a_pending_change_and_after_its_seconds_without(double):
    first = report(double, "zr-room-07", app_version=OLD)
    started = time.monotonic()
    assert wait_for_pending(double, "zr-room-07", 0.3) == (200, {"pending": None})
    assert time.monotonic() - started >= 0.3
    change(double, first["room_id"], first["device_id"], "upgrade")
    started = time.monotonic()
    assert wait_for_pending(double, "zr-room-07", 20)[1]["pending"]["target"] == CURRENT
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("name, wait, status", [("zr-room-never", "1", 404), ("zr-room-08", "soon", 400)],
                         ids=["a room that never reported", "wait not a number"])
def test_a_wait_rejects_bad_input(double, name, wait, status):
    report(double, "zr-room-08", app_version=OLD)
    assert wait_for_pending(double, name, wait)[0] == status
