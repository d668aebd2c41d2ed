"""Inventory plugin: Zoom Rooms from the Zoom REST API, one host per room computer."""

from __future__ import annotations

DOCUMENTATION = r"""
name: zoom_rooms
short_description: Zoom Rooms from the Zoom REST API, one host per room computer
description:
  - Lists the account's Zoom Rooms (C(GET /rooms), all pages) and each room's devices
    (C(GET /rooms/{roomId}/devices)) with a Server-to-Server OAuth app, and makes one host per
    room computer (device type C(Zoom Rooms Computer)). Rooms without a room computer (never set
    up) are skipped.
  - The host name is the room name made safe (lower case, C([a-z0-9._-]), runs of anything else
    become C(-)); a room whose name clashes with another gets C(-<room id>) appended.
  - C(ansible_host) is the room computer's C(ip_address) when it is usable; never a loopback,
    unspecified, empty or unparsable address. The raw value is always in C(zoom_room_reported_ip),
    so diagnosis can flag a room that reports C(127.0.0.1) (a web proxy intercepting local traffic).
  - "Groups: C(zoom_rooms) with children by the room computer's C(device_system):
    C(zoom_rooms_windows), C(zoom_rooms_macos), C(zoom_rooms_linux) and C(zoom_rooms_appliance)
    (Android based Poly, Neat, Yealink... that Ansible cannot log in to; exclude them with
    C(zoom_rooms:!zoom_rooms_appliance) where a play connects to the host). Also C(status_<status>)
    (lower case, for example C(status_offline)) and C(location_<location_id>)."
  - "Host variables: C(zoom_room_id), C(zoom_room_name), C(zoom_room_status), C(zoom_room_location_id),
    C(zoom_room_platform) (windows, macos, linux, appliance, unknown), C(zoom_room_app_version)
    (room computer, normalised C(X.Y.Z.build)), C(zoom_room_controller_versions), C(zoom_room_reported_ip)
    and, with C(device_hostvars=true), C(zoom_room_devices): a list of dicts with C(id), C(type),
    C(role) (room_computer, controller, other), C(app_version) (normalised), C(app_version_raw),
    C(device_system), C(platform), C(status), C(ip_address), C(hostname)."
  - Activation codes are not exposed as host variables and never cached.
  - The config file must be named C(zoom_rooms.yml) or end in C(.zoom_rooms.yml) (or C(.yaml)).
  - Credentials come from the options or the C(ZOOM_*) environment variables. The client secret is
    never displayed, logged or cached; keep it in an environment variable or an ansible-vault
    encrypted string, never in plain text in the config file.
author:
  - Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description:
      - Marks this file as a config for this plugin.
      - C(zoom_rooms), the name before the collection, is kept as an alias.
    type: string
    required: true
    choices: [zoomrooms.remediation.zoom_rooms, zoom_rooms]
  base_url:
    description:
      - Zoom REST API base URL. Other Zoom clouds use their own host, for example the
        C(api_url) returned with the access token.
      - Plain C(http) is refused except for loopback addresses (the test double).
    type: string
    default: https://api.zoom.us/v2
    env:
      - name: ZOOM_API_BASE_URL
  token_url:
    description: Server-to-Server OAuth token endpoint.
    type: string
    default: https://zoom.us/oauth/token
    env:
      - name: ZOOM_OAUTH_TOKEN_URL
  account_id:
    description: Account ID of the Server-to-Server OAuth app. Required (here or in the environment).
    type: string
    env:
      - name: ZOOM_ACCOUNT_ID
  client_id:
    description: Client ID of the Server-to-Server OAuth app. Required (here or in the environment).
    type: string
    env:
      - name: ZOOM_CLIENT_ID
  client_secret:
    description:
      - Client secret of the Server-to-Server OAuth app. Required (here or in the environment).
      - Secret. Use the environment variable or an ansible-vault encrypted string; a Jinja
        template such as C({{ lookup('env', 'MY_VAR') }}) works too.
    type: string
    env:
      - name: ZOOM_CLIENT_SECRET
  ca_bundle:
    description: PEM file of CA certificates to trust instead of the system store (TLS inspection proxies).
    type: path
  timeout:
    description: Seconds to wait for each HTTP response.
    type: float
    default: 30
  max_attempts:
    description: Attempts per request on per-second rate limits (429), server errors (5xx) and timeouts.
    type: int
    default: 5
  max_requests_per_second:
    description:
      - Client-side pacing across all workers. Rooms endpoints are rate limit category Medium
        (Pro 20/s, Business+ 60/s, shared by all apps of the account). C(0) disables pacing;
        per-second 429 answers are retried with backoff either way.
    type: float
    default: 10
  max_workers:
    description: Rooms whose devices are fetched in parallel.
    type: int
    default: 4
  device_hostvars:
    description:
      - Set C(zoom_room_devices), every device of the room, on each host.
      - Off by default. The list is about three quarters of each host's variables, and Ansible copies,
        tags and (for C(ansible-inventory --list) and AWX inventory syncs) prints every value on every
        load, while only evidence packs read it (docs/performance.md, "Inventory").
      - Without it the other host variables are unchanged (C(zoom_room_app_version),
        C(zoom_room_controller_versions), C(zoom_room_reported_ip)...) and the devices are still
        read (and cached). An evidence pack then lists the room's controllers from the run's own
        Zoom API read (the C(zoom_room_api) fact) when the API is configured for playbooks, and no
        other API device.
      - Set C(true) to keep every device (controllers, scheduling displays...) on each host, for
        evidence packs without a playbook-side API read or for C(compose)/C(groups) expressions on
        devices.
    type: bool
    default: false
  filters:
    description:
      - Filters for C(GET /rooms) C(status) (Offline, Available, InMeeting, UnderConstruction),
        C(type) (ZoomRoom, Kiosk...), C(location_id), C(query_name), C(tag_ids) (comma separated).
    type: dict
    default: {}
"""

