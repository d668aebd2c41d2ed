"""Notification callback: freeze the control node's garbage collector before a task forks its workers."""

from __future__ import annotations

DOCUMENTATION = r"""
name: zoom_rooms_fork_gc
type: notification
short_description: Keep Ansible's forked workers from copying the control node's memory
description:
  - Ansible forks one worker process per host and task from the C(ansible-playbook) process. When
    CPython's cyclic garbage collector runs in a worker, it walks every object the worker inherited
    and writes its bookkeeping into them, so the kernel copies each memory page it touches
    (copy-on-write). That cost grows with the inventory and with what the run has read so far, and
    every worker pays it again.
  - As each task (or handler) starts, before its workers fork, this callback calls Python's C(gc.freeze), as
    the Python documentation advises before a fork. The objects alive then move to CPython's permanent
    generation, which collections in the workers and in the control node skip; objects made later are
    collected as usual. A reference cycle that was already garbage at a freeze, or becomes garbage
    after it, stays in memory until the run ends (objects without cycles are freed as always).
    Collecting first would walk the whole control node's memory at every task.
  - It changes nothing else; results and reports are the same with or without it. The gain is measured
    in docs/performance.md ("Forked workers and the garbage collector").
requirements:
  - enable in configuration (callbacks_enabled = zoomrooms.remediation.zoom_rooms_fork_gc)
"""

EXAMPLES = r"""
# ansible.cfg, beside the report callback
# [defaults]
# callbacks_enabled = zoomrooms.remediation.zoom_rooms_report, zoomrooms.remediation.zoom_rooms_fork_gc
#
# or for one run:
#   ANSIBLE_CALLBACKS_ENABLED=zoomrooms.remediation.zoom_rooms_report,zoomrooms.remediation.zoom_rooms_fork_gc \
#   ansible-playbook zoomrooms.remediation.diagnose -i rooms.yml
"""

import gc
from typing import Any

from ansible.plugins.callback import CallbackBase


def freeze_before_fork() -> None:
    """Move every object the collector tracks to the permanent generation, which no collection walks."""
    gc.freeze()


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "zoomrooms.remediation.zoom_rooms_fork_gc"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        freeze_before_fork()

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        freeze_before_fork()
