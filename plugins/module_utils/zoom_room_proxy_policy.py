"""Proxy policy: from the proxy a room has and the policy asked for, the proxy it should have.

Platform neutral. A proxy setting is a plain dict:
    {"mode": "none" | "manual" | "pac", "servers": {"http": str, "https": str},
     "pac_url": str | None, "bypass": [str, ...]}
Each platform backend reads its own mechanism into this shape and writes it back.
"""

from __future__ import annotations

from typing import Any, Sequence
from urllib.parse import urlsplit

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_bypass import (
    bypass_covers_local,
    bypass_covers_subnet,
    merge_bypass,
    subnet_entries,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue, Network
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_url import (
    check_text,
    parse_proxy_url,
    redact_url,
)

POLICIES = ("keep", "direct", "manual", "pac")
# What each platform's HTTP stacks understand as "do not proxy loopback".
LOCAL_BYPASS = {
    "posix": ["localhost", "127.0.0.1", "::1"],
    "macos": ["localhost", "127.0.0.1", "::1"],
    "windows": ["localhost", "127.0.0.1"],
}


def empty_proxy() -> dict[str, Any]:
    return {"mode": "none", "servers": {}, "pac_url": None, "bypass": []}


def required_bypass(style: str, controller_subnets: Sequence[Network]) -> list[str]:
    """Entries the bypass list must hold: loopback, then each controller subnet in a form the platform honours.

    WinINet and WinHTTP take no CIDR, so Windows gets `10.1.2.*` wildcards and `<local>` last
    (WinINet stops reading at `<local>` on some releases, so it must close the list).
    """
    entries = [entry for subnet in controller_subnets for entry in subnet_entries(subnet, style)]
    if style == "windows":
        return [*LOCAL_BYPASS["windows"], *entries, "<local>"]
    return [*LOCAL_BYPASS[style], *entries]


# Where a platform keeps proxy credentials when its proxy setting cannot hold them (a server given with a
# user and password is refused there, before anything changes, rather than written as it is).
CREDENTIALS_ELSEWHERE = {
    "windows": "WinINet and WinHTTP store the proxy string as it is, in the registry; their proxy credentials "
               "belong in Windows Credential Manager (ansible.windows.win_credential)",
    "macos": "networksetup keeps proxy credentials in the keychain",
}


def validate_policy(policy: str, server: str | None, pac_url: str | None, platform: str | None = None) -> None:
    """`platform` (windows, macos) refuses a server with credentials where its setting cannot hold them."""
    if policy not in POLICIES:
        raise InvalidValue(f"policy: '{policy}' is not one of {', '.join(POLICIES)}")
    if policy == "manual":
        if not server:
            raise InvalidValue("server: required when policy is 'manual'")
        if parse_proxy_url(server, "server").userinfo is not None and platform in CREDENTIALS_ELSEWHERE:
            raise InvalidValue(f"server: {CREDENTIALS_ELSEWHERE[platform]}; give host:port only")
    if policy == "pac":
        if not pac_url:
            raise InvalidValue("pac_url: required when policy is 'pac'")
        check_text(pac_url, "pac_url")
        parts = urlsplit(pac_url)
        if parts.scheme not in ("http", "https", "file") or not (parts.netloc or parts.path):
            # Redacted: the message reaches the console and the AWX job log.
            raise InvalidValue(f"pac_url: '{redact_url(pac_url)}' is not an http(s) or file URL")


def desired_proxy(
    current: dict[str, Any],
    policy: str,
    required: Sequence[str],
    server: str | None = None,
    extra_bypass: Sequence[str] = (),
    pac_url: str | None = None,
) -> dict[str, Any]:
    """The proxy setting a room should have. `keep` leaves a room without a proxy alone."""
    if policy == "direct":
        return {**empty_proxy(), "bypass": list(current.get("bypass", []))}
    if policy == "keep":
        if current.get("mode", "none") == "none":
            return dict(current)
        return {**current, "bypass": merge_bypass(current.get("bypass", []), required)}
    if policy == "manual":
        bypass = merge_bypass(list(extra_bypass) or current.get("bypass", []), required)
        return {"mode": "manual", "servers": {"http": server, "https": server}, "pac_url": None, "bypass": bypass}
    if policy == "pac":
        return {"mode": "pac", "servers": {}, "pac_url": pac_url,
                "bypass": merge_bypass(current.get("bypass", []), required)}
    raise InvalidValue(f"policy: '{policy}' is not one of {', '.join(POLICIES)}")


def coverage(proxy: dict[str, Any], controller_subnets: Sequence[Network], style: str = "posix") -> dict[str, Any]:
    """The facts fields saying whether local and controller traffic bypass this proxy, by `style`'s rules."""
    bypass = proxy.get("bypass", [])
    if proxy.get("mode", "none") == "none":
        return {"bypass_covers_local": True,
                "bypass_covers_subnets": {str(subnet): True for subnet in controller_subnets}}
    if proxy.get("mode") == "pac":
        # The PAC script decides what goes direct; its content is not read, so coverage is unknown.
        return {"bypass_covers_local": None,
                "bypass_covers_subnets": {str(subnet): None for subnet in controller_subnets}}
    return {
        "bypass_covers_local": bypass_covers_local(bypass, style),
        "bypass_covers_subnets": {str(s): bypass_covers_subnet(bypass, s, style) for s in controller_subnets},
    }


def redact_proxy(proxy: dict[str, Any]) -> dict[str, Any]:
    servers = {key: redact_url(value) for key, value in proxy.get("servers", {}).items()}
    return {**proxy, "servers": servers, "pac_url": redact_url(proxy.get("pac_url"))}


def all_covered(answers: Sequence[bool | None]) -> bool | None:
    """AND over tri-state coverage answers: any False is False, else any unknown is None."""
    if any(answer is False for answer in answers):
        return False
    return None if any(answer is None for answer in answers) else True


def strongest_mode(modes: Sequence[str]) -> str:
    """The facts-level mode across sources: a manual proxy anywhere matters most."""
    for mode in ("manual", "pac"):
        if mode in modes:
            return mode
    return "none"
