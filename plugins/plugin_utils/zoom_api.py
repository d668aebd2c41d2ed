"""Small Zoom REST API v2 client for the Zoom Rooms operations this toolkit uses.

Runs on the control node (inventory and action plugins); standard library only.

- Server-to-Server OAuth: POST the token URL with ``grant_type=account_credentials`` and
  ``account_id``, HTTP Basic ``client_id:client_secret``. Zoom issues no refresh token, so the
  access token is cached until shortly before ``expires_in`` and fetched again (also on a 401).
- Retries with exponential backoff and full jitter on per-second 429s, 5xx and (for GET)
  timeouts; a daily-limit 429 stops at once with :class:`ZoomDailyLimitError` naming when to retry.
- TLS is verified (system trust store or ``ca_bundle``); plain http only for loopback URLs (tests).
- Secrets (client secret, access tokens) never reach exception messages, reprs or log lines.

Sources: Zoom Rooms OpenAPI (developers.zoom.us/docs/api/rooms/), Zoom "Rate limits"
(developers.zoom.us/docs/api/rest/rate-limits/), Server-to-Server OAuth
(developers.zoom.us/docs/internal-apps/s2s-oauth/).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import http.client
import ipaddress
import json
import os
import random
import re
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections import deque
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Mapping, Tuple

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue, is_loopback
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_version import (
    parse_version,
    read_version,
)

DEFAULT_BASE_URL = "https://api.zoom.us/v2"
DEFAULT_TOKEN_URL = "https://zoom.us/oauth/token"
MAX_PAGE_SIZE = 300  # Zoom's documented maximum for GET /rooms

# option name -> environment variable read when the option is not given explicitly
ENV_VARS = {
    "base_url": "ZOOM_API_BASE_URL",
    "token_url": "ZOOM_OAUTH_TOKEN_URL",
    "account_id": "ZOOM_ACCOUNT_ID",
    "client_id": "ZOOM_CLIENT_ID",
    "client_secret": "ZOOM_CLIENT_SECRET",
}

# What says someone meant to use the Zoom API: one of its credentials (api_configured).
CREDENTIAL_OPTIONS = ("account_id", "client_id", "client_secret")

ROOM_FILTERS = frozenset({"status", "type", "location_id", "query_name", "tag_ids", "unassigned_rooms"})
APP_VERSION_ACTIONS = ("upgrade", "downgrade", "cancel")

# PUT /rooms/{roomId}/devices/{deviceId}/app_version 400 codes (Zoom Rooms OpenAPI).
APP_VERSION_OUTCOMES = {
    8001: "already_current_or_updating",
    8002: "no_downgrade_target",
    8003: "nothing_to_cancel",
    8004: "device_not_in_room",
}
# A retry of a PUT app_version whose earlier attempt got a 5xx: these refusals are also what Zoom answers
# once that attempt was carried out (Zoom Rooms OpenAPI: 8002 "... or the downgrade process has already
# been initiated", 8003 "... not being downgraded or upgraded at the moment"), so they may be no refusal.
MAYBE_ACCEPTED = {("downgrade", 8002), ("cancel", 8003)}
ROOM_OFFLINE_CODE = 300  # PATCH /rooms/{id}/events: "Zoom Room is offline"
# "Invalid access token, does not contain scopes:[...]", answered with HTTP 400 (github.com/zoom/
# zoomapps-sample-js/issues/25, devforum.zoom.us): the app's setup, like a 401, not one room's problem.
MISSING_SCOPE_CODE = 4711
SCOPE_HINT = " (check the app's scopes: room:read:admin, room:write:admin)"

DEVICE_ROLES = {
    "Zoom Rooms Computer": "room_computer",
    "Controller": "controller",  # the Zoom Rooms OpenAPI enum
    "Zoom Rooms Controller": "controller",  # Zoom's older samples (its Postman collection)
}

REDACTED = "********"
Logger = Callable[[str, int], None]


# --------------------------------------------------------------------------- errors


class ZoomApiError(Exception):
    """A Zoom API call failed. ``status``/``code`` are the HTTP status and Zoom error code."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r}, code={self.code!r})"


class ZoomConfigError(ZoomApiError):
    """Settings are missing or unsafe (for example plain http to a non-loopback host)."""


class ZoomAuthError(ZoomApiError):
    """Zoom refused the credentials or the access token."""


class ZoomNotFoundError(ZoomApiError):
    """The room (or device) does not exist."""


class ZoomRateLimitError(ZoomApiError):
    """Per-second rate limit still hit after every retry."""


class ZoomDailyLimitError(ZoomRateLimitError):
    """The daily request quota is used up; retrying before ``retry_at`` is pointless."""

    def __init__(self, message: str, *, retry_at: datetime | None, status: int = 429,
                 code: int | None = None):
        super().__init__(message, status=status, code=code)
        self.retry_at = retry_at


class ZoomTimeoutError(ZoomApiError):
    """No (complete) answer within the timeout."""


class ZoomTransportError(ZoomApiError):
    """Connection-level failure: refused, reset, TLS, DNS."""


