import ipaddress
import re

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_proxy_policy import (
    coverage,
    desired_proxy,
    redact_url,
    required_bypass,
    validate_policy,
)

SUBNETS = [ipaddress.ip_network("10.89.90.0/24")]
MANUAL = {"mode": "manual", "servers": {"http": "proxy:3128", "https": "proxy:3128"}, "pac_url": None,
          "bypass": ["corp.example"]}
NONE = {"mode": "none", "servers": {}, "pac_url": None, "bypass": []}
POSIX_REQUIRED = required_bypass("posix", SUBNETS)


@pytest.mark.parametrize(
    "current, policy, kwargs, expected",
    [
        (NONE, "keep", {}, NONE),
        (MANUAL, "keep", {}, {**MANUAL, "bypass": ["corp.example", *POSIX_REQUIRED]}),
        (MANUAL, "direct", {}, {**NONE, "bypass": ["corp.example"]}),
        (NONE, "manual", {"server": "p:8080", "extra_bypass": ["a.example"]},
         {"mode": "manual", "servers": {"http": "p:8080", "https": "p:8080"}, "pac_url": None,
          "bypass": ["a.example", *POSIX_REQUIRED]}),
        (MANUAL, "pac", {"pac_url": "http://wpad/proxy.pac"},
         {"mode": "pac", "servers": {}, "pac_url": "http://wpad/proxy.pac",
          "bypass": ["corp.example", *POSIX_REQUIRED]}),
    ],
    ids=["keep without proxy changes nothing", "keep adds loopback and subnets", "direct removes servers",
         "manual sets server and bypass", "pac replaces servers"],
)
def test_desired_proxy(current, policy, kwargs, expected):
    assert desired_proxy(current, policy, POSIX_REQUIRED, **kwargs) == expected


def test_desired_proxy_is_a_fixed_point():
    once = desired_proxy(MANUAL, "keep", POSIX_REQUIRED)
    assert desired_proxy(once, "keep", POSIX_REQUIRED) == once


def test_windows_bypass_uses_wildcards_and_ends_with_local():
    assert required_bypass("windows", SUBNETS) == ["localhost", "127.0.0.1", "10.89.90.*", "<local>"]


@pytest.mark.parametrize(
    "policy, server, pac_url, message",
    [("sometimes", None, None, "policy: 'sometimes' is not one of"),
     ("manual", None, None, "server: required"),
     ("manual", "proxy", None, "server: 'proxy' is not host:port"),
     ("pac", None, "ftp://x/p.pac", "pac_url: 'ftp://x/p.pac' is not")],
    ids=["unknown policy", "manual without server", "server without port", "pac with ftp url"],
)
def test_validate_policy_rejects(policy, server, pac_url, message):
    with pytest.raises(InvalidValue, match=re.escape(message)):
        validate_policy(policy, server, pac_url)


def test_coverage_reports_each_subnet():
    assert coverage(MANUAL, SUBNETS) == {"bypass_covers_local": False,
                                         "bypass_covers_subnets": {"10.89.90.0/24": False}}
    assert coverage(NONE, SUBNETS)["bypass_covers_subnets"] == {"10.89.90.0/24": True}


@pytest.mark.parametrize(
    "url, expected",
    [("http://user:pw@proxy:3128", "http://***@proxy:3128"), ("proxy:3128", "proxy:3128"),
     ("user:pw@proxy:3128", "***@proxy:3128"), (None, None)],
    ids=["scheme with credentials", "no credentials", "no scheme", "unset"],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected
