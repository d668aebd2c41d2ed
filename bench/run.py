#!/usr/bin/env python3
"""Fleet benchmark of the toolkit on the podman lab (`make bench`; docs/performance.md).

For each N of --rooms it brings up a lab of N rooms under its own name (zrb for the first, zrb<N> for
the others; all are up at once), then times, as the median of --repeat runs taken round-robin over the
measures and each measure at every N back to back:

  (a) ping       `ansible zoom_rooms -m ping`: the floor (one round trip per room)
  (b) diagnose   `ansible-playbook playbooks/diagnose.yml`
  (c) plan       `ansible-playbook playbooks/remediate.yml --check`, every room healthy
  (d) remediate  `ansible-playbook playbooks/remediate.yml -e zoom_rooms_batch=100%`, 20% of the rooms
                 faulted (firewall_block / proxy_no_bypass), healed between runs
  (e) probe      one zoom_room_reachability call from the probe to 500 targets on lab rooms (open,
                 refused, and dropped by an nft rule the bench adds on one room), 2 s timeout: the
                 module's own elapsed and the task's wall time
  (g) fast mode  (b), (c) and (d) again under the Mitogen strategy (docs/performance.md, "Fast mode")

and once, without the lab, (f) `ansible-inventory --list` against the Zoom API double with 2000
rooms (bench/inventory_bench.py), then the same rate limited as real accounts see it (default 1000
rooms; Pro 20 and Business 60 requests/s: uncached, cold cache, warm cache, requests and 429s). It
prints a table, the ratios of (b), (c), (d) to (a), the cost per room above a fixed base, the
control node's memory, and writes bench/results.json. Every lab it started is torn down at the
end, also on failure or SIGTERM.

    .venv/bin/python bench/run.py --rooms 50 100 [--repeat 3] [--results bench/results.json]
                                  [--skip-inventory] [--inventory-rate-rooms 1000] [--skip-fast]
                                  [--fast-all] [--settle 20] [--lab-name zrb] [--lab-dir .lab/bench]
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Sequence, Tuple, TypeVar

PROJECT = Path(__file__).resolve().parents[1]
VENV_BIN = PROJECT / ".venv" / "bin"
LABCTL = PROJECT / "tests" / "lab" / "labctl"

# key -> (letter, what is timed); the order of the table's columns.
MEASURES: Dict[str, Tuple[str, str]] = {
    "ping": ("a", "ansible zoom_rooms -m ping"),
    "diagnose": ("b", "playbooks/diagnose.yml (lean payloads: the default, the fast mode)"),
    "plan": ("c", "playbooks/remediate.yml --check (healthy rooms)"),
    "remediate": ("d", "playbooks/remediate.yml -e zoom_rooms_batch=100% (20% faulted)"),
    "probe_module": ("e", "zoom_room_reachability, 500 targets: module elapsed"),
    "probe_task": ("e", "zoom_room_reachability, 500 targets: task wall time"),
    "probe_task_module": ("e", "zoom_room_reachability, 500 targets, lean=false (the module): task wall time"),
    "diagnose_fast": ("g", "playbooks/diagnose.yml, fast mode (Mitogen)"),
    "plan_fast": ("g", "playbooks/remediate.yml --check, fast mode"),
    "remediate_fast": ("g", "playbooks/remediate.yml, 20% faulted, fast mode"),
    "diagnose_modules": ("h", "playbooks/diagnose.yml -e zoom_room_diagnose_lean=false (AnsiballZ modules)"),
}
FAST_MEASURES = ("diagnose_fast", "plan_fast", "remediate_fast")
RATIO_MEASURES = ("diagnose", "plan", "remediate", *FAST_MEASURES, "diagnose_modules")
# Measures that grow with the fleet, and the command whose --list-hosts run is their fixed base.
PER_ROOM_MEASURES = ("ping", "diagnose", "plan", "remediate")
# Issue 17's targets, each to be met at every fleet size of the run (ratios are of wall medians to (a)).
TARGETS = {"diagnose_over_ping": 1.3, "plan_over_ping": 1.5, "remediate_over_ping": 2.5,
           "diagnose_fast_over_ping": 1.0, "probe_task_seconds": 2.5, "per_room_growth": 1.1,
           "inventory_cached_seconds": 2.0}
# target -> the measure whose ratio to (a) it bounds. The fast mode is the lean payloads, which diagnose.yml
# uses by default: (b); (h) is the same run with AnsiballZ modules, (g) under Mitogen (docs/performance.md).
RATIO_TARGETS = {"diagnose_over_ping": "diagnose", "plan_over_ping": "plan", "remediate_over_ping": "remediate",
                 "diagnose_fast_over_ping": "diagnose"}

FAULT_FRACTION = 0.2
FAULT_KINDS = ("firewall_block", "proxy_no_bypass")

PROBE_TARGETS = 500
PROBE_TIMEOUT = 2.0
# The role's default (roles/zoom_room_diagnose/defaults/main.yml), read from there so the two cannot drift.
PROBE_CONCURRENCY = int(re.search(r"^zoom_room_diagnose_probe_concurrency: (\d+)$",
                                  (PROJECT / "roles/zoom_room_diagnose/defaults/main.yml").read_text(), re.M)[1])
OPEN_PORT = 9090  # the room simulator listens here
REFUSED_PORT_BASE = 30000  # nothing listens there on a room: the kernel answers RST
DROPPED_PORT_BASE = 20000  # dropped by the bench's own nft table on one room: no answer at all
BENCH_NFT_TABLE = "zr_bench"
# Of every 5 targets: 3 open, 1 refused, 1 dropped (300 / 100 / 100 of 500).
TARGET_PATTERN = ("open", "open", "open", "refused", "timeout")
TARGET_KINDS = ("open", "refused", "timeout")

INVENTORY_ROOMS = 2000
INVENTORY_RATE_ROOMS = 1000  # the rate-limited inventory measure (--inventory-rate-rooms)
# No single command of the bench should come near this; past it, something hangs (e.g. an SSH connection).
COMMAND_TIMEOUT = 1800.0

T = TypeVar("T")

PROBE_PLAYBOOK = """\
---
- name: One zoom_room_reachability call from the probe (bench/run.py)
  hosts: "{{ zr_bench_probe }}"
  gather_facts: false
  tasks:
    - name: Try every bench target from the probe at once
      zoomrooms.remediation.zoom_room_reachability:
        targets: "{{ zr_bench_targets }}"
        timeout: "{{ zr_bench_timeout }}"
        concurrency: "{{ zr_bench_concurrency }}"
        lean: "{{ zr_bench_lean }}"
