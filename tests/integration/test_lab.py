"""The lab is real: SSH reaches every host, each fault shows from the probe or the room, heal undoes it."""

import json

import pytest

SIM = "zoom-rooms-sim"


def test_ansible_reaches_every_host(lab):
    result = lab.ansible("all", "-m", "ansible.builtin.ping")
    for host in [*lab.rooms, lab.probe]:
        assert f"{host} | SUCCESS" in result.stdout


def test_known_hosts_are_enforced(lab):
    """Host keys are checked: a wrong known_hosts entry makes SSH refuse the room."""
    known_hosts = lab.state_dir / "known_hosts"
    saved = known_hosts.read_text()
    room = lab.rooms[0]
    mgmt_ip = lab.state["rooms"][room]["mgmt_ip"]
    other_key = lab.sh(lab.rooms[1], "cat /etc/ssh/ssh_host_ed25519_key.pub").split()[:2]
    try:
        known_hosts.write_text("\n".join(
            f"{mgmt_ip} {' '.join(other_key)}" if line.startswith(mgmt_ip + " ") else line
            for line in saved.splitlines()) + "\n")
        # A fresh connection: a persisted control master would skip the host key check.
        result = lab.ansible(room, "-m", "ansible.builtin.ping", check=False,
                             extra_env={"ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPath=none"})
        assert result.returncode != 0
        assert "HOST IDENTIFICATION HAS CHANGED" in result.stdout + result.stderr or "UNREACHABLE" in result.stdout
    finally:
        known_hosts.write_text(saved)


def test_baseline_rooms_accept_the_controller_port(healed):
    for room in healed.rooms:
        assert healed.connect(room) == "open"


def version_of(lab, room):
    return lab.sh(room, f"dpkg-query -W -f='${{Version}}' {SIM}")


FAULTS = {
    "firewall_block": lambda lab, room: lab.connect(room) == "timeout" and "dport 9090 drop" in lab.ruleset(room),
    "not_listening": lambda lab, room: lab.connect(room) == "refused",
    "proxy_no_bypass": lambda lab, room: "http_proxy=" in lab.file_bytes(room, "/etc/environment")
    and lab.connect(room) == "open",
    "old_version": lambda lab, room: version_of(lab, room) == "5.16.2.3001",
    "wrong_segment": lambda lab, room: lab.connect(room) == "no_route"
    and lab.state["rooms"][room]["segment"] == "guest",
}


@pytest.mark.parametrize("kind", list(FAULTS))
def test_fault_is_real_and_heal_restores(healed, kind):
    room = healed.rooms[0]
    before_ruleset = healed.ruleset(room)
    before_environment = healed.file_bytes(room, "/etc/environment")
    healed.labctl("fault", room, kind)
    assert FAULTS[kind](healed, room), f"{kind} not visible"
    inventory_text = healed.inventory.read_text()
    assert healed.state["rooms"][room]["address"] in inventory_text
    healed.labctl("heal", room)
    assert healed.connect(room) == "open"
    assert healed.ruleset(room) == before_ruleset
    assert healed.file_bytes(room, "/etc/environment") == before_environment
    assert version_of(healed, room) == "6.2.0.4512"
    assert json.loads(healed.sh(room, "zoom-rooms-simctl status >/dev/null && echo true || echo false"))


def test_unknown_fault_changes_nothing(healed):
    room = healed.rooms[0]
    before = healed.ruleset(room)
    result = healed.labctl("fault", room, "melted", check=False)
    assert result.returncode == 2
    assert "unknown fault kind 'melted'" in result.stderr
    assert healed.ruleset(room) == before
