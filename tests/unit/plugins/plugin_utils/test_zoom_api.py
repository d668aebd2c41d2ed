"""The Zoom API client: pure helpers, then the client against the in-process API double on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Dict, List, Tuple

import pytest
import zoom_api_double as zd
from ansible_collections.zoomrooms.remediation.plugins.filter import zoom_room_evidence
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import is_loopback
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils import zoom_api
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_api import (
    ReadProgress,
    ZoomApiError,
    ZoomAuthError,
    ZoomClient,
    ZoomConfigError,
    ZoomDailyLimitError,
    ZoomNotFoundError,
    ZoomTimeoutError,
    api_configured,
    backoff_delay,
    classify_device,
    classify_devices,
    gather,
    is_daily_limit,
    parse_api_version,
    parse_retry_after,
    platform_of,
    room_file_name,
    room_platform,
    room_record,
    settings_from,
    usable_address,
    version_key,
)
from zoom_api_double import seeded_room_name

DOUBLE_EPOCH = 1_760_000_000.0  # 2025-10-09T08:53:20Z


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize("raw, expected", [
    pytest.param("5.9.1 (2581)", "5.9.1.2581", id="API form"),
    pytest.param("5.9.1.2581", "5.9.1.2581", id="Info.plist / DisplayVersion form"),
    pytest.param(" 6.2.0 ( 4512 ) ", "6.2.0.4512", id="stray spaces"),
    pytest.param("7.1.0.13088", "7.1.0.13088", id="five digit build"),
    pytest.param("6.2.0", "6.2.0.0", id="no build"),
    pytest.param("4.1.5 (4.1.33237.0924)", "4.1.5.33237", id="legacy dotted build"),
    pytest.param("5.9.1 (beta)", None, id="build not a number"),
    pytest.param("latest", None, id="not a version"),
    pytest.param("", None, id="empty"),
    pytest.param(None, None, id="missing"),
])
def test_parse_api_version(raw, expected):
    assert parse_api_version(raw) == expected


def test_both_version_forms_compare_equal():
    assert version_key("5.9.1 (2581)") == version_key("5.9.1.2581") == (5, 9, 1, 2581)
    assert version_key("6.10.0 (1)") > version_key("6.9.9.9999")
    assert version_key("garbage") is None


def test_classify_devices_by_device_type():
    devices = [{"device_type": t} for t in ("Zoom Rooms Computer", "Controller", "Scheduling Display",
                                            "Controller", "Zoom Rooms Control System", "Companion Whiteboard")]
    groups = classify_devices(devices)
    assert [len(groups[k]) for k in ("room_computers", "controllers", "others")] == [1, 2, 3]


# Zoom's Postman collection sample for "List Zoom Room devices": the older name of the controller type.
POSTMAN_CONTROLLER = {"id": "pad", "device_type": "Zoom Rooms Controller", "app_version": "4.3.6 (265.0307)",
                      "device_system": "iPad 12.3.1", "status": "Online"}


def test_the_older_controller_type_name_is_a_controller():
    """The Zoom Rooms OpenAPI enum says `Controller`; Zoom's older samples say `Zoom Rooms Controller`."""
    assert classify_device(POSTMAN_CONTROLLER) == classify_device({"device_type": "Controller"}) == "controller"
    record = room_record({"id": "r1"}, [{"id": "pc", "device_type": "Zoom Rooms Computer",
                                         "app_version": "4.3.6 (265.0307)", "device_system": "Mac OS X 10.14"},
                                        POSTMAN_CONTROLLER])
    assert [d["role"] for d in record["devices"]] == ["room_computer", "controller"]
    assert record["controller_versions"] == ["4.3.6.265"]


@pytest.mark.parametrize("device_system", [
    pytest.param("iPad 13.6.1", id="PSZoom Get-ZoomRoomDevices sample"),
    pytest.param("iPad 12.3.1", id="Zoom Postman sample"),
    pytest.param("iPhone 15.0", id="iphone"),
])
def test_ipad_and_iphone_device_systems_are_ios(device_system):
    assert (platform_of(device_system), room_platform(device_system)) == ("ios", "appliance")


