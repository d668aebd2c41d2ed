"""diagnose.yml and remediate.yml end to end on the lab: real rooms, real probe, report.json checked."""

import json

import pytest

MIN_VERSION = "6.0"
# Faults per room for each scenario; codes diagnose must report (exactly) and the status remediate must end in.
SCENARIOS = {
    "one fault per room": {
        0: (["firewall_block", "proxy_no_bypass"],
            ["host_firewall_blocks_controller_port", "proxy_intercepts_local_traffic"], "fixed"),
        1: (["not_listening"], ["app_not_listening"], "needs_attention"),
        2: (["wrong_segment"], ["controller_segment_unroutable"], "needs_attention"),
        3: (["old_version"], ["app_version_below_minimum"], "needs_attention"),
    },
    "single host-side faults": {
        0: (["firewall_block"], ["host_firewall_blocks_controller_port"], "fixed"),
        1: (["proxy_no_bypass"], ["proxy_intercepts_local_traffic"], "fixed"),
        2: ([], [], "healthy"),
    },
}
# The Zoom API side has its own tests (test_api_findings.py); here only host and path findings count.
NO_API = ("-e", "zoom_rooms_api_enabled=false")


def run(lab, playbook, tmp_path, *args, check=True):
    reports = tmp_path / "reports"
    result = lab.playbook(f"playbooks/{playbook}.yml", "-e", f"zoom_room_min_version={MIN_VERSION}", *NO_API,
                          *args, check=check, extra_env={"ZOOM_ROOMS_REPORT_DIR": str(reports)})
    report = json.loads((reports / "latest" / "report.json").read_text())
    return result, report


def codes(report, room):
    return sorted(f["code"] for f in report["rooms"][room]["findings"])


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_diagnose_then_remediate(healed, tmp_path, scenario):
    rooms = healed.rooms
    plan = {rooms[index]: spec for index, spec in SCENARIOS[scenario].items()}
    for room, (faults, _unused, _unused) in plan.items():
        for kind in faults:
            healed.labctl("fault", room, kind)

    _unused, diagnosed = run(healed, "diagnose", tmp_path)
    assert diagnosed["run"]["mode"] == "diagnose"
    for room, (_unused, expected, _unused) in plan.items():
        assert codes(diagnosed, room) == sorted(expected), room

    _unused, remediated = run(healed, "remediate", tmp_path, "-e", "zoom_rooms_batch=100%")
    assert remediated["run"]["mode"] == "apply"
    for room, (_unused, _unused, status) in plan.items():
        assert remediated["rooms"][room]["status"] == status, (room, remediated["rooms"][room])
        if status == "needs_attention":
            assert remediated["rooms"][room]["changed"] == [], "a room no host change fixes was touched"

    _unused, after = run(healed, "diagnose", tmp_path)
    for room, (_unused, _unused, status) in plan.items():
        if status == "fixed":
            assert after["rooms"][room]["status"] == "healthy", after["rooms"][room]["findings"]
            assert healed.connect(room) == "open"

    again, _unused = run(healed, "remediate", tmp_path, "-e", "zoom_rooms_batch=100%")
    assert "changed=0" in again.stdout and " changed=1" not in again.stdout, again.stdout[-3000:]


def host_state(lab, room):
    return (lab.ruleset(room), lab.file_bytes(room, "/etc/nftables.conf"), lab.file_bytes(room, "/etc/environment"))


def test_check_mode_changes_nothing(healed, tmp_path):
    rooms = healed.rooms
    healed.labctl("fault", rooms[0], "firewall_block")
    healed.labctl("fault", rooms[0], "proxy_no_bypass")
    healed.labctl("fault", rooms[1], "proxy_no_bypass")
    before = {room: host_state(healed, room) for room in rooms}
    _unused, report = run(healed, "remediate", tmp_path, "--check")
    assert report["run"]["mode"] == "plan"
    assert report["rooms"][rooms[0]]["planned"], "the plan is empty"
    assert {room: host_state(healed, room) for room in rooms} == before
    _unused, plan_only = run(healed, "remediate", tmp_path, "-e", "zoom_rooms_plan_only=true")
    assert plan_only["run"]["mode"] == "plan"
    assert {room: host_state(healed, room) for room in rooms} == before


def test_failed_verify_rolls_back(healed, tmp_path):
    """Fixed on the host, still unreachable from the probe (a drop on the way): rolled back, failed."""
    rooms = healed.rooms
    broken, neighbour = rooms[0], rooms[1]
    healed.labctl("fault", broken, "firewall_block")
    healed.labctl("fault", neighbour, "proxy_no_bypass")
    address = healed.state["rooms"][broken]["address"]
    healed.sh(healed.probe, "nft add table inet zr_path && nft add chain inet zr_path out "
                            "'{ type filter hook output priority 0; }' && "
                            f"nft add rule inet zr_path out ip daddr {address} tcp dport 9090 drop")
    try:
        before = host_state(healed, broken)
        result, report = run(healed, "remediate", tmp_path, "-e", "zoom_rooms_batch=100%", check=False)
    finally:
        healed.sh(healed.probe, "nft delete table inet zr_path")
    assert result.returncode != 0, "a failed room must fail the run"
    room = report["rooms"][broken]
    assert (room["status"], room["rolled_back"], room["verify"]["passed"]) == ("failed", True, False)
    assert "controller_port_blocked" in [f["code"] for f in room["verify"]["findings"]]
    assert host_state(healed, broken) == before, "rollback is not byte-identical"
    assert report["rooms"][neighbour]["status"] == "fixed"


def test_unreachable_room_does_not_stop_the_others(healed, tmp_path):
    rooms = healed.rooms
    down, other = rooms[0], rooms[1]
    healed.labctl("fault", other, "firewall_block")
    healed.sh(down, "pkill -x sshd || true")
    try:
        _unused, report = run(healed, "remediate", tmp_path, "-e", "zoom_rooms_batch=100%", check=False)
    finally:
        healed.sh(down, "/usr/sbin/sshd")
    assert report["rooms"][down]["status"] == "unreachable"
    assert [f["code"] for f in report["rooms"][down]["findings"]] == ["room_unreachable"]
    assert report["rooms"][other]["status"] == "fixed"
    assert healed.connect(other) == "open"


def test_bad_inventory_value_stops_before_any_change(healed, tmp_path):
    rooms = healed.rooms
    healed.labctl("fault", rooms[0], "firewall_block")
    before = host_state(healed, rooms[0])
    result = healed.playbook("playbooks/remediate.yml", "-e", '{"zoom_room_controller_subnets": ["10.0.0.0/33"]}',
                             check=False, extra_env={"ZOOM_ROOMS_REPORT_DIR": str(tmp_path / "r")})
    assert result.returncode != 0
    assert f"{rooms[0]}: zoom_room_controller_subnets[0]: '10.0.0.0/33' is not a CIDR" in result.stdout
    assert host_state(healed, rooms[0]) == before
