"""The Zoom API double's synthetic rooms never lead the toolkit off this machine.

A playbook run against the standalone double's inventory (labctl api start + the zoom_rooms
inventory plugin) must not SSH anywhere but loopback: ssh is replaced by a recorder that logs its
destination and fails, and every destination must be a loopback address or a name that resolves to
nothing. With the seeded rooms on 10.x addresses (before), the recorder saw those addresses.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import zoom_api_double as zd

PROJECT = Path(__file__).resolve().parents[3]
RECORDER = """#!{python}
import json, sys
args = sys.argv[1:]
# the destination is the first argument that is not an option or an option's value
takes_value = set("BbcDEeFIiJLlmOoPpQRSWw")
skip = False
for arg in args:
    if skip:
        skip = False
        continue
    if arg.startswith("-"):
        skip = len(arg) == 2 and arg[1] in takes_value
        continue
    with open({log!r}, "a") as log:
        log.write(json.dumps(arg) + "\\n")
    break
sys.exit(255)
"""


def resolves_off_machine(destination: str) -> bool:
    host = destination.rsplit("@", 1)[-1]
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, 22, proto=socket.IPPROTO_TCP)}
    except socket.gaierror:
        return False  # resolves to nothing: no connection is made
    return any(not ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses)


def test_seeded_devices_carry_loopback_addresses_only():
    for index in range(500):
        for device in zd.seeded_room(index, 7)["devices"]:
            if device["ip_address"]:
                assert ipaddress.ip_address(device["ip_address"]).is_loopback, device


def test_a_playbook_on_the_standalone_inventory_connects_nowhere_else(tmp_path):
    log = tmp_path / "ssh-destinations.jsonl"
    recorder = tmp_path / "ssh"
    recorder.write_text(RECORDER.format(python=sys.executable, log=str(log)))
    recorder.chmod(0o755)
    config = tmp_path / "lab.zoom_rooms.yml"
    config.write_text("plugin: zoom_rooms\nmax_requests_per_second: 0\n")
    with zd.start_double(30) as double:
        env = {**os.environ, "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"),
               "ZOOM_API_BASE_URL": double.base_url, "ZOOM_OAUTH_TOKEN_URL": double.token_url,
               "ZOOM_ACCOUNT_ID": zd.LAB_ACCOUNT_ID, "ZOOM_CLIENT_ID": zd.LAB_CLIENT_ID,
               "ZOOM_CLIENT_SECRET": zd.LAB_CLIENT_SECRET, "ANSIBLE_SSH_EXECUTABLE": str(recorder),
               "ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp_path / "cp"), "ANSIBLE_TIMEOUT": "5",
               "ZOOM_ROOMS_REPORT_DIR": str(tmp_path / "reports"), "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}
        listing = subprocess.run([str(PROJECT / ".venv/bin/ansible-inventory"), "-i", str(config), "--list"],
                                 cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
        assert listing.returncode == 0, listing.stderr
        hosts = json.loads(listing.stdout)["_meta"]["hostvars"]
        assert hosts, "the double listed no rooms"
        run = subprocess.run([str(PROJECT / ".venv/bin/ansible-playbook"), "-i", str(config),
                              str(PROJECT / "playbooks/diagnose.yml")],
                             cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    destinations = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    assert destinations, run.stdout[-3000:] + run.stderr[-2000:]  # the rooms were really tried
    assert [d for d in destinations if resolves_off_machine(d)] == []