# Errors that make every further call pointless (as opposed to one room's 4xx).
FATAL_ERRORS = (ZoomConfigError, ZoomAuthError, ZoomRateLimitError, ZoomTimeoutError, ZoomTransportError)


# --------------------------------------------------------------------------- pure helpers


def parse_api_version(raw: str | None) -> str | None:
    """Any version form (`5.9.1 (2581)`, `5.9.1.2581`, legacy `4.1.5 (4.1.33237.0924)`) -> `X.Y.Z.build`.

    The one parser in zoom_room_version; None for empty or unreadable input (the raw text is kept by
    the caller as `app_version_raw`).
    """
    if not raw or not isinstance(raw, str):
        return None
    return read_version(raw, "zoom_api")["version"]


def version_key(version: str | None) -> Tuple[int, ...] | None:
    """Sortable tuple for any form parse_api_version accepts; None when empty or unparsable."""
    if not version or not isinstance(version, str):
        return None
    try:
        return parse_version(version, "zoom_api")
    except InvalidValue:
        return None


def classify_device(device: Mapping[str, Any]) -> str:
    """'room_computer', 'controller' or 'other' (scheduling display, control system, whiteboard)."""
    return DEVICE_ROLES.get(str(device.get("device_type") or ""), "other")


def classify_devices(devices: List[Mapping[str, Any]]) -> Dict[str, List[Mapping[str, Any]]]:
    """Split a device list into room computers, controllers and others (API order kept)."""
    groups: Dict[str, List[Mapping[str, Any]]] = {"room_computers": [], "controllers": [], "others": []}
    key = {"room_computer": "room_computers", "controller": "controllers", "other": "others"}
    for device in devices:
        groups[key[classify_device(device)]].append(device)
    return groups


def platform_of(device_system: str | None) -> str:
    """Platform family from the API's free-text device_system.

    'Win10 Build 19043.1266' -> windows, 'macOS 14.4' -> macos, 'Linux ...' -> linux,
    'iPadOS 17.4' / 'iPad 13.6.1' / 'iPhone ...' -> ios, 'Android 10 (Poly Studio X50)' -> android,
    other text -> other, empty -> unknown.
    """
    text = (device_system or "").strip().lower()
    if not text:
        return "unknown"
    for family, prefixes in _PLATFORM_PREFIXES:
        if text.startswith(prefixes):
            return family
    return "other"


_PLATFORM_PREFIXES = (
    ("windows", ("win",)),
    ("macos", ("mac", "os x", "darwin")),
    ("linux", ("linux", "ubuntu", "debian")),
    ("ios", ("ipados", "ios", "ipad", "iphone")),  # real iPad controllers say 'iPad 13.6.1' (PSZoom sample)
    ("android", ("android",)),
)


def room_platform(device_system: str | None) -> str:
    """A room computer's platform: windows, macos, linux, or appliance (Android based Poly, Neat,
    Yealink... bars that Ansible cannot log in to); unknown when Zoom reports nothing."""
    family = platform_of(device_system)
    return family if family in ("windows", "macos", "linux", "unknown") else "appliance"


def usable_address(ip: str | None) -> bool:
    """True when ``ip`` is an address a controller or Ansible could connect to.

    False for loopback (127.0.0.0/8, ::1: the proxy tell-tale), unspecified (0.0.0.0, ::),
    empty or unparsable values.
    """
    if not ip or not isinstance(ip, str):
        return False
    try:
        address = ipaddress.ip_address(ip.strip())  # as written: it becomes ansible_host
    except ValueError:
        return False
    return not (is_loopback(address) or address.is_unspecified)


def normalise_device(device: Mapping[str, Any]) -> Dict[str, Any]:
    """One API device as the toolkit's plain dict (normalised version, role, platform)."""
    raw_version = device.get("app_version")
    device_system = device.get("device_system") or ""
    return {
        "id": device.get("id"),
        "type": device.get("device_type"),
        "role": classify_device(device),
        "app_version": parse_api_version(raw_version),
        "app_version_raw": raw_version,
        "device_system": device_system,
        "platform": platform_of(device_system),
        "status": device.get("status"),
        "ip_address": device.get("ip_address") or "",
        "hostname": device.get("device_hostname"),
    }


def room_summary(devices: List[Mapping[str, Any]]) -> Dict[str, Any]:
    """Facts about a room derived from its normalised devices (the first room computer wins).

    controller_versions holds the readable versions only: app_version is optional (Zoom Rooms OpenAPI)
    and an offline room's controller may have none; such a device is still in the room's devices.
    """
    computers = [d for d in devices if d["role"] == "room_computer"]
    computer = computers[0] if computers else None
    return {
        "room_computer": computer,
        "platform": room_platform(computer["device_system"]) if computer else "unknown",
        "reported_ip": computer["ip_address"] if computer else None,
        "room_computer_version": computer["app_version"] if computer else None,
        "controller_versions": [d["app_version"] for d in devices if d["role"] == "controller" and d["app_version"]],
    }


