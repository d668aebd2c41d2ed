"""The evidence pack: its Zoom API section (where its controllers and devices come from) and its logs."""

from __future__ import annotations

import base64
import codecs

import pytest
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


# `msiexec /l*v` writes its log as UTF-16LE with CRLF (github.com/stascorp/rdpwrap/issues/3284: "Unicode text,
# UTF-16, little-endian text, with CRLF line terminators"), and installer properties such as TOKEN reach it
# from the command line (netdata/msi-installer#12); Windows PowerShell 5.1 `>` writes UTF-16LE too.
MSI_LINES = ("=== Verbose logging started: 12/1/2026  9:14:02  Build type: SHIP UNICODE 5.00.10011.00 ===\r\n"
             "MSI (s) (A0:3C) [09:14:02:511]: PROPERTY CHANGE: Adding TOKEN property. Its value is 'jyx4s3cr3t'.\r\n"
             "Property(S): TOKEN = jyx4s3cr3t\r\n")


def collected(data: bytes) -> dict:
    return {"logs": [{"path": "C:\\Windows\\Temp\\ZoomRoomsInstall.log", "status": "collected", "size": 4096,
                      "truncated": True, "content_b64": base64.b64encode(data).decode()}]}


def tail_after_first_newline_byte(data: bytes) -> bytes:
    """What the room's tail reader sends of a file it did not read whole: from after its first 0x0A byte."""
    return data[data.index(b"\n") + 1:]


@pytest.mark.parametrize("data", [
    pytest.param(codecs.BOM_UTF16_LE + MSI_LINES.encode("utf-16-le"), id="UTF-16LE, whole file with its BOM"),
    pytest.param(tail_after_first_newline_byte(MSI_LINES.encode("utf-16-le")), id="UTF-16LE tail, one byte in"),
    pytest.param(MSI_LINES.encode("utf-16-le")[2:], id="UTF-16LE tail on a character"),
    pytest.param(MSI_LINES.encode("utf-8"), id="UTF-8"),
])
def test_a_log_is_read_as_text_in_its_encoding_and_redacted(data):
    entry = evidence.evidence_logs(collected(data), None, "windows")[0]
    assert "\x00" not in entry["text"]
    assert "jyx4s3cr3t" not in entry["text"]
    assert "Property(S): TOKEN = <redacted>" in entry["text"]
    assert entry["bytes"] == len(data)
