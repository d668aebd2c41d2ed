"""The lean payload: the bootstrap run by a real, bare Python (no ansible, no collection on its path),
the command line it is started with, how its output is read, and when the module runs instead."""

from __future__ import annotations

import platform
import re
import shlex
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.zoomrooms.remediation.plugins.action.zoom_room_diagnose import FACTS_LEAN_ENTRY
from ansible_collections.zoomrooms.remediation.plugins.action.zoom_room_lock import PAYLOAD_ENTRY as LOCK_ENTRY
from ansible_collections.zoomrooms.remediation.plugins.action.zoom_room_reachability import PAYLOAD_ENTRY
from ansible_collections.zoomrooms.remediation.plugins.module_utils import zoom_room_lock
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_command import plain_command_runner
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_host import read_file
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_read import room_facts
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_tcp import PROBE_ARGUMENT_SPEC
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils import zoom_room_lean
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_lean import (
    BOOTSTRAP,
    command,
    lean_interpreter,
    module_closure,
    payload,
    result_of,
    run_lean,
    validated_options,
)


def run_bare(stdin: bytes) -> subprocess.CompletedProcess:
    # -I -S: no site-packages, no PYTHONPATH: the payload must carry all it imports.
    done = subprocess.run([sys.executable, "-I", "-S", "-c", BOOTSTRAP], input=stdin, capture_output=True,
                          check=False, timeout=60)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def test_the_probe_payload_runs_in_a_bare_python():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    try:
        args = {"targets": [{"name": "here", "address": "127.0.0.1", "port": server.getsockname()[1]}],
                "port": 9090, "timeout": 2.0, "concurrency": 4, "lean": True}
        done = run_bare(payload(PAYLOAD_ENTRY, args))
    finally:
        server.close()
    assert done.returncode == 0, done.stderr
    result = result_of(done.returncode, done.stdout, done.stderr, "probe")
    assert result["changed"] is False
    assert result["reachability"]["here"]["state"] == "open"
    assert isinstance(result["connected_subnets"], list)


def test_the_facts_payload_reads_what_the_module_reads(tmp_path):
    """The lean read and the module's read are one function: a bare Python gives the facts this process reads."""
    environment = tmp_path / "environment"
    environment.write_text('http_proxy="http://proxy.example:3128"\nno_proxy="localhost,127.0.0.1"\n')
    params = {"controller_port": 9, "controller_subnets": ["192.0.2.0/24"], "package_name": "zoom-rooms-absent",
              "environment_file": str(environment)}
    done = run_bare(payload(FACTS_LEAN_ENTRY, params))
    assert done.returncode == 0, done.stderr
    lean = result_of(done.returncode, done.stdout, done.stderr, "room")
    assert lean["changed"] is False
    assert lean["facts"] == room_facts(params, plain_command_runner(), read_file, platform.system())
    assert lean["facts"]["proxy"]["servers"] == {"http": "http://proxy.example:3128"}


def test_bad_options_fail_in_the_payload_with_the_option_named():
    done = run_bare(payload(FACTS_LEAN_ENTRY, {"controller_port": 70000}))
    assert result_of(done.returncode, done.stdout, done.stderr, "room") == {
        "failed": True, "msg": "controller_port: 70000 is out of range 1-65535"}


def test_the_payload_carries_the_imports_inside_functions():
    # zoom_room_read imports the macOS reader and zoom_room_host the firewall backends only where they are used.
    assert {"zoom_room_macos", "zoom_room_nftables", "zoom_room_iptables", "zoom_room_firewalld",
            "zoom_room_linux", "zoom_room_net"} <= set(module_closure(["zoom_room_read"]))
    assert "zoom_room_macos" not in module_closure(["zoom_room_tcp"])


def test_the_probe_payload_carries_no_firewall_code():
    """The probe runs commands and opens sockets: it ships (and compiles) three small files, not zoom_room_host."""
    assert module_closure(["zoom_room_tcp"]) == ["zoom_room_command", "zoom_room_net", "zoom_room_tcp"]


