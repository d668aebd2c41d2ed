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


class StrategyModule(LinearStrategyModule):
    def _queue_task(self, host: Any, task: Any, task_vars: dict[str, Any], play_context: Any) -> None:
        while all_busy(self._workers) and not self._tqm._terminated:
            time.sleep(FREE_WORKER_POLL_SECONDS)
        super()._queue_task(host, task, task_vars, play_context)
