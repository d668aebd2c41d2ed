"""bench/run.py: the inventory parts (the rate-limited measure's wiring, its target, its report lines).

Nothing here starts a lab or ansible-inventory: inventory_bench's measures are replaced by stand-ins.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict

import pytest
from fixture_files import PROJECT

sys.path.insert(0, str(PROJECT / "bench"))
import inventory_bench
import run as bench_run


def plan(limit: float, warm: float) -> Dict[str, Any]:
    return {"limit_per_second": limit, "rooms": 1000, "hosts": 932, "uncached": 52.6, "cached_cold": 53.1,
            "cached_warm": warm, "cached_warm_devices": 1.0,
            "requests": {"uncached": 1004, "cached_cold": 1004, "cached_warm": 0},
            "throttled": {"uncached": 5, "cached_cold": 7, "cached_warm": 0},
            "cpu_seconds": {"uncached": 6.1, "cached_cold": 6.3, "cached_warm": 1.6, "cached_warm_devices": 0.95}}


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
        "(device_hostvars true 1.00 s); requests 1004, 429s 5 uncached / 7 cold"]
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
                            cached_warm_runs=[1.7], cached_warm_devices_runs=[1.0])}

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


# ---------------------------------------------------------------- issue 17's targets and the fast mode

def size_result(ping: float, **seconds: float) -> Dict[str, Any]:
    """One fleet size's figures as SizeBench.run gives them (only what evaluate_targets reads)."""
    all_seconds = {"ping": ping, "probe_task": 2.3, **seconds}
    return {"seconds": all_seconds,
            "ratios": {key: round(value / ping, 3) for key, value in all_seconds.items() if key != "ping"},
            "per_room_seconds": {key: 0.2 for key in bench_run.PER_ROOM_MEASURES}}


def test_the_targets_are_issue_17s():
    assert {key: bench_run.TARGETS[key] for key in bench_run.RATIO_TARGETS} == {
        "diagnose_over_ping": 1.3, "plan_over_ping": 1.5, "remediate_over_ping": 2.5, "diagnose_fast_over_ping": 1.0}
    assert (bench_run.TARGETS["probe_task_seconds"], bench_run.TARGETS["per_room_growth"]) == (2.5, 1.1)


def test_a_ratio_target_must_hold_at_every_size():
    """Met at N=100 but missed at N=50: the target is missed, and the worst size is named."""
    results = {"50": size_result(10.0, diagnose=13.5, plan=14.0, remediate=24.0),
               "100": size_result(20.0, diagnose=25.0, plan=28.0, remediate=48.0)}
    verdicts = bench_run.evaluate_targets(results)
    assert verdicts["diagnose_over_ping"] == {"limit": 1.3, "measured": 1.35, "met": False, "at": "worst, N=50"}
    assert verdicts["plan_over_ping"]["met"] and verdicts["remediate_over_ping"]["met"]


def test_the_fast_mode_is_the_default_diagnose_and_must_not_be_slower_than_stock_ping():
    """The fast mode is the lean payloads diagnose.yml runs by default: (b). Neither Mitogen (g) nor the
    module path (h) decides the verdict, however fast or slow they are."""
    results = {"50": size_result(10.0, diagnose=10.5, plan=13.0, remediate=20.0, diagnose_fast=9.0,
                                 diagnose_modules=9.0)}
    verdict = bench_run.evaluate_targets(results)["diagnose_fast_over_ping"]
    assert (verdict["measured"], verdict["met"]) == (1.05, False)
    results["50"] = size_result(10.0, diagnose=9.5, plan=13.0, remediate=20.0, diagnose_fast=12.0,
                                diagnose_modules=15.0)
    assert bench_run.evaluate_targets(results)["diagnose_fast_over_ping"]["met"] is True


def test_per_room_cost_growth_above_1_1_is_missed():
    small, large = size_result(10.0, diagnose=12.0, plan=13.0, remediate=20.0), \
        size_result(20.0, diagnose=24.0, plan=26.0, remediate=40.0)
    large["per_room_seconds"] = {**large["per_room_seconds"], "diagnose": 0.23}  # 0.23 / 0.2 = 1.15
    verdicts = bench_run.evaluate_targets({"50": small, "100": large})
    assert verdicts["per_room_flat_diagnose"]["measured"] == 1.15 and not verdicts["per_room_flat_diagnose"]["met"]
    assert verdicts["per_room_flat_ping"]["met"]


