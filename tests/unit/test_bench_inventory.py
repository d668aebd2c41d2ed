"""bench/inventory_bench.py: the pure parts of the rate-limited measure (no ansible-inventory run)."""

from __future__ import annotations

import sys
from typing import Any, Dict

import pytest
import zoom_api_double as zd
from fixture_files import PROJECT

sys.path.insert(0, str(PROJECT / "bench"))
import inventory_bench as ib


class FakeDouble:
    base_url = "http://127.0.0.1:1/v2"
    token_url = "http://127.0.0.1:1/oauth/token"


def phase(seconds: float, requests: int = 0, throttled: int = 0, hosts: int = 930) -> Dict[str, Any]:
    return {"seconds": seconds, "cpu_seconds": round(seconds * 0.9, 3), "hosts": hosts, "requests": requests,
            "throttled": throttled}


def test_plans_are_zooms_medium_category_limits():
    assert ib.PLANS == {"pro": 20.0, "business": 60.0}
    assert ib.RATE_LIMITED_ROOMS == 1000 and ib.CACHED_TARGET_SECONDS == 2.0


def test_config_without_cache_paces_at_the_rate():
    lines = ib.config_lines(FakeDouble(), 4, 20.0)
    assert "max_requests_per_second: 20" in lines and "max_workers: 4" in lines
    assert lines[-1] == "cache: false" and f"client_id: {zd.LAB_CLIENT_ID}" in lines
    assert not any("client_secret" in line for line in lines)  # the secret comes from the environment


def test_config_with_cache_uses_a_jsonfile_cache_in_the_given_directory(tmp_path):
    lines = ib.config_lines(FakeDouble(), 4, 60.0, cache_dir=tmp_path / "cache")
    assert lines[-4:] == ["cache: true", "cache_plugin: ansible.builtin.jsonfile",
                          f"cache_connection: {tmp_path / 'cache'}", "cache_timeout: 3600"]
    cached = ib.write_config(tmp_path, FakeDouble(), 4, 60.0, cache_dir=tmp_path / "cache")
    plain = ib.write_config(tmp_path, FakeDouble(), 4)
    assert cached.name.endswith(".zoom_rooms.yml") and plain.name.endswith(".zoom_rooms.yml") and cached != plain
    assert "max_requests_per_second: 0" in plain.read_text() and "device_hostvars" not in cached.read_text()
    devices = ib.write_config(tmp_path, FakeDouble(), 4, 60.0, cache_dir=tmp_path / "cache", devices=True)
    assert devices == cached and "device_hostvars: true" in devices.read_text()  # same file: same cache key


def test_plan_result_keeps_every_phase():
    result = ib.plan_result(20.0, 1000, 4, phase(51.2, 1004, 2), phase(51.9, 1004, 3),
                            [phase(1.9), phase(1.7), phase(2.4)], [phase(1.1), phase(1.0)])
    assert result == {
        "limit_per_second": 20.0, "max_requests_per_second": 20.0, "rooms": 1000, "hosts": 930, "workers": 4,
        "uncached": 51.2, "cached_cold": 51.9, "cached_warm": 1.9, "cached_warm_runs": [1.9, 1.7, 2.4],
        "cached_warm_devices": 1.05, "cached_warm_devices_runs": [1.1, 1.0],
        "cpu_seconds": {"uncached": 46.08, "cached_cold": 46.71, "cached_warm": 1.71, "cached_warm_devices": 0.945},
        "requests": {"uncached": 1004, "cached_cold": 1004, "cached_warm": 0},
        "throttled": {"uncached": 2, "cached_cold": 3, "cached_warm": 0}}


def test_plan_result_refuses_runs_that_listed_different_hosts():
    with pytest.raises(SystemExit, match="different numbers of hosts"):
        ib.plan_result(20.0, 1000, 4, phase(51.2), phase(51.9), [phase(1.9)], [phase(1.0, hosts=12)])


def test_the_slowest_warm_run_decides_the_target():
    plans = {"pro": {"cached_warm": 1.4}, "business": {"cached_warm": 2.3}}
    assert ib.worst_cached_warm(plans) == 2.3
    assert ib.worst_cached_warm({}) is None
    assert ib.worst_cached_warm({"pro": {"skipped": "no"}}) is None


def test_format_rate_limited_shows_every_figure_and_the_verdict():
    plans = {name: ib.plan_result(limit, 1000, 4, phase(seconds, 1004, 1), phase(seconds, 1004, 0),
                                  [phase(1.5), phase(1.6), phase(1.4)], [phase(0.9)])
             for name, limit, seconds in (("pro", 20.0, 51.0), ("business", 60.0, 17.5))}
    table = ib.format_rate_limited(plans)
    assert "1000 rooms (930 hosts)" in table
    assert [line.split()[:7] for line in table.splitlines()[2:4]] == [
        ["pro", "20", "51.00", "51.00", "1.50", "0.90", "1.35"],
        ["business", "60", "17.50", "17.50", "1.50", "0.90", "1.35"]]
    assert "1004/1004/0" in table and "1/0/0" in table
    assert table.splitlines()[-1].startswith("target: warm cached run < 2 s: met (slowest 1.50 s)")
    plans["pro"]["cached_warm"] = 2.5
    assert "MISSED (slowest 2.50 s)" in ib.format_rate_limited(plans)


def test_api_counts_leave_out_the_token_endpoint():
    with zd.start_double(3, rate_limit_per_second=100) as double:
        double.state.requests_by_operation.update({"oauth_token": 1, "list_rooms": 1, "list_devices": 3})
        double.state.rate_limiter.throttled = 2
        assert ib.api_counts(double) == (4, 2)


def test_main_parses_the_rate_limited_options(monkeypatch, capsys):
    calls = []

    def fake(rooms: int, workers: int, plans: Any, warm_runs: int) -> Dict[str, Any]:
        calls.append((rooms, workers, list(plans), warm_runs))
        return {"pro": {"cached_warm": 1.0}}
    monkeypatch.setattr(ib, "rate_limited_bench", fake)
    assert ib.main(["--rate-limited", "--plans", "pro", "--runs", "2", "--json"]) == 0
    assert calls == [(1000, 4, ["pro"], 2)]
    assert capsys.readouterr().out.strip() == '{"pro": {"cached_warm": 1.0}}'
    with pytest.raises(SystemExit):
        ib.main(["--rate-limited", "--plans", "enterprise"])
