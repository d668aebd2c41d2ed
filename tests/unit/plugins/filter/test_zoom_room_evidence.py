"""The evidence pack's Zoom API section: where its controllers and devices come from."""

from __future__ import annotations

from ansible_collections.zoomrooms.remediation.plugins.filter import zoom_room_evidence as evidence

IPAD = {"id": "d2", "type": "Controller", "role": "controller", "device_system": "iPadOS 17.5",
        "app_version": "6.1.5.4410", "status": "Online", "ip_address": "10.20.0.31", "hostname": "boardroom-ipad"}
COMPUTER = {"id": "d1", "type": "Zoom Rooms Computer", "role": "room_computer", "device_system": "Win 11",
            "app_version": "6.2.0.4512", "status": "Online", "ip_address": "10.10.0.5", "hostname": "ZR-BOARD"}
# The zoom_rooms inventory's host variables with its default device_hostvars: false.
INVENTORY = {"zoom_room_id": "r1", "zoom_room_name": "Boardroom", "zoom_room_status": "Available",
             "zoom_room_reported_ip": "10.10.0.5", "zoom_room_app_version": "6.2.0.4512",
             "zoom_room_controller_versions": ["6.1.5.4410"]}
API_FACT = {"id": "r1", "name": "Boardroom", "room": {"status": "Available"}, "reported_ip": "10.10.0.5",
            "room_computer_version": "6.2.0.4512", "controller_versions": ["6.1.5.4410"], "controllers": [IPAD]}


def test_without_device_hostvars_the_controllers_come_from_the_runs_api_read():
    view = evidence.zoom_api_view(INVENTORY, API_FACT)
    assert view["controllers"] == [IPAD] and view["devices"] == []
    assert view["room_id"] == "r1" and view["controller_versions"] == ["6.1.5.4410"]


def test_with_device_hostvars_every_device_is_listed_and_controllers_picked_from_them():
    view = evidence.zoom_api_view(dict(INVENTORY, zoom_room_devices=[COMPUTER, IPAD]), None)
    assert view["devices"] == [COMPUTER, IPAD] and view["controllers"] == [IPAD]


def test_inventory_without_devices_and_no_api_read_lists_no_controller():
    view = evidence.zoom_api_view(INVENTORY, None)
    assert view["controllers"] == [] and view["devices"] == [] and view["reported_ip"] == "10.10.0.5"
    assert evidence.zoom_api_view({}, None) is None
