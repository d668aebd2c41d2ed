"""The fork_gc callback: what exists when a task starts is out of reach of later collections, and the
workers inherit the template plugins instead of loading them again."""

import gc
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest
from ansible_collections.zoomrooms.remediation.plugins.callback.zoom_rooms_fork_gc import CallbackModule

PROJECT = Path(__file__).resolve().parents[4]
CALLBACK = "zoomrooms.remediation.zoom_rooms_fork_gc"
REPORT_CALLBACK = "zoomrooms.remediation.zoom_rooms_report"


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


PLAYBOOK = """\
- hosts: all
  gather_facts: false
  connection: local
  tasks:
    - name: A filter of the collection and a builtin one in every room's arguments
      ansible.builtin.debug:
        msg: "{{ inventory_hostname | zoomrooms.remediation.zoom_room_reachability_of({}) | to_json }}"
"""


def plugin_loads(tmp_path: Path, callbacks: str, hosts: int) -> Tuple[int, List[str]]:
    """(filter and test modules loaded from their files, the task's messages) of a real ansible-playbook run.

    ANSIBLE_DEBUG logs every plugin load, the workers' too (through the control node's display);
    a load the loader serves from its cache says found_in_cache=True.
    """
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    inventory = ",".join(f"room-{index}" for index in range(hosts)) + ","
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", inventory, "-f", "2",
                           "-e", "ansible_python_interpreter=" + sys.executable, str(playbook)],
                          capture_output=True, text=True, timeout=300, cwd=PROJECT, check=False,
                          env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(tmp_path),
                               "ANSIBLE_DEBUG": "1", "ANSIBLE_CALLBACKS_ENABLED": callbacks,
                               "ZOOM_ROOMS_REPORT_DIR": str(tmp_path / "reports")})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    loads = re.findall(r"Loading (?:FilterModule|TestModule) .*", done.stdout + done.stderr)
    messages = sorted(re.findall(r'"msg": (.*)', done.stdout))
    assert len(messages) == hosts, done.stdout[-3000:]
    return sum(1 for line in loads if "found_in_cache=True" not in line), messages


def test_the_workers_inherit_the_template_plugins(tmp_path: Path):
    """With the callback, the control node loads the filters once: the workers load none, whatever the hosts;
    without it, each worker loads them again. The task's results are the same."""
    with_callback_1 = plugin_loads(tmp_path, CALLBACK, 1)
    with_callback_4 = plugin_loads(tmp_path, CALLBACK, 4)
    without_4 = plugin_loads(tmp_path, REPORT_CALLBACK, 4)
    assert with_callback_1[0] == with_callback_4[0] > 0
    assert without_4[0] > with_callback_4[0] + 3, "without the callback, every worker loads the filters"
    assert with_callback_4[1] == without_4[1]
