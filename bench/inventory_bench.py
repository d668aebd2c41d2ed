#!/usr/bin/env python3
"""Time `ansible-inventory --list` with the zoom_rooms plugin against the Zoom API double.

Starts the double in this process on 127.0.0.1 with N seeded rooms (default 2000), writes a
throw-away plugin config (no cache, no client-side pacing: this measures the plugin and the
per-room device calls, not Zoom's rate limit), runs ansible-inventory three times and prints the
median in seconds. Against the real API the floor is rooms / max_requests_per_second.

    .venv/bin/python bench/inventory_bench.py [--rooms 2000] [--runs 3] [--workers 4] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "tests" / "lab"))

import zoom_api_double as zd  # noqa: E402


def write_config(directory: Path, double: zd.RunningDouble, workers: int) -> Path:
    config = directory / "bench.zoom_rooms.yml"
    config.write_text("\n".join([
        "plugin: zoomrooms.remediation.zoom_rooms",
        f"base_url: {double.base_url}",
        f"token_url: {double.token_url}",
        f"account_id: {zd.LAB_ACCOUNT_ID}",
        f"client_id: {zd.LAB_CLIENT_ID}",
        "max_requests_per_second: 0",
        f"max_workers: {workers}",
        "cache: false",
    ]) + "\n")
    return config


def time_inventory(config: Path, output: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM_")}
    env.update(PATH=f"{PROJECT / '.venv/bin'}:{env.get('PATH', '')}", ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
               ZOOM_CLIENT_SECRET=zd.LAB_CLIENT_SECRET, ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    started = time.perf_counter()
    result = subprocess.run(["ansible-inventory", "-i", str(config), "--list", "--output", str(output)],
                            cwd=PROJECT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"ansible-inventory failed:\n{result.stderr}")
    return elapsed


def bench(rooms: int, runs: int, workers: int) -> Dict[str, Any]:
    with zd.start_double(rooms) as double, tempfile.TemporaryDirectory(prefix="zr-bench-") as tmp:
        config = write_config(Path(tmp), double, workers)
        output = Path(tmp) / "inventory.json"
        times: List[float] = [time_inventory(config, output) for _unused in range(runs)]
        hosts = len(json.loads(output.read_text())["_meta"]["hostvars"])
        requests = double.state.requests_served
    return {"rooms": rooms, "hosts": hosts, "workers": workers, "runs": [round(t, 3) for t in times],
            "median_seconds": round(statistics.median(times), 3), "api_requests": requests}


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="the plugin's max_workers")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a sentence")
    args = parser.parse_args(argv)
    result = bench(args.rooms, args.runs, args.workers)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"ansible-inventory --list, {result['rooms']} rooms ({result['hosts']} hosts, "
              f"{result['workers']} workers): median {result['median_seconds']:.2f} s "
              f"over runs {', '.join(f'{t:.2f}' for t in result['runs'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
