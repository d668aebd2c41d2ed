"""The zoom_rooms inventory plugin: pure host building, then the real `ansible-inventory` against the double.

Expectations for the ansible-inventory runs are derived from the double's raw state (GET /_lab/rooms
shape), not from the plugin's own helpers, so a shared bug cannot hide.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Set

import pytest
import yaml
import zoom_api_double as zd
from ansible.constants import DEFAULT_VAULT_ID_MATCH
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible_collections.zoomrooms.remediation.plugins.inventory import zoom_rooms
from fixture_files import PROJECT

VAULT_PASSWORD = "inventory-test-vault-password"


# --------------------------------------------------------------------------- pure parts


@pytest.mark.parametrize("room_name, host", [
    pytest.param("HQ 3F / Boardroom (East)", "hq-3f-boardroom-east", id="punctuation and spaces"),
    pytest.param("zr-room-01", "zr-room-01", id="already safe"),
    pytest.param("Salle de réunion 2", "salle-de-r-union-2", id="non-ascii"),
    pytest.param("  ..Lobby..  ", "lobby", id="edges trimmed"),
    pytest.param("{{ lookup('pipe', 'id') }}", "lookup-pipe-id", id="template characters removed"),
    pytest.param("", "", id="empty"),
])
def test_safe_host_name(room_name, host):
    assert zoom_rooms.safe_host_name(room_name) == host


def test_host_names_are_unique_and_stable():
    rooms = [{"id": "bbb", "name": "Boardroom"}, {"id": "aaa", "name": "Boardroom"}, {"id": "ccc", "name": "!!"},
             {"id": "AAA", "name": "boardroom"}]
    names = zoom_rooms.host_names(rooms)
    assert names == {"AAA": "boardroom", "aaa": "boardroom-aaa", "bbb": "boardroom-bbb", "ccc": "room"}
    assert zoom_rooms.host_names(list(reversed(rooms))) == names
    clash = zoom_rooms.host_names([{"id": "a", "name": "x"}, {"id": "A", "name": "x"}, {"id": "b", "name": "x-a"}])
    assert len(set(clash.values())) == 3


def device(device_type: str, system: str = "Win10 Build 19045", ip: str = "10.0.0.5", version: str = "6.2.0 (4512)"):
    return {"id": f"{device_type}-id", "device_type": device_type, "device_system": system, "ip_address": ip,
            "app_version": version, "status": "Online"}


ROOM = {"id": "r1", "name": "Room 1", "status": "Available", "location_id": "LOC1"}


@pytest.mark.parametrize("devices, ansible_host, groups", [
    pytest.param([device("Zoom Rooms Computer"), device("Controller", "iPadOS 17")], "10.0.0.5",
                 ["zoom_rooms_windows", "status_available", "location_LOC1"], id="windows room"),
    pytest.param([device("Zoom Rooms Computer", "macOS 14.4", ip="127.0.0.1")], None,
                 ["zoom_rooms_macos", "status_available", "location_LOC1"], id="loopback ip is not ansible_host"),
    pytest.param([device("Zoom Rooms Computer", "Android 10 (Neat Bar)", ip="")], None,
                 ["zoom_rooms_appliance", "status_available", "location_LOC1"], id="appliance without ip"),
    pytest.param([device("Zoom Rooms Computer", "Linux (lab)")], "10.0.0.5",
                 ["zoom_rooms_linux", "status_available", "location_LOC1"], id="lab linux room"),
    pytest.param([device("Zoom Rooms Computer", "")], "10.0.0.5",
                 ["zoom_rooms", "status_available", "location_LOC1"], id="platform not reported"),
])
def test_room_host(devices, ansible_host, groups):
    host = zoom_rooms.room_host(ROOM, devices)
    assert host["vars"].get("ansible_host") == ansible_host
    assert host["vars"]["zoom_room_reported_ip"] == devices[0]["ip_address"]
    assert host["vars"]["zoom_room_app_version"] == "6.2.0.4512"
    assert host["groups"] == groups


def test_rooms_without_a_room_computer_are_not_hosts():
    assert zoom_rooms.room_host(ROOM, [device("Controller")]) is None
    assert zoom_rooms.build_hosts([ROOM], {}) == {}


def test_device_hostvars_adds_only_the_device_list_and_is_off_by_default():
    devices = [device("Zoom Rooms Computer"), device("Controller", "iPadOS 17", version="6.1.5 (4410)")]
    full, lean = zoom_rooms.room_host(ROOM, devices, device_hostvars=True), zoom_rooms.room_host(ROOM, devices)
    assert [d["type"] for d in full["vars"]["zoom_room_devices"]] == ["Zoom Rooms Computer", "Controller"]
    assert lean["vars"] == {k: v for k, v in full["vars"].items() if k != "zoom_room_devices"}
    assert lean["vars"]["zoom_room_controller_versions"] == ["6.1.5.4410"] and lean["groups"] == full["groups"]
    assert "zoom_room_devices" not in zoom_rooms.build_hosts([ROOM], {"r1": devices})["room-1"]["vars"]
    assert "zoom_room_devices" in zoom_rooms.build_hosts([ROOM], {"r1": devices}, True)["room-1"]["vars"]


def test_status_and_missing_location_groups():
    host = zoom_rooms.room_host(dict(ROOM, status="UnderConstruction", location_id=""),
                                [device("Zoom Rooms Computer")])
    assert host["groups"] == ["zoom_rooms_windows", "status_underconstruction"]


# --------------------------------------------------------------------------- ansible-inventory runs


@pytest.fixture(scope="module")
def double():
    running = zd.start_double(50)
    running.state.report("zr-room-01", {"ip_address": "10.89.90.11", "app_version": "6.2.0 (4512)",
                                        "status": "Online", "platform": "linux"})
    yield running
    running.stop()


def run_inventory(config: Path, *args: str, env: Dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ZOOM_", "ANSIBLE_"))}
    environment.update(PATH=f"{PROJECT / '.venv/bin'}:{environment.get('PATH', '')}",
                       ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), **(env or {}))
    return subprocess.run(["ansible-inventory", "-i", str(config), *args], cwd=PROJECT, env=environment,
                          capture_output=True, text=True, timeout=120)


def write_config(path: Path, double, extra: str = "", credentials: bool = True,
                 plugin: str = "zoomrooms.remediation.zoom_rooms") -> Path:
    """A config for the double; ``extra`` is YAML (dedented here) appended as is."""
    lines = [f"plugin: {plugin}", f"base_url: {double.base_url}", f"token_url: {double.token_url}",
             "max_requests_per_second: 0"]
    if credentials:
        lines += [f"account_id: {zd.LAB_ACCOUNT_ID}", f"client_id: {zd.LAB_CLIENT_ID}"]
    path.write_text("\n".join(lines) + "\n" + textwrap.dedent(extra))
    return path


def load_listing(text: str) -> Dict[str, Any]:
    """`ansible-inventory --list` JSON; 2.19 wraps plugin-sourced strings as {"__ansible_unsafe": ...}
    (they are never templated), which is unwrapped here."""
    return json.loads(text, object_hook=lambda d: d["__ansible_unsafe"] if set(d) == {"__ansible_unsafe"} else d)


def vaulted(secret: str) -> str:
    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(VAULT_PASSWORD.encode()))])
    return "!vault |\n" + textwrap.indent(vault.encrypt(secret).decode(), "  ")


def members(listing: Dict[str, Any], group: str) -> Set[str]:
    """Hosts of a group including its children, from `ansible-inventory --list` output."""
    entry = listing.get(group, {})
    hosts = set(entry.get("hosts", []))
    for child in entry.get("children", []):
        hosts |= members(listing, child)
    return hosts


def expected_platform(device_system: str) -> str:
    text = device_system.lower()
    for prefix, group in (("win", "zoom_rooms_windows"), ("mac", "zoom_rooms_macos"), ("linux", "zoom_rooms_linux")):
        if text.startswith(prefix):
            return group
    return "zoom_rooms_appliance"


def raw_rooms(double) -> List[Dict[str, Any]]:
    rooms = double.state.snapshot()["rooms"]
    return [r for r in rooms if any(d["device_type"] == "Zoom Rooms Computer" for d in r["devices"])]


def test_inventory_lists_one_host_per_room_computer(double, tmp_path):
    config = write_config(tmp_path / "fleet.zoom_rooms.yml", double, """\
        device_hostvars: true
        compose:
          zoom_room_probe: "'probe-' ~ (zoom_room_location_id or 'none')"
        groups:
          zoom_rooms_loopback_ip: zoom_room_reported_ip == '127.0.0.1'
        keyed_groups:
          - key: zoom_room_app_version
            prefix: app
        """)
    with config.open("a") as handle:
        handle.write(f"client_secret: {vaulted(zd.LAB_CLIENT_SECRET)}\n")
    vault_file = tmp_path / "vault-password"
    vault_file.write_text(VAULT_PASSWORD)
    output = tmp_path / "inventory.json"
    result = run_inventory(config, "--list", "--output", str(output), "-vvvv", "--vault-password-file",
                           str(vault_file))
    assert result.returncode == 0, result.stderr
    listing = load_listing(output.read_text())
    hostvars = listing["_meta"]["hostvars"]
    rooms = raw_rooms(double)

    # one host per room computer, every room id once, names unique (the seeded fleet has duplicate names)
    assert sorted(v["zoom_room_id"] for v in hostvars.values()) == sorted(r["id"] for r in rooms)
    assert len({r["name"] for r in rooms}) < len(rooms)
    assert members(listing, "zoom_rooms") == set(hostvars)

    by_id = {v["zoom_room_id"]: (name, v) for name, v in hostvars.items()}
    for room in rooms:
        name, host_vars = by_id[room["id"]]
        computer = next(d for d in room["devices"] if d["device_type"] == "Zoom Rooms Computer")
        assert name in members(listing, expected_platform(computer["device_system"])), room["name"]
        assert name in members(listing, f"status_{room['status'].lower()}")
        assert (name in members(listing, f"location_{room['location_id']}")) == bool(room["location_id"])
        assert host_vars["zoom_room_reported_ip"] == computer["ip_address"]
        # seeded rooms carry loopback addresses (never an ansible_host); the lab room its lab address
        assert host_vars.get("ansible_host") == (None if computer["ip_address"].startswith("127.")
                                                 else computer["ip_address"])
        assert [(d["type"], d["app_version_raw"]) for d in host_vars["zoom_room_devices"]] == [
            (d["device_type"], d["app_version"]) for d in room["devices"]]
        assert host_vars["zoom_room_app_version"] == computer["app_version"].replace(" (", ".").rstrip(")")
        assert host_vars["zoom_room_probe"] == f"probe-{room['location_id'] or 'none'}"
        assert name in members(listing, f"app_{host_vars['zoom_room_app_version'].replace('.', '_')}")

    loopback = {name for name, v in hostvars.items() if v["zoom_room_reported_ip"] == "127.0.0.1"}
    assert loopback and members(listing, "zoom_rooms_loopback_ip") == loopback
    assert members(listing, "zoom_rooms_linux") == {"zr-room-01"}
    assert "activation_code" not in output.read_text()

    log = result.stdout + result.stderr
    assert "zoom api: GET /v2/rooms?page_size=300 -> 200" in log  # -vvvv shows the client's log lines
    assert [s for s in [zd.LAB_CLIENT_SECRET, *double.state.issued_tokens] if s in log] == []


def test_inventory_cache_serves_when_the_api_cannot(double, tmp_path):
    """Starts from inventory/zoom_rooms.example.yml, so the shipped example is known to work."""
    cache_dir = tmp_path / "cache"
    example = yaml.safe_load((PROJECT / "inventory/zoom_rooms.example.yml").read_text())
    assert example["cache"] is True and "client_secret" not in example
    example.update(base_url=double.base_url, token_url=double.token_url, account_id=zd.LAB_ACCOUNT_ID,
                   client_id=zd.LAB_CLIENT_ID, max_requests_per_second=0, cache_connection=str(cache_dir),
                   filters={"status": "Available"})
    config = tmp_path / "zoom_rooms.yml"
    config.write_text(yaml.safe_dump(example))
    env = {"ZOOM_CLIENT_SECRET": zd.LAB_CLIENT_SECRET, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}
    first = run_inventory(config, "--list", env=env)
    assert first.returncode == 0, first.stderr
    listing = load_listing(first.stdout)
    hosts = set(listing["_meta"]["hostvars"])
    assert hosts and members(listing, "status_available") == hosts
    loopback = {h for h, v in listing["_meta"]["hostvars"].items() if v["zoom_room_reported_ip"] == "127.0.0.1"}
    assert loopback and members(listing, "zoom_rooms_loopback_ip") == loopback  # the example's groups work
    cached = "".join(p.read_text() for p in cache_dir.iterdir())
    assert "activation_code" not in cached and zd.LAB_CLIENT_SECRET not in cached

    double.state.add_fault({"kind": "daily_429", "count": 100})
    try:
        served = double.state.requests_served
        second = run_inventory(config, "--list", env=env)
        assert second.returncode == 0, second.stderr
        assert set(load_listing(second.stdout)["_meta"]["hostvars"]) == hosts
        assert double.state.requests_served == served  # nothing asked of the API

        flushed = run_inventory(config, "--list", "--flush-cache", env=env)
        assert flushed.returncode != 0
        assert "daily rate limit" in flushed.stderr and "do not retry before" in flushed.stderr
    finally:
        double.state.faults.clear()


def test_wrong_secret_fails_with_advice_and_without_the_secret(double, tmp_path):
    config = write_config(tmp_path / "prod.zoom_rooms.yml", double, credentials=False)
    env = {"ZOOM_ACCOUNT_ID": zd.LAB_ACCOUNT_ID, "ZOOM_CLIENT_ID": zd.LAB_CLIENT_ID,
           "ZOOM_CLIENT_SECRET": "not-the-right-secret", "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}
    result = run_inventory(config, "--list", "-vvv", env=env)
    assert result.returncode != 0
    assert "ZOOM_CLIENT_SECRET" in result.stderr and "Invalid client_id or client_secret" in result.stderr
    assert "not-the-right-secret" not in result.stdout + result.stderr


def test_the_short_plugin_name_of_configs_before_the_collection_still_works(double, tmp_path):
    config = write_config(tmp_path / "old.zoom_rooms.yml", double, plugin="zoom_rooms")
    env = {"ZOOM_CLIENT_SECRET": zd.LAB_CLIENT_SECRET, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}
    result = run_inventory(config, "--list", env=env)
    assert result.returncode == 0, result.stderr
    hostvars = load_listing(result.stdout)["_meta"]["hostvars"]
    assert sorted(v["zoom_room_id"] for v in hostvars.values()) == sorted(r["id"] for r in raw_rooms(double))


def test_no_device_list_unless_the_config_asks(double, tmp_path):
    config = write_config(tmp_path / "lean.zoom_rooms.yml", double)
    env = {"ZOOM_CLIENT_SECRET": zd.LAB_CLIENT_SECRET, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}
    result = run_inventory(config, "--list", env=env)
    assert result.returncode == 0, result.stderr
    hostvars = load_listing(result.stdout)["_meta"]["hostvars"]
    assert len(hostvars) == len(raw_rooms(double))
    assert not any("zoom_room_devices" in v for v in hostvars.values())
    assert all("zoom_room_app_version" in v and "zoom_room_controller_versions" in v for v in hostvars.values())


def test_only_zoom_rooms_config_names_are_claimed(double, tmp_path):
    plugin = zoom_rooms.InventoryModule()
    for name, claimed in (("zoom_rooms.yml", True), ("site-a.zoom_rooms.yaml", True), ("zoom_rooms.example.yml", False),
                          ("myzoom_rooms.yml", False), ("hosts.yml", False)):
        path = tmp_path / name
        path.write_text("plugin: zoom_rooms\n")
        assert plugin.verify_file(str(path)) is claimed, name
