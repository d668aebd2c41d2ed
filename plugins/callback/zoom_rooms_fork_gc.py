"""Notification callback: prepare the control node before a task forks its workers (gc.freeze, template plugins)."""

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
  - It also loads the template plugins in the control node as each play starts, before its first task
    forks, the filters and tests of ansible.builtin and the filters of this collection. Otherwise every
    worker loads them again when it compiles its first template with a filter in it (Ansible's Jinja plugin
    loader imports every builtin filter and test module then, and every Python file of a collection's filter
    directory, which the collection loader compiles from source each time). Loaded once here, every worker
    inherits them. As each task starts it loads them again only if the loaders lost them (a role included
    at run time adds a plugin directory, which empties their caches). A plugin that fails to load here is
    left to the worker, which reports it as it would have.
  - It changes nothing else; results and reports are the same with or without it. The gains are measured
    in docs/performance.md ("Forked workers and the garbage collector", "Results, eighth pass").
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
from ansible.plugins.loader import filter_loader, test_loader
from ansible.utils.display import Display

display = Display()

# This collection's name, from the module's own: ansible_collections.<namespace>.<name>.plugins.callback...
COLLECTION = ".".join(__name__.split(".")[1:3])
# Any filter of the collection: looking one up loads every Python file of its filter directory.
COLLECTION_FILTER = f"{COLLECTION}.zoom_room_findings"


def freeze_before_fork() -> None:
    """Move every object the collector tracks to the permanent generation, which no collection walks."""
    gc.freeze()


def load_template_plugins() -> None:
    """Load ansible.builtin's filters and tests and this collection's filters here, for the workers to inherit.

    About 80 ms the first time; about 1 ms once done: the loaders keep what they loaded (until a role included
    at run time adds a plugin directory, which empties their caches; the next task start loads them again).
    """
    try:
        for loader in (filter_loader, test_loader):
            for _plugin in loader.all():
                pass
        filter_loader.get(COLLECTION_FILTER)
    except Exception as error:  # an optimisation only: the worker meets the same error and reports it
        display.vvv(f"zoom_rooms_fork_gc: template plugins not preloaded: {error}")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "zoomrooms.remediation.zoom_rooms_fork_gc"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_play_start(self, play: Any) -> None:
        load_template_plugins()  # the run's one load, outside any task's time

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        load_template_plugins()
        freeze_before_fork()  # after loading, so the plugins' objects are frozen too

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        load_template_plugins()
        freeze_before_fork()