"""


def fast_mode_env() -> Dict[str, str]:
    """The environment of the fast mode: the Mitogen strategy from the installed `mitogen` package
    (docs/performance.md, "Fast mode"). Empty when mitogen is not installed: (g) is then skipped."""
    try:
        import ansible_mitogen
    except ImportError:
        return {}
    strategy_dir = Path(ansible_mitogen.__file__).resolve().parent / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(strategy_dir), "ANSIBLE_STRATEGY": "mitogen_linear"}


def ansible_cfg(config: Path) -> configparser.ConfigParser:
    """The project's ansible.cfg as ansible reads it (no interpolation)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(config)
    return parser


def configured_callbacks(config: Path = PROJECT / "ansible.cfg") -> List[str]:
    """`callbacks_enabled` from ansible.cfg: the profiled run adds profile_tasks to them, not in their place."""
    names = ansible_cfg(config).get("defaults", "callbacks_enabled", fallback="").split(",")
    return [name.strip() for name in names if name.strip()]


def configured_forks(config: Path = PROJECT / "ansible.cfg") -> int:
    """`forks` from ansible.cfg (ansible's default 5 when unset): bounds the rooms in flight."""
    return ansible_cfg(config).getint("defaults", "forks", fallback=5)


BENCH_CONTROL_PERSIST = "1800s"


def bench_ssh_args(config: Path = PROJECT / "ansible.cfg") -> str:
    """ansible.cfg's ssh_args with ControlPersist set to BENCH_CONTROL_PERSIST (BenchLab.env says why)."""
    args = ansible_cfg(config).get("ssh_connection", "ssh_args", fallback="-o ControlMaster=auto")
    kept = re.sub(r"\s*-o\s*ControlPersist=\S+", "", args).strip()
    return f"{kept} -o ControlPersist={BENCH_CONTROL_PERSIST}"


class BenchError(Exception):
    """The bench cannot produce a valid figure: printed without a traceback, exit code 2."""


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- pure parts

def faulted_rooms(rooms: Sequence[str], fraction: float = FAULT_FRACTION) -> List[Tuple[str, str]]:
    """ceil(fraction * N) rooms spread evenly over the fleet, fault kinds alternating."""
    count = max(1, math.ceil(len(rooms) * fraction)) if rooms else 0
    step = len(rooms) / count if count else 1
    picked = [rooms[int(index * step)] for index in range(count)]
    return [(room, FAULT_KINDS[index % len(FAULT_KINDS)]) for index, room in enumerate(picked)]


def probe_targets(rooms: Dict[str, str], dropping_room: str, count: int = PROBE_TARGETS
                  ) -> Tuple[List[Dict[str, Any]], Dict[str, str]]:
    """`count` targets on lab rooms ({room: controller address}), the kinds interleaved.

    open: 9090 on every room in turn; refused: a closed port on every room in turn; timeout: a port
    of `dropping_room` that its bench nft rule drops. Addresses repeat with different ports (and
    open ones with the same port) to reach `count`. Returns the targets and {name: expected state}.
    """
    names = sorted(rooms)
    targets: List[Dict[str, Any]] = []
    expected: Dict[str, str] = {}
    seen = {"open": 0, "refused": 0, "timeout": 0}
    for index in range(count):
        kind = TARGET_PATTERN[index % len(TARGET_PATTERN)]
        nth = seen[kind]
        seen[kind] += 1
        if kind == "open":
            room, port = names[nth % len(names)], OPEN_PORT
        elif kind == "refused":
            room, port = names[nth % len(names)], REFUSED_PORT_BASE + nth
        else:
            room, port = dropping_room, DROPPED_PORT_BASE + nth
        name = f"{kind}-{index:03d}-{room}-{port}"
        targets.append({"name": name, "address": rooms[room], "port": port})
        expected[name] = kind
    return targets, expected


def drop_rule_script(count: int = PROBE_TARGETS) -> str:
    """Shell for the dropping room: its own nft table drops the bench's timeout ports, nothing else."""
    last = DROPPED_PORT_BASE + count - 1
    return (f"nft add table inet {BENCH_NFT_TABLE} && "
            f"nft add chain inet {BENCH_NFT_TABLE} input "
            "'{ type filter hook input priority -20; policy accept; }' && "
            f"nft add rule inet {BENCH_NFT_TABLE} input tcp dport {DROPPED_PORT_BASE}-{last} drop")


def median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 3)


def median_or_none(values: Sequence[float] | None) -> float | None:
    return median(values) if values else None


def per_room_cost(seconds: float, base: float, rooms: int) -> float:
    """Seconds per room above the fixed base (the same command's --list-hosts run)."""
    return round((seconds - base) / rooms, 4)


def marginal_cost(previous: Tuple[int, float], current: Tuple[int, float]) -> float | None:
    """Seconds each room added between two fleet sizes: fixed costs cancel out."""
    (rooms_before, seconds_before), (rooms_now, seconds_now) = previous, current
    if rooms_now == rooms_before:
        return None
    return round((seconds_now - seconds_before) / (rooms_now - rooms_before), 4)


def parse_profile_tasks(output: str) -> List[Dict[str, Any]]:
    """The TASKS RECAP of ansible.posix.profile_tasks: [{task, seconds}], slowest first."""
    recap = output.split("TASKS RECAP", 1)[-1] if "TASKS RECAP" in output else ""
    rows = []
    for line in recap.splitlines():
        match = re.match(r"^(?P<task>.+?) -+ (?P<seconds>\d+\.\d+)s$", line.rstrip())
        if match:
            rows.append({"task": match["task"], "seconds": float(match["seconds"])})
    return rows


def results_per_host(output: str, host: str) -> Dict[str, int]:
    """How many task results the default callback printed for one host, by outcome."""
    counts: Dict[str, int] = {}
    pattern = re.compile(rf"^(ok|changed|skipping|failed|fatal): \[{re.escape(host)}(\]| ->)")
    for line in output.splitlines():
        match = pattern.match(line)
        if match:
            counts[match[1]] = counts.get(match[1], 0) + 1
    counts["included"] = sum(1 for line in output.splitlines()
                             if line.startswith("included: ") and re.search(rf"\b{re.escape(host)}\b", line))
    return counts


