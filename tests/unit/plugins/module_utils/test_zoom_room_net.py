import ipaddress
import re

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    bypass_covers_local,
    bypass_covers_subnet,
    merge_bypass,
    parse_cidrs,
    parse_port,
    wildcard_entries,
)

net = ipaddress.ip_network


@pytest.mark.parametrize(
    "values, message",
    [
        (["10.0.0.0/33"], "controller_subnets[0]: '10.0.0.0/33' is not a CIDR"),
        (["10.0.0.0/24", "10.0.0.1/24"], "controller_subnets[1]: '10.0.0.1/24' has host bits set"),
        (["any"], "controller_subnets[0]: 'any' is not a CIDR"),
        ([], "controller_subnets: at least one CIDR is required"),
        (42, "controller_subnets: expected a list of CIDRs, got int"),
    ],
    ids=["prefix too long", "host bits", "the word any", "empty list", "not a list"],
)
def test_parse_cidrs_rejects(values, message):
    with pytest.raises(InvalidValue, match=re.escape(message)):
        parse_cidrs(values, "controller_subnets")


def test_parse_cidrs_accepts_comma_string_and_v6():
    assert parse_cidrs("10.1.0.0/16, fd00::/64", "s") == [net("10.1.0.0/16"), net("fd00::/64")]


@pytest.mark.parametrize("value, ok", [(9090, True), ("9090", True), (0, False), (70000, False), ("x", False)])
def test_parse_port(value, ok):
    if ok:
        assert parse_port(value, "port") == 9090
    else:
        with pytest.raises(InvalidValue, match=r"^port: "):
            parse_port(value, "port")


@pytest.mark.parametrize(
    "bypass, subnet, covered",
    [
        (["10.0.0.0/8"], "10.1.2.0/24", True),
        (["10.1.2.0/25"], "10.1.2.0/24", False),
        (["10.1.*"], "10.1.2.0/24", True),
        (["10.1.2.*"], "10.1.3.0/24", False),
        (["169.254/16"], "169.254.10.0/24", True),
        (["*.local", "example.com"], "10.1.2.0/24", False),
        (["10.1.2.7"], "10.1.2.7/32", True),
        (["fd00::/48"], "fd00:0:0:1::/64", True),
        (["10.0.0.0/8"], "fd00::/64", False),
    ],
    ids=["cidr supernet", "narrower cidr", "two-octet wildcard", "wildcard other /24", "macos short cidr",
         "domains only", "single host", "ipv6", "family mismatch"],
)
def test_bypass_covers_subnet(bypass, subnet, covered):
    assert bypass_covers_subnet(bypass, net(subnet)) is covered


@pytest.mark.parametrize(
    "bypass, covered",
    [(["<local>"], True), (["LOCALHOST"], True), (["127.0.0.0/8"], True), (["127.*"], True),
     (["10.0.0.0/8", "*.corp"], False), ([], False)],
    ids=["winInet local", "name any case", "loopback cidr", "loopback wildcard", "no loopback", "empty"],
)
def test_bypass_covers_local(bypass, covered):
    assert bypass_covers_local(bypass) is covered


@pytest.mark.parametrize(
    "subnet, entries",
    [("10.1.2.0/24", ["10.1.2.*"]), ("10.1.0.0/16", ["10.1.*"]), ("10.1.4.0/23", ["10.1.4.*", "10.1.5.*"]),
     ("10.1.2.128/25", ["10.1.2.*"]), ("10.0.0.0/9", ["10.*"]), ("10.1.2.3/32", ["10.1.2.3"])],
    ids=["/24", "/16", "/23 split", "/25 widened", "/9 too many blocks", "host"],
)
def test_wildcard_entries(subnet, entries):
    assert wildcard_entries(net(subnet)) == entries


def test_merge_bypass_keeps_order_and_adds_missing_once():
    assert merge_bypass(["corp.example", "LOCALHOST"], ["localhost", "10.0.0.0/8", "10.0.0.0/8"]) == [
        "corp.example", "LOCALHOST", "10.0.0.0/8"]
