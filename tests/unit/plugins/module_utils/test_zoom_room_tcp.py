"""The probe: its "is the room on one of my own subnets" question, its options and its report."""

import json
import re
import socket

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_tcp import (
    checked_targets,
    connected_subnets,
    in_connected_subnet,
    lean_probe,
    probe_many,
    probe_report,
)

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


@pytest.mark.parametrize("params, message", [
    ({"targets": [{"name": "a", "address": "10.0.0.1", "port": 70000}]}, "targets[0].port: 70000 is out of range"),
    ({"targets": [], "port": 0}, "port: 0 is out of range"),
    ({"targets": [], "timeout": 0}, "timeout must be > 0"),
    ({"targets": [], "concurrency": 0}, "concurrency >= 1"),
], ids=["bad target port", "bad default port", "zero timeout", "zero concurrency"])
def test_checked_targets_name_the_bad_option(params, message):
    with pytest.raises(InvalidValue, match=re.escape(message)):
        checked_targets(params)


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
