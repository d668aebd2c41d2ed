"""The toolkit the way AWX and ansible-runner run it (docs/awx.md).

- Inventory: AWX hands a job its inventory as an executable script printing JSON; an inventory
  that does not parse fails the run (real ansible-playbook, no lab needed).
- SSH host keys: AWX and ansible-runner set ANSIBLE_HOST_KEY_CHECKING=False; the "SSH known hosts"
  credential type (docs/awx/) turns verification back on (lab rooms, real ssh).
- merge_reports.yml's failures, and `ansible-builder create` over execution-environment.yml (no lab).
- diagnose through `ansible-runner run`, whole and in two AWX slices merged (lab).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from labfixture import ROOT, VENV_BIN

AWX_DOCS = ROOT / "docs" / "awx"
# ansible-runner (config/_base.py) and AWX (settings ANSIBLE_HOST_KEY_CHECKING = False) set this.
RUNNER_HOST_KEY_CHECKING = {"ANSIBLE_HOST_KEY_CHECKING": "False"}


def ansible_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}")
    env.update(extra)
    return env


def run(tool: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / tool), *args], cwd=ROOT, env=ansible_env(**env),
                          capture_output=True, text=True, timeout=300)


def awx_inventory_script(path: Path, script_data: dict) -> Path:
    """The inventory file AWX writes for a job (awx/main/tasks/jobs.py write_inventory_file)."""
    path.write_text(f"#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint({json.dumps(script_data)!r})\n")
    path.chmod(0o700)
    return path


ROOMS_SCRIPT_DATA = {
    "all": {"children": ["zoom_rooms", "zoom_room_probes"]},
    "zoom_rooms": {"children": ["zoom_rooms_linux"]},
    "zoom_rooms_linux": {"hosts": ["room-a", "room-b"]},
    "zoom_room_probes": {"hosts": ["probe-1"]},
    "_meta": {"hostvars": {"room-a": {"zoom_room_address": "192.0.2.10", "remote_tower_id": 1},
                           "room-b": {"zoom_room_address": "192.0.2.11", "remote_tower_id": 2},
                           "probe-1": {"remote_tower_id": 3}}},
}


# --------------------------------------------------------------------------- inventory (no lab)

def test_awx_inventory_script_is_parsed(tmp_path):
    script = awx_inventory_script(tmp_path / "hosts", ROOMS_SCRIPT_DATA)
    result = run("ansible-playbook", "-i", str(script), "--list-hosts", "playbooks/diagnose.yml")
    assert result.returncode == 0, result.stderr
    first_play = result.stdout.split("play #2")[0]
    assert "hosts (2):" in first_play and "room-a" in first_play and "room-b" in first_play
    listed = json.loads(run("ansible-inventory", "-i", str(script), "--host", "room-b").stdout)
    assert listed["zoom_room_address"] == "192.0.2.11"


def test_host_list_inventory_is_parsed():
    result = run("ansible", "-i", "room-a,room-b", "all", "--list-hosts")
    assert result.returncode == 0, result.stderr
    assert "hosts (2):" in result.stdout


def failing_script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


UNPARSABLE_INVENTORIES = [
    pytest.param(lambda d: (d / "rooms.yml", (d / "rooms.yml").write_text("zoom_rooms:\n  hosts: [oops\n")),
                 id="YAML syntax error"),
    pytest.param(lambda d: (d / "missing.yml", None), id="file that does not exist"),
    pytest.param(lambda d: (failing_script(d / "inv.sh", "echo 'API down' >&2; exit 3"), None),
                 id="script that fails"),
    pytest.param(lambda d: (failing_script(d / "inv.sh", "echo not-json"), None), id="script printing no JSON"),
]


@pytest.mark.parametrize("make", UNPARSABLE_INVENTORIES)
def test_inventory_that_does_not_parse_fails_the_run(tmp_path, make):
    path, _unused = make(tmp_path)
    result = run("ansible-playbook", "-i", str(path), "playbooks/diagnose.yml")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"Completely failed to parse inventory source {path}" in output
    assert "PLAY [" not in output


# --------------------------------------------------------------------------- merge_reports.yml (no lab)

def slice_report(directory: Path, rooms: dict, start: str = "2026-03-01T09:00:00Z",
                 finish: str = "2026-03-01T09:05:00Z") -> Path:
    """A run directory holding a minimal report.json, as a slice writes it."""
    directory.mkdir(parents=True)
    entries = {name: {"platform": "linux", "status": status, "findings": [{"code": code} for code in codes],
                      "planned": [], "changed": [], "verify": {"passed": None, "findings": []},
                      "rolled_back": False, "errors": []}
               for name, (status, codes) in rooms.items()}
    run = {"id": f"{start[:4]}{start[5:7]}{start[8:10]}T{start[11:13]}{start[14:16]}{start[17:19]}Z-diagnose",
           "playbook": "diagnose", "mode": "diagnose", "started": start, "finished": finish}
    (directory / "report.json").write_text(json.dumps({"run": run, "rooms": entries}))
    return directory


def merge_playbook(sources: list[Path], dest: Path, *args: str) -> subprocess.CompletedProcess:
    extra = json.dumps({"zoom_rooms_merge_sources": [str(path) for path in sources],
                        "zoom_rooms_merge_dest": str(dest)})
    return run("ansible-playbook", "-i", "localhost,", "playbooks/merge_reports.yml", "-e", extra, *args)


def test_merge_playbook_fails_on_a_room_reported_differently_at_the_same_time(tmp_path):
    first = slice_report(tmp_path / "a", {"room-01": ("healthy", []), "room-02": ("healthy", [])})
    second = slice_report(tmp_path / "b", {"room-02": ("needs_attention", ["app_not_listening"])})
    result = merge_playbook([first, second], tmp_path / "out")
    assert result.returncode != 0
    assert "room 'room-02' is reported differently by two runs at the same time" in result.stdout
    assert not (tmp_path / "out").exists()


def test_merge_playbook_in_check_mode_writes_nothing(tmp_path):
    first = slice_report(tmp_path / "a", {"room-01": ("healthy", [])})
    second = slice_report(tmp_path / "b", {"room-02": ("healthy", [])})
    result = merge_playbook([first, second], tmp_path / "out", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rooms from 2 runs" in result.stdout
    assert not (tmp_path / "out").exists()


def test_merge_playbook_names_a_missing_report(tmp_path):
    result = merge_playbook([tmp_path / "nowhere"], tmp_path / "out")
    assert result.returncode != 0
    assert f"{tmp_path / 'nowhere'}: cannot read the report" in result.stdout


# --------------------------------------------------------------------------- ansible-builder (no lab)

def test_ansible_builder_create_makes_the_ee_context(tmp_path):
    """execution-environment.yml with the collection built from the checkout, as `make ee-context` does."""
    built = run("ansible-galaxy", "collection", "build", "--output-path", str(tmp_path / "build" / "ee"), str(ROOT))
    assert built.returncode == 0, built.stdout + built.stderr
    for name in ("execution-environment.yml", "collections", "meta"):  # what the definition refers to
        subprocess.run(["cp", "-r", str(ROOT / name), str(tmp_path / name)], check=True)
    context = tmp_path / "context"
    created = subprocess.run([str(VENV_BIN / "ansible-builder"), "create", "-f", "execution-environment.yml",
                              "-c", str(context)], cwd=tmp_path, env=ansible_env(), capture_output=True,
                             text=True, timeout=120)
    assert created.returncode == 0, created.stdout + created.stderr
    containerfile = (context / "Containerfile").read_text()
    assert 'ANSIBLE_INSTALL_REFS="ansible-core==2.19.14 ansible-runner==2.4.3"' in containerfile
    assert "collection/zoomrooms-remediation-" in containerfile
    tarballs = list((context / "_build" / "collection").glob("zoomrooms-remediation-*.tar.gz"))
    assert len(tarballs) == 1
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert galaxy == yaml.safe_load((ROOT / "collections" / "requirements.yml").read_text())
    python = (context / "_build" / "requirements.txt").read_text()
    assert "pywinrm==0.5.0" in python and "jinja2==" in python and "PyYAML==" in python


# --------------------------------------------------------------------------- SSH host keys (lab)

def credential_extra_vars(tmp_path: Path, known_hosts: str) -> Path:
    """The extra vars file AWX passes for an "SSH known hosts" credential (and the file it points at)."""
    from awx_credential_types import load, render_injectors

    known_hosts_file = tmp_path / "known_hosts_credential"
    injected = render_injectors(load(AWX_DOCS / "ssh-known-hosts-credential-type.yml"),
                                {"known_hosts": known_hosts, "ssh_common_args": ""},
                                filename=str(known_hosts_file))
    known_hosts_file.write_text(injected["files"]["template"])
    extra_vars = tmp_path / "credential_extra_vars.yml"
    extra_vars.write_text(yaml.safe_dump(injected["extra_vars"]))
    return extra_vars


def a_wrong_key_for(lab, room: str, tmp_path: Path) -> str:
    """A known_hosts line for the room's address with a key of the right type that is not the room's."""
    address = lab.state["rooms"][room]["mgmt_ip"]  # where Ansible connects
    key_type = next(line.split()[1] for line in (lab.state_dir / "known_hosts").read_text().splitlines()
                    if line.split()[0] == address)
    algorithm = {"ssh-ed25519": "ed25519", "ecdsa-sha2-nistp256": "ecdsa", "ssh-rsa": "rsa"}[key_type]
    subprocess.run(["ssh-keygen", "-q", "-t", algorithm, "-N", "", "-f", str(tmp_path / "other")], check=True)
    return f"{address} {' '.join((tmp_path / 'other.pub').read_text().split()[:2])}\n"


def ping(lab, room: str, control_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """A fresh control_dir: no SSH master from an earlier test may carry the connection."""
    return lab.ansible(room, "-m", "ansible.builtin.ping", *args, check=False,
                       extra_env={**RUNNER_HOST_KEY_CHECKING, "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir)})


def test_runner_setting_alone_lets_a_wrong_host_key_through(lab, tmp_path, control_path_dir):
    """Why the credential is needed: with ANSIBLE_HOST_KEY_CHECKING=False a changed key is not refused."""
    room = lab.rooms[0]
    wrong = tmp_path / "wrong_known_hosts"
    wrong.write_text(a_wrong_key_for(lab, room, tmp_path))
    result = ping(lab, room, control_path_dir(), "-e", f"ansible_ssh_common_args='-o UserKnownHostsFile={wrong}'")
    assert result.returncode == 0, result.stdout + result.stderr


def test_known_hosts_credential_refuses_a_wrong_host_key(lab, tmp_path, control_path_dir):
    room = lab.rooms[0]
    extra_vars = credential_extra_vars(tmp_path, a_wrong_key_for(lab, room, tmp_path))
    result = ping(lab, room, control_path_dir(), "-e", f"@{extra_vars}")
    assert result.returncode != 0
    assert "UNREACHABLE" in result.stdout
    assert "Host key verification failed" in result.stdout + result.stderr


def test_known_hosts_credential_admits_the_right_host_key(lab, tmp_path, control_path_dir):
    room = lab.rooms[0]
    extra_vars = credential_extra_vars(tmp_path, (lab.state_dir / "known_hosts").read_text())
    result = ping(lab, room, control_path_dir(), "-e", f"@{extra_vars}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"ping": "pong"' in result.stdout


# --------------------------------------------------------------------------- ansible-runner (lab)
# A job the way AWX runs it: a private data directory with the project (a copy of the checkout),
# the inventory as an executable script printing JSON, the collection installed into a collections
# path as an execution environment has it, and ansible-runner setting ANSIBLE_CALLBACK_PLUGINS,
# ANSIBLE_STDOUT_CALLBACK and ANSIBLE_HOST_KEY_CHECKING itself (ansible_runner/config/_base.py).

# What diagnose finds on the faulted rooms (index into lab.rooms -> lab fault kinds).
RUNNER_FAULTS = {0: ["firewall_block"], 1: ["not_listening"]}
# The slicing job's probe: the execution node itself (docs/awx.md, "Job slicing": AWX slices the
# probe hosts too, so a sliced job probes from the node the job runs on).
RUNNER_EXTRA_VARS = {"zoom_rooms_api_enabled": False, "zoom_room_probe": "localhost"}


@pytest.fixture(scope="module")
def ee_collections(tmp_path_factory) -> Path:
    """The collection built from the checkout and installed with ansible-galaxy, as in an EE."""
    base = tmp_path_factory.mktemp("ee")
    built = run("ansible-galaxy", "collection", "build", "--output-path", str(base / "build"), str(ROOT))
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = next((base / "build").glob("zoomrooms-remediation-*.tar.gz"))
    # As an EE build installs it: without the project's ansible.cfg (which finds the checkout itself).
    env = {key: value for key, value in ansible_env().items() if key != "ANSIBLE_CONFIG"}
    installed = subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p",
                                str(base / "collections"), str(tarball)], cwd=base, env=env, capture_output=True,
                               text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (base / "collections" / "ansible_collections" / "zoomrooms" / "remediation" / "MANIFEST.json").is_file()
    return base / "collections"


def project_copy(dest: Path) -> Path:
    """The project as AWX checks it out: the repository's files, without the local collection link."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split("\n")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_bytes(source.read_bytes())
    return dest


