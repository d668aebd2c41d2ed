"""Smoke run of the fleet benchmark (bench/run.py, `make bench`): 3 rooms, one run of each measure.

Proves the harness works end to end on the real lab and writes well-formed results: every measure
was taken (> 0 s), the faulted rooms were really fixed, the probe saw the outcomes the bench set up,
and the bench's lab is gone afterwards. It asserts nothing about speed: one run of a 3-room lab on
a shared machine says nothing about performance (docs/performance.md has the figures).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Its own lab name: runs beside the integration lab (zrt), a demo lab (zr) and `make bench` (zrb).
LAB_NAME = os.environ.get("ZR_TEST_BENCH_LAB_NAME", "zrbs")
ROOMS = 3
MEASURES = ("ping", "diagnose", "plan", "remediate", "probe_module", "probe_task", "diagnose_fast")

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    """One smoke run of bench/run.py: its results and its output."""
    tmp = tmp_path_factory.mktemp("bench")
    results = tmp / "results.json"
    process = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--rooms", str(ROOMS), "--repeat", "1", "--skip-inventory",
         "--settle", "0", "--lab-name", LAB_NAME, "--lab-dir", str(tmp / "lab"), "--results", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, f"bench/run.py exited {process.returncode}\n{process.stdout}\n{process.stderr}"
    return json.loads(results.read_text()), process, tmp / "lab"


def test_every_measure_was_taken(bench_run):
    results, _unused, _unused = bench_run
    size = results["rooms"][str(ROOMS)]
    assert size["rooms"] == ROOMS
    for measure in MEASURES:
        assert size["seconds"][measure] > 0, measure
        assert len(size["runs"][measure]) == 1, measure
    for measure in ("diagnose", "plan", "remediate", "diagnose_fast"):  # (g): diagnose under Mitogen
        assert size["ratios"][measure] > 0, measure
        assert size["cpu_seconds"][measure] > 0, measure
    for measure in ("ping", "diagnose", "plan", "remediate"):
        assert size["base_seconds"][measure] > 0, measure
        assert isinstance(size["per_room_seconds"][measure], float), measure
    assert size["cold_ping_seconds"] > 0
    for measure in ("ping", "diagnose", "plan", "remediate", "probe_task"):  # the hypervisor's steal per run
        assert len(size["steal_seconds_during_runs"][measure]) == 1, measure
        assert size["steal_seconds_during_runs"][measure][0] >= 0, measure
    assert max(size["memory"]["largest_process_mib"].values()) > 0
    assert size["memory"]["tree_peak_pss_mib"] > 0


def test_the_timed_runs_did_the_work(bench_run):
    results, _unused, _unused = bench_run
    size = results["rooms"][str(ROOMS)]
    # The faulted room was fixed and verified (the bench checks the run's report before it counts it).
    assert len(size["faulted"]["rooms"]) == 1
    assert size["faulted"]["fixed_per_run"] == [1]
    # The probe call tried all 500 targets and saw the mix the bench set up (open / refused / dropped).
    probe = size["probe"]
    assert probe["targets"] == 500
    assert probe["expected"] == {"open": 300, "refused": 100, "timeout": 100}
    assert probe["observed_last_run"] == probe["expected"]
    assert probe["unexpected_last_run"] == {}
    # The per-task profile of diagnose was read.
    assert size["diagnose_profile"]["tasks"], size["diagnose_profile"]


def test_results_are_well_formed(bench_run):
    results, process, _unused = bench_run
    assert results["meta"]["rooms"] == [ROOMS]
    assert results["meta"]["repeat"] == 1
    assert "failed" not in results["meta"]
    assert results["inventory"] == {"skipped": "--skip-inventory"}
    assert set(results["targets"]) >= {"diagnose_over_ping", "plan_over_ping", "probe_task_seconds"}
    for verdict in results["targets"].values():
        assert set(verdict) == {"limit", "measured", "met", "at"}
    assert "ratio to (a)" in process.stdout
    assert "steal seconds during the runs" in process.stdout
    assert "[bench " in process.stderr  # progress lines


def test_the_bench_lab_is_torn_down(bench_run):
    _unused, _unused, lab_dir = bench_run
    env = {**os.environ, "CONTAINERS_CONF": str(ROOT / "tests" / "lab" / "containers.conf")}
    left = subprocess.run(["podman", "ps", "-aq", "--filter", f"label=zr.lab={LAB_NAME}"],
                          capture_output=True, text=True, env=env, check=True).stdout.split()
    assert left == []
    assert not (lab_dir / "state.json").exists()
    assert not Path(f"/tmp/zr-cp-{LAB_NAME}").exists()