EXAMPLES = r"""
---
# inventory/prod.zoom_rooms.yml: credentials from ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET
plugin: zoomrooms.remediation.zoom_rooms

---
# A subset, with a cache and extra groups
plugin: zoomrooms.remediation.zoom_rooms
filters:
  location_id: 49D7a0xPQvGQ2DCMZgSe7w
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-zoom-rooms
cache_timeout: 900
compose:
  zoom_room_probe: "'probe-' ~ zoom_room_location_id"
groups:
  zoom_rooms_loopback_ip: zoom_room_reported_ip == '127.0.0.1'
keyed_groups:
  - key: zoom_room_app_version
    prefix: app

---
# Credentials in the file, the secret vault-encrypted (ansible-vault encrypt_string --name client_secret)
plugin: zoomrooms.remediation.zoom_rooms
account_id: AbCdEf123456
client_id: Zx9yW8vU7t
client_secret: !vault |
  $ANSIBLE_VAULT;1.1;AES256
  ...
"""

import re
from pathlib import Path
from typing import Any, Dict, List, Mapping

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable, to_safe_group_name
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_api import (
    ZoomApiError,
    ZoomClient,
    ZoomConfigError,
    room_record,
    settings_from,
    usable_address,
    without_activation_code,
)

PLATFORM_GROUPS = {
    "windows": "zoom_rooms_windows",
    "macos": "zoom_rooms_macos",
    "linux": "zoom_rooms_linux",
    "appliance": "zoom_rooms_appliance",
}
_CONFIG_NAME = re.compile(r"^(?:.*\.)?zoom_rooms\.ya?ml$")
_UNSAFE_HOST_CHARS = re.compile(r"[^a-z0-9._-]+")


# --------------------------------------------------------------------------- pure: API data -> hosts


def safe_host_name(room_name: str) -> str:
    """'HQ 3F / Boardroom (East)' -> 'hq-3f-boardroom-east'."""
    return _UNSAFE_HOST_CHARS.sub("-", (room_name or "").lower()).strip("-.")


def host_names(rooms: List[Mapping[str, Any]]) -> Dict[str, str]:
    """room id -> unique host name. On a clash the room with the lowest id keeps the plain name, so
    names stay stable while the set of rooms does."""
    names: Dict[str, str] = {}
    taken = set()
    for room in sorted(rooms, key=lambda r: str(r["id"])):
        base = safe_host_name(room.get("name", "")) or "room"
        name = base if base not in taken else f"{base}-{safe_host_name(str(room['id']))}"
        while name in taken:  # ids that differ only in case
            name += "-x"
        taken.add(name)
        names[room["id"]] = name
    return names


def room_host(room: Mapping[str, Any], devices: List[Mapping[str, Any]], device_hostvars: bool = False
              ) -> Dict[str, Any] | None:
    """Host variables and groups for one room, or None when it has no room computer.
    ``device_hostvars`` True adds zoom_room_devices."""
    record = room_record(room, devices)
    if record["room_computer_id"] is None:
        return None
    status = str(room.get("status") or "unknown")
    location_id = room.get("location_id") or ""
    host_vars: Dict[str, Any] = {
        "zoom_room_id": room["id"],
        "zoom_room_name": room.get("name", ""),
        "zoom_room_status": status,
        "zoom_room_location_id": location_id,
        "zoom_room_platform": record["platform"],
        "zoom_room_app_version": record["room_computer_version"],
        "zoom_room_controller_versions": record["controller_versions"],
        "zoom_room_reported_ip": record["reported_ip"],
    }
    if device_hostvars:
        host_vars["zoom_room_devices"] = record["devices"]
    if usable_address(record["reported_ip"]):
        host_vars["ansible_host"] = record["reported_ip"].strip()
    groups = [PLATFORM_GROUPS.get(record["platform"], "zoom_rooms"), f"status_{status.lower()}"]
    if location_id:
        groups.append(f"location_{location_id}")
    return {"vars": host_vars, "groups": groups}


