#!/usr/bin/env python3
"""A stand-in for the Zoom REST API v2 (the five Rooms operations the toolkit uses) plus OAuth.

Shapes follow Zoom's own OpenAPI document (tests/lab/zoom-rooms-openapi.json, copied from the
Zoom API Hub); tests/unit/lab/test_zoom_api_double.py validates every response against it.

Zoom endpoints (base ``http://HOST:PORT/v2``):
  POST  /oauth/token                                   Server-to-Server OAuth, expiring tokens
  GET   /v2/rooms                                      filters, page_size (30, max 300), next_page_token
  GET   /v2/rooms/{roomId}[?regenerate_activation_code=true]
  GET   /v2/rooms/{roomId}/devices
  PUT   /v2/rooms/{roomId}/devices/{deviceId}/app_version   204; 400 codes 8001-8004
  PATCH /v2/rooms/{id}/events  {"method": "zoomroom.restart"}  202; 400 code 300 when offline

Rate limit (optional, off by default): with ``rate_limit_per_second`` N (DoubleConfig, start_double,
``--rate-limit``) every /v2 request is counted in one sliding 1-s window shared by all operations (Zoom
counts the Rooms endpoints' "Medium" category per account; how it counts within a second it does not
document, so the window is the double's choice); a request that would be the N+1th in the last second
is answered 429 with ``X-RateLimit-Category: Medium`` and ``X-RateLimit-Type: QPS`` (like the
``per_second_429`` fault) and is not counted in the window. ``GET /_lab/requests`` reports how many
were throttled.

Lab control endpoints (not Zoom):
  POST   /_lab/faults {"kind": per_second_429|daily_429|server_error|slow|missing_scope|server_error_after_handling,
                       "count": n, "delay": s, "status": n}
                                                      missing_scope: 400 code 4711 "Invalid access token, does not
                                                      contain scopes:[...]", as Zoom answers a token that lacks the
                                                      operation's scope; server_error_after_handling: the request
                                                      is carried out, then answered 500 (Zoom acted, the client
                                                      cannot tell)
  GET    /_lab/faults, DELETE /_lab/faults
  POST   /_lab/rooms/{room_name}/report {"ip_address", "app_version", "status", "platform",
                                      "follows_updates", "update_error"}
  GET    /_lab/rooms/{room_name}/pending?wait=S       {"pending": change or null}: answers as soon as the room's
                                                      computer has a pending app version change, else after
                                                      S seconds (at most MAX_PENDING_WAIT); 404 for a room
                                                      that never reported. Lets an idle room wait for a
                                                      change without reporting every few seconds.
  POST   /_lab/rooms/{room_name}/controller {"app_version", "ip_address"} (either or both: what its controllers report)
  POST   /_lab/rooms/{room_name}/app_version_error {"code": 8001..8004 (or another), "count": n}
  POST   /_lab/rooms/{room_name}/devices_error {"status": 503, "count": n}   that room's device reads fail
  GET    /_lab/rooms                                  raw state, including internal fields
  GET    /_lab/requests                               /v2 and token requests served, per operation, and
                                                      {"throttled": n} 429s of the rate limit

Behaviour the OpenAPI document does not pin down (chosen here, documented in docs/zoom-api.md):
an app version change finishes ``upgrade_delay`` seconds after the request, and only while the
device is online (callers must poll); for a lab room that reports ``follows_updates`` it finishes
only when the room reports the new version (the room installs it when the report's reply says the
change is ``ready``), so the API never shows a version the room does not run; changes are refused
(400 code 300) for controllers and for appliances, whose software Zoom does not let the API change;
unknown rooms answer 404 code 1012 where the document lists a 404 and 400 code 1012 where it lists
only a 400.

CLI: ``python tests/lab/zoom_api_double.py --host 127.0.0.1 --port 0 --rooms N [--state-file PATH]
[--extra-host ADDR ...] [--rate-limit N]`` prints one JSON line {"base_url", "token_url", "port", "pid",
"extra_base_urls", "extra_token_urls"} once listening. Credentials default to LAB_ACCOUNT_ID / LAB_CLIENT_ID /
LAB_CLIENT_SECRET below (flags --account-id, --client-id, --client-secret).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import re
import secrets
import signal
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Tuple

LAB_ACCOUNT_ID = "lab-account-id"
LAB_CLIENT_ID = "lab-client-id"
LAB_CLIENT_SECRET = "lab-client-secret-not-for-production"
DEFAULT_LATEST_VERSION = "6.3.0 (4781)"
ROOM_STATUSES = ("Offline", "Available", "InMeeting", "UnderConstruction")
ROOM_TYPES = ("Kiosk", "ZoomRoom", "StandaloneWhiteboard", "SchedulingDisplayOnly", "DigitalSignageOnly",
              "PersonalZoomRoom")
FAULT_KINDS = ("per_second_429", "daily_429", "server_error", "slow", "missing_scope", "server_error_after_handling")
# HTTP status a fault answers with unless it names one ("status"). Zoom answers a token without the
# operation's scope 400 code 4711 (github.com/zoom/zoomapps-sample-js/issues/25, devforum.zoom.us).
FAULT_STATUS = {"missing_scope": 400}
MISSING_SCOPE_CODE = 4711
# The granular scope each Zoom operation needs (Zoom Rooms OpenAPI, x-granular-scopes), for 4711 messages.
GRANULAR_SCOPES = {
    "list_rooms": "zoom_rooms:read:list_rooms:admin",
    "get_room": "zoom_rooms:read:room:admin",
    "list_devices": "zoom_rooms:read:list_devices:admin",
    "change_app_version": "zoom_rooms:update:device_app_version:admin",
    "room_event": "zoom_rooms:update:room_control:admin",
}
# device_system of the room computer decides whether Zoom lets the API change its app version.
UPGRADABLE_PLATFORMS = ("windows", "macos", "linux")  # linux: the lab's stand-in for a room PC
EVENT_METHODS = ("zoomroom.check_in", "zoomroom.check_out", "zoomroom.mute", "zoomroom.unmute",
                 "zoomroom.meeting_accept", "zoomroom.meeting_decline", "zoomroom.restart",
                 "zoomroom.meeting_leave", "zoomroom.meeting_join", "zoomroom.meeting_invite",
                 "zoomroom.meeting_cancel", "zoomroom.meeting_end", "zoomroom.meeting_schedule",
                 "zoomroom.thirdparty_meeting_join")
PAGE_TOKEN_LIFETIME = 15 * 60  # Zoom: "This token's expiration period is 15 minutes."
MAX_PENDING_WAIT = 25.0  # seconds a lab room's pending request may be held (the handler's socket timeout is 30)
# Zoom's 400 messages of PUT .../app_version (Zoom Rooms OpenAPI, "Change Zoom Rooms app version").
APP_VERSION_MESSAGES = {
    8001: "Cannot process this upgrade request. The Zoom Rooms Software in this device is either already up to "
          "date or is currently being updated.",
    8002: "Cannot process the downgrade request. The target version for downgrading is not available or the "
          "downgrade process has already been initiated.",
    8003: "The cancel request could not be processed because the Zoom Rooms Software in this device is not being "
          "downgraded or upgraded at the moment.",
    8004: "A device with the provided Device ID: {device_id} does not belong to the current room: {room_id}.",
}


@dataclass
class DoubleConfig:
    account_id: str = LAB_ACCOUNT_ID
    client_id: str = LAB_CLIENT_ID
    client_secret: str = field(default=LAB_CLIENT_SECRET, repr=False)
    token_lifetime: int = 3599
    latest_version: str = DEFAULT_LATEST_VERSION
    upgrade_delay: float = 2.0
    state_file: str | None = None
    record: bool = False  # keep every /v2 exchange for OpenAPI validation in tests
    verbose: bool = False
    rate_limit_per_second: float | None = None  # None: no limit (see RateLimiter)


class ManualClock:
    """A clock tests move by hand: pass it as the double's ``clock`` (and a client's clock and sleep)."""

    def __init__(self, now: float = 1_760_000_000.0):  # 2025-10-09T08:53:20Z
        self.now = now
        self.slept: List[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class RateLimiter:
    """At most ``per_second`` requests (rounded down, at least 1) in any sliding 1-s window.

    ``allow()`` is True and counts the request, or False when the window is full: the caller
    answers 429 and the refused request does not count (the double's choice; Zoom does not say).
    """

    def __init__(self, per_second: float, clock: Callable[[], float]):
        if per_second <= 0:
            raise ValueError("rate_limit_per_second must be positive (or None for no limit)")
        self.per_second = float(per_second)
        self.capacity = max(1, int(per_second))
        self.clock = clock
        self.throttled = 0
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            now = self.clock()
            while self._starts and self._starts[0] <= now - 1.0:
                self._starts.popleft()
            if len(self._starts) >= self.capacity:
                self.throttled += 1
                return False
            self._starts.append(now)
            return True


# --------------------------------------------------------------------------- pure helpers


def version_key(version: str) -> Tuple[int, ...]:
    """'6.2.0 (4512)' -> (6, 2, 0, 4512); unparsable -> ()."""
    numbers = re.findall(r"\d+", version or "")
    return tuple(int(n) for n in numbers)


def platform_of(device_system: str) -> str:
    text = (device_system or "").lower()
    if text.startswith("win"):
        return "windows"
    if text.startswith(("mac", "os x")):
        return "macos"
    if text.startswith("linux"):
        return "linux"
    return "appliance" if text else "unknown"


def stable_id(*parts: str) -> str:
    """22 url-safe characters, like Zoom's room ids, derived from the parts."""
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:22]


