"""The lab room simulator's reporting (tests/lab/sim/zoom-rooms-sim), in process against the API double:
an idle room reports once and then only when it changes, learns of a requested update from the
double's held answer, and reads its address without a subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from types import SimpleNamespace
from typing import Callable

import pytest
import zoom_api_double as zd
from fixture_files import lab_simulator

sim = lab_simulator("zoom-rooms-sim")
OLD, CURRENT = "5.16.2.3001", "6.2.0.4512"  # package form; the API shows "6.2.0 (4512)"
LOOK = 0.05  # REPORT_INTERVAL of these rooms: a look every 50 ms
HELD = 0.5  # PENDING_WAIT of these rooms: the double holds their wait for a change this long
ROOM = "zr-room-01"
ROOM_ID = zd.stable_id("lab", ROOM)  # the double's id of a room that reported as ROOM


def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def double(monkeypatch):
    """The double, its ``reports`` list recording each report it took."""
    running = zd.start_double(0, config=zd.DoubleConfig(upgrade_delay=0.2, latest_version="6.2.0 (4512)"))
    running.reports = []
    take = running.state.report
    monkeypatch.setattr(running.state, "report", lambda name, body: running.reports.append(body) or take(name, body))
    yield running
    running.stop()


@pytest.fixture
def room(double, tmp_path, monkeypatch):
    """A simulated room reporting to ``double``, with its files in tmp_path; yields (reporter, files)."""
    files = SimpleNamespace(conf=tmp_path / "sim.conf", version=tmp_path / "version", environment=tmp_path / "env",
                            installed=[])
    files.conf.write_text(f"ROOM_NAME={ROOM}\nAPI_REPORT_URL=http://{double.host}:{double.port}\n"
                          f"REPORT_INTERVAL={LOOK}\nHEARTBEAT_INTERVAL=30\n")
    files.version.write_text(OLD + "\n")
    files.environment.write_text("")
    monkeypatch.setattr(sim, "CONF", str(files.conf))
    monkeypatch.setattr(sim, "VERSION_FILE", str(files.version))
    monkeypatch.setattr(sim, "ENVIRONMENT", str(files.environment))
    monkeypatch.setattr(sim, "controller_address", lambda _excluded: "10.89.1.5")
    monkeypatch.setattr(sim, "PENDING_WAIT", HELD)

    def install(version):  # what dpkg -i of the lab package would leave behind
        files.installed.append(version)
        files.version.write_text(sim.dotted_version(version) + "\n")

    monkeypatch.setattr(sim, "install", install)
    reporter = sim.Reporter(SimpleNamespace(room=ROOM, version=OLD))
    threads = [threading.Thread(target=reporter.run, daemon=True), threading.Thread(target=reporter.watch, daemon=True)]
    for thread in threads:
        thread.start()
    yield reporter, files
    reporter.stop()
    for thread in threads:
        thread.join(HELD + 5)
        assert not thread.is_alive()


def computer(double) -> dict:
    return double.state.rooms[ROOM_ID]["devices"][0]


def test_an_idle_room_reports_once_then_only_what_changes(double, room):
    _reporter, files = room
    assert eventually(lambda: ROOM_ID in double.state.rooms)
    assert computer(double)["app_version"] == "5.16.2 (3001)"
    time.sleep(0.2)
    settled = len(double.reports)
    time.sleep(20 * LOOK)  # twenty looks: a report at each would be twenty reports
    assert len(double.reports) == settled == 1
    files.environment.write_text("http_proxy=http://proxy.example.com:3128\n")
    assert eventually(lambda: computer(double)["ip_address"] == "127.0.0.1")
    assert len(double.reports) == 2


def test_a_requested_upgrade_reaches_an_idle_room_through_the_held_wait(double, room):
    _reporter, files = room
    assert eventually(lambda: ROOM_ID in double.state.rooms)
    started = time.monotonic()
    assert double.state.change_app_version(ROOM_ID, computer(double)["id"], "upgrade") == (204, {})
    assert eventually(lambda: computer(double)["app_version"] == "6.2.0 (4512)")
    # upgrade_delay 0.2 s, then a few polls: far below the 30 s heartbeat the room would otherwise wait for
    assert time.monotonic() - started < 5
    assert files.installed == ["6.2.0 (4512)"] and computer(double)["_pending"] is None


def test_a_restarted_double_hears_from_the_room_again(double, room):
    reporter, _files = room
    assert eventually(lambda: reporter.reported is not None)
    with double.state.lock:
        double.state.rooms.clear()  # what a new double knows
    # the next wait for a change (HELD s) is answered 404: the room reports again
    assert eventually(lambda: ROOM_ID in double.state.rooms, seconds=HELD + 5)
    assert len(double.reports) == 2


@pytest.mark.parametrize("state, reported, reported_at, now, due", [
    ({"ip_address": "10.89.1.5"}, None, 0.0, 1.0, True),
    ({"ip_address": "10.89.1.5"}, {"ip_address": "10.89.1.5"}, 0.0, 29.9, False),
    ({"ip_address": "127.0.0.1"}, {"ip_address": "10.89.1.5"}, 0.0, 1.0, True),
    ({"ip_address": "10.89.1.5"}, {"ip_address": "10.89.1.5"}, 0.0, 30.0, True),
], ids=["never reported", "nothing new", "changed", "heartbeat"])
def test_report_due(state, reported, reported_at, now, due):
    assert sim.report_due(state, reported, reported_at, now, heartbeat=30.0) is due


def test_the_controller_address_skips_loopback_and_the_management_segment(monkeypatch):
    monkeypatch.setattr(sim, "interface_addresses", lambda: ["127.0.0.1", "10.89.0.5", "10.89.1.5"])
    assert sim.controller_address("10.89.0.0/24") == "10.89.1.5"
    assert sim.controller_address(None) == "10.89.0.5"
    monkeypatch.setattr(sim, "interface_addresses", lambda: ["127.0.0.1"])
    assert sim.controller_address("10.89.0.0/24") is None


@pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2's ip")
def test_interface_addresses_are_what_ip_lists_first_per_interface():
    links = json.loads(subprocess.run(["ip", "-j", "-4", "addr", "show"], capture_output=True, text=True,
                                      check=True).stdout)
    primaries = [next(info["local"] for info in link["addr_info"] if not info.get("secondary"))
                 for link in links if link.get("addr_info")]
    assert primaries and sim.interface_addresses() == primaries


def test_the_simulator_starts_no_subprocess_to_look(monkeypatch, tmp_path):
    def no_subprocess(*_args, **_kwargs):
        raise AssertionError("a look started a subprocess")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    (tmp_path / "version").write_text(CURRENT + "\n")
    monkeypatch.setattr(sim, "VERSION_FILE", str(tmp_path / "version"))
    monkeypatch.setattr(sim, "ENVIRONMENT", str(tmp_path / "no-environment"))
    state = sim.room_state(SimpleNamespace(version=None), {"MGMT_SUBNET": "192.0.2.0/24"})
    assert state["app_version"] == "6.2.0 (4512)" and state["ip_address"] != "127.0.0.1"