def test_the_fast_mode_is_the_installed_mitogen_strategy(monkeypatch):
    env = bench_run.fast_mode_env()
    pytest.importorskip("ansible_mitogen")  # pinned in requirements.txt: present in the project's venv
    assert env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert (Path(env["ANSIBLE_STRATEGY_PLUGINS"]) / "mitogen_linear.py").is_file()
    monkeypatch.setitem(sys.modules, "ansible_mitogen", None)  # as if not installed: (g) is skipped
    assert bench_run.fast_mode_env() == {}


def test_forks_come_from_ansible_cfg(tmp_path):
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\nforks = 17\n")
    assert bench_run.configured_forks(config) == 17
    config.write_text("[defaults]\n")
    assert bench_run.configured_forks(config) == 5  # ansible's own default
    assert bench_run.configured_forks() == 50  # the project's ansible.cfg


def test_the_profiled_run_keeps_the_configured_callbacks(tmp_path):
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\ncallbacks_enabled = a.b.report, a.b.fork_gc\n")
    assert bench_run.configured_callbacks(config) == ["a.b.report", "a.b.fork_gc"]
    config.write_text("[defaults]\n")
    assert bench_run.configured_callbacks(config) == []
    assert "zoomrooms.remediation.zoom_rooms_fork_gc" in bench_run.configured_callbacks()


def test_the_bench_keeps_ansible_cfgs_ssh_args_with_a_longer_control_persist(tmp_path):
    config = tmp_path / "ansible.cfg"
    config.write_text("[ssh_connection]\n"
                      "ssh_args = -o ControlMaster=auto -o ControlPersist=120s -o ServerAliveInterval=15\n")
    expected = "-o ControlMaster=auto -o ServerAliveInterval=15 -o ControlPersist=1800s"
    assert bench_run.bench_ssh_args(config) == expected
    assert "ControlPersist=120s" not in bench_run.bench_ssh_args()  # the project's ansible.cfg


def bare_size_bench(measures, rooms=50):
    """A SizeBench without a lab: only what interleaved_repetitions() reads."""
    size = object.__new__(bench_run.SizeBench)
    size.rooms = [f"room-{index:03d}" for index in range(1, rooms + 1)]
    size.fast_failed = ""
    size.wall = {key: [] for key in bench_run.MEASURES}
    size.cpu, size.load, size.idle, size.steal = (bench_run.run_figures() for _unused in range(4))
    size.measures = lambda: measures(size)
    return size


def test_a_failed_mitogen_run_is_left_out_and_the_stock_figures_go_on():
    calls = []

    def diagnose():
        calls.append("b")
        size.wall["diagnose"].append(10.0)
        return 10.0

    def mitogen():
        calls.append("g")
        size.wall["diagnose_fast"].append(99.0)  # timed, then found not to have done its work
        size.cpu["diagnose_fast"].append(9.0)
        if len(calls) > 2:
            raise bench_run.BenchError("diagnose_fast: rooms {'room-040': 'unreachable'} ended unreachable")
        return 99.0

    size = bare_size_bench(lambda _size: [("b", "diagnose", diagnose), ("g", "diagnose, fast mode", mitogen)])
    bench_run.interleaved_repetitions([size], 3)
    assert calls == ["b", "g", "b", "g", "b"]  # (g) left out after its failed run; (b) ran every time
    assert size.wall["diagnose"] == [10.0, 10.0, 10.0]
    assert (size.wall["diagnose_fast"], size.cpu["diagnose_fast"]) == ([99.0], [9.0])  # the void run is gone
    assert size.fast_failed.startswith("run 2/3: diagnose_fast: rooms")


def test_a_failed_stock_run_still_stops_the_bench():
    def diagnose():
        raise bench_run.BenchError("diagnose: rooms {'room-001': 'failed'}")

    size = bare_size_bench(lambda _size: [("b", "diagnose", diagnose)])
    with pytest.raises(bench_run.BenchError, match="room-001"):
        bench_run.interleaved_repetitions([size], 1)


