"""The probe: its "is the room on one of my own subnets" question, its options and its report."""

import json
import re
import resource
import socket
import subprocess
import sys

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils import zoom_room_tcp
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_tcp import (
    PROBE_ARGUMENT_SPEC,
    checked_targets,
    connected_subnets,
    files_limit_for,
    in_connected_subnet,
    lean_probe,
    probe_many,
    probe_options,
    probe_report,
    resolved_addresses,
)
from fixture_files import PROJECT

CONNECTED = ["10.89.1.7/24", "fd00:1::5/64"]


@pytest.mark.parametrize("address, inside", [
    ("10.89.1.20", True), ("10.89.2.20", False), ("fd00:1::99", True), ("fd00:2::99", False),
    ("room-01.example", False), ("", False),
], ids=["same v4 subnet", "other v4 subnet", "same v6 subnet", "other v6 subnet", "a name", "empty"])
def test_in_connected_subnet(address, inside):
    assert in_connected_subnet(address, CONNECTED) is inside


def test_no_connected_subnet_holds_nothing():
    assert in_connected_subnet("10.89.1.20", []) is False


# ------------------------------------------------ the probe's options and report (module and lean payload)

def test_checked_targets_resolve_the_default_port():
    params = {"targets": [{"name": "a", "address": "10.0.0.1", "port": None},
                          {"name": "b", "address": "10.0.0.2", "port": 8443}], "port": 9090}
    assert checked_targets(params) == [{"name": "a", "address": "10.0.0.1", "port": 9090},
                                       {"name": "b", "address": "10.0.0.2", "port": 8443}]


def test_left_out_options_take_the_spec_defaults_and_given_ones_win():
    options = probe_options({"targets": [], "timeout": 0.5})
    assert options == {"targets": [], "timeout": 0.5, "port": PROBE_ARGUMENT_SPEC["port"]["default"],
                       "concurrency": PROBE_ARGUMENT_SPEC["concurrency"]["default"], "lean": True}
    target = {"name": "a", "address": "10.0.0.1"}
    assert checked_targets({"targets": [target]})[0]["port"] == PROBE_ARGUMENT_SPEC["port"]["default"]


@pytest.mark.parametrize("params, message", [
    ({"targets": [{"name": "a", "address": "10.0.0.1", "port": 70000}]}, "targets[0].port: 70000 is out of range"),
    ({"targets": [], "port": 0}, "port: 0 is out of range"),
    ({"targets": [], "timeout": 0}, "timeout must be > 0"),
    ({"targets": [], "concurrency": 0}, "concurrency >= 1"),
    ({"targets": "10.0.0.1"}, "targets: a list of dicts with name, address and port is required"),
    ({}, "targets: a list of dicts"),
    ({"targets": ["10.0.0.1"]}, "targets[0]: a dict with name, address and port is required, got str"),
    ({"targets": [{"name": "a", "address": "10.0.0.1", "prot": 9090}]},
     "targets[0]: unsupported option(s) prot; supported: name, address, port"),
    ({"targets": [{"name": "a", "address": "10.0.0.1"}, {"name": "b"}]}, "targets[1].address is required"),
    ({"targets": [{"name": None, "address": "10.0.0.1"}]}, "targets[0].name is required"),
    ({"targets": [{"name": "a", "address": "10.0.0.1", "port": "https"}]}, "targets[0].port: 'https' is not a port"),
], ids=["bad target port", "bad default port", "zero timeout", "zero concurrency", "targets not a list",
        "no targets", "a target not a dict", "unknown target key", "no address", "null name", "port not a number"])
def test_checked_targets_name_the_bad_option(params, message):
    with pytest.raises(InvalidValue, match=re.escape(message)):
        checked_targets(params)


def test_checked_targets_read_names_and_addresses_as_strings_as_the_spec_would():
    params = {"targets": ({"name": 101, "address": "10.0.0.1", "port": "8443"},)}
    assert checked_targets(params) == [{"name": "101", "address": "10.0.0.1", "port": 8443}]


IP_ADDR = json.dumps([{"ifname": "eth0", "addr_info": [
    {"family": "inet", "local": "10.89.1.7", "prefixlen": 24, "scope": "global"},
    {"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host"}]}])


def test_connected_subnets_from_ip_addr_and_none_without_ip():
    assert connected_subnets(lambda argv: (0, IP_ADDR, "")) == ["10.89.1.0/24"]
    assert connected_subnets(lambda argv: (127, "", "ip: command not found")) == []


