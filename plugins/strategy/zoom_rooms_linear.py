"""Strategy: Ansible's linear strategy, without its busy wait for a free worker."""

from __future__ import annotations

DOCUMENTATION = r"""
name: zoom_rooms_linear
short_description: The linear strategy, waiting for a free worker without spinning a CPU
description:
  - Runs plays exactly as C(ansible.builtin.linear) does (the same task order, batches, C(forks),
    C(throttle), C(run_once) and error handling). This strategy is that class with one change.
  - When a task has more hosts than C(forks), Ansible's controller queues each further host as a worker
    frees up. To find a free worker it scans all of them and sleeps 0.1 ms between scans, so for as long
    as every worker is busy that loop keeps most of a CPU of the control node busy, and the workers, the
    SSH clients (and in a lab the rooms themselves) get that much less. The cost grows with the part of
    the fleet beyond C(forks).
  - This strategy waits until a worker is free before handing the host to Ansible's queueing, checking
    every 5 ms. A free worker is then taken at most 5 ms later, against a task of tenths of seconds per
    room. docs/performance.md ("The controller's busy wait") has the measurement.
  - A task with C(throttle) uses only the first C(throttle) workers, and the wait looks at those. A
    throttle given as a template is only known once Ansible templates it, so such a task waits as
    linear does.
  - Opt-in, with C(ANSIBLE_STRATEGY=zoomrooms.remediation.zoom_rooms_linear) or C(strategy) in ansible.cfg.
    ansible-core 2.19 deprecates strategy plugins outside ansible.builtin, with no replacement planned,
    and prints a deprecation warning on every run that uses one; a later ansible-core may not load it.
author: Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
"""

import time
from typing import Any

from ansible.plugins.strategy.linear import StrategyModule as LinearStrategyModule

# Seconds between looks for a free worker while all are busy (Ansible's own loop: 0.0001).
FREE_WORKER_POLL_SECONDS = 0.005


def all_busy(workers: list[Any]) -> bool:
    """True when every worker slot holds a process that is still running."""
    return all(worker is not None and worker.is_alive() for worker in workers)


def usable_slots(workers: int, throttle: Any, run_once: bool) -> int:
    """How many worker slots Ansible's _queue_task hands this task to: the first `throttle` of them when
    the task is throttled below the worker count (not with run_once, which Ansible then ignores). A
    templated throttle is not known yet: every slot, so the wait never outlasts Ansible's own."""
    if isinstance(throttle, int) and not isinstance(throttle, bool) and 0 < throttle <= workers and not run_once:
        return throttle
    return workers


class StrategyModule(LinearStrategyModule):
    def _queue_task(self, host: Any, task: Any, task_vars: dict[str, Any], play_context: Any) -> None:
        slots = usable_slots(len(self._workers), task.throttle, bool(task.run_once))
        while all_busy(self._workers[:slots]) and not self._tqm._terminated:
            time.sleep(FREE_WORKER_POLL_SECONDS)
        super()._queue_task(host, task, task_vars, play_context)