def evaluate_targets(rooms_results: Dict[str, Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """The issue's targets against the measured figures: {target: {limit, measured, met, at}}.

    Every ratio and the probe must hold at every size (the worst size is reported); the per-room
    cost of each growing measure is compared between the smallest and the largest size.
    """
    if not rooms_results:
        return {}
    sizes = sorted(rooms_results, key=int)
    largest, smallest = rooms_results[sizes[-1]], rooms_results[sizes[0]]
    verdicts: Dict[str, Dict[str, Any]] = {}
    for target, measure in RATIO_TARGETS.items():
        measured = [n for n in sizes if measure in rooms_results[n]["ratios"]]
        if not measured:
            continue
        worst = max(measured, key=lambda n, m=measure: rooms_results[n]["ratios"][m])
        ratio = rooms_results[worst]["ratios"][measure]
        verdicts[target] = {"limit": TARGETS[target], "measured": ratio, "met": ratio <= TARGETS[target],
                            "at": f"worst, N={worst}"}
    worst_probe = max(sizes, key=lambda n: rooms_results[n]["seconds"]["probe_task"])
    probe = rooms_results[worst_probe]["seconds"]["probe_task"]
    verdicts["probe_task_seconds"] = {"limit": TARGETS["probe_task_seconds"], "measured": probe,
                                      "met": probe < TARGETS["probe_task_seconds"], "at": f"worst, N={worst_probe}"}
    if len(sizes) > 1:
        for measure in PER_ROOM_MEASURES:
            first, last = smallest["per_room_seconds"][measure], largest["per_room_seconds"][measure]
            growth = round(last / first, 3) if first > 0 else None
            verdicts[f"per_room_flat_{measure}"] = {
                "limit": TARGETS["per_room_growth"], "measured": growth,
                "met": growth is not None and growth <= TARGETS["per_room_growth"],
                "at": f"per-room cost at N={sizes[-1]} over N={sizes[0]}"}
    return verdicts


def evaluate_inventory_target(inventory: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """The cached-inventory target: the slowest plan's warm cached `ansible-inventory --list` (median)
    under TARGETS["inventory_cached_seconds"]; {} when the rate-limited measure did not run."""
    plans = {name: plan for name, plan in (inventory.get("rate_limited") or {}).items()
             if isinstance(plan, dict) and "cached_warm" in plan}
    if not plans:
        return {}
    slowest = max(plans, key=lambda name: plans[name]["cached_warm"])
    measured = plans[slowest]["cached_warm"]
    limit = TARGETS["inventory_cached_seconds"]
    return {"inventory_cached_seconds": {
        "limit": limit, "measured": measured, "met": measured < limit,
        "at": f"warm cache, {plans[slowest]['rooms']} rooms, slowest plan ({slowest})"}}


def inventory_summary(inventory: Dict[str, Any]) -> List[str]:
    """The inventory lines of the final report: (f), then one line per rate-limited plan."""
    if "median_seconds" not in inventory:
        return [f"(f) skipped: {inventory['skipped']}"] if inventory.get("skipped") else []
    lines = [f"(f) ansible-inventory --list, {inventory['rooms']} rooms (API double): "
             f"{inventory['median_seconds']:.2f} s"]
    limited = inventory.get("rate_limited") or {}
    if limited.get("skipped"):
        return [*lines, f"    rate limited: skipped: {limited['skipped']}"]
    for name, plan in limited.items():
        lines.append(
            f"    {name} ({plan['limit_per_second']:g}/s), {plan['rooms']} rooms: uncached {plan['uncached']:.2f} s, "
            f"cold cache {plan['cached_cold']:.2f} s, warm cache {plan['cached_warm']:.2f} s "
            f"(device_hostvars true {plan['cached_warm_devices']:.2f} s); requests "
            f"{plan['requests']['uncached']}, 429s {plan['throttled']['uncached']} uncached / "
            f"{plan['throttled']['cached_cold']} cold")
    return lines


SHORT_LABELS = {
    "ping": "(a) ping (floor)",
    "diagnose": "(b) diagnose.yml",
    "plan": "(c) remediate.yml --check",
    "remediate": "(d) remediate.yml, 20% faulted",
    "probe_module": "(e) probe 500 targets: module",
    "probe_task": "(e) probe 500 targets: task wall",
    "probe_task_module": "(e) probe, lean=false: task wall",
    "diagnose_fast": "(g) diagnose.yml, fast mode",
    "plan_fast": "(g) remediate.yml --check, fast mode",
    "remediate_fast": "(g) remediate.yml, 20% faulted, fast",
    "diagnose_modules": "(h) diagnose.yml, lean=false (modules)",
}


def format_table(rooms_results: Dict[str, Dict[str, Any]]) -> str:
    """Seconds per measure and N, the ratios to (a), the cost per room and the memory, as text."""
    sizes = sorted(rooms_results, key=int)
    label_width, width = 44, 9
    header = f"{'':<{label_width}}" + "".join(f"{'N=' + n:>{width}}" for n in sizes)

    def section(title: str) -> List[str]:
        return ["", title, header, "-" * len(header)]

    def row(label: str, cells: Sequence[Any], fmt: str) -> str:
        return f"{label:<{label_width}}" + "".join(
            f"{'-' if cell is None else format(cell, fmt):>{width}}" for cell in cells)

    lines = section("wall seconds, median of runs")[1:]
    for key in MEASURES:
        lines.append(row(SHORT_LABELS[key], [rooms_results[n]["seconds"].get(key) for n in sizes], ".2f"))
    lines.append(row("    first ping after lab up (cold SSH)", [rooms_results[n]["cold_ping_seconds"] for n in sizes],
                     ".2f"))
    lines += section("ratio to (a), wall  [targets: (b) <= 1.3, (c) <= 1.5, (d) <= 2.5, fast mode (b) <= 1]")
    for key in RATIO_MEASURES:
        lines.append(row(f"{SHORT_LABELS[key]} / (a)", [rooms_results[n]["ratios"].get(key) for n in sizes], ".2f"))
    lines += section("control-node CPU seconds (user+sys, all processes), median")
    for key in ("ping", "diagnose", "plan", "remediate", "probe_task", "probe_task_module", *FAST_MEASURES,
                "diagnose_modules"):
        lines.append(row(SHORT_LABELS[key], [rooms_results[n]["cpu_seconds"].get(key) for n in sizes], ".2f"))
    lines += section("steal seconds during the runs (CPU time the hypervisor gave other guests), median")
    for key in PER_ROOM_MEASURES:
        lines.append(row(SHORT_LABELS[key], [median_or_none(rooms_results[n].get("steal_seconds_during_runs", {})
                                                            .get(key)) for n in sizes], ".2f"))
    lines += section("seconds per room above the fixed base (same command, --list-hosts)")
    for key in PER_ROOM_MEASURES:
        lines.append(row(SHORT_LABELS[key], [rooms_results[n]["per_room_seconds"][key] for n in sizes], ".3f"))
    lines.append(row("    base seconds: (a)", [rooms_results[n]["base_seconds"]["ping"] for n in sizes], ".2f"))
    lines.append(row("    base seconds: (b)", [rooms_results[n]["base_seconds"]["diagnose"] for n in sizes], ".2f"))
    lines.append(row("    base seconds: (c), (d)", [rooms_results[n]["base_seconds"]["remediate"] for n in sizes],
                     ".2f"))
    if len(sizes) > 1:
        lines += section("marginal seconds per added room (vs the previous N)")
        for key in PER_ROOM_MEASURES:
            marginal = [rooms_results[n]["marginal_seconds_per_room"].get(key) for n in sizes]
            lines.append(row(SHORT_LABELS[key], marginal, ".3f"))
    lines += section("control node memory, MiB")
    lines.append(row("largest process, any measure (ru_maxrss)",
                     [max(rooms_results[n]["memory"]["largest_process_mib"].values()) for n in sizes], ".0f"))
    lines.append(row("ansible process tree, diagnose (peak PSS)",
                     [rooms_results[n]["memory"]["tree_peak_pss_mib"] for n in sizes], ".0f"))
    lines.append(row("    per room of the fleet",
                     [rooms_results[n]["memory"]["tree_peak_pss_mib_per_room"] for n in sizes], ".1f"))
    lines.append(row("    per room in flight (min(forks, N))",
                     [rooms_results[n]["memory"]["tree_peak_pss_mib_per_room_in_flight"] for n in sizes], ".1f"))
    lines.append(row("ansible process tree, diagnose fast (peak PSS)",
                     [rooms_results[n]["memory"].get("fast_tree_peak_pss_mib") for n in sizes], ".0f"))
    return "\n".join(lines)


# ---------------------------------------------------------------- running commands

@dataclass
class Run:
    argv: List[str]
    seconds: float
    returncode: int
    max_rss_kib: int
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # user + system of the command and every descendant it waited for
    tree_peak_pss_kib: int = 0
    steal_seconds: float = 0.0  # CPU time the hypervisor gave other guests while it ran (all CPUs)


class MemorySampler:
    """Peak of the summed PSS of a process and all its descendants, sampled every `interval` s."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval, self.peak_kib = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_unused: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, sum(pss_kib(pid) for pid in descendants(self.pid)))
            self._stop.wait(self.interval)


def descendants(root: int) -> List[int]:
    children: Dict[int, List[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class CpuTimes(NamedTuple):
    """All CPUs' time since boot from /proc/stat, in clock ticks."""
    idle: int  # idle + iowait
    steal: int  # taken by the hypervisor for other guests
    total: int


def cpu_times() -> CpuTimes:
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return CpuTimes(fields[3] + fields[4], fields[7] if len(fields) > 7 else 0, sum(fields[:8]))


def cpu_idle_fraction(window: float = 0.5) -> float:
    """Share of all CPUs idle over `window` seconds (/proc/stat), 0..1."""
    before = cpu_times()
    time.sleep(window)
    after = cpu_times()
    return (after.idle - before.idle) / max(1, after.total - before.total)


def settle(max_wait: float, idle_wanted: float = 0.5) -> float:
    """Wait (at most `max_wait` s) until the control node is at least `idle_wanted` idle; the idle
    share last seen. Other work on a shared runner would otherwise land in the timings."""
    deadline = time.monotonic() + max_wait
    idle = cpu_idle_fraction()
    while idle < idle_wanted and time.monotonic() < deadline:
        idle = cpu_idle_fraction(1.0)
    return round(idle, 2)


class Runner:
    """Runs one command at a time in the bench environment; wall time and ru_maxrss from wait4."""

    def __init__(self, env: Dict[str, str]) -> None:
        self.env = env
        self.current: subprocess.Popen | None = None

    def run(self, argv: Sequence[str], check: bool = True, extra_env: Dict[str, str] | None = None,
            sample_memory: bool = False, timeout: float = COMMAND_TIMEOUT) -> Run:
        env = {**self.env, **(extra_env or {})}
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            started, steal_before = time.perf_counter(), cpu_times().steal
            process = subprocess.Popen(list(argv), cwd=PROJECT, env=env, stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=err, text=True)
            self.current = process
            expired = threading.Event()
            watchdog = threading.Timer(timeout, self._expire, args=(process, expired))
            watchdog.start()
            try:
                sampler = MemorySampler(process.pid) if sample_memory else contextlib.nullcontext()
                with sampler:
                    _unused, status, usage = os.wait4(process.pid, 0)
            finally:
                watchdog.cancel()
                self.current = None
            seconds = time.perf_counter() - started
            if expired.is_set():
                raise BenchError(f"{' '.join(argv)} did not finish within {timeout:.0f} s (a hung connection?)")
            process.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            run = Run(list(argv), seconds, process.returncode, usage.ru_maxrss, out.read(), err.read(),
                      usage.ru_utime + usage.ru_stime,
                      sampler.peak_kib if isinstance(sampler, MemorySampler) else 0,
                      round((cpu_times().steal - steal_before) / CLOCK_TICKS, 2))
        if check and run.returncode != 0:
            raise BenchError(f"{' '.join(argv)} exited {run.returncode}\n--- stdout (end)\n{run.stdout[-4000:]}\n"
                             f"--- stderr (end)\n{run.stderr[-2000:]}")
        return run

    def stop(self) -> None:
        process = self.current
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()

    @staticmethod
    def _expire(process: subprocess.Popen, expired: threading.Event) -> None:
        """Watchdog: terminate a command that runs too long, then kill it if it does not stop."""
        expired.set()
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
            time.sleep(10)
            process.kill()


# ---------------------------------------------------------------- the lab

@dataclass
class BenchLab:
    name: str
    state_dir: Path
    report_dir: Path
    runner: Runner = field(init=False)

    def __post_init__(self) -> None:
        self.runner = Runner(self.env())

    @property
    def control_path_dir(self) -> Path:
        return Path(f"/tmp/zr-cp-{self.name}")

    @property
    def inventory(self) -> Path:
        return self.state_dir / "inventory.yml"

    def env(self) -> Dict[str, str]:
        # A developer's ANSIBLE_* / ZOOM_* settings would change what is measured: ansible.cfg rules.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ANSIBLE_", "ZOOM_", "ZR_LAB_NAME", "ZR_LAB_DIR"))}
        env.update({
            "ZR_LAB_NAME": self.name,
            "ZR_LAB_DIR": str(self.state_dir),
            "ANSIBLE_INVENTORY": str(self.inventory),
            # The ssh plugin reads ANSIBLE_SSH_CONTROL_PATH_DIR; ANSIBLE_CONTROL_PATH_DIR is not an ansible
            # setting (kept for tools that look for it). Without the first, every lab shares ansible.cfg's dir.
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.control_path_dir),
            # ansible.cfg's ssh_args with a longer ControlPersist: at 100 rooms one repetition of the measures
            # takes longer than its 120 s, so each repetition's first stock run would open every connection
            # again (measured: ping 27.9 s warm, 39.9 s after such a gap). The bench measures warm runs; the
            # cost of new connections is its own figure (cold_ping_seconds).
            "ANSIBLE_SSH_ARGS": bench_ssh_args(),
            "CONTAINERS_CONF": str(PROJECT / "tests" / "lab" / "containers.conf"),
            "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"),
            "ZOOM_ROOMS_REPORT_DIR": str(self.report_dir),
            "ANSIBLE_FORCE_COLOR": "0",
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        })
        return env

    def labctl(self, *args: str) -> Run:
        return self.runner.run([str(LABCTL), *args])

    def up(self, rooms: int) -> float:
        return self.labctl("up", "--rooms", str(rooms)).seconds

    def down(self) -> None:
        self.close_connections()
        self.runner.run([str(LABCTL), "down"], check=False)

    @property
    def state(self) -> Dict[str, Any]:
        return json.loads((self.state_dir / "state.json").read_text())

    def sh(self, container: str, script: str) -> str:
        return self.runner.run(["podman", "exec", container, "sh", "-c", script]).stdout

    def close_connections(self) -> None:
        """Stop the SSH ControlMasters of this lab: the next lab may reuse the same addresses."""
        if not self.control_path_dir.is_dir():
            return
        for socket_path in self.control_path_dir.iterdir():
            self.runner.run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "bench"], check=False)
        shutil.rmtree(self.control_path_dir, ignore_errors=True)

    def forget_report(self) -> None:
        """Drop the `latest` link, so a run that writes no report cannot pass on the previous one."""
        (self.report_dir / "latest").unlink(missing_ok=True)

    def last_report(self) -> Dict[str, Any]:
        path = self.report_dir / "latest" / "report.json"
        if not path.exists():
            raise BenchError(f"the run wrote no report under {self.report_dir}")
        return json.loads(path.read_text())


