"""Bypass lists judged by each platform's matching rules, and the entries a plan writes (zoom_room_bypass).

Rules and sources: docs/windows.md ("Bypass list rules"), docs/macos.md, docs/firewall.md.
"""

import ipaddress

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_bypass import (
    bypass_covers_local,
    bypass_covers_subnet,
    merge_bypass,
    subnet_entries,
    windows_matches_host,
)

net = ipaddress.ip_network

# One row per situation: the same list can mean different things on different platforms.
COVERS_SUBNET = [
    # Windows: host patterns, `*` anywhere, no CIDR, no masks
    ("windows", ["10.89.90.*"], "10.89.90.0/24", True, "windows: trailing wildcard"),
    ("windows", ["10.*.90.*"], "10.89.90.0/24", True, "windows: wildcard in an inner octet"),
    ("windows", ["*.90.*"], "10.89.90.0/24", True, "windows: leading wildcard"),
    ("windows", ["10.89.*"], "10.89.90.0/24", True, "windows: wildcard spanning octets"),
    ("windows", ["10.89.9*"], "10.89.90.0/23", True, "windows: wildcard inside an octet covering both /24s"),
    ("windows", ["10.89.90.1*"], "10.89.90.0/24", False, "windows: wildcard inside the last octet, partly"),
    ("windows", ["10.89.90.1*"], "10.89.90.128/26", True, "windows: 128-191 all start with 1"),
    ("windows", ["10.89.90.0/24"], "10.89.90.0/24", False, "windows: CIDR is no host pattern"),
    ("windows", ["10.89.90.0/255.255.255.0"], "10.89.90.0/24", False, "windows: mask form is no host pattern"),
    ("windows", ["10.89.90.0-10.89.90.255"], "10.89.90.0/24", False, "windows: a range is no host pattern"),
    ("windows", ["<local>"], "10.89.90.0/24", False, "windows: <local> is names without a dot"),
    ("windows", ["10.89.90.*"], "10.89.0.0/16", False, "windows: one /24 of a /16"),
    ("windows", ["10.89.*.*"], "10.89.0.0/16", True, "windows: two wildcards"),
    ("windows", ["*"], "10.0.0.0/8", True, "windows: everything"),
    ("windows", ["10.89.90.7"], "10.89.90.7/32", True, "windows: one host"),
    ("windows", ["*"], "fd00::/64", True, "windows: ipv6 only by *"),
    ("windows", ["fd00::*"], "fd00::/64", False, "windows: ipv6 spellings differ, not judged"),
    # macOS: names, *.domain, addresses and CIDR (also the short 169.254/16 form)
    ("macos", ["10.89.90.0/24"], "10.89.90.0/24", True, "macos: CIDR"),
    ("macos", ["10.0.0.0/8"], "10.89.90.0/24", True, "macos: wider CIDR"),
    ("macos", ["169.254/16"], "169.254.10.0/24", True, "macos: short CIDR of the default list"),
    ("macos", ["10.89.90.0/25"], "10.89.90.0/24", False, "macos: narrower CIDR"),
    ("macos", ["10.89.90.*"], "10.89.90.0/24", False, "macos: address wildcard not counted"),
    ("macos", ["*.local", "169.254/16"], "10.89.90.0/24", False, "macos: default list"),
    ("macos", ["fd00::/48"], "fd00:0:0:1::/64", True, "macos: ipv6 CIDR"),
    # posix no_proxy: addresses, CIDR, suffixes, *
    ("posix", ["10.89.90.0/24"], "10.89.90.0/24", True, "posix: CIDR"),
    ("posix", ["10.89.90.*"], "10.89.90.0/24", False, "posix: no address wildcards"),
    ("posix", ["169.254/16"], "169.254.10.0/24", False, "posix: no short CIDR"),
    ("posix", ["*"], "10.89.90.0/24", True, "posix: * means everything"),
    ("posix", ["10.0.0.0/8"], "fd00::/64", False, "posix: family mismatch"),
]


@pytest.mark.parametrize("style, bypass, subnet, covered", [row[:4] for row in COVERS_SUBNET],
                         ids=[row[4] for row in COVERS_SUBNET])
def test_bypass_covers_subnet(style, bypass, subnet, covered):
    assert bypass_covers_subnet(bypass, net(subnet), style) is covered


COVERS_LOCAL = [
    ("windows", ["<local>"], True, "windows: <local> takes localhost"),
    ("windows", ["127.*"], True, "windows: loopback wildcard"),
    ("windows", ["127.0.0.0/8"], False, "windows: loopback CIDR is no pattern"),
    ("windows", ["*.corp.example"], False, "windows: a domain only"),
    ("macos", ["localhost"], True, "macos: localhost"),
    ("macos", ["127.0.0.0/8"], True, "macos: loopback CIDR"),
    ("macos", ["<local>"], False, "macos: <local> is a Windows word"),
    ("posix", ["LOCALHOST"], True, "posix: any case"),
    ("posix", ["127.0.0.1"], True, "posix: loopback address"),
    ("posix", [], False, "posix: empty"),
]


@pytest.mark.parametrize("style, bypass, covered", [row[:3] for row in COVERS_LOCAL],
                         ids=[row[3] for row in COVERS_LOCAL])
def test_bypass_covers_local(style, bypass, covered):
    assert bypass_covers_local(bypass, style) is covered


@pytest.mark.parametrize("host, bypassed", [("zoomroom", True), ("zoomroom.corp", False), ("10.1.2.3", False)],
                         ids=["dot-less name", "dotted name", "address"])
def test_windows_local_is_names_without_a_dot(host, bypassed):
    assert windows_matches_host(["<local>"], host) is bypassed


@pytest.mark.parametrize(
    "style, subnet, entries",
    [("windows", "10.1.2.0/24", ["10.1.2.*"]), ("windows", "10.1.0.0/16", ["10.1.*"]),
     ("windows", "10.1.4.0/23", ["10.1.4.*", "10.1.5.*"]), ("windows", "10.1.2.128/25", ["10.1.2.*"]),
     ("windows", "10.0.0.0/9", ["10.*"]), ("windows", "10.1.2.3/32", ["10.1.2.3"]),
     ("macos", "10.1.4.0/23", ["10.1.4.0/23"]), ("posix", "10.1.2.128/25", ["10.1.2.128/25"])],
    ids=["windows /24", "windows /16", "windows /23 splits", "windows /25 widens to its /24",
         "windows /9 past the limit widens to /8", "windows host", "macos CIDR", "posix CIDR"],
)
def test_subnet_entries_are_a_form_the_platform_honours(style, subnet, entries):
    assert subnet_entries(net(subnet), style) == entries


@pytest.mark.parametrize("style", ["windows", "macos", "posix"])
@pytest.mark.parametrize("subnet", ["10.1.2.0/24", "10.1.4.0/23", "10.1.2.128/25", "10.0.0.0/9", "10.1.2.3/32"])
def test_what_a_plan_writes_is_judged_covering(style, subnet):
    assert bypass_covers_subnet(subnet_entries(net(subnet), style), net(subnet), style) is True


def test_merge_bypass_keeps_order_and_adds_missing_once():
    assert merge_bypass(["corp.example", "LOCALHOST"], ["localhost", "10.0.0.0/8", "10.0.0.0/8"]) == [
        "corp.example", "LOCALHOST", "10.0.0.0/8"]
