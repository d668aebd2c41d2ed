"""The zoom_rooms_linear strategy: linear, but waiting for a free worker without a busy loop."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible.plugins.strategy.linear import StrategyModule as LinearStrategyModule
from ansible_collections.zoomrooms.remediation.plugins.strategy import zoom_rooms_linear
from ansible_collections.zoomrooms.remediation.plugins.strategy.zoom_rooms_linear import (
    StrategyModule,
    all_busy,
    usable_slots,
)
from fixture_files import PROJECT

TASK = SimpleNamespace(throttle=0, run_once=False)  # what _queue_task reads of a task


class Worker:
    """A worker process as the strategy sees it: alive until `until` (monotonic), counting the looks."""

    def __init__(self, until: float) -> None:
        self.until, self.looks = until, 0

    def is_alive(self) -> bool:
        self.looks += 1
        return time.monotonic() < self.until


def test_all_busy():
    far = time.monotonic() + 60
    assert all_busy([Worker(far), Worker(far)]) is True
    assert all_busy([Worker(far), None]) is False  # a slot never used
    assert all_busy([Worker(far), Worker(0)]) is False  # a worker that finished


def test_it_waits_for_a_free_worker_in_steps_then_queues_as_linear(monkeypatch):
    """Two busy workers free up after 0.1 s: about 20 looks each at 5 ms steps (Ansible's 0.1 ms loop: ~1000)."""
    queued = []
    monkeypatch.setattr(LinearStrategyModule, "_queue_task",
                        lambda self, host, task, task_vars, play_context: queued.append((host, time.monotonic())))
    strategy = StrategyModule.__new__(StrategyModule)  # no TaskQueueManager: only what _queue_task reads
    started = time.monotonic()
    strategy._workers = [Worker(started + 0.1), Worker(started + 0.1)]
    strategy._tqm = SimpleNamespace(_terminated=False)
    strategy._queue_task("room-1", TASK, {}, None)
    assert queued and queued[0][0] == "room-1" and queued[0][1] - started >= 0.1
    assert strategy._workers[0].looks <= 0.1 / zoom_rooms_linear.FREE_WORKER_POLL_SECONDS * 3


@pytest.mark.parametrize("throttle, run_once, slots", [
    (0, False, 4), (1, False, 1), (3, False, 3), (4, False, 4), (8, False, 4),
    (1, True, 4), ("{{ batch }}", False, 4), (True, False, 4),
], ids=["none", "one", "three", "all", "above forks", "run_once ignores it", "templated", "a bool"])
def test_usable_slots_follow_ansibles_throttle(throttle, run_once, slots):
    assert usable_slots(4, throttle, run_once) == slots


def test_a_throttled_task_waits_for_its_own_slots(monkeypatch):
    """throttle 1: Ansible uses slot 0 only, so a free slot 1 must not end the wait."""
    queued = []
    monkeypatch.setattr(LinearStrategyModule, "_queue_task", lambda self, *args: queued.append(time.monotonic()))
    strategy = StrategyModule.__new__(StrategyModule)
    started = time.monotonic()
    strategy._workers = [Worker(started + 0.1), None]
    strategy._tqm = SimpleNamespace(_terminated=False)
    strategy._queue_task("room-1", SimpleNamespace(throttle=1, run_once=False), {}, None)
    assert queued and queued[0] - started >= 0.1
    assert strategy._workers[0].looks <= 0.1 / zoom_rooms_linear.FREE_WORKER_POLL_SECONDS * 3


def test_a_free_worker_is_taken_at_once(monkeypatch):
    queued = []
    monkeypatch.setattr(LinearStrategyModule, "_queue_task", lambda self, *args: queued.append(args[0]))
    strategy = StrategyModule.__new__(StrategyModule)
    strategy._workers = [None, Worker(time.monotonic() + 60)]
    strategy._tqm = SimpleNamespace(_terminated=False)
    started = time.monotonic()
    strategy._queue_task("room-1", TASK, {}, None)
    assert queued == ["room-1"] and time.monotonic() - started < zoom_rooms_linear.FREE_WORKER_POLL_SECONDS


def test_a_terminated_run_stops_waiting(monkeypatch):
    queued = []
    monkeypatch.setattr(LinearStrategyModule, "_queue_task", lambda self, *args: queued.append(args[0]))
    strategy = StrategyModule.__new__(StrategyModule)
    strategy._workers = [Worker(time.monotonic() + 60)]
    strategy._tqm = SimpleNamespace(_terminated=True)
    strategy._queue_task("room-1", TASK, {}, None)
    assert queued == ["room-1"]  # Ansible's own queueing then sees the termination


PLAYBOOK = """\
- hosts: all
  gather_facts: false
  connection: local
  tasks:
    - name: Take a while on every host
      ansible.builtin.command: sleep 0.2
      changed_when: false
    - name: One host at a time
      ansible.builtin.command: sleep 0.1
      changed_when: false
      throttle: 1
    - name: Every host ran the task, in order
      ansible.builtin.assert:
        that: ansible_play_hosts_all | length == 7
      run_once: true
"""


@pytest.mark.parametrize("strategy", ["zoomrooms.remediation.zoom_rooms_linear", "ansible.builtin.linear"])
def test_a_real_play_with_more_hosts_than_forks(tmp_path: Path, strategy: str):
    """ansible-playbook, 7 hosts, 2 forks: the strategy runs every task on every host, as linear does."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    hosts = ",".join(f"room-{index}" for index in range(7)) + ","
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", hosts, "-f", "2",
                           "-e", "ansible_python_interpreter=" + sys.executable, str(playbook)],
                          capture_output=True, text=True, timeout=300, cwd=PROJECT, check=False,
                          env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
                               "ANSIBLE_STRATEGY": strategy, "HOME": str(tmp_path),
                               "ZOOM_ROOMS_REPORT_DIR": str(tmp_path / "reports")})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok=3" in done.stdout and done.stdout.count("ok=") == 7