def device_id_for(room_id: str, role: str, index: int = 0) -> str:
    """Zoom's documented id shape: '{0.0.1.00000000}.{uuid}' (needs quoting in URLs)."""
    return "{0.0.1.00000000}.{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{room_id}/{role}/{index}")) + "}"


def activation_code(rng: random.Random) -> str:
    return "-".join(f"{rng.randrange(10000):04d}" for _unused in range(4))


def public_device(device: Dict[str, Any]) -> Dict[str, Any]:
    """The API view: internal keys start with '_'."""
    return {k: v for k, v in device.items() if not k.startswith("_")}


def list_item(room: Dict[str, Any]) -> Dict[str, Any]:
    return {key: room[key] for key in ("id", "room_id", "name", "activation_code", "status", "location_id",
                                       "tag_ids")}


def room_profile(room: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "basic": {
            "name": room["name"],
            "display_name": room["name"][:64],
            "activation_code": room["activation_code"],
            "zoom_room_type": room["type"],
            "location_id": room["location_id"],
            "tag_ids": room["tag_ids"],
            "hide_room_in_contacts": False,
            "required_code_to_ext": False,
            "support_email": "rooms-support@example.com",
        },
        "device": {"device_profile_id": stable_id("profile", room["id"])},
        "setup": {"under_construction": room["status"] == "UnderConstruction", "pro_device": False},
    }


def room_matches(room: Dict[str, Any], filters: Dict[str, str]) -> bool:
    if filters.get("status") and room["status"] != filters["status"]:
        return False
    if filters.get("type") and room["type"] != filters["type"]:
        return False
    if filters.get("location_id") and room["location_id"] != filters["location_id"]:
        return False
    if filters.get("query_name") and filters["query_name"].lower() not in room["name"].lower():
        return False
    wanted_tags = [t for t in (filters.get("tag_ids") or "").split(",") if t]
    return not wanted_tags or bool(set(wanted_tags) & set(room["tag_ids"]))