def build_hosts(rooms: List[Mapping[str, Any]], devices_by_room: Mapping[str, List[Mapping[str, Any]]],
                device_hostvars: bool = False) -> Dict[str, Dict[str, Any]]:
    """host name -> {"vars", "groups"} for every room with a room computer."""
    names = host_names(rooms)
    hosts = {}
    for room in rooms:
        host = room_host(room, devices_by_room.get(room["id"]) or [], device_hostvars)
        if host is not None:
            hosts[names[room["id"]]] = host
    return hosts


# --------------------------------------------------------------------------- plugin


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "zoomrooms.remediation.zoom_rooms"
    # `plugin: zoom_rooms` in configs written before the collection still selects this plugin.
    ALIASES = ("zoom_rooms",)

    def verify_file(self, path: str) -> bool:
        if not super().verify_file(path):
            return False
        if _CONFIG_NAME.match(Path(path).name):
            return True
        self.display.vvv(f"zoom_rooms: skipping {path}: the name must be zoom_rooms.yml or end in .zoom_rooms.yml")
        return False

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        # _read_config_data accepts the names the loader found this plugin by; add the short alias.
        self._redirected_names = [*(getattr(self, "_redirected_names", None) or [self.NAME]), *self.ALIASES]
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        data = None
        if use_cache:
            try:
                data = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if data is None:
            data = self._fetch()
        if update_cache:
            self._cache[cache_key] = data
        self._populate(build_hosts(data["rooms"], data["devices"], self.get_option("device_hostvars")))

    # ---- I/O

    def _client(self) -> ZoomClient:
        options = {name: self._plain(self.get_option(name))
                   for name in ("base_url", "token_url", "account_id", "client_id", "client_secret", "ca_bundle",
                                "timeout", "max_attempts", "max_requests_per_second")}
        try:
            settings = settings_from(options)
        except ZoomConfigError as exc:
            raise AnsibleParserError(f"zoom_rooms: {exc.message}") from None
        return ZoomClient(settings, logger=self._log)

    def _plain(self, value: Any) -> Any:
        """Template values like "{{ lookup('env', 'X') }}" and decrypt vaulted strings."""
        if value is None or isinstance(value, (int, float)):
            return value
        if isinstance(value, str) and self.templar.is_template(value):
            value = self.templar.template(value)
        return str(value)

    def _fetch(self) -> Dict[str, Any]:
        client = self._client()
        filters = dict(self.get_option("filters") or {})
        try:
            rooms = [without_activation_code(room) for room in client.list_rooms(**filters)]
            devices, errors = client.devices_by_room([r["id"] for r in rooms], self.get_option("max_workers"))
        except ValueError as exc:  # an unknown filter name
            raise AnsibleParserError(f"zoom_rooms: filters: {exc}") from None
        except ZoomApiError as exc:
            raise AnsibleParserError(f"zoom_rooms: {exc.message}") from None
        for room_id, error in errors.items():
            self.display.warning(f"zoom_rooms: room {room_id}: devices not readable, room skipped: {error}")
        self.display.vv(f"zoom_rooms: {len(rooms)} rooms from {client.settings.base_url}")
        return {"rooms": rooms, "devices": devices}

    def _log(self, message: str, verbosity: int) -> None:
        self.display.verbose(message, caplevel=max(0, verbosity - 1))

    # ---- inventory

    def _populate(self, hosts: Dict[str, Dict[str, Any]]) -> None:
        strict = self.get_option("strict")
        compose, groups, keyed_groups = (self.get_option(name) for name in ("compose", "groups", "keyed_groups"))
        self.inventory.add_group("zoom_rooms")
        for name, host in hosts.items():
            for group in host["groups"]:
                group = self.inventory.add_group(to_safe_group_name(group))
                if group in PLATFORM_GROUPS.values():
                    self.inventory.add_child("zoom_rooms", group)
                self.inventory.add_host(name, group=group)
            for key, value in host["vars"].items():
                self.inventory.set_variable(name, key, value)
            if not (compose or groups or keyed_groups):
                continue  # nothing constructed: no copy of the host's variables to build
            host_vars = self.inventory.get_host(name).get_vars()
            self._set_composite_vars(compose, host_vars, name, strict=strict)
            self._add_host_to_composed_groups(groups, host_vars, name, strict=strict)
            self._add_host_to_keyed_groups(keyed_groups, host_vars, name, strict=strict)