def awx_slice(script_data: dict, slice_number: int, slice_count: int) -> dict:
    """AWX's job slicing (awx/main/models/inventory.py get_sliced_hosts): hosts by name, every
    slice_count-th from slice_number - 1, groups and hostvars reduced to them."""
    hostvars = script_data["_meta"]["hostvars"]
    kept = set(sorted(hostvars)[slice_number - 1::slice_count])
    sliced = {"_meta": {"hostvars": {name: hostvars[name] for name in kept}}}
    for group, body in script_data.items():
        if group == "_meta":
            continue
        sliced[group] = {**body, "hosts": [host for host in body.get("hosts", []) if host in kept]}
    return sliced


def lab_script_data(lab) -> dict:
    """What AWX imports from the lab's inventory and hands a job as a script."""
    listed = lab.run([str(VENV_BIN / "ansible-inventory"), "-i", str(lab.inventory), "--list"])
    return json.loads(listed.stdout)


@pytest.fixture
def faulted(healed):
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda item: [healed.labctl("fault", healed.rooms[item[0]], kind) for kind in item[1]],
                      RUNNER_FAULTS.items()))
    return healed


def runner_job(lab, base: Path, name: str, playbook: str, script_data: dict, ee: Path, report_dir: Path,
               extra_vars: dict, control_dir: Path) -> dict:
    """ansible-runner run of one job; returns its status, stdout and artifact data (set_stats).

    control_dir: the job's SSH ControlPath directory. Not private/cp as AWX has it: AWX's private
    data directories are short (/tmp/awx_<id>_<random>), tmp_path is not (labfixture.CONTROL_PATH_DIR_MAX).
    """
    private = base / name
    project_copy(private / "project")
    (private / "inventory").mkdir(parents=True)
    awx_inventory_script(private / "inventory" / "hosts", script_data)
    (private / "env").mkdir()
    (private / "env" / "envvars").write_text(json.dumps({
        "ZOOM_ROOMS_REPORT_DIR": str(report_dir),
        # AWX's order: the project sync's collections, then an EE's (here: the installed collection).
        "ANSIBLE_COLLECTIONS_PATH": f"{private / 'requirements_collections'}:{ee}",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir),
    }))
    (private / "env" / "extravars").write_text(json.dumps(extra_vars))
    env = ansible_env()
    env.pop("ZOOM_ROOMS_REPORT_DIR", None)
    result = subprocess.run([str(VENV_BIN / "ansible-runner"), "run", str(private), "-p", playbook,
                             "--ident", name], env=env, capture_output=True, text=True, timeout=600)
    artifacts = private / "artifacts" / name
    events = [json.loads(path.read_text()) for path in (artifacts / "job_events").glob("*.json")]
    stats = [event for event in events if event.get("event") == "playbook_on_stats"]
    artifact_data = stats[0]["event_data"].get("artifact_data", {}) if stats else {}
    return {"rc": result.returncode, "status": (artifacts / "status").read_text().strip(),
            "stdout": (artifacts / "stdout").read_text(), "artifact_data": artifact_data,
            "project": private / "project", "runner_output": result.stdout + result.stderr}