def test_a_controller_without_a_readable_version_is_left_out_of_controller_versions():
    """app_version is optional (Zoom Rooms OpenAPI); a real offline room's controller had none. The device
    stays in the record (its raw version too); only the comparison list leaves it out."""
    devices = [{"id": "pc", "device_type": "Zoom Rooms Computer", "app_version": "6.2.0 (4512)"},
               {"id": "c1", "device_type": "Controller", "status": "Online", "device_firmware": "2.0.86"},
               {"id": "c2", "device_type": "Controller", "app_version": "beta"},
               {"id": "c3", "device_type": "Controller", "app_version": "6.1.5 (4410)"}]
    record = room_record({"id": "r1"}, devices)
    assert record["controller_versions"] == ["6.1.5.4410"]
    assert [(d["id"], d["app_version"], d["app_version_raw"]) for d in record["devices"] if d["role"] == "controller"
            ] == [("c1", None, None), ("c2", None, "beta"), ("c3", "6.1.5.4410", "6.1.5 (4410)")]


@pytest.mark.parametrize("device_system, family, room", [
    pytest.param("Win10 Build 19043.1266", "windows", "windows", id="windows"),
    pytest.param("macOS 14.4.1", "macos", "macos", id="macos"),
    pytest.param("Mac OS X 10.15.7", "macos", "macos", id="old mac wording"),
    pytest.param("Linux (Zoom Rooms lab simulator)", "linux", "linux", id="lab linux room"),
    pytest.param("Android 10 (Poly Studio X50)", "android", "appliance", id="android appliance"),
    pytest.param("iPadOS 17.4", "ios", "appliance", id="ipad"),
    pytest.param("NeatOS 2.1", "other", "appliance", id="unknown vendor os"),
    pytest.param("", "unknown", "unknown", id="nothing reported"),
])
def test_platforms(device_system, family, room):
    assert (platform_of(device_system), room_platform(device_system)) == (family, room)


@pytest.mark.parametrize("ip, usable", [
    pytest.param("10.89.90.11", True, id="private ipv4"),
    pytest.param(" 10.89.90.11 ", True, id="padded"),
    pytest.param("2001:db8::5", True, id="ipv6"),
    pytest.param("127.0.0.1", False, id="loopback (proxy tell-tale)"),
    pytest.param("127.1.2.3", False, id="any of 127/8"),
    pytest.param("::1", False, id="ipv6 loopback"),
    pytest.param("0.0.0.0", False, id="unspecified"),
    pytest.param("", False, id="empty"),
    pytest.param(None, False, id="missing"),
    pytest.param("10.0.0.300", False, id="unparsable"),
    pytest.param("room-01.example", False, id="a name, not an address"),
])
def test_usable_address(ip, usable):
    assert usable_address(ip) is usable


@pytest.mark.parametrize("attempt, expected", [(1, 0.5), (2, 1.0), (3, 2.0), (10, 30.0)])
def test_backoff_grows_and_is_capped(attempt, expected):
    assert backoff_delay(attempt, base=0.5, cap=30.0, rand=lambda: 1.0) == expected
    assert backoff_delay(attempt, base=0.5, cap=30.0, rand=lambda: 0.0) == 0.0


