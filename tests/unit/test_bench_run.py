"""bench/run.py: the inventory parts (the rate-limited measure's wiring, its target, its report lines).

Nothing here starts a lab or ansible-inventory: inventory_bench's measures are replaced by stand-ins.
"""

from __future__ import annotations

import sys
from typing import Any, Dict

import pytest
from fixture_files import PROJECT

sys.path.insert(0, str(PROJECT / "bench"))
import inventory_bench
import run as bench_run


def plan(limit: float, warm: float) -> Dict[str, Any]:
    return {"limit_per_second": limit, "rooms": 1000, "hosts": 932, "uncached": 52.6, "cached_cold": 53.1,
            "cached_warm": warm, "cached_warm_lean": 1.0, "requests": {"uncached": 1004, "cached_cold": 1004,
                                                                       "cached_warm": 0},
            "throttled": {"uncached": 5, "cached_cold": 7, "cached_warm": 0},
            "cpu_seconds": {"uncached": 6.1, "cached_cold": 6.3, "cached_warm": 1.6, "cached_warm_lean": 0.95}}


def test_the_cached_inventory_target_is_two_seconds():
    assert bench_run.TARGETS["inventory_cached_seconds"] == 2.0
    assert bench_run.INVENTORY_RATE_ROOMS == inventory_bench.RATE_LIMITED_ROOMS == 1000


@pytest.mark.parametrize("warm, met", [(1.7, True), (2.0, False), (3.6, False)])
def test_the_slowest_plans_warm_run_decides(warm, met):
    inventory = {"median_seconds": 3.3, "rate_limited": {"pro": plan(20, warm), "business": plan(60, 1.2)}}
    assert bench_run.evaluate_inventory_target(inventory) == {"inventory_cached_seconds": {
        "limit": 2.0, "measured": warm, "met": met, "at": "warm cache, 1000 rooms, slowest plan (pro)"}}


@pytest.mark.parametrize("inventory", [
    {}, {"skipped": "--skip-inventory"}, {"median_seconds": 3.3},
    {"median_seconds": 3.3, "rate_limited": {"skipped": "--inventory-rate-rooms 0"}},
])
def test_no_target_without_the_rate_limited_measure(inventory):
    assert bench_run.evaluate_inventory_target(inventory) == {}


def test_inventory_summary_lines():
    inventory = {"rooms": 2000, "median_seconds": 3.31, "rate_limited": {"pro": plan(20, 1.7)}}
    assert bench_run.inventory_summary(inventory) == [
        "(f) ansible-inventory --list, 2000 rooms (API double): 3.31 s",
        "    pro (20/s), 1000 rooms: uncached 52.60 s, cold cache 53.10 s, warm cache 1.70 s "
        "(device_hostvars false 1.00 s); requests 1004, 429s 5 uncached / 7 cold"]
    assert bench_run.inventory_summary({"skipped": "--skip-inventory"}) == ["(f) skipped: --skip-inventory"]
    assert bench_run.inventory_summary({}) == []
    skipped = {"rooms": 2000, "median_seconds": 3.31, "rate_limited": {"skipped": "--inventory-rate-rooms 0"}}
    assert bench_run.inventory_summary(skipped)[-1] == "    rate limited: skipped: --inventory-rate-rooms 0"


def test_inventory_rate_rooms_option():
    assert bench_run.parse_args([]).inventory_rate_rooms == 1000
    assert bench_run.parse_args(["--inventory-rate-rooms", "0"]).inventory_rate_rooms == 0
    with pytest.raises(SystemExit):
        bench_run.parse_args(["--inventory-rate-rooms", "-1"])


@pytest.fixture
def measures(monkeypatch):
    """inventory_bench's two measures replaced; records how they were called."""
    calls: Dict[str, Any] = {}

    def fake_bench(rooms: int, runs: int, workers: int) -> Dict[str, Any]:
        calls["bench"] = (rooms, runs, workers)
        return {"rooms": rooms, "median_seconds": 3.3, "runs": [3.3] * runs}

    def fake_rate_limited(rooms: int, workers: int, warm_runs: int) -> Dict[str, Any]:
        calls["rate_limited"] = (rooms, workers, warm_runs)
        return {"pro": dict(plan(20, 1.7), rooms=rooms, workers=workers, max_requests_per_second=20,
                            cached_warm_runs=[1.7], cached_warm_lean_runs=[1.0])}

    monkeypatch.setattr(inventory_bench, "bench", fake_bench)
    monkeypatch.setattr(inventory_bench, "rate_limited_bench", fake_rate_limited)
    return calls


def test_bench_inventory_adds_the_rate_limited_measure(measures):
    result = bench_run.bench_inventory(3, 500)
    assert measures == {"bench": (2000, 3, 4), "rate_limited": (500, 4, 3)}
    assert result["median_seconds"] == 3.3 and set(result["rate_limited"]) == {"pro"}
    assert {"uncached", "cached_cold", "cached_warm", "requests", "throttled"} <= set(result["rate_limited"]["pro"])


def test_bench_inventory_can_skip_the_rate_limited_measure(measures):
    result = bench_run.bench_inventory(1, 0)
    assert "rate_limited" not in measures
    assert result["rate_limited"] == {"skipped": "--inventory-rate-rooms 0"}


def test_a_failed_rate_limited_run_fails_the_bench(monkeypatch, measures):
    def gives_up(*_args: Any, **_kwargs: Any) -> Dict[str, Any]:
        raise SystemExit("ansible-inventory failed:\nstill rate limited after 5 attempts")
    monkeypatch.setattr(inventory_bench, "rate_limited_bench", gives_up)
    with pytest.raises(bench_run.BenchError, match="still rate limited"):
        bench_run.bench_inventory(1, 1000)