@pytest.fixture
def listener():
    """A real listening socket on loopback, and a port nobody listens on."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    yield server.getsockname()[1], closed_port
    server.close()


def test_probe_report_classifies_real_sockets(listener):
    open_port, closed_port = listener
    params = {"targets": [{"name": "open", "address": "127.0.0.1", "port": open_port},
                          {"name": "closed", "address": "127.0.0.1", "port": closed_port}],
              "timeout": 2.0, "concurrency": 8}
    report = probe_report(params, lambda argv: (0, IP_ADDR, ""))
    assert {name: entry["state"] for name, entry in report["reachability"].items()} == {
        "open": "open", "closed": "refused"}
    assert report["connected_subnets"] == ["10.89.1.0/24"]
    assert report["reachability"]["open"]["in_connected_subnet"] is False
    assert report["concurrency"] == 2  # no more sockets than targets


INF = -1  # stands for resource.RLIM_INFINITY


@pytest.mark.parametrize("wanted, soft, hard, expected", [
    (1024, 256, INF, (1056, 1024)),  # macOS: soft 256, hard unlimited
    (1024, 1024, 524288, (1056, 1024)),  # Linux: soft 1024
    (500, 1048576, 1048576, (None, 500)),  # already enough
    (1024, INF, INF, (None, 1024)),
    (1024, 256, 512, (512, 480)),  # the hard limit caps it
    (1024, 256, 256, (None, 224)),  # nothing to raise
    (4, 256, 256, (None, 4)),
], ids=["macos default", "linux default", "enough", "unlimited", "hard cap", "at the hard limit", "few targets"])
def test_files_limit_for(wanted, soft, hard, expected):
    assert files_limit_for(wanted, soft, hard, INF) == expected


SOCKET_SLOTS = """
import resource, sys, conftest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_tcp import socket_slots
soft, hard = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
print(socket_slots(200), resource.getrlimit(resource.RLIMIT_NOFILE)[0])
"""


@pytest.mark.parametrize("soft, hard, expected", [(64, 1024, "200 232"), (64, 100, "68 100"), (64, 64, "32 64")])
def test_socket_slots_raise_the_soft_open_file_limit_of_a_real_process(soft, hard, expected):
    """In a process of its own: the limits are lowered first, as on a Mac, then the probe raises the soft one."""
    own_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if own_hard != resource.RLIM_INFINITY and own_hard < hard:
        pytest.skip("this process's hard open-file limit is below the test's")
    done = subprocess.run([sys.executable, "-c", SOCKET_SLOTS, str(soft), str(hard)], capture_output=True,
                          text=True, check=True, timeout=60, env={"PYTHONPATH": str(PROJECT / "tests")})
    assert done.stdout.split() == expected.split()


@pytest.fixture
def unanswered_port():
    """A loopback port that drops SYNs: its listener's accept queue is full, so a connect gets no answer."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    for _attempt in range(8):
        filler = socket.socket()
        filler.settimeout(0.2)
        fillers.append(filler)
        try:
            filler.connect(server.getsockname())
        except TimeoutError:
            break
    else:
        pytest.skip("the accept queue never filled")
    yield server.getsockname()[1]
    for filler in fillers:
        filler.close()
    server.close()


def test_timeouts_free_their_slots_oldest_first(listener, unanswered_port):
    """Two slots, three targets that never answer: the first two expire together, then the third gets a slot;
    a refused target in between is not held up by them."""
    _open_port, closed_port = listener
    targets = [{"name": f"{kind}{index}", "address": "127.0.0.1", "port": port}
               for index in range(3) for kind, port in (("silent", unanswered_port), ("refused", closed_port))]
    results = probe_many(targets, timeout=0.3, concurrency=2)
    assert {name: entry["state"] for name, entry in results.items()} == {
        **{f"silent{index}": "timeout" for index in range(3)}, **{f"refused{index}": "refused" for index in range(3)}}
    assert all(results[f"silent{index}"]["latency_ms"] >= 300 for index in range(3))
    assert results["silent0"]["error"] == "no answer within 0.3s"


def test_lean_probe_turns_bad_input_into_a_failure():
    expected = {"failed": True, "msg": "timeout must be > 0 and concurrency >= 1"}
    assert lean_probe({"targets": [], "timeout": -1}) == expected


# ------------------------------------------------ rooms named by DNS name (ansible_host: zr-01.corp.example)

def test_a_room_named_by_dns_name_is_probed_at_its_address(listener):
    """`localhost` resolves from /etc/hosts: no resolver traffic leaves the machine."""
    open_port, _closed = listener
    params = {"targets": [{"name": "by-name", "address": "localhost", "port": open_port}], "timeout": 2.0}
    entry = probe_report(params, lambda argv: (0, IP_ADDR, ""))["reachability"]["by-name"]
    assert entry["state"] == "open"
    assert entry["address"] == "localhost"  # as the inventory gave it
    assert entry["resolved_address"] in ("127.0.0.1", "::1")


def test_a_name_that_does_not_resolve_is_an_error_naming_the_resolver(monkeypatch, listener):
    open_port, _closed = listener

    def no_such_name(name, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(zoom_room_tcp, "resolve_name", no_such_name)
    params = {"targets": [{"name": "gone", "address": "zr-gone.corp.example", "port": open_port},
                          {"name": "ip", "address": "127.0.0.1", "port": open_port}], "timeout": 2.0}
    report = probe_report(params, lambda argv: (0, IP_ADDR, ""))["reachability"]
    assert report["gone"]["state"] == "error"
    assert "does not resolve on the probe host" in report["gone"]["error"]
    assert "resolved_address" not in report["gone"]
    assert report["ip"]["state"] == "open" and "resolved_address" not in report["ip"]


def test_each_name_is_looked_up_once_and_addresses_are_not_looked_up():
    asked = []

    def resolver(name, port):
        asked.append(name)
        return {"zr-01.corp.example": "10.89.1.21"}[name]

    targets = [{"name": "a", "address": "zr-01.corp.example", "port": 9090},
               {"name": "b", "address": "zr-01.corp.example", "port": 9090},
               {"name": "c", "address": "10.89.1.22", "port": 9090},
               {"name": "d", "address": "fd00:1::5", "port": 9090}]
    assert resolved_addresses(targets, resolver) == {"zr-01.corp.example": "10.89.1.21"}
    assert asked == ["zr-01.corp.example"]