NOW = datetime(2026, 2, 7, 12, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("value, seconds, when", [
    pytest.param("3", 3.0, "2026-02-07T12:00:03", id="seconds"),
    pytest.param("2026-02-08T00:00:00Z", 43200.0, "2026-02-08T00:00:00", id="ISO timestamp (daily limit)"),
    pytest.param("Sun, 08 Feb 2026 00:00:00 GMT", 43200.0, "2026-02-08T00:00:00", id="HTTP date"),
    pytest.param("soon", None, None, id="garbage"),
    pytest.param(None, None, None, id="absent"),
])
def test_parse_retry_after(value, seconds, when):
    got_seconds, got_when = parse_retry_after(value, NOW)
    assert got_seconds == seconds
    assert (got_when.strftime("%Y-%m-%dT%H:%M:%S") if got_when else None) == when


@pytest.mark.parametrize("headers, body, daily", [
    pytest.param({"x-ratelimit-type": "QPS"}, {}, False, id="per second"),
    pytest.param({}, {"message": "You have reached the maximum per-second rate limit"}, False, id="bare 429"),
    pytest.param({"x-ratelimit-type": "Daily-limit"}, {}, True, id="daily type header"),
    pytest.param({"x-ratelimit-type": "QPD"}, {}, True, id="QPD"),
    pytest.param({"retry-after": "2026-02-08T00:00:00Z"}, {}, True, id="absolute Retry-After"),
    pytest.param({"retry-after": "1"}, {}, False, id="Retry-After in seconds"),
    pytest.param({}, {"message": "You have exceeded the daily rate limit (100)"}, True, id="daily message only"),
])
def test_is_daily_limit(headers, body, daily):
    assert is_daily_limit(headers, body) is daily


# --------------------------------------------------------------------------- settings

CREDENTIALS = {"account_id": zd.LAB_ACCOUNT_ID, "client_id": zd.LAB_CLIENT_ID, "client_secret": zd.LAB_CLIENT_SECRET}
ENVIRON = {"ZOOM_ACCOUNT_ID": "env-account", "ZOOM_CLIENT_ID": "env-client", "ZOOM_CLIENT_SECRET": "env-secret",
           "ZOOM_API_BASE_URL": "https://api.zoom.example/v2", "ZOOM_OAUTH_TOKEN_URL": "https://zoom.example/token"}


def test_settings_come_from_env_and_explicit_options_win():
    from_env = settings_from({}, ENVIRON)
    assert (from_env.account_id, from_env.client_secret, from_env.base_url, from_env.token_url) == (
        "env-account", "env-secret", "https://api.zoom.example/v2", "https://zoom.example/token")
    explicit = settings_from({"client_id": "mine", "base_url": None, "timeout": "7"}, ENVIRON)
    assert (explicit.client_id, explicit.base_url, explicit.timeout) == ("mine", "https://api.zoom.example/v2", 7.0)
    defaults = settings_from(CREDENTIALS, {})
    assert (defaults.base_url, defaults.token_url) == ("https://api.zoom.us/v2", "https://zoom.us/oauth/token")
    assert settings_from({**CREDENTIALS, "base_url": "https://api.zoom.us/v2/"}, {}).base_url == "https://api.zoom.us/v2"
    assert "env-secret" not in repr(from_env) and "client_secret" not in repr(from_env)


@pytest.mark.parametrize("options, message", [
    pytest.param({"client_secret": None}, "client_secret (or ZOOM_CLIENT_SECRET)", id="missing secret"),
    pytest.param({"base_url": "http://api.zoom.us/v2"}, "plain http", id="plain http to a real host"),
    pytest.param({"token_url": "ftp://zoom.us/token"}, "not an http(s) URL", id="wrong scheme"),
    pytest.param({"base_url": "https://user:pw@api.zoom.us/v2"}, "credentials do not belong", id="userinfo"),
    pytest.param({"timeout": 0}, "timeout", id="zero timeout"),
    pytest.param({"max_attempts": "many"}, "max_attempts", id="not a number"),
    pytest.param({"verify": False}, "unknown Zoom API setting", id="unknown option"),
    pytest.param({"ca_bundle": "/no/such/ca.pem"}, "ca_bundle", id="missing CA bundle"),
])
def test_settings_refuse_bad_values(options, message):
    with pytest.raises(ZoomConfigError) as error:
        settings_from({**CREDENTIALS, **options}, {})
    assert message in str(error.value)
    assert zd.LAB_CLIENT_SECRET not in str(error.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/v2", "http://localhost/v2", "http://[::1]:9/v2",
                                 "https://api.zoom.us/v2", "https://api-eu.zoom.example/v2"])
def test_loopback_http_and_any_https_are_allowed(url):
    assert settings_from({**CREDENTIALS, "base_url": url}, {}).base_url == url


@pytest.mark.parametrize("options, environ, configured", [
    ({}, {}, False),
    ({"account_id": "", "client_id": None, "client_secret": ""}, {"ZOOM_ACCOUNT_ID": ""}, False),
    ({"base_url": "https://api.zoom.example/v2", "token_url": "https://zoom.example/token", "ca_bundle": "/ca"},
     {"ZOOM_API_BASE_URL": "https://api.zoom.example/v2"}, False),
    ({"account_id": "acct"}, {}, True),
    ({"client_secret": "s"}, {}, True),
    ({}, {"ZOOM_CLIENT_ID": "c"}, True),
    ({"account_id": ""}, {"ZOOM_CLIENT_SECRET": "s"}, True),
], ids=["nothing", "blank values", "addresses and a CA are not credentials", "an account id option",
        "a secret option", "a client id in the environment", "a blank option, a secret in the environment"])