def test_a_payload_missing_a_dependency_fails_and_says_why():
    # Everything the probe imports but zoom_room_net.
    done = run_bare(payload(PAYLOAD_ENTRY, {"targets": []},
                            module_utils=["zoom_room_tcp", "zoom_room_command"]))
    result = result_of(done.returncode, done.stdout, done.stderr, "probe")
    assert result["failed"] is True
    assert result["msg"].startswith("probe: the lean payload failed (rc=1)")
    assert "ModuleNotFoundError" in result["msg"] and "zoom_room_net" in result["msg"]


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


def fake_action(async_val=0, windows=False, delegate_to=None, pipelining=True):
    shell = SimpleNamespace(_IS_WINDOWS=windows)
    connection = SimpleNamespace(_shell=shell, _remote_is_local=False, is_pipelining_enabled=lambda: pipelining)
    return SimpleNamespace(_task=SimpleNamespace(async_val=async_val, delegate_to=delegate_to),
                           _connection=connection, _templar=Templar(loader=DataLoader()))


@pytest.mark.parametrize("action, task_vars, expected", [
    (fake_action(), {"ansible_python_interpreter": "/usr/bin/python3"}, ("/usr/bin/python3", {})),
    (fake_action(), {"ansible_python_interpreter": "auto_silent",
                     "ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3.11"}},
     ("/usr/bin/python3.11", {})),
    (fake_action(async_val=60), {"ansible_python_interpreter": "/usr/bin/python3"}, (None, {})),
    (fake_action(windows=True), {"ansible_python_interpreter": "/usr/bin/python3"}, (None, {})),
    (fake_action(pipelining=False), {"ansible_python_interpreter": "/usr/bin/python3"}, (None, {})),
    (fake_action(delegate_to="probe"), {"ansible_python_interpreter": "/usr/bin/room-python",
                                        "ansible_delegated_vars": {"probe": {
                                            "ansible_python_interpreter": "/usr/bin/probe-python"}}},
     ("/usr/bin/probe-python", {})),
], ids=["set", "discovered earlier", "async: the module", "windows: the module", "no pipelining: the module",
        "delegated: the probe's python"])
def test_lean_interpreter(action, task_vars, expected):
    assert lean_interpreter(action, task_vars) == expected


@pytest.mark.parametrize("delegate_to, facts", [
    (None, {"discovered_interpreter_python": "/usr/bin/python3.9"}),
    ("probe", {}),
], ids=["the task's host: its fact is returned", "delegated: not the task host's fact"])
def test_a_python_to_discover_is_discovered_by_ansible(monkeypatch, delegate_to, facts):
    calls = []

    def discover(action, interpreter_name, discovery_mode, task_vars):
        calls.append((interpreter_name, discovery_mode))
        return "/usr/bin/python3.9"

    monkeypatch.setattr(zoom_room_lean, "discover_interpreter", discover)
    task_vars = {"ansible_python_interpreter": "auto_silent", "ansible_facts": {}}
    if delegate_to:
        task_vars["ansible_delegated_vars"] = {delegate_to: dict(task_vars)}
    assert lean_interpreter(fake_action(delegate_to=delegate_to), task_vars) == ("/usr/bin/python3.9", facts)
    assert calls == [("python", "auto_silent")]


