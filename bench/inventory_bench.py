#!/usr/bin/env python3
"""Time `ansible-inventory --list` with the zoom_rooms plugin against the Zoom API double.

Starts the double in this process on 127.0.0.1 with N seeded rooms (default 2000), writes a
throw-away plugin config (no cache, no client-side pacing: this measures the plugin and the
per-room device calls, not Zoom's rate limit), runs ansible-inventory three times and prints the
median in seconds. This is (f) of bench/run.py.

With --rate-limited it measures instead what a real account sees (default 1000 rooms): for each
plan, the double enforces the plan's limit for the Rooms endpoints (rate-limit category Medium:
Pro 20 requests/s, Business and up 60/s; 429 `X-RateLimit-Type: QPS` beyond it) and the plugin is
configured with max_requests_per_second equal to that limit. It times (i) a run without the cache,
(ii) a cold run with `cache: true` (jsonfile cache in a temporary directory) that fills the cache,
(iii) warm cached runs (median of --runs) with the defaults and the same with `device_hostvars: true`
(every room's zoom_room_devices host variable), and counts the /v2 requests the double answered and the 429s it
served (each one the plugin retried: a run that gave up fails the bench).

    .venv/bin/python bench/inventory_bench.py [--rooms 2000] [--runs 3] [--workers 4] [--json]
    .venv/bin/python bench/inventory_bench.py --rate-limited [--rooms 1000] [--plans pro business] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "tests" / "lab"))

import zoom_api_double as zd  # noqa: E402

# Zoom's limit for the Rooms endpoints (rate-limit category Medium), requests per second, per plan.
PLANS: Dict[str, float] = {"pro": 20.0, "business": 60.0}
RATE_LIMITED_ROOMS = 1000
CACHED_TARGET_SECONDS = 2.0  # a warm cached `ansible-inventory --list` of RATE_LIMITED_ROOMS rooms


def config_lines(double: zd.RunningDouble, workers: int, rate: float = 0.0,
                 cache_dir: Path | None = None, devices: bool = False) -> List[str]:
    """The plugin config: pacing at ``rate`` requests/s (0: none); a jsonfile cache in ``cache_dir``
    when given, else no cache; ``devices``: device_hostvars true."""
    lines = [
        "plugin: zoomrooms.remediation.zoom_rooms",
        f"base_url: {double.base_url}",
        f"token_url: {double.token_url}",
        f"account_id: {zd.LAB_ACCOUNT_ID}",
        f"client_id: {zd.LAB_CLIENT_ID}",
        f"max_requests_per_second: {rate:g}",
        f"max_workers: {workers}",
        *(["device_hostvars: true"] if devices else []),
    ]
    if cache_dir is None:
        return [*lines, "cache: false"]
    return [*lines, "cache: true", "cache_plugin: ansible.builtin.jsonfile", f"cache_connection: {cache_dir}",
            "cache_timeout: 3600"]


def write_config(directory: Path, double: zd.RunningDouble, workers: int, rate: float = 0.0,
                 cache_dir: Path | None = None, devices: bool = False) -> Path:
    """The config file; the cached one keeps its name (the cache key) with or without the devices."""
    config = directory / f"{'cached' if cache_dir else 'bench'}.zoom_rooms.yml"
    config.write_text("\n".join(config_lines(double, workers, rate, cache_dir, devices)) + "\n")
    return config


def run_inventory(config: Path, output: Path) -> Tuple[float, float]:
    """One `ansible-inventory --list`: (wall seconds, CPU seconds user + system of it and its children)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM_")}
    env.update(PATH=f"{PROJECT / '.venv/bin'}:{env.get('PATH', '')}", ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
               ZOOM_CLIENT_SECRET=zd.LAB_CLIENT_SECRET, ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    cpu_before = children_cpu_seconds()
    started = time.perf_counter()
    result = subprocess.run(["ansible-inventory", "-i", str(config), "--list", "--output", str(output)],
                            cwd=PROJECT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"ansible-inventory failed:\n{result.stderr}")
    return elapsed, children_cpu_seconds() - cpu_before


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_inventory(config: Path, output: Path) -> float:
    return run_inventory(config, output)[0]


def bench(rooms: int, runs: int, workers: int) -> Dict[str, Any]:
    with zd.start_double(rooms) as double, tempfile.TemporaryDirectory(prefix="zr-bench-") as tmp:
        config = write_config(Path(tmp), double, workers)
        output = Path(tmp) / "inventory.json"
        times: List[float] = [time_inventory(config, output) for _unused in range(runs)]
        hosts = len(json.loads(output.read_text())["_meta"]["hostvars"])
        requests = double.state.requests_served
    return {"rooms": rooms, "hosts": hosts, "workers": workers, "runs": [round(t, 3) for t in times],
            "median_seconds": round(statistics.median(times), 3), "api_requests": requests}


# ---------------------------------------------------------------- rate-limited: what a real account sees


def api_counts(double: zd.RunningDouble) -> Tuple[int, int]:
    """(/v2 requests answered, 429s the double's rate limit served) so far."""
    with double.state.lock:
        answered = sum(n for op, n in double.state.requests_by_operation.items() if op != "oauth_token")
    return answered, double.state.throttled


def host_count(output: Path) -> int:
    return len(json.loads(output.read_text())["_meta"]["hostvars"])


def timed_phase(double: zd.RunningDouble, config: Path, output: Path) -> Dict[str, Any]:
    """One `ansible-inventory --list`: its seconds (wall, CPU), hosts, /v2 requests answered and 429s served."""
    requests_before, throttled_before = api_counts(double)
    seconds, cpu_seconds = run_inventory(config, output)
    requests_after, throttled_after = api_counts(double)
    return {"seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3), "hosts": host_count(output),
            "requests": requests_after - requests_before, "throttled": throttled_after - throttled_before}


def plan_result(limit: float, rooms: int, workers: int, uncached: Dict[str, Any], cold: Dict[str, Any],
                warm: List[Dict[str, Any]], warm_devices: List[Dict[str, Any]]) -> Dict[str, Any]:
    """One plan's phases as bench/run.py records them under inventory.rate_limited.<plan>."""
    hosts = {phase["hosts"] for phase in [uncached, cold, *warm, *warm_devices]}
    if len(hosts) != 1:  # a run counts only if it did the work: every run lists the same hosts
        raise SystemExit(f"the runs at {limit:g}/s listed different numbers of hosts: {sorted(hosts)}")
    return {
        "limit_per_second": limit, "max_requests_per_second": limit, "rooms": rooms, "hosts": hosts.pop(),
        "workers": workers,
        "uncached": uncached["seconds"], "cached_cold": cold["seconds"],
        "cached_warm": round(statistics.median(phase["seconds"] for phase in warm), 3),
        "cached_warm_runs": [phase["seconds"] for phase in warm],
        "cached_warm_devices": round(statistics.median(phase["seconds"] for phase in warm_devices), 3),
        "cached_warm_devices_runs": [phase["seconds"] for phase in warm_devices],
        "cpu_seconds": {"uncached": uncached["cpu_seconds"], "cached_cold": cold["cpu_seconds"],
                        "cached_warm": median_cpu(warm), "cached_warm_devices": median_cpu(warm_devices)},
        "requests": {"uncached": uncached["requests"], "cached_cold": cold["requests"],
                     "cached_warm": sum(phase["requests"] for phase in [*warm, *warm_devices])},
        "throttled": {"uncached": uncached["throttled"], "cached_cold": cold["throttled"],
                      "cached_warm": sum(phase["throttled"] for phase in [*warm, *warm_devices])},
    }


def median_cpu(phases: List[Dict[str, Any]]) -> float:
    return round(statistics.median(phase["cpu_seconds"] for phase in phases), 3)


def bench_plan(rooms: int, limit: float, workers: int, warm_runs: int) -> Dict[str, Any]:
    """The double at ``limit`` requests/s, the plugin paced at the same rate: uncached, cold, warm."""
    with zd.start_double(rooms, rate_limit_per_second=limit) as double, \
            tempfile.TemporaryDirectory(prefix="zr-bench-") as tmp:
        directory = Path(tmp)
        output = directory / "inventory.json"
        uncached = timed_phase(double, write_config(directory, double, workers, limit), output)
        cached = write_config(directory, double, workers, limit, cache_dir=directory / "cache")
        cold = timed_phase(double, cached, output)
        warm = [timed_phase(double, cached, output) for _unused in range(warm_runs)]
        write_config(directory, double, workers, limit, cache_dir=directory / "cache", devices=True)
        warm_devices = [timed_phase(double, cached, output) for _unused in range(warm_runs)]
    return plan_result(limit, rooms, workers, uncached, cold, warm, warm_devices)


def rate_limited_bench(rooms: int = RATE_LIMITED_ROOMS, workers: int = 4, plans: Sequence[str] = tuple(PLANS),
                       warm_runs: int = 3) -> Dict[str, Dict[str, Any]]:
    """{plan: bench_plan(...)} for each plan of PLANS asked for."""
    return {plan: bench_plan(rooms, PLANS[plan], workers, warm_runs) for plan in plans}


def worst_cached_warm(rate_limited: Dict[str, Dict[str, Any]]) -> float | None:
    """The slowest plan's warm cached run (the cache makes the plan's limit irrelevant)."""
    figures = [plan["cached_warm"] for plan in rate_limited.values() if "cached_warm" in plan]
    return max(figures) if figures else None


def format_rate_limited(rate_limited: Dict[str, Dict[str, Any]]) -> str:
    """The rate-limited figures as a text table (requests and 429s per phase: uncached/cold/warm)."""
    first = next(iter(rate_limited.values()))
    lines = [f"ansible-inventory --list, {first['rooms']} rooms ({first['hosts']} hosts), the double rate limited, "
             f"the plugin's max_requests_per_second = the limit, {first['workers']} workers",
             f"{'plan':<10}{'limit/s':>8}{'uncached s':>12}{'cold cache s':>14}{'warm cache s':>14}"
             f"{'warm, devices s':>17}{'warm CPU s':>12}   {'requests unc/cold/warm':<24}{'429s unc/cold/warm':<20}"]
    for name, plan in rate_limited.items():
        requests = "/".join(str(plan["requests"][k]) for k in ("uncached", "cached_cold", "cached_warm"))
        throttled = "/".join(str(plan["throttled"][k]) for k in ("uncached", "cached_cold", "cached_warm"))
        lines.append(f"{name:<10}{plan['limit_per_second']:>8g}{plan['uncached']:>12.2f}{plan['cached_cold']:>14.2f}"
                     f"{plan['cached_warm']:>14.2f}{plan['cached_warm_devices']:>17.2f}"
                     f"{plan['cpu_seconds']['cached_warm']:>12.2f}   {requests:<24}{throttled:<20}")
    worst = worst_cached_warm(rate_limited)
    verdict = "met" if worst is not None and worst < CACHED_TARGET_SECONDS else "MISSED"
    lines.append(f"target: warm cached run < {CACHED_TARGET_SECONDS:g} s: {verdict} (slowest {worst:.2f} s); "
                 "devices: device_hostvars true")
    return "\n".join(lines)


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=None,
                        help=f"default 2000, or {RATE_LIMITED_ROOMS} with --rate-limited")
    parser.add_argument("--runs", type=int, default=3, help="runs (with --rate-limited: warm cached runs)")
    parser.add_argument("--workers", type=int, default=4, help="the plugin's max_workers")
    parser.add_argument("--rate-limited", action="store_true",
                        help="the rate-limited measure (per plan: uncached, cold and warm cache) instead of (f)")
    parser.add_argument("--plans", nargs="+", choices=tuple(PLANS), default=list(PLANS),
                        help="with --rate-limited: the plans to measure")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a sentence")
    args = parser.parse_args(argv)
    if args.rate_limited:
        limited = rate_limited_bench(args.rooms or RATE_LIMITED_ROOMS, args.workers, args.plans, args.runs)
        print(json.dumps(limited) if args.json else format_rate_limited(limited))
        return 0
    result = bench(args.rooms or 2000, args.runs, args.workers)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"ansible-inventory --list, {result['rooms']} rooms ({result['hosts']} hosts, "
              f"{result['workers']} workers): median {result['median_seconds']:.2f} s "
              f"over runs {', '.join(f'{t:.2f}' for t in result['runs'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