def next_utc_midnight(now: float) -> str:
    day = datetime.fromtimestamp(now, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- seeded rooms

_SITES = (("HQ", "Hq7d0xPQvGQ2DCMZgSe7wA"), ("Berlin", "Be49D7a0xPQvGQ2DCMZgSw"),
          ("Austin", "Au3Cd92kQe1XbLpR0sTq5g"), ("Tokyo", "To8MnP2qRs4TuVwXyZa1bc"))
_ROOM_WORDS = ("Boardroom", "Huddle", "Focus", "Training", "Lab", "Lounge", "War Room", "Studio")
_ROOM_VERSIONS = ("5.17.5 (3410)", "6.1.5 (4410)", "6.2.0 (4512)", "6.2.5 (4608)")
_WINDOWS = ("Win10 Build 19045.4291", "Win11 Build 22631.3447")
_MACOS = ("macOS 14.4.1", "macOS 13.6.6")
_APPLIANCES = (("Android 10", "Poly", "Studio X50"), ("Android 9", "Neat", "Neat Bar"),
               ("Android 12", "Yealink", "MeetingBar A30"))
_CONTROLLER_SYSTEMS = ("iPadOS 17.4", "Android 11", "Win10 Build 19045.4291")


def seeded_room_name(index: int) -> str:
    if index % 40 == 39:  # a few duplicate names: the inventory must still make unique host names
        index -= 1
    site = _SITES[index % len(_SITES)][0]
    return f"{site} {1 + (index * 7) % 12}F {_ROOM_WORDS[index % len(_ROOM_WORDS)]} {index + 1:03d}"


def seeded_room(index: int, seed: int) -> Dict[str, Any]:
    """Room ``index`` of a seeded fleet: the same seed and index always give the same room."""
    rng = random.Random(f"{seed}:{index}")
    room_id = stable_id("seeded", str(seed), str(index))
    site_index = index % len(_SITES)
    status = rng.choices(ROOM_STATUSES, weights=(12, 70, 12, 6))[0]
    room = {
        "id": room_id,
        "room_id": stable_id("dashboard", room_id),
        "name": seeded_room_name(index),
        "status": status,
        "type": "ZoomRoom",
        "location_id": "" if rng.random() < 0.05 else _SITES[site_index][1],
        "tag_ids": [stable_id("tag", "floor", str(1 + (index * 7) % 12))[:32]],
        "activation_code": activation_code(rng),
        "_activation_code_issued_at": None,
        "_restart_requests": 0,
        "devices": [],
    }
    if status != "UnderConstruction":  # never set up: no devices yet
        room["devices"] = seeded_devices(room, rng, site_index, index)
    return room


def seeded_address(block: int, index: int) -> str:
    """A seeded device's address: in 127.0.0.0/8 (this machine), never 127.0.0.1 (the proxy tell-tale the
    seeded fleet shows on purpose). Synthetic rooms must not lead the toolkit to connect anywhere else:
    the zoom_rooms inventory gives a loopback address no ansible_host, and nothing listens there."""
    return f"127.{block}.{index // 240}.{10 + index % 240}"


def seeded_devices(room: Dict[str, Any], rng: random.Random, site_index: int, index: int) -> List[Dict[str, Any]]:
    online = "Offline" if room["status"] == "Offline" else "Online"
    kind = rng.random()
    version_index = rng.randrange(len(_ROOM_VERSIONS))
    version = _ROOM_VERSIONS[version_index]
    if kind < 0.5:
        system, manufacturer, model = rng.choice(_WINDOWS), "Dell", "OptiPlex 7090"
    elif kind < 0.8:
        system, manufacturer, model = rng.choice(_MACOS), "Apple", "Macmini9,1"
    else:
        system, manufacturer, model = rng.choice(_APPLIANCES)
    ip = "127.0.0.1" if rng.random() < 0.07 else seeded_address(20 + site_index, index)
    computer = _device(room, "Zoom Rooms Computer", 0, version, system, online, ip, rng)
    computer.update(device_manufacturer=manufacturer, device_model=model,
                    _previous_version=_ROOM_VERSIONS[version_index - 1] if version_index else None)
    devices = [computer]
    for n in range(1 if rng.random() < 0.8 else 2):
        drift = rng.random() < 0.2
        controller_version = _ROOM_VERSIONS[max(0, version_index - 2)] if drift else version
        devices.append(_device(room, "Controller", n, controller_version, rng.choice(_CONTROLLER_SYSTEMS),
                               online, seeded_address(40 + site_index, index), rng))
    if rng.random() < 0.3:
        devices.append(_device(room, "Scheduling Display", 0, version, "Android 10", online, "", rng))
    return devices


def _device(room: Dict[str, Any], device_type: str, index: int, version: str, system: str, status: str,
            ip: str, rng: random.Random) -> Dict[str, Any]:
    role = device_type.lower().replace(" ", "_")
    return {
        "id": device_id_for(room["id"], role, index),
        "room_name": room["name"],
        "device_type": device_type,
        "app_version": version,
        "device_system": system,
        "status": status,
        "ip_address": ip,
        "device_hostname": re.sub(r"[^A-Za-z0-9]+", "-", f"{room['name']}-{role}-{index}").strip("-")[:63],
        "device_mac_addresses": ["-".join(f"{rng.randrange(256):02X}" for _unused in range(6))],
        "serial_number": f"SN{rng.randrange(10**8):08d}",
        "_pending": None,
        "_previous_version": None,
    }


# --------------------------------------------------------------------------- state


class LabState:
    """Everything the double knows. All access holds ``lock``; handlers never touch rooms directly."""

    def __init__(self, config: DoubleConfig, clock: Callable[[], float] = time.time):
        self.config = config
        self.clock = clock
        self.lock = threading.RLock()
        self.changes = threading.Condition(self.lock)  # notified when a device gets a pending change
        self.rooms: Dict[str, Dict[str, Any]] = {}
        self.tokens: Dict[str, float] = {}
        self.tokens_issued = 0
        self.issued_tokens: List[str] = []  # every token ever issued, for leak checks in tests
        self.page_tokens: Dict[str, Tuple[int, str, float]] = {}
        self.faults: List[Dict[str, Any]] = []
        self.exchanges: List[Dict[str, Any]] = []
        self.requests_served = 0
        self.requests_by_operation: Counter[str] = Counter()
        limit = config.rate_limit_per_second
        self.rate_limiter = RateLimiter(limit, clock) if limit is not None else None
        self._rng = random.Random()

    # ---- rooms

    def seed(self, count: int, seed: int = 7) -> None:
        with self.lock:
            for index in range(count):
                room = seeded_room(index, seed)
                self.rooms.setdefault(room["id"], room)
            self.save()

    def room(self, room_id: str) -> Dict[str, Any] | None:
        with self.lock:
            room = self.rooms.get(room_id)
            if room:
                self._settle(room)
            return room

    def _settle(self, room: Dict[str, Any]) -> None:
        """Finish app version changes whose time has come (only for online devices).

        A lab room that follows updates is only told the change is ready: its version changes when
        it reports the new one (see report()).
        """
        now = self.clock()
        for device in room["devices"]:
            pending = device.get("_pending")
            if pending and now >= pending["due"] and device["status"] == "Online":
                if device.get("_follows_updates"):
                    if not pending.get("ready"):
                        pending["ready"] = True
                        self.save()
                    continue
                before = device["app_version"]
                device["app_version"] = pending["target"]
                device["_previous_version"] = before if pending["action"] == "upgrade" else None
                device["_pending"] = None
                self.save()

    def report(self, name: str, report: Dict[str, Any]) -> Dict[str, Any]:
        """A lab room tells the double about itself: create or update the room and its devices."""
        status = report.get("status", "Online")
        if status not in ("Online", "Offline"):
            raise ValueError("status must be Online or Offline")
        platform = report.get("platform", "linux")
        system = report.get("device_system") or {
            "linux": "Linux (Zoom Rooms lab simulator)", "windows": "Win11 Build 22631.3447 (lab)",
            "macos": "macOS 14.4.1 (lab)"}.get(platform)
        if not system:
            raise ValueError("platform must be linux, windows or macos (or give device_system)")
        with self.lock:
            room_id = stable_id("lab", name)
            room = self.rooms.get(room_id)
            if room is None:
                room = self._new_lab_room(room_id, name, report, system)
            computer = room["devices"][0]
            computer.update(status=status, device_system=system,
                            ip_address=str(report.get("ip_address", computer["ip_address"])))
            if "follows_updates" in report:
                computer["_follows_updates"] = bool(report["follows_updates"])
            self._settle(room)
            self._room_reports_version(computer, report)
            if report.get("location_id") is not None:
                room["location_id"] = str(report["location_id"])
            room["status"] = "Available" if status == "Online" else "Offline"
            for device in room["devices"][1:]:
                device["status"] = status
            self.save()
            return {"room_id": room_id, "device_id": computer["id"], "app_version": computer["app_version"],
                    "pending": computer["_pending"]}

    def wait_for_pending(self, name: str, seconds: float) -> Dict[str, Any] | None:
        """The lab room's pending change as soon as its computer has one, or after ``seconds``
        (``{"pending": None}``); None for a room that never reported."""
        with self.lock:
            room = self.rooms.get(stable_id("lab", name))
            if room is None:
                return None
            computer = room["devices"][0]
            self.changes.wait_for(lambda: computer["_pending"] is not None, timeout=max(0.0, seconds))
            return {"pending": computer["_pending"]}

    @staticmethod
    def _room_reports_version(computer: Dict[str, Any], report: Dict[str, Any]) -> None:
        """The room knows what it runs: its version replaces the API's. Reporting the target of a
        pending change finishes that change; an ``update_error`` abandons it."""
        pending = computer.get("_pending")
        reported = str(report.get("app_version") or "")
        if pending and reported and version_key(reported) == version_key(pending["target"]):
            computer["_previous_version"] = computer["app_version"] if pending["action"] == "upgrade" else None
            computer["_pending"] = None
        elif pending and report.get("update_error"):
            computer["_last_update_error"] = str(report["update_error"])
            computer["_pending"] = None
        if reported:
            computer["app_version"] = reported

    def _new_lab_room(self, room_id: str, name: str, report: Dict[str, Any], system: str) -> Dict[str, Any]:
        rng = random.Random(room_id)
        room = {"id": room_id, "room_id": stable_id("dashboard", room_id), "name": name, "status": "Available",
                "type": "ZoomRoom", "location_id": str(report.get("location_id") or stable_id("lab-location")),
                "tag_ids": [], "activation_code": activation_code(rng), "_activation_code_issued_at": None,
                "_restart_requests": 0, "devices": []}
        version = str(report.get("app_version") or "")
        room["devices"] = [
            _device(room, "Zoom Rooms Computer", 0, version, system, "Online", "", rng),
            _device(room, "Controller", 0, version, "iPadOS 17.4", "Online",
                    str(report.get("controller_ip", "")), rng),
        ]
        self.rooms[room_id] = room
        return room

    def set_controller_version(self, name: str, version: str | None, ip_address: str | None = None) -> Dict[str, Any]:
        """What the lab room's controllers report: their app version and / or their address (None: unchanged)."""
        with self.lock:
            room = self.rooms.get(stable_id("lab", name))
            if room is None:
                raise KeyError(name)
            controllers = [d for d in room["devices"] if d["device_type"] == "Controller"]
            for device in controllers:
                if version is not None:
                    device["app_version"] = version
                if ip_address is not None:
                    device["ip_address"] = ip_address
            self.save()
            return {"room_id": room["id"], "controllers": [d["id"] for d in controllers]}

    def force_app_version_error(self, name: str, code: int, count: int = 1) -> Dict[str, Any]:
        """The next ``count`` app version requests for lab room ``name`` are refused with ``code``."""
        with self.lock:
            room = self.rooms.get(stable_id("lab", name))
            if room is None:
                raise KeyError(name)
            room.setdefault("_forced_app_version_errors", []).extend([int(code)] * max(0, int(count)))
            self.save()
            return {"room_id": room["id"], "forced_app_version_errors": list(room["_forced_app_version_errors"])}

    def force_devices_error(self, name: str, status: int, count: int = 1) -> Dict[str, Any]:
        """The next ``count`` device reads of lab room ``name`` answer HTTP ``status`` (a 5xx: one room's
        device read failing while the room list reads fine)."""
        with self.lock:
            room = self.rooms.get(stable_id("lab", name))
            if room is None:
                raise KeyError(name)
            room.setdefault("_forced_devices_errors", []).extend([int(status)] * max(0, int(count)))
            self.save()
            return {"room_id": room["id"], "forced_devices_errors": list(room["_forced_devices_errors"])}

    def take_devices_error(self, room: Dict[str, Any]) -> int | None:
        with self.lock:
            forced = room.get("_forced_devices_errors")
            return forced.pop(0) if forced else None

    def regenerate_activation_code(self, room: Dict[str, Any]) -> None:
        with self.lock:
            room["activation_code"] = activation_code(self._rng)
            room["_activation_code_issued_at"] = self.clock()
            self.save()

    def change_app_version(self, room_id: str, device_id: str, action: str) -> Tuple[int, Dict[str, Any]]:
        """(HTTP status, error body) for PUT app_version; 204 with {} on success."""
        with self.lock:
            room = self.room(room_id)
            device = next((d for d in room["devices"] if d["id"] == device_id), None) if room else None
            forced = room.get("_forced_app_version_errors") if room else None
            if forced:
                code = forced.pop(0)
                self.save()
                return 400, _error(code, APP_VERSION_MESSAGES.get(code, "Request refused (injected by the lab)."))
            if device is None:
                return 400, _error(8004, APP_VERSION_MESSAGES[8004].format(device_id=device_id, room_id=room_id))
            if device["device_type"] != "Zoom Rooms Computer" or \
                    platform_of(device["device_system"]) not in UPGRADABLE_PLATFORMS:
                return 400, _error(300, "Changing the app version is supported for Zoom Rooms computers on "
                                        "Mac and Windows only.")
            status, body = self._plan_change(device, action)
            self.save()
            return status, body

    def _plan_change(self, device: Dict[str, Any], action: str) -> Tuple[int, Dict[str, Any]]:
        pending = device["_pending"]
        due = self.clock() + float(self.config.upgrade_delay)
        if action == "upgrade":
            if pending or version_key(device["app_version"]) >= version_key(self.config.latest_version):
                return 400, _error(8001, APP_VERSION_MESSAGES[8001])
            device["_pending"] = {"action": "upgrade", "target": self.config.latest_version, "due": due}
        elif action == "downgrade":
            if pending or not device["_previous_version"]:
                return 400, _error(8002, APP_VERSION_MESSAGES[8002])
            device["_pending"] = {"action": "downgrade", "target": device["_previous_version"], "due": due}
        else:
            if not pending:
                return 400, _error(8003, APP_VERSION_MESSAGES[8003])
            device["_pending"] = None
        self.changes.notify_all()
        return 204, {}

    def restart(self, room: Dict[str, Any]) -> bool:
        """False when the room is offline (nothing to restart)."""
        with self.lock:
            computers = [d for d in room["devices"] if d["device_type"] == "Zoom Rooms Computer"]
            if room["status"] == "Offline" or not computers or computers[0]["status"] != "Online":
                return False
            room["_restart_requests"] += 1
            self.save()
            return True

    # ---- tokens and paging

    def issue_token(self) -> str:
        with self.lock:
            token = "lab." + secrets.token_urlsafe(24)
            self.tokens[token] = self.clock() + self.config.token_lifetime
            self.tokens_issued += 1
            self.issued_tokens.append(token)
            return token

    def token_state(self, token: str) -> str:
        """'valid', 'expired' or 'invalid'."""
        with self.lock:
            expires = self.tokens.get(token)
        if expires is None:
            return "invalid"
        return "valid" if self.clock() < expires else "expired"

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def page(self, filters: Dict[str, str], size: int, token: str) -> Tuple[List[Dict[str, Any]], str]:
        signature = json.dumps(filters, sort_keys=True)
        with self.lock:
            offset = 0
            if token:
                offset, token_signature, issued = self.page_tokens.get(token, (-1, "", 0.0))
                if offset < 0 or token_signature != signature or self.clock() - issued > PAGE_TOKEN_LIFETIME:
                    raise ValueError("Invalid next_page_token or it has expired.")
            matching = [r for r in self.rooms.values() if room_matches(r, filters)]
            rooms = matching[offset:offset + size]
            next_token = ""
            if offset + size < len(matching):
                next_token = secrets.token_urlsafe(24)
                self.page_tokens[next_token] = (offset + size, signature, self.clock())
            return [list_item(r) for r in rooms], next_token

    # ---- faults

    def add_fault(self, fault: Dict[str, Any]) -> None:
        kind = fault.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        count = int(fault.get("count", 1))
        entry = {"kind": kind, "delay": float(fault.get("delay", 2.0)),
                 "status": int(fault.get("status", FAULT_STATUS.get(kind, 500)))}
        with self.lock:
            self.faults.extend(dict(entry) for _unused in range(max(0, count)))

    def take_fault(self) -> Dict[str, Any] | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None

    def over_rate_limit(self) -> bool:
        """True when the rate limit (if any) refuses this /v2 request."""
        return self.rate_limiter is not None and not self.rate_limiter.allow()

    @property
    def throttled(self) -> int:
        """429s the rate limit has answered (injected per_second_429 faults not included)."""
        return self.rate_limiter.throttled if self.rate_limiter is not None else 0

    # ---- persistence

    def snapshot(self) -> Dict[str, Any]:
        with self.lock:
            for room in self.rooms.values():
                self._settle(room)
            return {"rooms": json.loads(json.dumps(list(self.rooms.values())))}

    def save(self) -> None:
        path = self.config.state_file
        if not path:
            return
        with self.lock:
            data = json.dumps({"rooms": list(self.rooms.values())}, indent=1)
        tmp = f"{path}.tmp.{os.getpid()}.{threading.get_ident()}"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(data)
        os.replace(tmp, path)

    def load(self) -> None:
        path = self.config.state_file
        if not path or not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as handle:
            rooms = json.load(handle).get("rooms", [])
        with self.lock:
            self.rooms = {room["id"]: room for room in rooms}


def _error(code: int, message: str) -> Dict[str, Any]:
    return {"code": code, "message": message}


# --------------------------------------------------------------------------- HTTP


class ZoomDoubleServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: Tuple[str, int], state: LabState):
        self.state = state
        super().__init__(address, ZoomApiHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is part of the tests, not an error worth a traceback.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class ZoomApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API
    timeout = 30  # close idle kept-alive connections
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: ZoomDoubleServer

    ROUTES: Tuple[Tuple[str, re.Pattern, str], ...] = (
        ("POST", re.compile(r"^/oauth/token$"), "oauth_token"),
        ("GET", re.compile(r"^/v2/rooms$"), "list_rooms"),
        ("GET", re.compile(r"^/v2/rooms/([^/]+)$"), "get_room"),
        ("GET", re.compile(r"^/v2/rooms/([^/]+)/devices$"), "list_devices"),
        ("PUT", re.compile(r"^/v2/rooms/([^/]+)/devices/([^/]+)/app_version$"), "change_app_version"),
        ("PATCH", re.compile(r"^/v2/rooms/([^/]+)/events$"), "room_event"),
        ("GET", re.compile(r"^/_lab/faults$"), "lab_faults"),
        ("POST", re.compile(r"^/_lab/faults$"), "lab_add_fault"),
        ("DELETE", re.compile(r"^/_lab/faults$"), "lab_clear_faults"),
        ("GET", re.compile(r"^/_lab/rooms$"), "lab_rooms"),
        ("POST", re.compile(r"^/_lab/rooms/([^/]+)/report$"), "lab_report"),
        ("GET", re.compile(r"^/_lab/rooms/([^/]+)/pending$"), "lab_pending"),
        ("POST", re.compile(r"^/_lab/rooms/([^/]+)/controller$"), "lab_controller"),
        ("POST", re.compile(r"^/_lab/rooms/([^/]+)/app_version_error$"), "lab_app_version_error"),
        ("POST", re.compile(r"^/_lab/rooms/([^/]+)/devices_error$"), "lab_devices_error"),
        ("GET", re.compile(r"^/_lab/requests$"), "lab_requests"),
    )

    @property
    def state(self) -> LabState:
        return self.server.state

    def log_message(self, format: str, *args: Any) -> None:  # the base class names it 'format'
        if self.state.config.verbose:
            super().log_message(format, *args)

    # ---- dispatch

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        parts = urllib.parse.urlsplit(self.path)
        self.query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        self._method, self._path = method, parts.path
        self._lost_answer: int | None = None  # per request: the handler object serves a whole connection
        with self.state.lock:
            self.state.requests_served += 1
        route = self._route(method, parts.path)
        if route is None:
            self._send(404, _error(404, f"No such endpoint: {method} {parts.path}"))
        elif not parts.path.startswith("/v2/") or not self._fault_or_auth_failed(route[0]):
            name, args = route
            if not name.startswith("lab_"):
                with self.state.lock:
                    self.state.requests_by_operation[name] += 1
            getattr(self, name)(*args)

    def _route(self, method: str, path: str) -> Tuple[str, List[str]] | None:
        for route_method, pattern, name in self.ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                return name, [urllib.parse.unquote(g) for g in match.groups()]
        return None

    def _fault_or_auth_failed(self, operation: str) -> bool:
        """Apply an injected fault or reject a bad token; True when the response is already sent."""
        fault = self.state.take_fault()
        if fault:
            if fault["kind"] == "slow":
                time.sleep(fault["delay"])
            elif fault["kind"] == "server_error_after_handling":
                self._lost_answer = fault["status"]  # the operation runs; _send answers this instead
            elif fault["kind"] == "missing_scope":
                scope = GRANULAR_SCOPES.get(operation, "room:read:admin")
                self._send(fault["status"], _error(MISSING_SCOPE_CODE,
                                                   f"Invalid access token, does not contain scopes:[{scope}]."))
                return True
            elif fault["kind"] == "per_second_429":
                self._send_per_second_429(20)
                return True
            elif fault["kind"] == "daily_429":
                self._send(429, _error(429, "You have exceeded the daily rate limit of Medium API requests "
                                            "permitted for this account. You may resume these requests at "
                                            "GMT 00:00:00."),
                           {"X-RateLimit-Category": "Medium", "X-RateLimit-Type": "Daily-limit",
                            "X-RateLimit-Limit": "2000", "X-RateLimit-Remaining": "0",
                            "Retry-After": next_utc_midnight(self.state.clock())})
                return True
            else:
                self._send(fault["status"], _error(fault["status"], "Internal server error (injected)."))
                return True
        if self.state.over_rate_limit():
            self._send_per_second_429(self.state.rate_limiter.capacity)
            return True
        header = self.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        verdict = self.state.token_state(token)
        if verdict != "valid":
            message = "Access token is expired." if verdict == "expired" else "Invalid access token."
            self._send(401, _error(124, message))
            return True
        return False

    def _send_per_second_429(self, limit: int) -> None:
        self._send(429, _error(429, "You have reached the maximum per-second rate limit for this API. "
                                    "Try again later."),
                   {"X-RateLimit-Category": "Medium", "X-RateLimit-Type": "QPS",
                    "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0"})

    # ---- Zoom endpoints

    def oauth_token(self) -> None:
        form = {**self.query, **urllib.parse.parse_qs(self.body.decode("utf-8", "replace"))}
        config = self.state.config
        header = self.headers.get("Authorization", "")
        try:
            client_id, _unused, client_secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            client_id = client_secret = ""
        expected = (config.client_id, config.client_secret)
        if not header.startswith("Basic ") or (client_id, client_secret) != expected:
            self._send(401, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"})
        elif form.get("grant_type", [""])[0] != "account_credentials":
            self._send(400, {"reason": "Unsupported grant type", "error": "unsupported_grant_type"})
        elif form.get("account_id", [""])[0] != config.account_id:
            self._send(400, {"reason": "Invalid account_id", "error": "invalid_request"})
        else:
            self._send(200, {"access_token": self.state.issue_token(), "token_type": "bearer",
                             "expires_in": config.token_lifetime,
                             "scope": "room:read:admin room:write:admin",
                             "api_url": f"http://{self.headers.get('Host', '')}"})

    def list_rooms(self) -> None:
        args = {k: v[-1] for k, v in self.query.items()}
        try:
            size = int(args.get("page_size") or 30)
        except ValueError:
            size = -1
        if not 1 <= size <= 300:
            self._send(400, _error(300, "Invalid field: page_size must be between 1 and 300."))
            return
        status, room_type = args.get("status") or "Available", args.get("type") or "ZoomRoom"
        if status not in ROOM_STATUSES or room_type not in ROOM_TYPES:
            self._send(400, _error(300, "Invalid field."))
            return
        filters = {k: args[k] for k in ("status", "type", "location_id", "query_name", "tag_ids") if args.get(k)}
        try:
            rooms, next_token = self.state.page(filters, size, args.get("next_page_token", ""))
        except ValueError as exc:
            self._send(400, _error(300, str(exc)))
            return
        self._send(200, {"page_size": size, "next_page_token": next_token, "rooms": rooms})

    def get_room(self, room_id: str) -> None:
        room = self.state.room(room_id)
        if room is None:
            self._send(404, _error(1012, f"Room not found: {room_id}."))
            return
        regenerate = self.query.get("regenerate_activation_code", ["false"])[-1].lower()
        if regenerate not in ("true", "false"):
            self._send(400, _error(300, "Invalid field: regenerate_activation_code."))
            return
        if regenerate == "true" and room.get("_no_regenerate_permission"):
            # Zoom Rooms OpenAPI, GET /rooms/{roomId}: 400 code 200 (set by tests, off by default)
            self._send(400, _error(200, "No permission to regenerate an activation code for a Zoom Room."))
            return
        if regenerate == "true":
            self.state.regenerate_activation_code(room)
        with self.state.lock:
            self._send(200, room_profile(room))

    def list_devices(self, room_id: str) -> None:
        room = self.state.room(room_id)
        if room is None:  # the OpenAPI document lists only 400 for this operation
            self._send(400, _error(1012, f"Room not found: {room_id}."))
            return
        forced = self.state.take_devices_error(room)
        if forced is not None:
            self._send(forced, _error(forced, "Internal server error (injected for this room's devices)."))
            return
        with self.state.lock:
            self._send(200, {"devices": [public_device(d) for d in room["devices"]]})

    def change_app_version(self, room_id: str, device_id: str) -> None:
        body = self._json_body()
        action = body.get("action") if isinstance(body, dict) else None
        if action not in ("upgrade", "downgrade", "cancel"):
            self._send(400, _error(300, "Invalid field: action must be upgrade, downgrade or cancel."))
            return
        status, error = self.state.change_app_version(room_id, device_id, action)
        self._send(status, error or None)

    def room_event(self, room_id: str) -> None:
        body = self._json_body()
        method = body.get("method") if isinstance(body, dict) else None
        room = self.state.room(room_id)
        if room is None:
            self._send(404, _error(1012, f"Room does not exist: {room_id}."))
        elif method not in EVENT_METHODS:
            self._send(400, _error(300, "Invalid parameters: method."))
        elif method != "zoomroom.restart":
            self._send(400, _error(300, f"Invalid parameters: {method} is not supported by the lab double."))
        elif not self.state.restart(room):
            self._send(400, _error(300, "Zoom Room is offline. Please ensure that the Zoom Room is online."))
        else:
            self._send(202, None)

    # ---- lab endpoints

    def lab_faults(self) -> None:
        with self.state.lock:
            self._send(200, {"faults": list(self.state.faults)})

    def lab_add_fault(self) -> None:
        try:
            self.state.add_fault(self._json_body())
        except (ValueError, TypeError, AttributeError) as exc:
            self._send(400, {"error": str(exc)})
            return
        self.lab_faults()

    def lab_clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults.clear()
        self.lab_faults()

    def lab_rooms(self) -> None:
        self._send(200, self.state.snapshot())

    def lab_report(self, name: str) -> None:
        body = self._json_body()
        try:
            self._send(200, self.state.report(name, body if isinstance(body, dict) else {}))
        except ValueError as exc:
            self._send(400, {"error": str(exc)})

    def lab_pending(self, name: str) -> None:
        try:
            seconds = min(float((self.query.get("wait") or ["0"])[0]), MAX_PENDING_WAIT)
        except ValueError:
            self._send(400, {"error": "wait must be a number of seconds"})
            return
        answer = self.state.wait_for_pending(name, seconds)
        if answer is None:
            self._send(404, {"error": f"no lab room {name} has reported"})
        else:
            self._send(200, answer)

    def lab_controller(self, name: str) -> None:
        body = self._json_body()
        version = body.get("app_version") if isinstance(body, dict) else None
        address = body.get("ip_address") if isinstance(body, dict) else None
        if not version and address is None:
            self._send(400, {"error": "app_version or ip_address is required"})
            return
        try:
            self._send(200, self.state.set_controller_version(name, str(version) if version else None,
                                                              None if address is None else str(address)))
        except KeyError:
            self._send(404, {"error": f"no lab room named {name!r}; report it first"})

    def lab_app_version_error(self, name: str) -> None:
        body = self._json_body()
        try:
            code = int(body["code"])
            count = int(body.get("count", 1))
        except (KeyError, TypeError, ValueError):
            self._send(400, {"error": "code (an integer such as 8001) is required; count is optional"})
            return
        try:
            self._send(200, self.state.force_app_version_error(name, code, count))
        except KeyError:
            self._send(404, {"error": f"no lab room named {name!r}; report it first"})

    def lab_devices_error(self, name: str) -> None:
        body = self._json_body()
        try:
            status = int(body.get("status", 503))
            count = int(body.get("count", 1))
        except (AttributeError, TypeError, ValueError):
            self._send(400, {"error": "status (an HTTP status such as 503) and count are integers"})
            return
        try:
            self._send(200, self.state.force_devices_error(name, status, count))
        except KeyError:
            self._send(404, {"error": f"no lab room named {name!r}; report it first"})

    def lab_requests(self) -> None:
        with self.state.lock:
            self._send(200, {"requests": dict(self.state.requests_by_operation), "throttled": self.state.throttled})

    # ---- plumbing

    def _json_body(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            return None

    def _send(self, status: int, body: Dict[str, Any] | None, headers: Dict[str, str] | None = None) -> None:
        lost = getattr(self, "_lost_answer", None)
        if lost is not None:  # server_error_after_handling: the work is done, the answer is a 5xx
            status, headers = lost, None
            body = _error(lost, "Internal server error (injected after the request was carried out).")
            self._lost_answer = None
        data = json.dumps(body).encode() if body is not None else b""
        all_headers = {"Content-Length": str(len(data)), **(headers or {})}
        if data:
            all_headers["Content-Type"] = "application/json;charset=UTF-8"
        self._record(status, all_headers, data)  # before answering: the caller may look at once
        self.send_response(status)
        for name, value in all_headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, status: int, headers: Dict[str, str], data: bytes) -> None:
        if not self.state.config.record or not self._path.startswith("/v2/"):
            return
        with self.state.lock:
            self.state.exchanges.append({
                "method": self._method, "path": self._path, "query": self.query,
                "headers": dict(self.headers.items()), "body": self.body, "status": status,
                "response_headers": headers, "response_body": data})


# --------------------------------------------------------------------------- OpenAPI check

SPEC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoom-rooms-openapi.json")
SPEC_HOST = "https://api.zoom.us"  # the document's server is https://api.zoom.us/v2
# Statuses Zoom really sends that the five-operation subset does not list: an expired token and
# injected server errors. Their bodies are not described, so there is nothing to validate.
UNDOCUMENTED_STATUSES = frozenset({401, 500, 502, 503, 504})


class OpenApiCheck:
    """Validate recorded /v2 exchanges against Zoom's OpenAPI document (needs openapi-core)."""

    def __init__(self, spec_path: str = SPEC_PATH):
        from openapi_core import OpenAPI  # test-only dependency: the double itself runs without it

        with open(spec_path, encoding="utf-8") as handle:
            self.api = OpenAPI.from_dict(json.load(handle))

    def _pair(self, exchange: Dict[str, Any]) -> Tuple[Any, Any]:
        from openapi_core.testing import MockRequest, MockResponse

        request = MockRequest(SPEC_HOST, exchange["method"], exchange["path"],
                              args={k: v[-1] for k, v in exchange["query"].items()}, headers=exchange["headers"],
                              data=exchange["body"],
                              content_type=exchange["headers"].get("Content-Type", "application/json"))
        headers = exchange["response_headers"]
        response = MockResponse(exchange["response_body"], status_code=exchange["status"], headers=headers,
                                content_type=headers.get("Content-Type", "application/json").split(";")[0])
        return request, response

    def request_errors(self, exchange: Dict[str, Any]) -> List[str]:
        request, _unused = self._pair(exchange)
        return [f"{_label(exchange)}: request: {_explain(e)}" for e in self.api.iter_request_errors(request)]

    def response_errors(self, exchange: Dict[str, Any]) -> List[str]:
        if exchange["status"] in UNDOCUMENTED_STATUSES:
            return []
        request, response = self._pair(exchange)
        return [f"{_label(exchange)}: response {exchange['status']}: {_explain(e)}"
                for e in self.api.iter_response_errors(request, response)]


def _label(exchange: Dict[str, Any]) -> str:
    query = urllib.parse.urlencode({k: v[-1] for k, v in exchange["query"].items()})
    return f"{exchange['method']} {exchange['path']}{'?' + query if query else ''}"


def _explain(error: Exception) -> str:
    causes = [error]
    while causes[-1].__cause__ is not None:
        causes.append(causes[-1].__cause__)
    details = [str(c) for c in causes] + [str(s) for c in causes for s in getattr(c, "schema_errors", ())]
    return "; ".join(details)


# --------------------------------------------------------------------------- running it


@dataclass
class RunningDouble:
    servers: List[ZoomDoubleServer]  # one per listening address, all sharing ``state``
    threads: List[threading.Thread]
    state: LabState
    host: str
    port: int

    @property
    def server(self) -> ZoomDoubleServer:
        return self.servers[0]

    @property
    def root_url(self) -> str:
        return root_url(self.host, self.port)

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v2"

    @property
    def token_url(self) -> str:
        return f"{self.root_url}/oauth/token"

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join(timeout=5)

    def __enter__(self) -> RunningDouble:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def root_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def start_double(rooms: int = 0, *, host: str = "127.0.0.1", port: int = 0, seed: int = 7,
                 config: DoubleConfig | None = None, clock: Callable[[], float] = time.time,
                 extra_hosts: Tuple[str, ...] = (), rate_limit_per_second: float | None = None) -> RunningDouble:
    """Start the double on background threads; returns once it accepts connections.

    ``rate_limit_per_second`` (when given) overrides the config's: N /v2 requests in any 1-s window,
    429 beyond (see RateLimiter); None keeps the config's, which defaults to no limit.

    ``extra_hosts`` listen on the same port with the same state, for example 127.0.0.1 beside a
    lab bridge address: rooms report on the bridge, the control node's client uses loopback
    (the client allows plain http to loopback only).
    """
    config = config or DoubleConfig()
    if rate_limit_per_second is not None:
        config = replace(config, rate_limit_per_second=rate_limit_per_second)
    state = LabState(config, clock=clock)
    state.load()
    state.seed(rooms, seed)
    servers = [ZoomDoubleServer((host, port), state)]
    bound_port = servers[0].server_address[1]
    servers += [ZoomDoubleServer((extra, bound_port), state) for extra in extra_hosts]
    # A short poll interval makes stop() quick (tests start and stop many doubles).
    threads = [threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                name="zoom-api-double", daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    return RunningDouble(servers, threads, state, host, bound_port)


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Zoom Rooms API double for tests and the lab (loopback only)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--extra-host", action="append", default=[],
                        help="also listen here on the same port (repeatable), e.g. 127.0.0.1 beside a lab bridge")
    parser.add_argument("--rooms", type=int, default=0, help="seed this many synthetic rooms")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--state-file", help="load rooms from and save them to this JSON file")
    parser.add_argument("--account-id", default=LAB_ACCOUNT_ID)
    parser.add_argument("--client-id", default=LAB_CLIENT_ID)
    parser.add_argument("--client-secret", default=LAB_CLIENT_SECRET)
    parser.add_argument("--token-lifetime", type=int, default=3599, help="seconds")
    parser.add_argument("--latest-version", default=DEFAULT_LATEST_VERSION)
    parser.add_argument("--upgrade-delay", type=float, default=2.0, help="seconds until an upgrade completes")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--rate-limit", type=float, default=None, metavar="N",
                        help="answer 429 (QPS) beyond N /v2 requests in any 1-s window, e.g. 20 (Pro) or 60 "
                             "(Business); default: no limit")
    args = parser.parse_args(argv)
    config = DoubleConfig(account_id=args.account_id, client_id=args.client_id, client_secret=args.client_secret,
                          token_lifetime=args.token_lifetime, latest_version=args.latest_version,
                          upgrade_delay=args.upgrade_delay, state_file=args.state_file, verbose=args.verbose,
                          rate_limit_per_second=args.rate_limit)
    double = start_double(args.rooms, host=args.host, port=args.port, seed=args.seed, config=config,
                          extra_hosts=tuple(args.extra_host))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_unused: stop.set())
    signal.signal(signal.SIGINT, lambda *_unused: stop.set())
    print(json.dumps({"base_url": double.base_url, "token_url": double.token_url, "port": double.port,
                      "pid": os.getpid(),
                      "extra_base_urls": [f"{root_url(h, double.port)}/v2" for h in args.extra_host],
                      "extra_token_urls": [f"{root_url(h, double.port)}/oauth/token" for h in args.extra_host]}),
          flush=True)
    stop.wait()
    double.stop()
    double.state.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