def load_report(run_dir: str) -> dict:
    return json.loads((Path(run_dir) / "report.json").read_text())


def statuses(report: dict) -> dict:
    return {room: entry["status"] for room, entry in report["rooms"].items()}


def test_runner_diagnose_sliced_and_merged_equals_unsliced(faulted, ee_collections, tmp_path, control_path_dir):
    lab = faulted
    report_dir = tmp_path / "shared-reports"  # storage every execution node mounts
    data = lab_script_data(lab)
    whole = runner_job(lab, tmp_path, "whole", "playbooks/diagnose.yml", data, ee_collections, report_dir,
                       RUNNER_EXTRA_VARS, control_path_dir())
    assert (whole["rc"], whole["status"]) == (0, "successful"), whole["stdout"][-4000:] + whole["runner_output"]

    # The report is in the configured directory, not in the job's throw-away project copy.
    summary = whole["artifact_data"]["zoom_rooms_summary"]
    report = load_report(summary["report"])
    assert Path(summary["report"]).parent == report_dir
    assert not (whole["project"] / "reports").exists()
    assert sorted(report["rooms"]) == lab.rooms
    assert "ZOOM ROOMS REPORT" in whole["stdout"]

    # The summary in runner's artifacts says what the report says.
    counts = {status: list(statuses(report).values()).count(status) for status in summary["counts"]}
    assert summary["counts"] == counts
    assert summary["rooms"] == len(lab.rooms)
    attention = {entry["room"]: entry for entry in summary["attention"]}
    assert set(attention) == {room for room, status in statuses(report).items() if status != "healthy"}
    assert "host_firewall_blocks_controller_port" in attention[lab.rooms[0]]["codes"]
    assert "app_not_listening" in attention[lab.rooms[1]]["codes"]
    assert whole["artifact_data"][f"zoom_rooms_report_{summary['run_id'].replace('-', '_')}"] == summary["report"]

    # Two slices the way AWX slices, at the same time, into the same report directory.
    control_dirs = {number: control_path_dir() for number in (1, 2)}  # two execution nodes
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        slices = list(pool.map(
            lambda number: runner_job(lab, tmp_path, f"slice{number}", "playbooks/diagnose.yml",
                                      awx_slice(data, number, 2), ee_collections, report_dir, RUNNER_EXTRA_VARS,
                                      control_dirs[number]),
            (1, 2)))
    for job in slices:
        assert (job["rc"], job["status"]) == (0, "successful"), job["stdout"][-4000:] + job["runner_output"]
    slice_reports = [load_report(job["artifact_data"]["zoom_rooms_summary"]["report"]) for job in slices]
    assert all(slice_report["rooms"] for slice_report in slice_reports)
    assert sorted(room for slice_report in slice_reports for room in slice_report["rooms"]) == lab.rooms

    # The merge step gets the slices' artifacts as extra variables, as the next workflow node does.
    artifacts = {key: value for job in slices for key, value in job["artifact_data"].items()}
    merge = runner_job(lab, tmp_path, "merge", "playbooks/merge_reports.yml", data, ee_collections, report_dir,
                       artifacts, control_path_dir())
    assert (merge["rc"], merge["status"]) == (0, "successful"), merge["stdout"][-4000:] + merge["runner_output"]
    merged = load_report(merge["artifact_data"]["zoom_rooms_summary"]["report"])
    assert statuses(merged) == statuses(report)
    assert sorted(entry["id"] for entry in merged["run"]["merged_from"]) == sorted(
        slice_report["run"]["id"] for slice_report in slice_reports)
