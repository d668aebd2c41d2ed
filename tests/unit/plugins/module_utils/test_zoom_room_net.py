import ipaddress
import re

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    parse_cidrs,
    parse_port,
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
