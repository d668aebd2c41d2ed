"""The lean payload: the bootstrap run by a real, bare Python (no ansible, no collection on its path),
the command line it is started with, how its output is read, and when the module runs instead."""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.zoomrooms.remediation.plugins.action.zoom_room_reachability import (
    PAYLOAD_ENTRY,
    PAYLOAD_MODULE_UTILS,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_lean import (
    BOOTSTRAP,
    command,
    lean_interpreter,
    payload,
    result_of,
)


def run_bare(stdin: str) -> subprocess.CompletedProcess:
    # -I -S: no site-packages, no PYTHONPATH: the payload must carry all it imports.
    return subprocess.run([sys.executable, "-I", "-S", "-c", BOOTSTRAP], input=stdin, capture_output=True,
                          text=True, check=False, timeout=30)


def test_the_probe_payload_runs_in_a_bare_python():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    try:
        args = {"targets": [{"name": "here", "address": "127.0.0.1", "port": server.getsockname()[1]}],
                "port": 9090, "timeout": 2.0, "concurrency": 4, "lean": True}
        done = run_bare(payload(PAYLOAD_MODULE_UTILS, PAYLOAD_ENTRY, args))
    finally:
        server.close()
    assert done.returncode == 0, done.stderr
    result = result_of(done.returncode, done.stdout, done.stderr, "probe")
    assert result["changed"] is False
    assert result["reachability"]["here"]["state"] == "open"
    assert isinstance(result["connected_subnets"], list)


def test_a_payload_missing_a_dependency_fails_and_says_why():
    done = run_bare(payload(["zoom_room_tcp"], PAYLOAD_ENTRY, {"targets": []}))  # zoom_room_net left out
    result = result_of(done.returncode, done.stdout, done.stderr, "probe")
    assert result["failed"] is True
    assert result["msg"].startswith("probe: the lean payload failed (rc=1)")
    assert "ModuleNotFoundError" in result["msg"]


@pytest.mark.parametrize("rc, stdout, expected", [
    (0, 'Welcome to the probe\n{"changed": false}', {"changed": False}),
    (0, "", None),
    (0, "{not json", None),
    (127, "", None),
], ids=["noise before the JSON", "no output", "broken JSON", "python missing"])
def test_result_of(rc, stdout, expected):
    result = result_of(rc, stdout, "sh: python3: not found" if rc else "", "probe")
    if expected is not None:
        assert result == expected
    else:
        assert result["failed"] is True and f"rc={rc}" in result["msg"]


def test_command_quotes_the_interpreter_and_prefixes_the_environment():
    line = command("/opt/py 3/bin/python3", {"LANG": "C"}, lambda **env: " ".join(f"{k}={v}" for k, v in env.items()))
    assert shlex.split(line)[:3] == ["LANG=C", "/opt/py 3/bin/python3", "-c"]
    assert shlex.split(line)[3] == BOOTSTRAP
    assert command("python3", {}, lambda **env: "unused").startswith("python3 -c ")


def fake_action(async_val=0, windows=False, delegate_to=None):
    shell = SimpleNamespace(_IS_WINDOWS=windows)
    return SimpleNamespace(_task=SimpleNamespace(async_val=async_val, delegate_to=delegate_to),
                           _connection=SimpleNamespace(_shell=shell, _remote_is_local=False),
                           _templar=Templar(loader=DataLoader()))


@pytest.mark.parametrize("action, task_vars, expected", [
    (fake_action(), {"ansible_python_interpreter": "/usr/bin/python3"}, "/usr/bin/python3"),
    (fake_action(), {"ansible_python_interpreter": "auto_silent",
                     "ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3.11"}}, "/usr/bin/python3.11"),
    (fake_action(), {"ansible_python_interpreter": "auto", "ansible_facts": {}}, None),
    (fake_action(async_val=60), {"ansible_python_interpreter": "/usr/bin/python3"}, None),
    (fake_action(windows=True), {"ansible_python_interpreter": "/usr/bin/python3"}, None),
    (fake_action(delegate_to="probe"), {"ansible_python_interpreter": "/usr/bin/room-python",
                                        "ansible_delegated_vars": {"probe": {
                                            "ansible_python_interpreter": "/usr/bin/probe-python"}}},
     "/usr/bin/probe-python"),
], ids=["set", "discovered earlier", "discovery needed: the module", "async: the module", "windows: the module",
        "delegated: the probe's python"])
def test_lean_interpreter(action, task_vars, expected):
    assert lean_interpreter(action, task_vars) == expected
