"""The toolkit the way AWX and ansible-runner run it (docs/awx.md).

- Inventory: AWX hands a job its inventory as an executable script printing JSON; an inventory
  that does not parse fails the run (real ansible-playbook, no lab needed).
- SSH host keys: AWX and ansible-runner set ANSIBLE_HOST_KEY_CHECKING=False; the "SSH known hosts"
  credential type (docs/awx/) turns verification back on (lab rooms, real ssh).
"""

from __future__ import annotations

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
    path, _ = make(tmp_path)
    result = run("ansible-playbook", "-i", str(path), "playbooks/diagnose.yml")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"Completely failed to parse inventory source {path}" in output
    assert "PLAY [" not in output


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


def ping(lab, room: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    control_dir = tmp_path / "cp"  # no SSH master from an earlier test may carry the connection
    control_dir.mkdir(exist_ok=True)
    return lab.ansible(room, "-m", "ansible.builtin.ping", *args, check=False,
                       extra_env={**RUNNER_HOST_KEY_CHECKING, "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir)})


def test_runner_setting_alone_lets_a_wrong_host_key_through(lab, tmp_path):
    """Why the credential is needed: with ANSIBLE_HOST_KEY_CHECKING=False a changed key is not refused."""
    room = lab.rooms[0]
    wrong = tmp_path / "wrong_known_hosts"
    wrong.write_text(a_wrong_key_for(lab, room, tmp_path))
    result = ping(lab, room, tmp_path, "-e", f"ansible_ssh_common_args='-o UserKnownHostsFile={wrong}'")
    assert result.returncode == 0, result.stdout + result.stderr


def test_known_hosts_credential_refuses_a_wrong_host_key(lab, tmp_path):
    room = lab.rooms[0]
    extra_vars = credential_extra_vars(tmp_path, a_wrong_key_for(lab, room, tmp_path))
    result = ping(lab, room, tmp_path, "-e", f"@{extra_vars}")
    assert result.returncode != 0
    assert "UNREACHABLE" in result.stdout
    assert "Host key verification failed" in result.stdout + result.stderr


def test_known_hosts_credential_admits_the_right_host_key(lab, tmp_path):
    room = lab.rooms[0]
    extra_vars = credential_extra_vars(tmp_path, (lab.state_dir / "known_hosts").read_text())
    result = ping(lab, room, tmp_path, "-e", f"@{extra_vars}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"ping": "pong"' in result.stdout