def test_api_configured_means_a_credential_is_given(options, environ, configured):
    assert api_configured(options, environ) is configured


def test_configured_is_not_complete():
    assert api_configured({"account_id": "acct"}, {})
    with pytest.raises(ZoomConfigError, match=r"credentials missing: client_id \(or ZOOM_CLIENT_ID\), client_secret"):
        settings_from({"account_id": "acct"}, {})


def test_every_loopback_question_is_the_one_rule():
    """The API client's URL check, the inventory's ansible_host and the evidence pack ask zoom_room_net."""
    assert zoom_api.is_loopback is is_loopback and zoom_room_evidence.is_loopback is is_loopback
    assert settings_from({**CREDENTIALS, "base_url": "http://127.0.0.2:8080/v2"}, {}).base_url  # all of 127/8
    assert not usable_address("127.0.0.2")


# --------------------------------------------------------------------------- client against the double


@dataclass
class Harness:
    client: ZoomClient
    clock: zd.ManualClock
    logs: List[Tuple[int, str]] = field(default_factory=list)

    @property
    def sleeps(self) -> List[float]:
        return self.clock.slept


@pytest.fixture
def double():
    running = zd.start_double(45, config=zd.DoubleConfig(record=True, token_lifetime=3600, upgrade_delay=3600),
                              clock=zd.ManualClock(DOUBLE_EPOCH))
    yield running
    running.stop()


def harness(double, **options: Any) -> Harness:
    """A client whose backoff does not wait: sleeping moves its own clock (and so the token cache) on."""
    clock = zd.ManualClock(1000.0)
    logs: List[Tuple[int, str]] = []
    settings = settings_from({**CREDENTIALS, "base_url": double.base_url, "token_url": double.token_url,
                              "timeout": 5, "max_attempts": 4, **options}, {})
    client = ZoomClient(settings, logger=lambda message, level: logs.append((level, message)), sleep=clock.sleep,
                        clock=clock, rand=lambda: 1.0)
    return Harness(client, clock, logs)


def requests_to(double, path: str) -> int:
    return sum(1 for ex in double.state.exchanges if ex["path"] == path)


@pytest.mark.parametrize("page_size, pages", [(10, 5), (45, 1), (44, 2), (1000, 1)])
def test_list_rooms_walks_every_page(double, page_size, pages):
    rooms = list(harness(double).client.list_rooms(page_size=page_size))
    assert [r["id"] for r in rooms] == list(double.state.rooms)
    assert requests_to(double, "/v2/rooms") == pages
    assert {ex["query"]["page_size"][0] for ex in double.state.exchanges} == {str(min(page_size, 300))}


def test_list_rooms_passes_filters_and_refuses_unknown_ones(double):
    client = harness(double).client
    offline = list(client.list_rooms(status="Offline", query_name=None))
    assert offline and all(r["status"] == "Offline" for r in offline)
    assert double.state.exchanges[-1]["query"] == {"status": ["Offline"], "page_size": ["300"]}
    with pytest.raises(ValueError, match="statuss"):
        list(client.list_rooms(statuss="Offline"))


@pytest.mark.parametrize("advance, tokens", [
    pytest.param(0, 1, id="fresh token reused"),
    pytest.param(3500, 1, id="still inside the lifetime minus margin"),
    pytest.param(3545, 2, id="inside the margin: fetched again"),
])
def test_token_is_cached_until_shortly_before_expiry(double, advance, tokens):
    h = harness(double)
    h.client.list_devices(next(iter(double.state.rooms)))
    h.clock.now += advance
    h.client.list_devices(next(iter(double.state.rooms)))
    assert double.state.tokens_issued == tokens


def test_a_401_fetches_a_new_token_once(double):
    h = harness(double)
    room_id = next(iter(double.state.rooms))
    h.client.get_room(room_id)
    double.state.revoke_tokens()  # Zoom-side expiry the client could not foresee
    assert h.client.get_room(room_id)["basic"]["name"]
    assert double.state.tokens_issued == 2
    assert [ex["status"] for ex in double.state.exchanges] == [200, 401, 200]


def test_a_token_zoom_keeps_refusing_is_an_auth_error(double):
    double.state.config.token_lifetime = 0  # every token is born expired
    with pytest.raises(ZoomAuthError, match="scopes"):
        harness(double).client.list_devices(next(iter(double.state.rooms)))
    assert double.state.tokens_issued == 2