def without_activation_code(room: Mapping[str, Any]) -> Dict[str, Any]:
    """A room list item minus its activation code: the code signs a room in, so it is not
    inventory data and is never cached or returned unless asked for."""
    return {k: v for k, v in room.items() if k != "activation_code"}


def room_record(room: Mapping[str, Any], devices: List[Mapping[str, Any]]) -> Dict[str, Any]:
    """Everything the toolkit keeps about one room: list item, normalised devices and summary."""
    normalised = [normalise_device(d) for d in devices]
    summary = room_summary(normalised)
    return {
        "room": without_activation_code(room),
        "devices": normalised,
        "room_computer_id": summary["room_computer"]["id"] if summary["room_computer"] else None,
        "platform": summary["platform"],
        "reported_ip": summary["reported_ip"],
        "room_computer_version": summary["room_computer_version"],
        "controller_versions": summary["controller_versions"],
    }


def backoff_delay(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(attempt-1))]."""
    return rand() * min(cap, base * (2 ** max(0, attempt - 1)))


def parse_retry_after(value: str | None, now: float) -> Tuple[float | None, datetime | None]:
    """Retry-After as (seconds to wait, absolute UTC time); either may be None.

    Zoom sends seconds for short waits and an absolute timestamp ('2020-05-31T00:00:00Z')
    for a daily limit; HTTP-date form is accepted too.
    """
    if not value:
        return None, None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds), datetime.fromtimestamp(now + max(0.0, seconds), tz=UTC)
    when = _parse_timestamp(text)
    if when is None:
        return None, None
    return max(0.0, when.timestamp() - now), when


def _parse_timestamp(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def next_utc_midnight(now: float) -> datetime:
    """When Zoom resets daily limits ('You may resume these requests at GMT 00:00:00')."""
    today = datetime.fromtimestamp(now, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


def is_daily_limit(headers: Mapping[str, str], body: Mapping[str, Any]) -> bool:
    """A 429 is the daily kind when the headers or message say so, or Retry-After is a timestamp."""
    limit_type = headers.get("x-ratelimit-type", "").lower()
    if "daily" in limit_type or "day" in limit_type or limit_type in ("qpd", "daily-limit"):
        return True
    retry_after = headers.get("retry-after", "").strip()
    if retry_after and not re.fullmatch(r"\d+(\.\d+)?", retry_after):
        return True
    return "daily" in str(body.get("message", "")).lower()


def classify_status(status: int) -> str:
    """'ok', 'auth', 'rate_limited', 'server_error' or 'client_error'."""
    if 200 <= status < 300:
        return "ok"
    if status == 401:
        return "auth"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    return "client_error"


def check_url(name: str, url: str) -> None:
    """Reject URLs that would send credentials in clear text or nowhere sensible."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ZoomConfigError(f"{name}: {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ZoomConfigError(
            f"{name}: {url!r} uses plain http; only https is allowed (http only for loopback test doubles)"
        )
    if parts.username or parts.password:
        raise ZoomConfigError(f"{name}: credentials do not belong in the URL")


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ZoomSettings:
    account_id: str
    client_id: str
    client_secret: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    token_url: str = DEFAULT_TOKEN_URL
    timeout: float = 30.0
    ca_bundle: str | None = None
    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_requests_per_second: float = 0.0  # 0: do not pace (429s are still retried)


def api_configured(options: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """The one "is the Zoom API configured" rule: a credential is given, as an option (None/'' = not
    given) or as its ZOOM_* variable. Configured is not complete: settings_from names what is missing."""
    options = options or {}
    environ = os.environ if environ is None else environ
    return any(options.get(name) not in (None, "") or bool(environ.get(ENV_VARS[name]))
               for name in CREDENTIAL_OPTIONS)


def settings_from(options: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> ZoomSettings:
    """Settings from explicit options (None/'' = not given), then ZOOM_* env vars, then defaults."""
    options = dict(options or {})
    environ = os.environ if environ is None else environ
    values: Dict[str, Any] = {}
    for name, env_name in ENV_VARS.items():
        value = options.pop(name, None)
        if value in (None, ""):
            value = environ.get(env_name) or None
        if value is not None:
            values[name] = str(value).strip()
    if "base_url" in values:
        values["base_url"] = values["base_url"].rstrip("/")  # paths are appended as "/rooms..."
    missing = [f"{name} (or {ENV_VARS[name]})" for name in CREDENTIAL_OPTIONS if not values.get(name)]
    if missing:
        raise ZoomConfigError("Zoom API credentials missing: " + ", ".join(missing))
    for name, value in options.items():
        if name not in _SETTING_TYPES:
            raise ZoomConfigError(f"unknown Zoom API setting {name!r}")
        if value not in (None, ""):
            try:
                values[name] = _SETTING_TYPES[name](value)
            except (TypeError, ValueError):
                raise ZoomConfigError(f"{name}: {value!r} is not a valid {_SETTING_TYPES[name].__name__}") from None
    settings = ZoomSettings(**values)
    _check_settings(settings)
    return settings


_SETTING_TYPES: Dict[str, Callable[[Any], Any]] = {
    "timeout": float, "ca_bundle": str, "max_attempts": int, "backoff_base": float,
    "backoff_max": float, "max_requests_per_second": float,
}


def _check_settings(settings: ZoomSettings) -> None:
    check_url("base_url", settings.base_url)
    check_url("token_url", settings.token_url)
    if not settings.timeout or float(settings.timeout) <= 0:
        raise ZoomConfigError(f"timeout: {settings.timeout!r} must be a positive number of seconds")
    if int(settings.max_attempts) < 1:
        raise ZoomConfigError(f"max_attempts: {settings.max_attempts!r} must be at least 1")
    if float(settings.max_requests_per_second) < 0:
        raise ZoomConfigError("max_requests_per_second: must be 0 (no pacing) or positive")
    if settings.ca_bundle and not os.path.isfile(settings.ca_bundle):
        raise ZoomConfigError(f"ca_bundle: {settings.ca_bundle!r} is not a readable file")


# --------------------------------------------------------------------------- transport


@dataclass
class Reply:
    status: int
    headers: Dict[str, str]  # lower-case names
    body: bytes
    after_server_error: bool = False  # an earlier attempt of this request got a 5xx: Zoom may have acted on it

    def json(self) -> Dict[str, Any]:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {"data": data}


_STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                     http.client.CannotSendRequest)


class HttpTransport:
    """HTTP/1.1 with one kept-alive connection per thread and host (saves a TLS handshake per call).

    Honours https_proxy/no_proxy for https URLs through a CONNECT tunnel.
    """

    def __init__(self, timeout: float, ca_bundle: str | None = None):
        self.timeout = float(timeout)
        self._ssl = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()
        self._local = threading.local()

    def request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Reply:
        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        key = (parts.scheme, parts.hostname, parts.port)
        for fresh in (False, True):
            conn, reused = self._connection(key, fresh)
            try:
                conn.request(method, target, body=body, headers=dict(headers))
                response = conn.getresponse()
                data = response.read()
            except TimeoutError as exc:
                self._drop(key)
                raise ZoomTimeoutError(f"{method} {parts.path}: no answer within {self.timeout:g}s") from exc
            except _STALE_CONNECTION as exc:
                self._drop(key)
                if reused and not fresh:
                    continue  # the server closed an idle kept-alive connection: one fresh try
                raise ZoomTransportError(f"{method} {parts.path}: connection failed: {type(exc).__name__}") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop(key)
                raise ZoomTransportError(f"{method} {parts.path}: connection failed: {exc}") from exc
            if response.will_close:
                self._drop(key)
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        raise ZoomTransportError(f"{method} {parts.path}: connection failed")  # pragma: no cover

    def _connection(self, key: Tuple[Any, ...], fresh: bool) -> Tuple[http.client.HTTPConnection, bool]:
        pool = self._pool()
        if not fresh and key in pool:
            return pool[key], True
        self._drop(key)
        scheme, host, port = key
        if scheme == "https":
            proxy = _proxy_for(host)
            if proxy:
                conn = http.client.HTTPSConnection(proxy.hostname, proxy.port or 3128,
                                                   timeout=self.timeout, context=self._ssl)
                conn.set_tunnel(host, port or 443, headers=_proxy_auth(proxy))
            else:
                conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        pool[key] = conn
        return conn, False

    def _pool(self) -> Dict[Tuple[Any, ...], http.client.HTTPConnection]:
        if not hasattr(self._local, "pool"):
            self._local.pool = {}
        return self._local.pool

    def _drop(self, key: Tuple[Any, ...]) -> None:
        conn = self._pool().pop(key, None)
        if conn is not None:
            conn.close()


def _proxy_for(host: str) -> urllib.parse.SplitResult | None:
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get("https")
    if not proxy or urllib.request.proxy_bypass_environment(host, proxies):
        return None
    return urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")


def _proxy_auth(proxy: urllib.parse.SplitResult) -> Dict[str, str] | None:
    if not proxy.username:
        return None
    pair = f"{urllib.parse.unquote(proxy.username)}:{urllib.parse.unquote(proxy.password or '')}"
    return {"Proxy-Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


# --------------------------------------------------------------------------- client


class ZoomClient:
    """Zoom Rooms API client. Thread-safe: one instance may serve a pool of worker threads.

    ``sleep``, ``clock`` (monotonic), ``wall_clock`` (epoch seconds) and ``rand`` are injectable
    so tests control backoff and token expiry without waiting.
    """

    def __init__(self, settings: ZoomSettings, *, logger: Logger | None = None,
                 transport: HttpTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 rand: Callable[[], float] = random.random):
        _check_settings(settings)
        self.settings = settings
        self._logger = logger
        self._transport = transport or HttpTransport(settings.timeout, settings.ca_bundle)
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._rand = rand
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        self._pace_lock = threading.Lock()
        self._next_slot = 0.0
        self._starts: Deque[float] = deque()  # request starts of the last second (pacing)
        self._secrets = {settings.client_secret}

    def __repr__(self) -> str:
        return f"ZoomClient(base_url={self.settings.base_url!r}, account_id={self.settings.account_id!r})"

    # ---- public API

    def list_rooms(self, page_size: int = MAX_PAGE_SIZE, **filters: Any) -> Iterator[Dict[str, Any]]:
        """Yield every room over all pages. Filters: status, type, location_id, query_name, tag_ids,
        unassigned_rooms (None values are ignored)."""
        unknown = set(filters) - ROOM_FILTERS
        if unknown:
            raise ValueError(f"unknown room filter(s): {', '.join(sorted(unknown))}")
        query = {k: _query_value(v) for k, v in filters.items() if v is not None}
        query["page_size"] = str(max(1, min(MAX_PAGE_SIZE, int(page_size))))
        seen_tokens = set()
        page_token = ""
        while True:
            page_query = dict(query, next_page_token=page_token) if page_token else query
            page = self._call("GET", "/rooms", query=page_query).json()
            yield from page.get("rooms") or []
            page_token = page.get("next_page_token") or ""
            if not page_token:
                return
            if page_token in seen_tokens:
                raise ZoomApiError("GET /rooms returned the same next_page_token twice; stopping")
            seen_tokens.add(page_token)

    def get_room(self, room_id: str, regenerate_activation_code: bool = False) -> Dict[str, Any]:
        """GET /rooms/{roomId}; ``regenerate_activation_code`` issues a new activation code."""
        query = {"regenerate_activation_code": "true"} if regenerate_activation_code else None
        return self._call("GET", f"/rooms/{_quote(room_id)}", query=query).json()

    def list_devices(self, room_id: str) -> List[Dict[str, Any]]:
        """GET /rooms/{roomId}/devices: the raw device dicts."""
        return self._call("GET", f"/rooms/{_quote(room_id)}/devices").json().get("devices") or []

    def devices_by_room(self, room_ids: List[str], max_workers: int = 4,
                        on_read: Callable[[str, List[Dict[str, Any]], str | None], None] | None = None,
                        ) -> Tuple[Dict[str, List[Dict[str, Any]]], Dict[str, str]]:
        """Devices of many rooms, fetched in parallel: ({room_id: devices}, {room_id: error}), in room_ids' order.

        One room's API error (a 4xx) is recorded and that room gets no devices; errors in
        FATAL_ERRORS (credentials, rate limits, network) stop the whole batch. on_read(room_id,
        devices, error) hears of each room as soon as its read is done (a background read's progress).
        """
        unique = list(dict.fromkeys(room_ids))
        devices: Dict[str, List[Dict[str, Any]]] = {}
        errors: Dict[str, str] = {}
        pool = ThreadPoolExecutor(max_workers=max(1, int(max_workers)), thread_name_prefix="zoom-api")
        try:
            futures = {pool.submit(self.list_devices, room_id): room_id for room_id in unique}
            for future in as_completed(futures):
                room_id = futures[future]
                try:
                    devices[room_id] = future.result()
                except FATAL_ERRORS:
                    raise
                except ZoomApiError as exc:
                    errors[room_id] = exc.message
                    devices[room_id] = []
                if on_read is not None:
                    on_read(room_id, devices[room_id], errors.get(room_id))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return ({room_id: devices[room_id] for room_id in unique},
                {room_id: errors[room_id] for room_id in unique if room_id in errors})

    def set_app_version(self, room_id: str, device_id: str, action: str) -> Dict[str, Any]:
        """PUT .../devices/{deviceId}/app_version. Zoom's 400 answers become outcomes, not exceptions:
        {"ok": bool, "outcome": "requested" | already_current_or_updating | no_downgrade_target |
        nothing_to_cancel | device_not_in_room | rejected | possibly_requested, "code": int|None, "message": str}.

        possibly_requested: the request was retried after a 5xx and the retry got the refusal Zoom also
        gives once that earlier attempt was carried out (MAYBE_ACCEPTED); only a new read can tell.
        """
        if action not in APP_VERSION_ACTIONS:
            raise ValueError(f"action: {action!r} is not one of {', '.join(APP_VERSION_ACTIONS)}")
        path = f"/rooms/{_quote(room_id)}/devices/{_quote(device_id)}/app_version"
        reply = self._call("PUT", path, body={"action": action}, accept=(400,))
        if reply.status == 400:
            answer = _outcome_from_400(reply, APP_VERSION_OUTCOMES)
            if reply.after_server_error and (action, answer["code"]) in MAYBE_ACCEPTED:
                answer.update(outcome="possibly_requested", message=(
                    f"an earlier attempt got a server error and may have been carried out; the retry got: "
                    f"{answer['message']}"))
            return answer
        return {"ok": True, "outcome": "requested", "code": None, "message": f"{action} requested"}

    def restart_room(self, room_id: str) -> Dict[str, Any]:
        """PATCH /rooms/{id}/events zoomroom.restart -> {"ok", "outcome": restart_requested|offline|rejected, ...}."""
        reply = self._call("PATCH", f"/rooms/{_quote(room_id)}/events",
                           body={"method": "zoomroom.restart"}, accept=(400,))
        if reply.status == 400:
            return _outcome_from_400(reply, {ROOM_OFFLINE_CODE: "offline"})
        return {"ok": True, "outcome": "restart_requested", "code": None, "message": "restart requested"}

    # ---- token

    def _access_token(self) -> str:
        with self._token_lock:
            if self._token and self._clock() < self._token_expires:
                return self._token
            return self._fetch_token()

    def _forget_token(self, token: str) -> None:
        with self._token_lock:
            if self._token == token:
                self._token = None

    def _fetch_token(self) -> str:
        settings = self.settings
        basic = base64.b64encode(f"{settings.client_id}:{settings.client_secret}".encode()).decode()
        body = urllib.parse.urlencode({"grant_type": "account_credentials",
                                       "account_id": settings.account_id}).encode()
        headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded",
                   "Accept": "application/json"}
        reply = self._with_retries("POST", settings.token_url, headers, body, idempotent=True)
        data = reply.json()
        if reply.status != 200 or not data.get("access_token"):
            reason = data.get("reason") or data.get("error_description") or data.get("error") or "no token"
            raise ZoomAuthError(self._redact(
                f"Zoom refused the Server-to-Server OAuth credentials (HTTP {reply.status}: {reason}); "
                "check account_id/client_id/client_secret (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET)"
                " and that the app is activated"), status=reply.status)
        token = str(data["access_token"])
        self._secrets.add(token)
        lifetime = float(data.get("expires_in") or 3600)
        # Refresh a little early so a token never expires between our check and Zoom's.
        self._token_expires = self._clock() + lifetime - min(60.0, lifetime * 0.1)
        self._token = token
        self._log(f"zoom api: fetched an access token for account {settings.account_id} "
                  f"(expires in {lifetime:g}s)", 4)
        return token

    # ---- requests

    def _call(self, method: str, path: str, *, query: Mapping[str, str] | None = None,
              body: Mapping[str, Any] | None = None, accept: Tuple[int, ...] = ()) -> Reply:
        url = self.settings.base_url + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        server_error = False  # any attempt, with either token, got a 5xx
        for refetched in (False, True):
            token = self._access_token()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            reply = self._with_retries(method, url, headers, data, idempotent=method == "GET")
            server_error = server_error or reply.after_server_error
            reply.after_server_error = server_error
            if reply.status == 401 and not refetched:
                # Expired or revoked early: Zoom has no refresh token, so fetch a new one once.
                self._log(f"zoom api: {method} {path} -> 401, fetching a new access token", 2)
                self._forget_token(token)
                continue
            break
        if reply.status in accept or classify_status(reply.status) == "ok":
            return reply
        raise self._error_for(method, path, reply)

    def _with_retries(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                      idempotent: bool) -> Reply:
        """Send, retrying per-second 429s and 5xx (and timeouts when idempotent) with jittered backoff."""
        path = urllib.parse.urlsplit(url).path
        attempts = int(self.settings.max_attempts)
        server_error = False
        for attempt in range(1, attempts + 1):
            self._pace()
            started = self._clock()
            try:
                reply = self._transport.request(method, url, headers, body)
            except (ZoomTimeoutError, ZoomTransportError) as exc:
                if not idempotent or attempt == attempts:
                    raise type(exc)(self._redact(f"{exc.message} (attempt {attempt}/{attempts})")) from None
                delay = backoff_delay(attempt, self.settings.backoff_base, self.settings.backoff_max, self._rand)
                self._log(f"zoom api: {exc.message}; retry {attempt}/{attempts - 1} in {delay:.2f}s", 2)
                self._sleep(delay)
                continue
            self._log(f"zoom api: {method} {_loggable(url)} -> {reply.status} "
                      f"({self._clock() - started:.3f}s)", 3)
            kind = classify_status(reply.status)
            if kind == "rate_limited" and is_daily_limit(reply.headers, reply.json()):
                raise self._daily_limit_error(method, path, reply)
            if kind not in ("rate_limited", "server_error") or attempt == attempts:
                reply.after_server_error = server_error
                return reply
            server_error = server_error or kind == "server_error"  # a 429 was not carried out; a 5xx may have been
            delay = self._retry_delay(attempt, reply)
            self._log(f"zoom api: {method} {path} -> {reply.status}, retry {attempt}/{attempts - 1} "
                      f"in {delay:.2f}s", 2)
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_delay(self, attempt: int, reply: Reply) -> float:
        delay = backoff_delay(attempt, self.settings.backoff_base, self.settings.backoff_max, self._rand)
        seconds, _unused = parse_retry_after(reply.headers.get("retry-after"), self._wall_clock())
        if seconds is not None:  # the server knows best, within our cap
            delay = max(delay, min(seconds, self.settings.backoff_max))
        return delay

    def _pace(self) -> None:
        """Hold this request until it may start under max_requests_per_second, across all threads.

        A start is granted (and counted) when it happens, not reserved ahead: a thread that wakes
        late then loses its turn instead of sending right next to the one after it. Starts are at
        least 1/rate apart and never more than the rate (rounded down, at least 1) fall in any 1-s
        window, which is how Zoom states its per-second limits.
        """
        rate = float(self.settings.max_requests_per_second)
        if rate <= 0:
            return
        while True:
            with self._pace_lock:
                wait = self._pace_wait(self._clock(), rate)
            if wait <= 0:
                return
            self._sleep(wait)

    def _pace_wait(self, now: float, rate: float) -> float:
        """Seconds until a request may start; 0 means it starts now (and is counted). Holds _pace_lock."""
        starts = self._starts
        while starts and starts[0] <= now - 1.0:
            starts.popleft()
        ready = self._next_slot
        if len(starts) >= max(1, int(rate)):
            ready = max(ready, starts[0] + 1.0)
        if ready > now:
            return ready - now
        starts.append(now)
        self._next_slot = now + 1.0 / rate
        return 0.0

    # ---- errors and logging

    def _daily_limit_error(self, method: str, path: str, reply: Reply) -> ZoomDailyLimitError:
        now = self._wall_clock()
        _unused, retry_at = parse_retry_after(reply.headers.get("retry-after"), now)
        retry_at = retry_at or next_utc_midnight(now)
        category = reply.headers.get("x-ratelimit-category", "")
        when = retry_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        message = (f"Zoom API daily rate limit reached{f' ({category} requests)' if category else ''} "
                   f"on {method} {path}; do not retry before {when} (UTC)")
        self._log(f"zoom api: {message}", 1)
        return ZoomDailyLimitError(self._redact(message), retry_at=retry_at, code=reply.json().get("code"))

    def _error_for(self, method: str, path: str, reply: Reply) -> ZoomApiError:
        data = reply.json()
        code = data.get("code") if isinstance(data.get("code"), int) else None
        detail = str(data.get("message") or reply.body[:200].decode("utf-8", "replace") or "no details")
        message = self._redact(f"Zoom API {method} {path} failed: HTTP {reply.status}"
                               f"{f' code {code}' if code is not None else ''}: {detail}")
        kind = classify_status(reply.status)
        if kind == "auth" or code == MISSING_SCOPE_CODE:
            return ZoomAuthError(message + SCOPE_HINT, status=reply.status, code=code)
        if reply.status == 404:
            return ZoomNotFoundError(message, status=404, code=code)
        if kind == "rate_limited":
            return ZoomRateLimitError(message + f" (still rate limited after {self.settings.max_attempts} "
                                      "attempts)", status=429, code=code)
        return ZoomApiError(message, status=reply.status, code=code)

    def _redact(self, text: str) -> str:
        for secret in list(self._secrets):
            if secret:
                text = text.replace(secret, REDACTED)
        return text

    def _log(self, message: str, verbosity: int) -> None:
        if self._logger is not None:
            self._logger(self._redact(message), verbosity)


def _outcome_from_400(reply: Reply, outcomes: Mapping[int, str]) -> Dict[str, Any]:
    data = reply.json()
    code = data.get("code") if isinstance(data.get("code"), int) else None
    return {"ok": False, "outcome": outcomes.get(code, "rejected"), "code": code,
            "message": str(data.get("message") or "")}


def _quote(value: str) -> str:
    if not value:
        raise ValueError("an id must not be empty")
    return urllib.parse.quote(str(value), safe="")


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _loggable(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def reads_whole_account(room_ids: List[str] | None, room_names: List[str] | None) -> bool:
    """Neither ids nor names given: gather reads every room of the account."""
    return room_ids is None and room_names is None


def gather(client: ZoomClient, room_ids: List[str] | None, max_workers: int, progress: ReadProgress | None = None,
           room_names: List[str] | None = None) -> Tuple[Dict[str, Dict[str, Any]], List[str], Dict[str, str]]:
    """({room_id: room_record}, missing room ids, {room_id: device read error}).

    The rooms of room_ids and every room named in room_names; neither given: the whole account.
    One paged GET /rooms serves any number of ids (N/300 calls instead of N GET /rooms/{id}) and
    carries the room status, which the profile does not. A background read passes its progress:
    the room list once listed, then each room's record as soon as its devices are read.
    """
    ids = set(room_ids or ())
    names = set(room_names or ())
    whole_account = reads_whole_account(room_ids, room_names)
    rooms = {room["id"]: room for room in client.list_rooms()
             if whole_account or room["id"] in ids or room.get("name") in names}
    missing = sorted(ids - set(rooms))
    on_read = None
    if progress is not None:
        progress.listed(rooms.values())

        def on_read(room_id: str, devices: List[Dict[str, Any]], error: str | None) -> None:
            progress.room_read(room_id, room_record(rooms[room_id], devices), error)
    devices, errors = client.devices_by_room(list(rooms), max_workers, on_read)
    return {room_id: room_record(room, devices[room_id]) for room_id, room in rooms.items()}, missing, errors


# The options of zoom_rooms_api that read (documented in plugins/doc_fragments/zoom_rooms_api.py):
# the connection (what settings_from reads) and the rooms to read.
CONNECTION_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    "base_url": {"type": "str"},
    "token_url": {"type": "str"},
    "account_id": {"type": "str"},
    "client_id": {"type": "str"},
    "client_secret": {"type": "str", "no_log": True},
    "ca_bundle": {"type": "path"},
    "timeout": {"type": "float", "default": 30.0},
    "max_attempts": {"type": "int", "default": 5},
    "max_requests_per_second": {"type": "float", "default": 10.0},
}
READ_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    **CONNECTION_ARGUMENT_SPEC,
    "max_workers": {"type": "int", "default": 4},
    "room_ids": {"type": "list", "elements": "str"},
    "room_names": {"type": "list", "elements": "str"},
}


# --------------------------------------------------------------------------- a read in the background
# zoom_rooms_api with background=true starts the read in a detached process on the control node,
# which writes {"started": 1} to a new 0600 file and replaces it with the result when done (the
# format of ansible.builtin.async_status's job files). The rooms' zoom_room_diagnose tasks wait for
# it after reading their room; zoom_rooms_api with collect= takes it and removes the file.

def background_result(text: str | None) -> Dict[str, Any] | None:
    """A background read's file: its final result, or None while it runs (or is half written)."""
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("started"):
        return None
    return data


def wait_for_background(read: Callable[[], str | None], timeout: float, poll: float = 0.2,
                        sleep: Callable[[float], None] = time.sleep,
                        clock: Callable[[], float] = time.monotonic) -> Dict[str, Any] | None:
    """The read's final result, or None when it has not finished within timeout seconds."""
    deadline = clock() + timeout
    while True:
        result = background_result(read())
        if result is not None or clock() >= deadline:
            return result
        sleep(poll)


# A room need not wait for the whole batch's read: that took (rooms read) / max_requests_per_second,
# and a room that waits holds its Ansible worker, so with more rooms than forks the rooms beyond
# forks could not start before the whole read was done (docs/performance.md, "Results, ninth pass").
# The read also writes what it has so far into a directory beside its file: the room list (ids and
# names, what matching a room needs) once listed, then a file per room as its devices are read.
PROGRESS_SUFFIX = ".rooms"
PROGRESS_INDEX = "index.json"


def progress_dir_of(results_file: str) -> str:
    return results_file + PROGRESS_SUFFIX


def room_file_name(room_id: str) -> str:
    """A file name for any room id (Zoom's ids are opaque strings: never a path)."""
    return hashlib.sha256(room_id.encode("utf-8")).hexdigest() + ".json"


class ReadProgress:
    """What a background read has so far, for the rooms that wait on it (wait_for_room)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def listed(self, rooms: Iterable[Mapping[str, Any]]) -> None:
        index = {room["id"]: {"room": {"id": room["id"], "name": room.get("name")}} for room in rooms}
        write_result_file(os.path.join(self.directory, PROGRESS_INDEX), {"rooms": index})

    def room_read(self, room_id: str, record: Mapping[str, Any], error: str | None) -> None:
        write_result_file(os.path.join(self.directory, room_file_name(room_id)), {"record": record, "error": error})


def room_so_far(read: Callable[[str], str | None], directory: str,
                room_id_in: Callable[[Dict[str, Any]], str | None]) -> Dict[str, Any] | None:
    """A read that answers for one room, from a background read's progress; None until it can.

    room_id_in(rooms) is the room's id among the listed rooms (None: the API has no such room, or
    several of its name): matched against the whole list, as against the finished read, and given
    the room's full record under that id.
    """
    listed = background_result(read(os.path.join(directory, PROGRESS_INDEX)))
    if listed is None:
        return None
    rooms = dict(listed.get("rooms") or {})
    room_id = room_id_in(rooms)
    if room_id is None:
        return {"rooms": rooms}
    own = background_result(read(os.path.join(directory, room_file_name(room_id))))
    if own is None:
        return None
    return {"rooms": {**rooms, room_id: own["record"]}, "errors": {room_id: own["error"]} if own.get("error") else {}}


def wait_for_room(read: Callable[[str], str | None], results_file: str,
                  room_id_in: Callable[[Dict[str, Any]], str | None], timeout: float, poll: float = 0.2,
                  sleep: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.monotonic) -> Dict[str, Any] | None:
    """One room's part of a background read: the finished read, or as soon as the room list and this
    room's devices are in, room_so_far(); None when neither came within timeout seconds."""
    directory = progress_dir_of(results_file)
    deadline = clock() + timeout
    while True:
        result = background_result(read(results_file))
        if result is None:
            result = room_so_far(read, directory, room_id_in)
        if result is not None or clock() >= deadline:
            return result
        sleep(poll)


def write_result_file(path: str, data: Mapping[str, Any]) -> None:
    """Replace the file at once (write aside, rename), readable by the owner only."""
    aside = f"{path}.tmp"
    with open(os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(aside, path)
