"""The Zoom API side of static-inventory lab rooms: the lab's rooms report to its API double, and
diagnose.yml / remediate.yml see them through one zoom_rooms_api call (roles/zoom_room_diagnose/tasks/api_start.yml).

Real ansible-playbook against the lab; what the double holds is read from its lab endpoints, what
the rooms run from the rooms themselves.
"""

from __future__ import annotations

import ipaddress
import json
import time
import urllib.request
from typing import Any

import pytest

CURRENT_API_VERSION = "6.2.0 (4512)"  # the lab's current package, as the API writes it
OLD_API_VERSION = "5.16.2 (3001)"
OLD_CONTROLLER = "5.17.5 (3410)"


# ----------------------------------------------------------------------------- the lab's double


def api_root(lab) -> str:
    return lab.state["api"]["base_url"].rsplit("/v2", 1)[0]


def lab_api(lab, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{api_root(lab)}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def computers(lab) -> dict[str, dict[str, Any]]:
    """Room name -> its room computer as the double holds it (raw, internal fields included)."""
    return {room["name"]: room["devices"][0] for room in lab_api(lab, "GET", "/_lab/rooms")["rooms"]
            if room["devices"]}


def wait_for_api(lab, predicate, what: str, timeout: float = 20.0) -> dict[str, dict[str, Any]]:
    """Poll the double until the rooms' reports satisfy ``predicate`` (rooms report every 2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = computers(lab)
        if predicate(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"the double never showed {what} within {timeout:.0f}s: {seen}")
        time.sleep(0.5)


def requests_served(lab) -> dict[str, int]:
    return lab_api(lab, "GET", "/_lab/requests")["requests"]


# ----------------------------------------------------------------------------- running playbooks


def run(lab, tmp_path, playbook: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    reports = tmp_path / f"reports-{playbook}-{time.monotonic_ns()}"
    lab.playbook(f"playbooks/{playbook}.yml", *args, extra_env={"ZOOM_ROOMS_REPORT_DIR": str(reports), **(env or {})})
    return json.loads((reports / "latest" / "report.json").read_text())


def codes(report: dict[str, Any], room: str) -> set[str]:
    return {finding["code"] for finding in report["rooms"][room]["findings"]}


@pytest.fixture
def api_lab(healed):
    """A healed lab whose double has every lab room at the current version, controllers too."""
    rooms = healed.rooms
    wait_for_api(healed, lambda seen: all(seen.get(r, {}).get("app_version") == CURRENT_API_VERSION for r in rooms),
                 "every lab room at the current version")
    for room in rooms:
        lab_api(healed, "POST", f"/_lab/rooms/{room}/controller", {"app_version": CURRENT_API_VERSION})
    yield healed
    for room in rooms:
        lab_api(healed, "POST", f"/_lab/rooms/{room}/controller", {"app_version": CURRENT_API_VERSION})


# ----------------------------------------------------------------------------- tests


def test_diagnose_sees_the_api_side_of_static_rooms(api_lab, tmp_path):
    lab = api_lab
    proxied, old, drifting, clean = lab.rooms[:4]
    lab.labctl("fault", proxied, "proxy_no_bypass")
    lab.labctl("fault", old, "old_version")
    lab_api(lab, "POST", f"/_lab/rooms/{drifting}/controller", {"app_version": OLD_CONTROLLER})
    wait_for_api(lab, lambda seen: seen[proxied]["ip_address"] == "127.0.0.1"
                 and seen[old]["app_version"] == OLD_API_VERSION, "the faults reported")

    report = run(lab, tmp_path, "diagnose", "-e", "zoom_room_min_version=6.0")

    assert {"room_reports_loopback_ip", "proxy_intercepts_local_traffic"} <= codes(report, proxied)
    loopback = next(f for f in report["rooms"][proxied]["findings"] if f["code"] == "room_reports_loopback_ip")
    assert loopback["evidence"]["reported_ip"] == "127.0.0.1"
    assert "app_version_below_minimum" in codes(report, old)
    assert "app_version_drift" in codes(report, drifting)
    drift = next(f for f in report["rooms"][drifting]["findings"] if f["code"] == "app_version_drift")
    assert drift["evidence"]["controllers"] == ["5.17.5.3410"]
    # The API data adds nothing to a room that has nothing wrong.
    assert report["rooms"][clean]["status"] == "healthy", report["rooms"][clean]
    assert "room_reports_loopback_ip" not in codes(report, old)


def test_a_controller_outside_the_controller_subnets_is_found(api_lab, tmp_path):
    """The controller on another segment: the room's firewall admits only the controller subnets and the probe
    tests from them, so only the address the controller reports to Zoom shows it."""
    lab = api_lab
    room = lab.rooms[3]
    subnet = ipaddress.ip_network(lab.state["networks"]["ctl"]["subnet"])
    outside = next(str(ipaddress.ip_address(f"10.{n}.7.23")) for n in range(250, 200, -1)
                   if ipaddress.ip_address(f"10.{n}.7.23") not in subnet)
    try:
        lab_api(lab, "POST", f"/_lab/rooms/{room}/controller", {"ip_address": outside})
        report = run(lab, tmp_path, "diagnose")
        assert codes(report, room) == {"controller_segment_unroutable"}
        found = report["rooms"][room]["findings"][0]
        assert [c["address"] for c in found["evidence"]["controllers_outside_subnets"]] == [outside]
        assert found["evidence"]["controller_subnets"] == [str(subnet)]
        assert "outside every controller subnet" in found["summary"]

        lab_api(lab, "POST", f"/_lab/rooms/{room}/controller", {"ip_address": str(subnet[200])})
        assert run(lab, tmp_path, "diagnose")["rooms"][room]["status"] == "healthy"
    finally:
        lab_api(lab, "POST", f"/_lab/rooms/{room}/controller", {"ip_address": ""})


def test_loopback_finding_clears_after_remediate_once_the_room_reports(api_lab, tmp_path):
    lab = api_lab
    room = lab.rooms[0]
    lab.labctl("fault", room, "proxy_no_bypass")
    wait_for_api(lab, lambda seen: seen[room]["ip_address"] == "127.0.0.1", "the room reporting 127.0.0.1")

    remediated = run(lab, tmp_path, "remediate", "-l", room)
    assert remediated["rooms"][room]["status"] == "fixed", remediated["rooms"][room]
    assert "room_reports_loopback_ip" in codes(remediated, room)

    # The room's next report (the sim re-reads /etc/environment) carries its real address again.
    address = lab.state["rooms"][room]["address"]
    wait_for_api(lab, lambda seen: seen[room]["ip_address"] == address, f"{room} reporting {address}")
    after = run(lab, tmp_path, "diagnose", "-l", room)
    assert "room_reports_loopback_ip" not in codes(after, room)
    assert after["rooms"][room]["status"] == "healthy", after["rooms"][room]


NOT_CONFIGURED = json.dumps({"zoom_rooms_api_account_id": "", "zoom_rooms_api_client_id": "",
                             "zoom_rooms_api_client_secret": "", "zoom_rooms_api_base_url": ""})


def test_without_api_settings_nothing_calls_the_api(lab, tmp_path):
    """Not configured: the API tasks are skipped; not a single request reaches the double, and no
    API finding shows. (zoom_rooms_api_enabled=false, the other way, is what test_pipeline.py uses.)"""
    room = lab.rooms[0]
    lab_api(lab, "POST", f"/_lab/rooms/{room}/controller", {"app_version": OLD_CONTROLLER})  # would be drift
    try:
        before = requests_served(lab)
        unset = {name: "" for name in ("ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET")}
        report = run(lab, tmp_path, "diagnose", "-l", room, "-e", NOT_CONFIGURED, env=unset)
        assert requests_served(lab) == before
        assert report["rooms"][room]["status"] == "healthy", report["rooms"][room]
    finally:
        lab_api(lab, "POST", f"/_lab/rooms/{room}/controller", {"app_version": CURRENT_API_VERSION})