def statuses(report: Dict[str, Any]) -> Dict[str, str]:
    return {room: entry.get("status", "?") for room, entry in report.get("rooms", {}).items()}


def check_report(lab: BenchLab, rooms: Sequence[str], what: str, expected: Dict[str, str] | None = None) -> None:
    """A timed run counts only if it really did the work: every room reported, none unreachable."""
    found = statuses(lab.last_report())
    missing = sorted(set(rooms) - set(found))
    if missing:
        raise BenchError(f"{what}: the report lacks rooms {missing[:5]} ({len(missing)} of {len(rooms)})")
    bad = {room: status for room, status in found.items() if status in ("unreachable", "failed")}
    if bad:
        raise BenchError(f"{what}: rooms {bad} ended unreachable or failed; the figure would not be a real run")
    if expected:
        wrong = {room: found.get(room) for room, status in expected.items() if found.get(room) != status}
        if wrong:
            raise BenchError(f"{what}: expected {expected}, got {wrong}")
    unhealthy = {room: status for room, status in found.items()
                 if status != "healthy" and room not in (expected or {})}
    if unhealthy:
        progress(f"  note: {what}: rooms not healthy: {dict(list(unhealthy.items())[:5])}")


# ---------------------------------------------------------------- the measures

PING = ["ansible", "zoom_rooms", "-m", "ansible.builtin.ping"]
DIAGNOSE = ["ansible-playbook", "playbooks/diagnose.yml"]
PLAN = ["ansible-playbook", "playbooks/remediate.yml", "--check"]
REMEDIATE = ["ansible-playbook", "playbooks/remediate.yml", "-e", "zoom_rooms_batch=100%"]
# The fixed base of each measure: the same command with --list-hosts (start, inventory, playbook parse).
BASE_COMMANDS = {"ping": PING, "diagnose": DIAGNOSE, "plan": PLAN, "remediate": REMEDIATE}