def test_wrong_credentials_say_what_to_check_without_the_secret(double):
    h = harness(double, client_secret="wrong-secret-value")
    with pytest.raises(ZoomAuthError) as error:
        list(h.client.list_rooms())
    assert "ZOOM_CLIENT_SECRET" in str(error.value) and "invalid" in str(error.value).lower()
    assert "wrong-secret-value" not in str(error.value) + repr(error.value)


@pytest.mark.parametrize("status", [400, 403])
def test_a_token_without_a_scope_is_an_auth_error_that_stops_the_batch(double, status):
    """Zoom answers a token that lacks a scope with code 4711, "Invalid access token, does not contain
    scopes:[...]" (HTTP 400: github.com/zoom/zoomapps-sample-js/issues/25). That is the app's setup, not
    one room's problem: every room would lack its API data, so the read stops and names the scopes."""
    h = harness(double)
    ids = list(double.state.rooms)[:3]
    h.client.get_room(ids[0])  # token first: faults apply to /v2 calls
    double.state.add_fault({"kind": "missing_scope", "count": 3, "status": status})
    with pytest.raises(ZoomAuthError) as error:
        h.client.devices_by_room(ids, max_workers=1)
    assert (error.value.status, error.value.code) == (status, 4711)
    assert "does not contain scopes:[zoom_rooms:read:list_devices:admin]" in str(error.value)
    assert "check the app's scopes: room:read:admin, room:write:admin" in str(error.value)
    assert h.sleeps == [] and double.state.tokens_issued == 1  # neither retried nor a new token: same scopes


@pytest.mark.parametrize("kind, count, outcome, sleeps", [
    pytest.param("per_second_429", 2, "ok", [0.5, 1.0], id="per-second 429 retried"),
    pytest.param("server_error", 3, "ok", [0.5, 1.0, 2.0], id="5xx retried then success"),
    pytest.param("server_error", 4, ZoomApiError, [0.5, 1.0, 2.0], id="5xx until give-up"),
    pytest.param("per_second_429", 4, zoom_api.ZoomRateLimitError, [0.5, 1.0, 2.0], id="429 until give-up"),
])
def test_retries_with_backoff(double, kind, count, outcome, sleeps):
    h = harness(double)
    room_id = next(iter(double.state.rooms))
    h.client.get_room(room_id)  # token first: faults apply to /v2 calls
    double.state.add_fault({"kind": kind, "count": count})
    if outcome == "ok":
        assert h.client.list_devices(room_id)
    else:
        with pytest.raises(outcome, match="HTTP"):
            h.client.list_devices(room_id)
    assert h.sleeps == sleeps
    assert any(level == 2 and "retry" in message for level, message in h.logs)


def test_daily_limit_stops_at_once_and_names_the_retry_time(double):
    h = harness(double)
    double.state.add_fault({"kind": "daily_429", "count": 3})
    with pytest.raises(ZoomDailyLimitError) as error:
        list(h.client.list_rooms())
    assert error.value.retry_at == datetime(2025, 10, 10, tzinfo=UTC)
    assert "do not retry before 2025-10-10T00:00:00Z" in str(error.value)
    assert h.sleeps == [] and len(double.state.faults) == 2  # one request, no retries


def test_slow_answers_time_out_and_reads_are_retried(double):
    h = harness(double, timeout=0.2, max_attempts=2)
    room_id = next(iter(double.state.rooms))
    h.client.get_room(room_id)
    double.state.add_fault({"kind": "slow", "delay": 0.5, "count": 1})
    assert h.client.list_devices(room_id)  # the second attempt is fast
    double.state.add_fault({"kind": "slow", "delay": 0.5, "count": 2})
    with pytest.raises(ZoomTimeoutError, match=r"no answer within 0\.2s"):
        h.client.list_devices(room_id)


def test_slow_change_is_not_repeated(double):
    """A timed-out restart may have happened: asking twice is the caller's decision."""
    h = harness(double, timeout=0.2)
    room_id = next(r["id"] for r in double.state.rooms.values() if r["status"] == "Available" and r["devices"])
    h.client.get_room(room_id)
    double.state.add_fault({"kind": "slow", "delay": 0.4, "count": 1})
    with pytest.raises(ZoomTimeoutError):
        h.client.restart_room(room_id)
    assert h.sleeps == []


