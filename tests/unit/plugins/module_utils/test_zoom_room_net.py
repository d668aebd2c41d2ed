import ipaddress
import re

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    as_address,
    is_local_scope,
    is_loopback,
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


def test_parse_cidrs_reads_text_in_a_list_as_the_check_reads_the_variable():
    """A module's `type: list` option splits "10.1.0.0/24 10.2.0.0/24" on commas only: one element. The
    inventory check reads the variable itself and accepts it, so the modules must read it alike."""
    given = "10.1.0.0/24 10.2.0.0/24"
    assert parse_cidrs([given], "sources") == parse_cidrs(given, "zoom_room_controller_subnets") == [
        net("10.1.0.0/24"), net("10.2.0.0/24")]


@pytest.mark.parametrize("value, ok", [(9090, True), ("9090", True), (0, False), (70000, False), ("x", False)])
def test_parse_port(value, ok):
    if ok:
        assert parse_port(value, "port") == 9090
    else:
        with pytest.raises(InvalidValue, match=r"^port: "):
            parse_port(value, "port")


# The one loopback rule: every place that asks (diagnosis of the API's ip_address, the inventory's
# ansible_host, http URLs for test doubles, the evidence pack's flags, the facts' interface lists) calls it.
@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True), (" 127.0.0.1 ", True),
    ("localhost", True), ("LOCALHOST", True), ("localhost.localdomain", True), ("ip6-localhost", True),
    (ipaddress.ip_address("127.0.0.5"), True),
    ("10.89.7.3", False), ("0.0.0.0", False), ("::", False), ("fe80::1%en0", False), ("room-01.example", False),
    ("", False), (None, False), (2130706433, False),
], ids=["v4", "other 127/8", "v6", "v6 in brackets", "padded", "localhost", "any case", "localhost.localdomain",
        "ip6-localhost", "an address object", "room address", "unspecified v4", "unspecified v6", "link-local",
        "a name", "empty", "missing", "a number is not an address"])
def test_is_loopback(address, loopback):
    assert is_loopback(address) is loopback


@pytest.mark.parametrize("address, local", [
    ("127.0.0.1", True), ("::1", True), ("fe80::1", True), ("fe80::1%en0", True),
    ("169.254.10.1", False), ("10.89.7.3", False), ("2001:db8::5", False), ("not an address", False),
], ids=["v4 loopback", "v6 loopback", "v6 link-local", "with its zone", "v4 link-local stays (a controller may use it)",
        "room address", "global v6", "not an address"])
def test_is_local_scope(address, local):
    assert is_local_scope(address) is local


def test_as_address_reads_the_forms_tools_write():
    assert as_address("[fe80::1%en0]") == ipaddress.ip_address("fe80::1")
    assert as_address(" 10.0.0.1 ") == ipaddress.ip_address("10.0.0.1")
    assert as_address("10.0.0.300") is None and as_address(None) is None
