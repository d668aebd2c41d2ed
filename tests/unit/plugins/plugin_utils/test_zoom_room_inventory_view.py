"""api_view(): what diagnosis reads of the Zoom API for a room (pure; no lab needed).

The `zoom_room_api` fact (set by the zoom_room_diagnose action from the batch's one background
zoom_rooms_api read) wins over the zoom_rooms inventory plugin's host vars; without either there is no API data.
"""

from __future__ import annotations

import pytest
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_inventory_view import api_view

FACT = {"id": "r1", "name": "zr-room-01", "room": {"status": "Available", "location_id": "L"},
        "reported_ip": "127.0.0.1", "room_computer_version": "6.2.0.4512", "controller_versions": ["5.17.5.3410"],
        "controllers": [{"id": "c1", "app_version": "5.17.5.3410"}]}
PLUGIN_VARS = {"zoom_room_id": "r1", "zoom_room_status": "Offline", "zoom_room_reported_ip": "10.0.0.5",
               "zoom_room_app_version": "6.1.5.4410", "zoom_room_controller_versions": ["6.1.5.4410"]}


@pytest.mark.parametrize("room_vars, expected", [
    ({}, None),
    ({"ansible_host": "10.0.0.5"}, None),
    (PLUGIN_VARS, {"room": {"status": "Offline"}, "reported_ip": "10.0.0.5",
                   "room_computer_version": "6.1.5.4410", "controller_versions": ["6.1.5.4410"]}),
    ({**PLUGIN_VARS, "zoom_room_api": FACT},
     {"room": {"status": "Available"}, "reported_ip": "127.0.0.1", "room_computer_version": "6.2.0.4512",
      "controller_versions": ["5.17.5.3410"]}),
    ({**PLUGIN_VARS, "zoom_room_api": None}, None),
    ({"zoom_room_api": {**FACT, "activated": False, "activation_code_issued_at": "2026-01-01T00:00:00Z"}},
     {"room": {"status": "Available"}, "reported_ip": "127.0.0.1", "room_computer_version": "6.2.0.4512",
      "controller_versions": ["5.17.5.3410"], "activated": False,
      "activation_code_issued_at": "2026-01-01T00:00:00Z"}),
    ({"zoom_room_api": FACT, "zoom_room_activated": True, "zoom_room_activation_code_issued_at": "2026-01-01"},
     {"room": {"status": "Available"}, "reported_ip": "127.0.0.1", "room_computer_version": "6.2.0.4512",
      "controller_versions": ["5.17.5.3410"], "activated": True, "activation_code_issued_at": "2026-01-01"}),
    ({"zoom_room_api": {**FACT, "controllers": [
        {"id": "c1", "role": "controller", "ip_address": "10.50.0.23", "status": "Online", "hostname": "ipad-1",
         "device_system": "iPadOS 17.4", "app_version": "5.17.5.3410"},
        {"id": "c2", "role": "controller", "ip_address": "", "status": "Offline"}]}},
     {"room": {"status": "Available"}, "reported_ip": "127.0.0.1", "room_computer_version": "6.2.0.4512",
      "controller_versions": ["5.17.5.3410"], "controllers": [
          {"address": "10.50.0.23", "status": "Online", "hostname": "ipad-1", "device_system": "iPadOS 17.4"}]}),
], ids=["no API data", "static host, no fact", "inventory plugin host vars", "fact wins over host vars",
        "API configured, no such room", "activation from the fact", "activation from host vars",
        "where the controllers that gave an address are"])
def test_api_view(room_vars, expected):
    assert api_view(room_vars) == expected