def test_idle_connection_closed_by_the_server_is_reopened(double, monkeypatch):
    monkeypatch.setattr(zd.ZoomApiHandler, "timeout", 0.1)
    h = harness(double)
    room_id = next(iter(double.state.rooms))
    h.client.get_room(room_id)
    import time

    time.sleep(0.3)  # the double drops the kept-alive connection
    assert h.client.get_room(room_id)["basic"]
    assert h.sleeps == []


def upgradable_room(double) -> Dict[str, Any]:
    def fits(room: Dict[str, Any]) -> bool:
        computer = room["devices"][0] if room["devices"] else {}
        return room["status"] == "Available" and bool(computer.get("_previous_version")) \
            and zd.platform_of(computer["device_system"]) in ("windows", "macos") \
            and computer["app_version"] != zd.DEFAULT_LATEST_VERSION

    return next(r for r in double.state.rooms.values() if fits(r))


@pytest.mark.parametrize("steps, expected", [
    pytest.param([("computer", "upgrade")], [("requested", None)], id="upgrade accepted"),
    pytest.param([("computer", "upgrade")] * 2, [("requested", None), ("already_current_or_updating", 8001)],
                 id="second upgrade while updating"),
    pytest.param([("computer", "cancel")], [("nothing_to_cancel", 8003)], id="cancel with nothing pending"),
    pytest.param([("computer", "upgrade"), ("computer", "cancel")], [("requested", None), ("requested", None)],
                 id="cancel a pending upgrade"),
    pytest.param([("computer", "downgrade"), ("computer", "downgrade")],
                 [("requested", None), ("no_downgrade_target", 8002)], id="downgrade already initiated"),
    pytest.param([("other room", "upgrade")], [("device_not_in_room", 8004)], id="device of another room"),
    pytest.param([("controller", "upgrade")], [("rejected", 300)], id="controller refused"),
])
def test_set_app_version_outcomes(double, steps, expected):
    client = harness(double).client
    room = upgradable_room(double)
    other = next(r for r in double.state.rooms.values() if r["devices"] and r is not room)
    devices = {"computer": room["devices"][0]["id"], "controller": room["devices"][1]["id"],
               "other room": other["devices"][0]["id"]}
    results = [client.set_app_version(room["id"], devices[which], action) for which, action in steps]
    assert [(r["outcome"], r["code"]) for r in results] == expected
    assert all(r["ok"] == (r["outcome"] == "requested") for r in results)


@pytest.mark.parametrize("first, action, expected", [
    pytest.param(None, "upgrade", ("already_current_or_updating", 8001), id="upgrade: 8001 says updating"),
    pytest.param(None, "downgrade", ("possibly_requested", 8002), id="downgrade: 8002 once initiated"),
    pytest.param("upgrade", "cancel", ("possibly_requested", 8003), id="cancel: 8003 once cancelled"),
])
def test_a_change_zoom_carried_out_before_a_5xx_is_not_reported_as_refused(double, first, action, expected):
    """Zoom acts on the PUT but the answer is a 5xx, so the client retries. Zoom Rooms OpenAPI: the retry of a
    downgrade answers 8002 ("... or the downgrade process has already been initiated") and of a cancel 8003
    ("not being downgraded or upgraded at the moment"): the first attempt may have been accepted."""
    h = harness(double)
    room = upgradable_room(double)
    computer = room["devices"][0]
    if first:
        h.client.set_app_version(room["id"], computer["id"], first)
    double.state.add_fault({"kind": "server_error_after_handling"})
    answer = h.client.set_app_version(room["id"], computer["id"], action)
    assert (answer["outcome"], answer["code"], answer["ok"]) == (*expected, False)  # the action judges ok
    assert h.sleeps == [0.5], "one retry, after the 5xx"
    assert (computer["_pending"] or {}).get("action") == (None if action == "cancel" else action), \
        "Zoom did carry out the first attempt"


def test_a_refusal_without_an_earlier_5xx_stays_a_refusal(double):
    h = harness(double)
    room = upgradable_room(double)
    computer = room["devices"][0]
    double.state.add_fault({"kind": "server_error"})  # refused before Zoom acted: the retry is the only request
    assert h.client.set_app_version(room["id"], computer["id"], "upgrade")["outcome"] == "requested"
    assert h.client.set_app_version(room["id"], computer["id"], "downgrade")["outcome"] == "no_downgrade_target"