def test_the_lock_payload_holds_a_real_flock_and_gives_it_back(tmp_path):
    """The holder the payload forks outlives the payload's Python (as it outlives the module's)."""
    path = str(tmp_path / "run" / "remediate.lock")
    options = {"owner": "run-a", "path": path, "timeout": 1.0, "max_hold": 60, "state": "held"}
    try:
        check = run_bare(payload(LOCK_ENTRY, {**options, "check_mode": True}))
        assert result_of(check.returncode, check.stdout, check.stderr, "room")["held"] is True
        assert not (tmp_path / "run").exists(), "check mode created the lock's folder"
        held = run_bare(payload(LOCK_ENTRY, options))
        assert result_of(held.returncode, held.stdout, held.stderr, "room")["held"] is True
        assert zoom_room_lock.lock_is_free(path) is False
        busy = run_bare(payload(LOCK_ENTRY, {**options, "owner": "run-b"}))
        assert result_of(busy.returncode, busy.stdout, busy.stderr, "room")["busy"] is True
        released = run_bare(payload(LOCK_ENTRY, {**options, "state": "released"}))
        assert result_of(released.returncode, released.stdout, released.stderr, "room")["held"] is False
        assert zoom_room_lock.lock_is_free(path) is True
    finally:
        holder = zoom_room_lock.read_holder(path)
        if holder and not zoom_room_lock.lock_is_free(path):
            zoom_room_lock.release(path, holder["owner"])


def test_the_lock_payload_rejects_a_bad_timeout():
    done = run_bare(payload(LOCK_ENTRY, {"owner": "a", "path": "/nonexistent/x", "timeout": -1, "max_hold": 60,
                                         "state": "held"}))
    assert result_of(done.returncode, done.stdout, done.stderr, "room") == {
        "failed": True, "msg": "timeout must be >= 0 and max_hold >= 1 (seconds)"}


def test_a_connection_failure_is_not_turned_into_a_failed_task():
    """Ansible reports a host unreachable only when the connection error reaches it, as from a module call."""
    def unreachable(*_args, **_kwargs):
        raise AnsibleConnectionFailure("Failed to connect to the host via ssh")

    action = SimpleNamespace(_task=SimpleNamespace(delegate_to=None, environment=None),
                             _connection=SimpleNamespace(_shell=SimpleNamespace(env_prefix=lambda **env: "")),
                             _compute_environment_string=lambda environment: None,
                             _low_level_execute_command=unreachable)
    with pytest.raises(AnsibleConnectionFailure):
        run_lean(action, "/usr/bin/python3", PAYLOAD_ENTRY, {"targets": []}, {"inventory_hostname": "room"})


# ------------------------------------------------ the options: Ansible's validator for all but the bulk ones

TARGETS = [{"name": f"room-{i}", "address": f"10.0.0.{i}", "port": None} for i in range(3)]


def test_bulk_options_are_passed_through_uncopied_and_the_rest_validated():
    args = validated_options({"targets": TARGETS, "timeout": "1.5"}, PROBE_ARGUMENT_SPEC, ("targets",),
                             "zoom_room_reachability")
    assert args["targets"] is TARGETS  # no copy: checked_targets validates them
    assert args == {"targets": TARGETS, "timeout": 1.5, "port": 9090, "concurrency": 1024, "lean": True}


@pytest.mark.parametrize("task_args, message", [
    ({"timeout": 2}, "missing required arguments: targets"),
    ({"targets": TARGETS, "timout": 2}, "Unsupported parameters for (zoom_room_reachability) module: timout"),
    ({"targets": TARGETS, "concurrency": "many"}, "concurrency"),
    ({"targets": "10.0.0.1"}, "dictionary requested, could not parse JSON or key=value"),
    ({"targets": TARGETS, "lean": "maybe"}, "lean"),
], ids=["no targets", "a misspelt option", "a bad scalar", "targets not a list", "a bad bool"])
def test_bad_options_fail_as_ansibles_validator_would(task_args, message):
    with pytest.raises(AnsibleActionFail, match=re.escape(message)):
        validated_options(task_args, PROBE_ARGUMENT_SPEC, ("targets",), "zoom_room_reachability")


def test_without_bulk_options_every_option_goes_through_the_validator():
    with pytest.raises(AnsibleActionFail, match=re.escape("targets")):
        validated_options({"targets": [{"name": "a"}]}, PROBE_ARGUMENT_SPEC, (), "zoom_room_reachability")
