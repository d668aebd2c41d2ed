"""The fork_gc callback: what exists when a task starts is out of reach of later collections."""

import gc
import os

import pytest
from ansible_collections.zoomrooms.remediation.plugins.callback.zoom_rooms_fork_gc import CallbackModule


@pytest.fixture
def callback():
    yield CallbackModule()
    gc.unfreeze()


def tracked(marker):
    return any(item is marker for item in gc.get_objects())


@pytest.mark.parametrize("start", [
    lambda callback: callback.v2_playbook_on_task_start(object(), False),
    lambda callback: callback.v2_playbook_on_handler_task_start(object()),
], ids=["task", "handler"])
def test_a_task_start_freezes_what_exists(callback, start):
    before = [object()]  # a tracked container, as the inventory and the results are
    assert tracked(before)
    start(callback)
    assert gc.get_freeze_count() > 0 and not tracked(before)
    after = [object()]
    assert tracked(after), "what is made after the freeze is collected as usual"


def test_a_forked_worker_does_not_walk_the_parents_objects(callback):
    """A collection in a child forked after the freeze sees none of the objects the parent made before it."""
    parents = [[index] for index in range(20_000)]
    parent_ids = {id(item) for item in parents}
    callback.v2_playbook_on_task_start(object(), False)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: how many of the parent's lists would its collections walk?
        os.close(read)
        seen = sum(1 for item in gc.get_objects() if id(item) in parent_ids)
        os.write(write, str(seen).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        seen = int(pipe.read())
    os.waitpid(pid, 0)
    assert seen == 0