def test_set_app_version_refuses_unknown_actions(double):
    with pytest.raises(ValueError, match="update"):
        harness(double).client.set_app_version("room", "device", "update")


@pytest.mark.parametrize("which, outcome", [("Available", "restart_requested"), ("Offline", "offline")])
def test_restart_room(double, which, outcome):
    room = next(r for r in double.state.rooms.values() if r["status"] == which and r["devices"])
    assert harness(double).client.restart_room(room["id"])["outcome"] == outcome
    assert room["_restart_requests"] == (1 if which == "Available" else 0)


def test_unknown_room_is_not_found(double):
    client = harness(double).client
    with pytest.raises(ZoomNotFoundError, match="1012"):
        client.get_room("no-such-room")
    with pytest.raises(ZoomNotFoundError):
        client.restart_room("no-such-room")


def test_regenerate_activation_code(double):
    room = next(iter(double.state.rooms.values()))
    old = room["activation_code"]
    profile = harness(double).client.get_room(room["id"], regenerate_activation_code=True)
    assert profile["basic"]["activation_code"] == room["activation_code"] != old
    assert double.state.exchanges[-1]["query"] == {"regenerate_activation_code": ["true"]}


def test_devices_by_room_keeps_going_past_one_bad_room(double):
    client = harness(double).client
    ids = [*list(double.state.rooms)[:5], "no-such-room"]
    devices, errors = client.devices_by_room(ids, max_workers=3)
    assert list(devices) == ids and devices["no-such-room"] == []
    assert list(errors) == ["no-such-room"] and "1012" in errors["no-such-room"]
    assert [len(devices[i]) for i in ids[:5]] == [len(double.state.rooms[i]["devices"]) for i in ids[:5]]


def test_devices_by_room_tells_of_each_room_as_it_is_read(double):
    client = harness(double).client
    ids = [*list(double.state.rooms)[:4], "no-such-room"]
    heard = []
    devices, errors = client.devices_by_room([*ids, ids[0]], max_workers=2,
                                             on_read=lambda *room: heard.append(room))
    assert list(devices) == ids, "each room once, in the order asked"
    assert sorted(heard) == sorted((room_id, devices[room_id], errors.get(room_id)) for room_id in ids)


def test_gather_writes_its_progress_for_the_waiting_rooms(double, tmp_path):
    records, _missing, _errors = gather(harness(double).client, None, 2, ReadProgress(str(tmp_path)))
    index = json.loads((tmp_path / "index.json").read_text())["rooms"]
    assert index == {room_id: {"room": {"id": room_id, "name": record["room"]["name"]}}
                     for room_id, record in records.items()}
    for room_id, record in records.items():
        assert json.loads((tmp_path / room_file_name(room_id)).read_text()) == {"record": record, "error": None}
    assert {oct(path.stat().st_mode & 0o777) for path in tmp_path.iterdir()} == {"0o600"}


def test_gather_by_name_lists_the_account_and_reads_only_the_named_rooms(double):
    """A run limited to a few rooms of the account reads the devices of those rooms, not of the account;
    every room of a name is read, so a name two rooms share stays visible as such."""
    rooms = list(double.state.rooms.values())
    twin = seeded_room_name(38)  # rooms 38 and 39 (0-based) share it
    by_id, by_name = rooms[0]["id"], [rooms[5]["name"], twin]
    records, missing, _errors = gather(harness(double).client, [by_id, "gone"], 2, room_names=by_name)
    expected = {by_id} | {room["id"] for room in rooms if room["name"] in by_name}
    assert set(records) == expected and len(expected) == 4 and missing == ["gone"]
    device_paths = {ex["path"] for ex in double.state.exchanges if ex["path"].endswith("/devices")}
    assert device_paths == {f"/v2/rooms/{room_id}/devices" for room_id in expected}
    assert all(records[room_id]["devices"] for room_id in expected)


def test_gather_without_ids_or_names_reads_the_whole_account(double):
    records, _missing, _errors = gather(harness(double).client, None, 4)
    assert set(records) == set(double.state.rooms)
    assert len(gather(harness(double).client, [], 4, room_names=[])[0]) == 0