def run_figures() -> Dict[str, List[float]]:
    """An empty list per measure for a figure of each run of it (probe_module is read from (e)'s result)."""
    return {key: [] for key in MEASURES if key != "probe_module"}


class SizeBench:
    """Every measure at one fleet size, on a lab that is up. interleaved_repetitions() takes the timed runs."""

    def __init__(self, lab: BenchLab, work_dir: Path, settle_seconds: float = 0.0,
                 fast_env: Dict[str, str] | None = None, fast_all: bool = False) -> None:
        self.lab, self.runner, self.work_dir, self.settle_seconds = lab, lab.runner, work_dir, settle_seconds
        self.fast_env = fast_env or {}  # empty: no fast mode, (g) is skipped
        self.fast_all = fast_all  # (g) for --check and the faulted remediate too, not only diagnose
        self.fast_failed = ""  # why (g) was left out, after a run that did not do its work
        state = lab.state
        self.rooms = sorted(state["rooms"])
        self.addresses = {name: room["address"] for name, room in state["rooms"].items()}
        self.probe = state["probe"]["name"]
        self.faults = faulted_rooms(self.rooms)
        self.wall: Dict[str, List[float]] = {key: [] for key in MEASURES}
        self.cpu, self.load, self.idle = run_figures(), run_figures(), run_figures()
        # CPU time the hypervisor gave to other guests during each run: this runner's speed drifts with it.
        self.steal = run_figures()
        self.largest_kib: Dict[str, int] = {}
        self.fixed_per_run: List[int] = []
        self.base_runs: Dict[str, List[float]] = {key: [] for key in BASE_COMMANDS}
        self.probe_outcomes: Dict[str, Any] = {}
        self.probe_process: List[float] = []
        self.dropping_room = self.rooms[-1]
        self.targets, self.expected = probe_targets(self.addresses, self.dropping_room)

    def before_run(self, key: str) -> None:
        """Note the load (and, with --settle, wait for a quiet control node) just before a timed run."""
        self.idle[key].append(settle(self.settle_seconds) if self.settle_seconds > 0 else cpu_idle_fraction(0.2))
        self.load[key].append(round(os.getloadavg()[0], 2))

    def timed(self, key: str, argv: Sequence[str], **kwargs: Any) -> Run:
        self.lab.forget_report()
        self.before_run(key)
        run = self.runner.run(argv, **kwargs)
        self.steal[key].append(run.steal_seconds)
        self.wall[key].append(round(run.seconds, 3))
        self.cpu[key].append(round(run.cpu_seconds, 3))
        self.largest_kib[key] = max(self.largest_kib.get(key, 0), run.max_rss_kib)
        return run

    def ping(self) -> float:
        return self.timed("ping", PING).seconds

    def diagnose(self) -> float:
        return self._diagnose("diagnose")

    def plan(self) -> float:
        return self._plan("plan")

    def remediate(self) -> float:
        return self._remediate("remediate")

    def diagnose_modules(self) -> float:
        return self._diagnose("diagnose_modules", argv=(*DIAGNOSE, "-e", "zoom_room_diagnose_lean=false"))

    def diagnose_fast(self) -> float:
        return self._diagnose("diagnose_fast", self.fast_env)

    def plan_fast(self) -> float:
        return self._plan("plan_fast", self.fast_env)

    def remediate_fast(self) -> float:
        return self._remediate("remediate_fast", self.fast_env)

    def _diagnose(self, key: str, env: Dict[str, str] | None = None, argv: Sequence[str] | None = None) -> float:
        seconds = self.timed(key, argv or DIAGNOSE, extra_env=env).seconds
        check_report(self.lab, self.rooms, key)
        return seconds

    def _plan(self, key: str, env: Dict[str, str] | None = None) -> float:
        seconds = self.timed(key, PLAN, extra_env=env).seconds
        check_report(self.lab, self.rooms, f"{key} (remediate --check)")
        return seconds

    def _remediate(self, key: str, env: Dict[str, str] | None = None) -> float:
        for room, kind in self.faults:
            self.lab.labctl("fault", room, kind)
        try:
            seconds = self.timed(key, REMEDIATE, extra_env=env).seconds
            check_report(self.lab, self.rooms, key, {room: "fixed" for room, _kind in self.faults})
            self.fixed_per_run.append(len(self.faults))
        finally:
            self.lab.labctl("heal", *(room for room, _kind in self.faults))
            if self.dropping_room in dict(self.faults):  # one room: the heal reloaded its ruleset, (e)'s rule too
                self.lab.sh(self.dropping_room, drop_rule_script())
        return seconds

    def probe_call_module(self) -> float:
        """(e) as the module (lean=false), side by side with the lean payload."""
        return self.probe_call(lean=False)

    def probe_call(self, lean: bool = True) -> float:
        """(e): one zoom_room_reachability call, 500 targets; the module's elapsed and the task's wall time."""
        key = "probe_task" if lean else "probe_task_module"
        playbook, extra_vars = self.work_dir / "probe.yml", self.work_dir / "probe-vars.json"
        playbook.write_text(PROBE_PLAYBOOK)
        extra_vars.write_text(json.dumps({"zr_bench_probe": self.probe, "zr_bench_targets": self.targets,
                                          "zr_bench_timeout": PROBE_TIMEOUT,
                                          "zr_bench_concurrency": PROBE_CONCURRENCY, "zr_bench_lean": lean}))
        self.before_run(key)
        run = self.runner.run(["ansible-playbook", str(playbook), "-e", f"@{extra_vars}"],
                              extra_env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
        self.steal[key].append(run.steal_seconds)
        task = json.loads(run.stdout)["plays"][0]["tasks"][0]
        result = task["hosts"][self.probe]
        if result.get("failed") or "reachability" not in result:
            raise BenchError(f"(e) the probe task failed: {result.get('msg', result)}")
        duration = task["task"]["duration"]
        wall = (dt.datetime.fromisoformat(duration["end"]) - dt.datetime.fromisoformat(duration["start"]))
        self.wall[key].append(round(wall.total_seconds(), 3))
        self.cpu[key].append(round(run.cpu_seconds, 3))
        self.largest_kib["probe"] = max(self.largest_kib.get("probe", 0), run.max_rss_kib)
        if not lean:
            progress(f"  (e) lean=false: module elapsed {result['elapsed_ms'] / 1000:.2f} s")
            return wall.total_seconds()
        self.wall["probe_module"].append(round(result["elapsed_ms"] / 1000, 3))
        self.probe_process.append(round(run.seconds, 3))
        observed: Dict[str, int] = {}
        unexpected: Dict[str, int] = {}
        latencies: Dict[str, List[float]] = {}
        for name, outcome in result["reachability"].items():
            observed[outcome["state"]] = observed.get(outcome["state"], 0) + 1
            latencies.setdefault(self.expected[name], []).append(outcome["latency_ms"])
            if outcome["state"] != self.expected[name]:
                key = f"{self.expected[name]}->{outcome['state']}"
                unexpected[key] = unexpected.get(key, 0) + 1
        # An open target slower than ~1 s waited for a SYN retransmit: the room's accept queue overflowed.
        self.probe_outcomes = {"observed_last_run": observed, "unexpected_last_run": unexpected,
                               "latency_ms_last_run": {kind: {"p50": statistics.median(values), "max": max(values)}
                                                       for kind, values in sorted(latencies.items())},
                               "open_over_900ms_last_run": sum(1 for value in latencies.get("open", [])
                                                               if value > 900)}
        if unexpected:
            progress(f"  note: (e) outcomes other than expected: {unexpected}")
        progress(f"  (e) module elapsed {self.wall['probe_module'][-1]:.2f} s, "
                 f"ansible-playbook process {run.seconds:.2f} s, states {observed}")
        return wall.total_seconds()

    def measures(self) -> List[Tuple[str, str, Callable[[], float]]]:
        """(letter, name, measure) in the order of one repetition; (g) only with a fast mode."""
        stock = [("a", "ping", self.ping), ("b", "diagnose", self.diagnose), ("c", "remediate --check", self.plan),
                 ("d", "remediate, faulted", self.remediate), ("e", "probe task", self.probe_call),
                 ("h", "diagnose, modules", self.diagnose_modules), ("e", "probe task, module", self.probe_call_module)]
        fast = [("g", "diagnose, fast mode", self.diagnose_fast)]
        if self.fast_all:
            fast += [("g", "remediate --check, fast mode", self.plan_fast),
                     ("g", "remediate, faulted, fast mode", self.remediate_fast)]
        return stock + fast if self.fast_env else stock

    def run_measure(self, index: int, repeats: int, letter: str, name: str, measure: Callable[[], float]) -> None:
        """One timed run of one measure. A Mitogen run (g) that did not do its work is left out with the
        rest of (g), and noted: it is a comparison, not a target, and must not cost the stock figures."""
        n = len(self.rooms)
        if letter == "g" and self.fast_failed:
            return
        recorded = {key: len(values) for key, values in self.wall.items()}
        try:
            progress(f"  N={n} ({letter}) {name} run {index + 1}/{repeats}: {measure():.2f} s")
        except BenchError as error:
            if letter != "g":
                raise
            for figures in (self.wall, self.cpu, self.load, self.idle, self.steal):  # that run's figures are void
                for key in FAST_MEASURES:
                    del figures[key][recorded[key]:]
            self.fast_failed = f"run {index + 1}/{repeats}: {error}"
            progress(f"  N={n} ({letter}) {name}: left out from here, {self.fast_failed}")

    def start(self) -> None:
        """Before the timed runs: a first ping (it opens the SSH connections) and the nft rule that drops
        (e)'s timeout targets on one room."""
        n = len(self.rooms)
        self.cold_ping = self.runner.run(PING)
        progress(f"N={n}: first ping (opens the SSH connections): {self.cold_ping.seconds:.2f} s")
        progress(f"N={n}: (d) faults: {', '.join(f'{room} {kind}' for room, kind in self.faults)}; "
                 f"(e) drops ports {DROPPED_PORT_BASE}+ on {self.dropping_room}")
        self.lab.sh(self.dropping_room, drop_rule_script())

    def time_base(self, key: str) -> None:
        """One run of a fixed base: the command of `key` with --list-hosts."""
        self.base_runs[key].append(round(self.runner.run([*BASE_COMMANDS[key], "--list-hosts"]).seconds, 3))

    @property
    def base(self) -> Dict[str, float]:
        return {key: median(runs) for key, runs in self.base_runs.items()}

    def stop_dropping(self) -> None:
        self.lab.sh(self.dropping_room, f"nft delete table inet {BENCH_NFT_TABLE} || true")

    def results(self) -> Dict[str, Any]:
        """After every timed run: the untimed profiled runs (memory, per-task profile) and the figures."""
        n, cold_ping, base = len(self.rooms), self.cold_ping, self.base
        progress(f"N={n}: diagnose once more, untimed: process-tree memory and per-task profile")
        profiled = self.runner.run(DIAGNOSE, sample_memory=True, extra_env={
            "ANSIBLE_CALLBACKS_ENABLED": ",".join((*configured_callbacks(), "ansible.posix.profile_tasks")),
            "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "all"})
        fast_profiled = (self.runner.run(DIAGNOSE, sample_memory=True, extra_env=self.fast_env)
                         if self.fast_env and not self.fast_failed else None)
        seconds = {key: median(values) for key, values in self.wall.items() if values}
        cpu = {key: median(values) for key, values in self.cpu.items() if values}
        tree_mib = round(profiled.tree_peak_pss_kib / 1024, 1)
        in_flight = min(configured_forks(), n)
        memory: Dict[str, Any] = {
            "largest_process_mib": {key: round(kib / 1024, 1) for key, kib in self.largest_kib.items()},
            "tree_peak_pss_mib": tree_mib,
            "tree_peak_pss_mib_per_room": round(tree_mib / n, 2),
            "rooms_in_flight": in_flight,
            "tree_peak_pss_mib_per_room_in_flight": round(tree_mib / in_flight, 2)}
        if fast_profiled is not None:
            memory["fast_tree_peak_pss_mib"] = round(fast_profiled.tree_peak_pss_kib / 1024, 1)
        return {
            "rooms": n,
            "seconds": seconds,
            "ratios": {key: round(seconds[key] / seconds["ping"], 3) for key in RATIO_MEASURES if key in seconds},
            "base_seconds": base,
            "base_runs": self.base_runs,
            "per_room_seconds": {key: per_room_cost(seconds[key], base[key], n) for key in PER_ROOM_MEASURES},
            "marginal_seconds_per_room": {},
            "cpu_seconds": cpu,
            "cpu_ratios": {key: round(cpu[key] / cpu["ping"], 3) for key in RATIO_MEASURES if key in cpu},
            "runs": self.wall,
            "cpu_runs": self.cpu,
            "load_average_1m_before_runs": self.load,
            "cpu_idle_before_runs": self.idle,
            "steal_seconds_during_runs": self.steal,
            "cold_ping_seconds": round(cold_ping.seconds, 3),
            "memory": memory,
            "fast_mode": self.fast_env,
            "fast_mode_failed": self.fast_failed or None,
            "faulted": {"rooms": [{"room": room, "kind": kind} for room, kind in self.faults],
                        "fixed_per_run": self.fixed_per_run},
            "probe": {"targets": len(self.targets), "timeout": PROBE_TIMEOUT, "concurrency": PROBE_CONCURRENCY,
                      "dropping_room": self.dropping_room,
                      "expected": {kind: list(self.expected.values()).count(kind) for kind in TARGET_KINDS},
                      **self.probe_outcomes, "playbook_process_seconds": self.probe_process},
            # Counted on the last room: run_once tasks report on the batch's first room.
            "diagnose_profile": {"tasks": parse_profile_tasks(profiled.stdout),
                                 "results_for_one_room": results_per_host(profiled.stdout, self.rooms[-1]),
                                 "room": self.rooms[-1], "untimed_run_seconds": round(profiled.seconds, 3)},
        }


def sizes_in_turn(sizes: Sequence[T], repetition: int) -> List[T]:
    """The sizes in the order of one repetition: as given, then reversed, and so on (A B, B A, A B). This
    runner's speed drifts within a minute, and a run leaves load behind (its rooms' processes, the SSH
    clients' exits) for the next one: always timing the larger size second would hand it both."""
    return list(sizes) if repetition % 2 == 0 else list(reversed(sizes))


def interleaved_repetitions(sizes: Sequence[SizeBench], repeats: int) -> None:
    """Every measure once per repetition, round-robin over the measures, and each measure at every size
    back to back, the sizes' order turning each repetition (sizes_in_turn). This runner's speed drifts by
    the minute (the hypervisor's steal; docs/performance.md): a burst of outside load hits all measures
    alike, and the sizes a per-room growth compares are timed seconds apart, not a quarter of an hour."""
    rows = list(zip(*(size.measures() for size in sizes), strict=True))  # a row: one measure at every size
    for index in range(repeats):
        for row in rows:
            for size, step in sizes_in_turn(list(zip(sizes, row, strict=True)), index):
                size.run_measure(index, repeats, *step)


def interleaved_bases(sizes: Sequence[SizeBench], repeats: int) -> None:
    """The fixed bases like the measures: each command's --list-hosts run at every size back to back (a
    base is subtracted before the per-room cost, so its drift would land in the growth too)."""
    for index in range(repeats):
        for key in BASE_COMMANDS:
            for size in sizes_in_turn(sizes, index):
                size.time_base(key)
    for size in sizes:
        progress(f"N={len(size.rooms)}: fixed bases (--list-hosts): {size.base}")


def lab_for_size(args: argparse.Namespace, position: int, rooms_count: int, work_dir: Path) -> BenchLab:
    """The lab of one fleet size: --lab-name / --lab-dir for the first, a name and dir with the size after
    them for the others (every size's lab is up at once)."""
    name, state_dir = args.lab_name, args.lab_dir.resolve()
    if position > 0:
        name, state_dir = f"{name}{rooms_count}", state_dir.with_name(f"{state_dir.name}-{rooms_count}")
    return BenchLab(name, state_dir, work_dir / f"reports-{rooms_count}")


def bench_sizes(labs: Dict[int, BenchLab], args: argparse.Namespace, work_dir: Path,
                fast_env: Dict[str, str]) -> Dict[str, Any]:
    """Every size's lab up, the timed runs interleaved across them, then each size's figures."""
    up_seconds: Dict[int, float] = {}
    for rooms_count, lab in labs.items():
        progress(f"N={rooms_count}: lab {lab.name} up")
        up_seconds[rooms_count] = lab.up(rooms_count)
        progress(f"N={rooms_count}: rooms up in {up_seconds[rooms_count]:.1f} s")
    sizes = [SizeBench(lab, work_dir, args.settle, fast_env, args.fast_all) for lab in labs.values()]
    dropping: List[SizeBench] = []
    try:
        for size in sizes:
            size.start()
            dropping.append(size)
        interleaved_bases(sizes, args.repeat)
        interleaved_repetitions(sizes, args.repeat)
    finally:
        for size in dropping:
            size.stop_dropping()
    figures: Dict[str, Any] = {}
    previous: Tuple[int, Dict[str, float]] | None = None
    for rooms_count, size in zip(labs, sizes, strict=True):
        result = size.results()
        result["lab_up_seconds"] = round(up_seconds[rooms_count], 1)
        if previous is not None:
            result["marginal_seconds_per_room"] = {
                key: marginal_cost((previous[0], previous[1][key]), (rooms_count, result["seconds"][key]))
                for key in PER_ROOM_MEASURES}
        previous = (rooms_count, result["seconds"])
        figures[str(rooms_count)] = result
    return figures


def bench_inventory(repeats: int, rate_rooms: int = INVENTORY_RATE_ROOMS) -> Dict[str, Any]:
    """(f): bench/inventory_bench.py's measure, with its own double on loopback; then its rate-limited
    measure with ``rate_rooms`` rooms (0: skipped) under ``rate_limited``."""
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import inventory_bench
    except ImportError as error:
        return {"skipped": f"the Zoom API double is not importable ({error})"}
    progress(f"(f) ansible-inventory --list against the Zoom API double, {INVENTORY_ROOMS} rooms")
    try:
        result = inventory_bench.bench(INVENTORY_ROOMS, repeats, 4)
        progress(f"  (f) median {result['median_seconds']:.2f} s over {result['runs']}")
        if rate_rooms <= 0:
            result["rate_limited"] = {"skipped": "--inventory-rate-rooms 0"}
            return result
        paced = sum(2 * rate_rooms / limit for limit in inventory_bench.PLANS.values())
        progress(f"(f) rate limited, {rate_rooms} rooms, plans {', '.join(inventory_bench.PLANS)} "
                 f"(at least {paced:.0f} s of paced requests)")
        result["rate_limited"] = inventory_bench.rate_limited_bench(rate_rooms, 4, warm_runs=repeats)
    except SystemExit as error:  # inventory_bench's way of saying ansible-inventory failed
        raise BenchError(f"(f) {error}") from None
    for line in inventory_bench.format_rate_limited(result["rate_limited"]).splitlines():
        progress(f"  {line}")
    return result


# ---------------------------------------------------------------- main

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, nargs="+", default=[50, 100], help="fleet sizes (default 50 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure; the median is reported")
    parser.add_argument("--results", type=Path, default=PROJECT / "bench" / "results.json")
    parser.add_argument("--skip-inventory", action="store_true",
                        help="skip (f), the 2000-room inventory, and its rate-limited measure")
    parser.add_argument("--inventory-rate-rooms", type=int, default=INVENTORY_RATE_ROOMS, metavar="N",
                        help=f"rooms of the rate-limited inventory measure (default {INVENTORY_RATE_ROOMS}; 0: skip)")
    parser.add_argument("--settle", type=float, default=20.0, metavar="SECONDS",
                        help="wait up to SECONDS before each timed run for >= 50%% idle CPU (shared runners; 0: off)")
    parser.add_argument("--skip-fast", action="store_true", help="skip (g), the fast mode (Mitogen) runs")
    parser.add_argument("--fast-all", action="store_true",
                        help="(g) for remediate --check and the faulted remediate too (default: diagnose only)")
    parser.add_argument("--lab-name", default="zrb",
                        help="podman lab name (containers, networks) of the first size; the others add N to it")
    parser.add_argument("--lab-dir", type=Path, default=None,
                        help="lab state dir of the first size (default .lab/bench); the others add -N to it")
    args = parser.parse_args(argv)
    if args.repeat < 1 or any(n < 1 for n in args.rooms):
        parser.error("--repeat and every --rooms value must be >= 1")
    if args.inventory_rate_rooms < 0:
        parser.error("--inventory-rate-rooms must be >= 0")
    args.rooms = sorted(set(args.rooms))  # marginal costs go from one size to the next larger one
    if args.lab_dir is None:
        args.lab_dir = PROJECT / ".lab" / ("bench" if args.lab_name == "zrb" else f"bench-{args.lab_name}")
    return args


@contextlib.contextmanager
def terminate_on_sigterm(runners_of: Callable[[], Sequence[Runner]]) -> Iterator[None]:
    """SIGTERM stops the running command and unwinds (so the labs are torn down) like Ctrl-C."""
    interrupted = False

    def handler(_signum: int, _frame: Any) -> None:
        nonlocal interrupted
        for runner in runners_of():
            runner.stop()
        if not interrupted:  # a second SIGTERM must not cut the teardown short
            interrupted = True
            raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def host_info() -> Dict[str, Any]:
    info: Dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    with contextlib.suppress(OSError, ValueError):
        meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0]
        info["memory_gib"] = round(int(meminfo.split()[1]) / 1024 / 1024, 1)
    with contextlib.suppress(Exception):
        from ansible.release import __version__ as ansible_version
        info["ansible_core"] = ansible_version
    return info


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    results: Dict[str, Any] = {
        "meta": {"started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                 "rooms": args.rooms, "repeat": args.repeat, "lab_name": args.lab_name,
                 "settle_seconds": args.settle, "fault_fraction": FAULT_FRACTION,
                 "probe_targets": PROBE_TARGETS, "probe_timeout": PROBE_TIMEOUT,
                 "inventory_rate_rooms": args.inventory_rate_rooms, "host": host_info(), "targets": TARGETS},
        "rooms": {},
    }
    labs: Dict[int, BenchLab] = {}
    failure: str | None = None
    with tempfile.TemporaryDirectory(prefix="zr-bench-") as tmp, terminate_on_sigterm(
            lambda: [lab.runner for lab in labs.values()]):
        work_dir = Path(tmp)
        labs.update({rooms_count: lab_for_size(args, position, rooms_count, work_dir)
                     for position, rooms_count in enumerate(args.rooms)})
        fast_env = {} if args.skip_fast else fast_mode_env()
        if not args.skip_fast and not fast_env:
            progress("(g) skipped: the mitogen package is not installed")
        results["meta"]["fast_mode"] = fast_env or "skipped"
        results["meta"]["labs"] = {str(rooms_count): lab.name for rooms_count, lab in labs.items()}
        try:
            try:
                results["rooms"] = bench_sizes(labs, args, work_dir, fast_env)
            finally:
                for rooms_count, lab in labs.items():
                    progress(f"N={rooms_count}: lab {lab.name} down")
                    lab.down()
            results["inventory"] = ({"skipped": "--skip-inventory"} if args.skip_inventory
                                    else bench_inventory(args.repeat, args.inventory_rate_rooms))
        except BenchError as error:
            failure = str(error)
        except KeyboardInterrupt:
            failure = "interrupted"
    results["targets"] = {**evaluate_targets(results["rooms"]),
                          **evaluate_inventory_target(results.get("inventory", {}))}
    results["meta"]["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results["meta"]["bench_seconds"] = round(time.time() - started, 1)
    results["meta"]["children_max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    if failure:
        results["meta"]["failed"] = failure
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    if results["rooms"]:
        print(format_table(results["rooms"]))
    summary = inventory_summary(results.get("inventory", {}))
    if summary:
        print("\n" + "\n".join(summary))
    for name, verdict in results["targets"].items():
        print(f"target {name:<26} {'met   ' if verdict['met'] else 'MISSED'} "
              f"measured {verdict['measured']} (limit {verdict['limit']}, {verdict['at']})")
    print(f"\nresults: {args.results}")
    if failure:
        print(f"bench failed: {failure}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