def test_each_measure_runs_at_every_size_back_to_back():
    """The sizes a per-room growth compares are timed one after the other, not a size's runs at a time."""
    calls = []

    def measures(size):
        def timed(letter):
            return lambda: calls.append((letter, len(size.rooms))) or 1.0
        return [("a", "ping", timed("a")), ("b", "diagnose", timed("b"))]

    sizes = [bare_size_bench(measures, rooms=50), bare_size_bench(measures, rooms=100)]
    bench_run.interleaved_repetitions(sizes, 3)
    forward, backward = [("a", 50), ("a", 100), ("b", 50), ("b", 100)], [("a", 100), ("a", 50), ("b", 100), ("b", 50)]
    assert calls == forward + backward + forward  # the sizes' order turns each repetition


def test_the_sizes_take_turns_going_first():
    assert [bench_run.sizes_in_turn([50, 100, 200], index) for index in range(3)] == [
        [50, 100, 200], [200, 100, 50], [50, 100, 200]]
    assert bench_run.sizes_in_turn([50], 1) == [50]


def test_a_failed_mitogen_run_at_one_size_leaves_the_other_size_alone():
    calls = []

    def measures(size):
        def mitogen():
            calls.append(len(size.rooms))
            if len(size.rooms) == 100:
                raise bench_run.BenchError("diagnose_fast: rooms {'room-040': 'unreachable'} ended unreachable")
            return 9.0
        return [("g", "diagnose, fast mode", mitogen)]

    small, large = bare_size_bench(measures, rooms=50), bare_size_bench(measures, rooms=100)
    bench_run.interleaved_repetitions([small, large], 3)
    assert calls == [50, 100, 50, 50]
    assert (small.fast_failed, large.fast_failed.startswith("run 1/3")) == ("", True)


def test_the_first_size_has_the_given_lab_and_the_others_their_own(tmp_path):
    args = bench_run.parse_args(["--rooms", "100", "50", "--lab-name", "zrq", "--lab-dir", str(tmp_path / "lab")])
    labs = [bench_run.lab_for_size(args, position, rooms, tmp_path) for position, rooms in enumerate(args.rooms)]
    assert [(lab.name, lab.state_dir.name) for lab in labs] == [("zrq", "lab"), ("zrq100", "lab-100")]
    assert len({lab.report_dir for lab in labs}) == 2  # each lab's run reports apart: check_report reads its own
    assert {lab.env()["ZR_LAB_NAME"] for lab in labs} == {"zrq", "zrq100"}
    assert len({lab.env()["ANSIBLE_SSH_CONTROL_PATH_DIR"] for lab in labs}) == 2


def test_steal_is_read_from_proc_stat():
    times = bench_run.cpu_times()
    assert 0 <= times.steal <= times.total and 0 <= times.idle <= times.total


def test_the_fixed_bases_run_at_every_size_back_to_back_and_their_median_is_the_base():
    calls = []

    class Runner:
        def __init__(self, rooms):
            self.rooms, self.seconds = rooms, iter([3.0, 1.0, 2.0] * 8)

        def run(self, argv):
            calls.append((argv[0].split("/")[-1], argv[-1], self.rooms))
            return SimpleNamespace(seconds=next(self.seconds))

    sizes = []
    for rooms in (50, 100):
        size = bare_size_bench(lambda _size: [], rooms=rooms)
        size.runner, size.base_runs = Runner(rooms), {key: [] for key in bench_run.BASE_COMMANDS}
        sizes.append(size)
    bench_run.interleaved_bases(sizes, 3)
    commands = [bench_run.BASE_COMMANDS[key][0] for key in bench_run.BASE_COMMANDS]
    assert calls == [(command, "--list-hosts", rooms) for run in range(3) for command in commands
                     for rooms in ((50, 100) if run % 2 == 0 else (100, 50))]
    assert sizes[0].base_runs["ping"] == [3.0, 1.0, 2.0]  # its runner's 1st, 5th and 9th answers
    assert sizes[0].base["ping"] == 2.0