def test_devices_by_room_stops_on_a_fatal_error(double):
    client = harness(double).client
    double.state.add_fault({"kind": "daily_429", "count": 100})
    with pytest.raises(ZoomDailyLimitError):
        client.devices_by_room(list(double.state.rooms), max_workers=2)


def test_pacing_spaces_requests(double):
    h = harness(double, max_requests_per_second=5)
    start = h.clock.now
    for room_id in list(double.state.rooms)[:4]:
        h.client.list_devices(room_id)
    # token + 4 calls = 5 request starts, 0.2 s apart
    assert h.clock.now - start == pytest.approx(0.8)


def most_in_one_second(starts: List[float]) -> int:
    """The largest number of starts in any window (t - 1 s, t]."""
    return max(sum(1 for other in starts if start - 1.0 < other <= start) for start in starts)


def test_pacing_counts_a_start_when_it_happens_so_a_late_thread_cannot_bunch(double):
    """Worker threads share the pacing. One that wakes late must not then start right beside the
    next one: at 2/s no second may hold 3 starts (Zoom would answer the third 429)."""
    h = harness(double, max_requests_per_second=2)
    client, clock = h.client, h.clock
    starts: List[float] = []

    def start() -> None:  # what _with_retries does before each request
        client._pace()
        starts.append(clock.now)

    def wakes_late(seconds: float) -> None:  # another thread starts meanwhile; this one wakes 0.5 s late
        asleep_at = clock.now
        client._sleep = clock.sleep
        start()
        clock.now = max(clock.now, asleep_at + seconds + 0.5)

    start()
    client._sleep = wakes_late
    start()
    start()
    assert len(starts) == 4
    assert most_in_one_second(starts) == 2
    assert all(later - earlier >= 0.5 for earlier, later in itertools.pairwise(starts))  # still evenly spaced


# --------------------------------------------------------------------------- secrets and the OpenAPI document


def full_workout(double, h: Harness) -> List[BaseException]:
    """Every client method, retries, a token refetch and errors; returns the exceptions raised."""
    errors: List[BaseException] = []
    client = h.client
    room = upgradable_room(double)
    list(client.list_rooms(page_size=20, status="Available", location_id=room["location_id"] or None))
    client.get_room(room["id"], regenerate_activation_code=True)
    client.list_devices(room["id"])
    client.set_app_version(room["id"], room["devices"][0]["id"], "upgrade")
    client.set_app_version(room["id"], room["devices"][0]["id"], "cancel")
    client.restart_room(room["id"])
    double.state.add_fault({"kind": "per_second_429", "count": 1})
    double.state.add_fault({"kind": "server_error", "count": 1})
    client.list_devices(room["id"])
    double.state.revoke_tokens()
    client.list_devices(room["id"])
    for call in (lambda: client.get_room("no-such-room"),
                 lambda: (double.state.add_fault({"kind": "daily_429"}), client.list_devices(room["id"]))):
        try:
            call()
        except ZoomApiError as exc:
            errors.append(exc)
    return errors


def test_no_secret_or_token_in_any_log_line_error_or_repr(double):
    h = harness(double)
    errors = full_workout(double, h)
    bad = harness(double, client_secret="another-secret-value")
    try:
        bad.client.get_room("x")
    except ZoomAuthError as exc:
        errors.append(exc)
    secrets = [zd.LAB_CLIENT_SECRET, "another-secret-value", *double.state.issued_tokens]
    assert len(double.state.issued_tokens) >= 2 and len(errors) == 3
    assert {level for level, _unused in h.logs} >= {2, 3, 4}, "every verbosity level is exercised"
    texts = [message for _unused, message in h.logs + bad.logs] + [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [repr(h.client), repr(h.client.settings), repr(bad.client.settings)]
    assert [t for t in texts for s in secrets if s in t] == []


def test_client_requests_and_double_answers_match_the_openapi_document(double):
    openapi = zd.OpenApiCheck()
    full_workout(double, harness(double))
    methods = {(ex["method"], ex["status"]) for ex in double.state.exchanges}
    assert {("GET", 200), ("PUT", 204), ("PATCH", 202), ("GET", 429), ("GET", 500), ("GET", 401)} <= methods
    problems = [p for ex in double.state.exchanges for p in openapi.request_errors(ex) + openapi.response_errors(ex)]
    assert problems == []
