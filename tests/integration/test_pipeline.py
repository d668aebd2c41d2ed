"""diagnose.yml and remediate.yml end to end on the lab: real rooms, real probe, report.json checked."""

import contextlib
import json
import os
import time
from pathlib import Path

import jsonschema
import pytest
from labfixture import SITE_NFTABLES_CONF

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
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "report.schema.json").read_text())


def run(lab, playbook, tmp_path, *args, check=True):
    """The run's result and its report, which must be valid against the schema whatever the run did."""
    reports = tmp_path / "reports"
    result = lab.playbook(f"playbooks/{playbook}.yml", "-e", f"zoom_room_min_version={MIN_VERSION}", *NO_API,
                          *args, check=check, extra_env={"ZOOM_ROOMS_REPORT_DIR": str(reports)})
    report = json.loads((reports / "latest" / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
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


def test_a_room_given_by_dns_name_is_diagnosed_and_fixed(healed, tmp_path):
    """`zoom_room_address` as a DNS name (the probe host resolves it; here from its /etc/hosts, so no resolver
    traffic leaves the lab): the room's own fault is found and fixed, and the path is judged by the address
    the name has, not called another segment."""
    room, name = healed.rooms[0], "zr-by-name.lab.example"
    by_name = tmp_path / "by_name.yml"
    by_name.write_text(json.dumps({"zoom_rooms": {"hosts": {room: {"zoom_room_address": name}}}}))
    inventories = ("-i", str(healed.inventory), "-i", str(by_name))
    hosts = healed.sh(healed.probe, "cat /etc/hosts")
    healed.sh(healed.probe, f"echo '{healed.state['rooms'][room]['address']} {name}' >> /etc/hosts")
    healed.labctl("fault", room, "firewall_block")
    try:
        _unused, diagnosed = run(healed, "diagnose", tmp_path, *inventories)
        assert codes(diagnosed, room) == ["host_firewall_blocks_controller_port"]
        _unused, remediated = run(healed, "remediate", tmp_path, *inventories, "-e", "zoom_rooms_batch=100%")
        assert remediated["rooms"][room]["status"] == "fixed", remediated["rooms"][room]
    finally:
        healed.run(["podman", "exec", "-i", healed.probe, "sh", "-c", "cat > /etc/hosts"], input=hosts)


def without_latency(value):
    """The probe's latency differs between two runs; everything else in a finding must not."""
    if isinstance(value, dict):
        return {key: without_latency(item) for key, item in value.items() if key != "latency_ms"}
    if isinstance(value, list):
        return [without_latency(item) for item in value]
    return value


def test_the_lean_read_gives_the_modules_facts(healed, tmp_path):
    """diagnose.yml reads POSIX rooms as lean payloads by default; with zoom_room_diagnose_lean=false it runs the
    zoom_room_facts and zoom_room_reachability modules. On the same faulted rooms both give the same facts and
    findings, and the lean run sends no module to any room or probe."""
    rooms = healed.rooms
    faults = ("firewall_block", "proxy_no_bypass", "not_listening", "wrong_segment")
    for room, kind in zip(rooms[:4], faults, strict=True):
        healed.labctl("fault", room, kind)
    lean_result, lean = run(healed, "diagnose", tmp_path / "lean", "-vvv")
    module_result, modules = run(healed, "diagnose", tmp_path / "modules", "-vvv",
                                 "-e", "zoom_room_diagnose_lean=false")
    assert sorted(lean["rooms"]) == sorted(modules["rooms"]) == sorted(rooms)
    for room in rooms:
        assert lean["rooms"][room]["facts_before"] == modules["rooms"][room]["facts_before"], room
        assert without_latency(lean["rooms"][room]["findings"]) == without_latency(modules["rooms"][room]["findings"])
    assert [f["code"] for f in lean["rooms"][rooms[0]]["findings"]] == ["host_firewall_blocks_controller_port"]
    # -vvv names every module file Ansible sends; the lean run sends none of ours.
    for module in ("modules/zoom_room_facts.py", "modules/zoom_room_reachability.py"):
        assert module not in lean_result.stdout and module in module_result.stdout, module


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


@contextlib.contextmanager
def path_dropped(lab, room):
    """A drop on the way from the probe to the room's TCP 9090: fixed on the host, still unreachable."""
    address = lab.state["rooms"][room]["address"]
    lab.sh(lab.probe, "nft add table inet zr_path && nft add chain inet zr_path out "
                      "'{ type filter hook output priority 0; }' && "
                      f"nft add rule inet zr_path out ip daddr {address} tcp dport 9090 drop")
    try:
        yield
    finally:
        lab.sh(lab.probe, "nft delete table inet zr_path")


def test_failed_verify_rolls_back(healed, tmp_path):
    """Fixed on the host, still unreachable from the probe (a drop on the way): rolled back, failed."""
    rooms = healed.rooms
    broken, neighbour = rooms[0], rooms[1]
    healed.labctl("fault", broken, "firewall_block")
    healed.labctl("fault", neighbour, "proxy_no_bypass")
    with path_dropped(healed, broken):
        before = host_state(healed, broken)
        result, report = run(healed, "remediate", tmp_path, "-e", "zoom_rooms_batch=100%", check=False)
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


def test_subnets_given_as_text_separated_by_spaces_are_fixed_as_a_list(healed, tmp_path):
    """The inventory check accepts "A B" and the modules read it alike (their `type: list` would make it one
    element); the plan's summary shows the subnets, not the letters of the string joined."""
    room = healed.rooms[0]
    subnets = f"{healed.state['networks']['ctl']['subnet']} 10.250.0.0/24"
    healed.labctl("fault", room, "firewall_block")
    _unused, report = run(healed, "remediate", tmp_path, "-e", "zoom_rooms_batch=100%",
                          "-e", json.dumps({"zoom_room_controller_subnets": subnets}))
    assert report["rooms"][room]["status"] == "fixed", report["rooms"][room]
    assert report["rooms"][room]["planned"][0]["summary"] == f"firewall: admit TCP 9090 from {subnets}"
    assert "10.250.0.0/24" in healed.ruleset(room)


def test_a_bad_run_wide_value_stops_before_any_change(healed, tmp_path):
    """A wave size of 0 is one wave of every room to Ansible, and `ture` reads as false (apply): both refused
    in the first play's validate step, before any room is touched."""
    rooms = healed.rooms
    healed.labctl("fault", rooms[0], "firewall_block")
    before = host_state(healed, rooms[0])
    result = healed.playbook("playbooks/remediate.yml", *NO_API, "-e", "zoom_rooms_batch=0",
                             "-e", "zoom_rooms_plan_only=ture", check=False,
                             extra_env={"ZOOM_ROOMS_REPORT_DIR": str(tmp_path / "r")})
    assert result.returncode != 0
    assert "run: zoom_rooms_batch: '0' is not a wave size" in result.stdout
    assert "run: zoom_rooms_plan_only: 'ture' is not a boolean" in result.stdout
    assert host_state(healed, rooms[0]) == before


# --------------------------------------------------------------------------- issue 12: locking and truthful reports

LOCK_FILE = "/run/zoom-rooms/remediate.lock"


def lock_is_free(lab, room):
    """Nobody holds the room's lock: no lock file (never locked), or its flock can be taken now."""
    return lab.sh(room, f"{{ [ ! -e {LOCK_FILE} ] || flock -n {LOCK_FILE} true; }} && echo free || echo held",
                  check=False).strip() == "free"


def lock_module(lab, room, **args):
    return lab.ansible(room, "-m", "zoomrooms.remediation.zoom_room_lock", "-a", json.dumps(args))


def test_a_second_run_waits_then_leaves_a_busy_room_alone(healed, tmp_path):
    """Case 6: another run holds the room's lock; this run waits zoom_rooms_lock_timeout, reports the room
    busy and changes nothing on it, and fixes the others."""
    rooms = healed.rooms
    busy, other = rooms[0], rooms[1]
    for room in (busy, other):
        healed.labctl("fault", room, "firewall_block")
    for room in rooms[2:]:  # healthy rooms: no lock file left by an earlier test (nothing holds them)
        healed.sh(room, f"rm -f {LOCK_FILE}")
    lock_module(healed, busy, owner="run-a", timeout=5)
    before = host_state(healed, busy)
    try:
        started = time.monotonic()
        _unused, report = run(healed, "remediate", tmp_path, "-e", "zoom_rooms_batch=100%",
                              "-e", "zoom_rooms_lock_timeout=3", check=False)
        elapsed = time.monotonic() - started
    finally:
        lock_module(healed, busy, owner="run-a", state="released")
    room = report["rooms"][busy]
    assert (room["status"], [f["code"] for f in room["findings"]]) == ("needs_attention", ["room_busy"]), room
    assert room["findings"][0]["evidence"]["holder"]["owner"] == "run-a"
    assert room["changed"] == [] and elapsed >= 3
    assert host_state(healed, busy) == before, "a busy room was changed"
    assert report["rooms"][other]["status"] == "fixed"
    for room in rooms:  # the run gave every lock back (a room it never locked has no lock file)
        assert lock_is_free(healed, room), room
    # Only the rooms the rollout changes are locked: a healthy room is never touched, not even for a lock.
    assert [room for room in rooms[2:] if healed.sh(room, f"test -e {LOCK_FILE} && echo locked || true",
                                                    check=False).strip()] == []


def test_a_half_changed_room_lists_its_change_and_the_rollback(healed, tmp_path):
    """Case 8: the firewall change is applied, then the proxy step fails (its backup cannot be written): the
    report lists the firewall change and its rollback per layer, and the room is as it was."""
    room = healed.rooms[0]
    healed.labctl("fault", room, "firewall_block")
    healed.labctl("fault", room, "proxy_no_bypass")
    before = host_state(healed, room)
    result, report = run(healed, "remediate", tmp_path, "-e", "zoom_rooms_batch=100%",
                         "-e", "zoom_room_proxy_backup_dir=/proc/zr-no-backups", check=False)
    assert result.returncode != 0
    entry = report["rooms"][room]
    assert entry["status"] == "failed", entry
    assert [change["layer"] for change in entry["changed"]] == ["firewall"]
    assert entry["rollback"] == [{"layer": "firewall", "restored": True}]
    assert entry["rolled_back"] is True
    assert any(error["kind"] == "task_failed" for error in entry["errors"])
    assert host_state(healed, room) == before, "the half-applied change was not rolled back"


def test_an_update_versions_plan_is_valid_against_the_schema(healed, tmp_path):
    """Case 13: plan-only, --check and update_versions reports failed the schema (facts_after: null). Every
    report `run` reads is validated: the --check and plan-only reports with faulted rooms in
    test_check_mode_changes_nothing, diagnose and remediate in test_diagnose_then_remediate; this is the one
    mode no other test here runs."""
    healed.labctl("fault", healed.rooms[0], "firewall_block")
    _unused, report = run(healed, "update_versions", tmp_path, "--check", check=False)
    assert report["run"]["mode"] == "update"


def test_a_run_stopped_by_the_input_checks_writes_its_report(healed, tmp_path):
    """Case 13: a run the input checks stop wrote no report, so reports/latest showed an older run."""
    reports = tmp_path / "reports"
    run(healed, "diagnose", tmp_path)
    older = os.readlink(reports / "latest")
    result = healed.playbook("playbooks/remediate.yml", "-e", '{"zoom_room_controller_subnets": ["10.0.0.0/33"]}',
                             check=False, extra_env={"ZOOM_ROOMS_REPORT_DIR": str(reports)})
    assert result.returncode != 0
    assert os.readlink(reports / "latest") != older
    report = json.loads((reports / "latest" / "report.json").read_text())
    assert report["run"]["outcome"] == "stopped_by_input_checks"
    assert any("'10.0.0.0/33' is not a CIDR" in error for error in report["run"]["input_errors"])
    jsonschema.validate(report, SCHEMA)


def test_a_stopped_rollout_gives_back_every_lock(healed, tmp_path):
    """Case 6: the first wave fails verify and stops the rollout; its room's lock is given back, and the later
    wave's room is left unlocked (not locked for zoom_rooms_lock_max_hold) and untouched."""
    rooms = healed.rooms
    broken, later = rooms[0], rooms[1]
    healed.labctl("fault", broken, "firewall_block")
    healed.labctl("fault", later, "firewall_block")
    with path_dropped(healed, broken):
        before = host_state(healed, later)
        result, report = run(healed, "remediate", tmp_path, "-e", "zoom_rooms_batch=1", check=False)
    assert result.returncode != 0
    assert report["rooms"][broken]["status"] == "failed"
    assert report["rooms"][later]["changed"] == [] and host_state(healed, later) == before
    assert [room for room in (broken, later) if not lock_is_free(healed, room)] == []


def test_a_firewall_change_never_persisted_is_found_and_fixed(healed, tmp_path):
    """A run that died between the live change and the boot file: diagnose compares live with boot,
    remediate writes the boot side, and the room is still reachable after a reboot."""
    room = healed.rooms[0]
    healed.install_nftables_conf(room, SITE_NFTABLES_CONF)
    subnets = [healed.state["networks"]["ctl"]["subnet"]]
    healed.ansible(room, "-m", "zoomrooms.remediation.zoom_room_firewall",
                   "-a", json.dumps({"sources": subnets, "persist": False}))
    assert healed.connect(room) == "open"

    _unused, diagnosed = run(healed, "diagnose", tmp_path)
    assert codes(diagnosed, room) == ["host_firewall_not_persisted"]
    _unused, remediated = run(healed, "remediate", tmp_path, "-e", "zoom_rooms_batch=100%")
    assert remediated["rooms"][room]["status"] == "fixed", remediated["rooms"][room]
    healed.reboot_firewall(room)
    assert healed.connect(room) == "open", "the room is blocked again after a reboot"
    _unused, after = run(healed, "diagnose", tmp_path)
    assert after["rooms"][room]["status"] == "healthy", after["rooms"][room]["findings"]
