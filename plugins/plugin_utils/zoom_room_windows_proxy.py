"""Windows rooms, the proxy backend: WinINet (ansible.windows.win_inet_proxy) and WinHTTP
(ansible.windows.win_http_proxy). Which stack the Zoom Rooms app uses is not documented, so both are kept
right. Pure planning over the modules' own view of the current values (their check-mode diff):

  proxy_target(policy, requested_user)      -> whose WinINet settings the room uses (machine or one account)
  proxy_backup(inet, http, target)          -> the saved settings (machine readable, the action's `backup`)
  proxy_settings(backup, policy, subnets, server, bypass, pac_url)
                                            -> module options for both stacks, which need a change, and a diff
  proxy_restore(backup)                     -> module options that put the backup back
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from ansible.errors import AnsibleFilterError
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_bypass import merge_bypass
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue, parse_cidrs
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_proxy_policy import (
    desired_proxy,
    redact_url,
    required_bypass,
    validate_policy,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_windows import (
    WINHTTP_SOURCE,
    WININET_SOURCE,
    parse_proxy_server,
    script_result,
    split_bypass,
    text,
)


def windows_bypass(current: Any, controller_subnets: Any, extra: Any = ()) -> list[str]:
    """Current (or `extra`) entries, then loopback and the subnets' wildcards, `<local>` moved last."""
    try:
        subnets = parse_cidrs(controller_subnets, "zoom_room_controller_subnets")
    except InvalidValue as error:
        raise AnsibleFilterError(str(error)) from None
    base = split_bypass(extra) or split_bypass(current)
    return local_last(merge_bypass(base, required_bypass("windows", subnets)))


def local_last(bypass: Sequence[str]) -> list[str]:
    """WinINet stops honouring entries after `<local>` on some releases: it must close the list."""
    entries = [entry for entry in bypass if entry.strip().lower() != "<local>"]
    return [*entries, "<local>"]


def proxy_target(read: Any, requested_user: Any = "") -> dict[str, Any]:
    """Whose WinINet settings the room uses: the machine's (ProxySettingsPerUser=0) or one account's."""
    result, _unused = script_result(read)
    result = result.get("wininet_policy") if isinstance(result.get("wininet_policy"), dict) else result
    per_user = result.get("proxy_settings_per_user")
    if per_user is not None and text(per_user) == "0":
        return {"scope": "machine", "user": None, "become": False,
                "why": "policy ProxySettingsPerUser=0: WinINet settings are per machine"}
    user = text(requested_user)
    if user:
        return {"scope": "user", "user": user, "become": True, "why": "zoom_room_windows_proxy_user"}
    if text(result.get("auto_admin_logon")) == "1" and text(result.get("default_user_name")):
        domain = text(result.get("default_domain_name"))
        name = text(result.get("default_user_name"))
        return {"scope": "user", "user": f"{domain}\\{name}" if domain else name, "become": True,
                "why": "Winlogon AutoAdminLogon account"}
    raise AnsibleFilterError(
        "zoom_room_windows_proxy_user: WinINet proxy settings are per user on this room and no auto-logon account "
        "is configured (Winlogon AutoAdminLogon/DefaultUserName); set zoom_room_windows_proxy_user to the account "
        "the Zoom Rooms app runs as")


def module_before(result: Any, module: str) -> dict[str, Any]:
    """`diff.before` of a win_inet_proxy / win_http_proxy run in check mode with diff."""
    if not isinstance(result, dict) or result.get("failed") or not isinstance(result.get("diff"), dict) \
            or not isinstance(result["diff"].get("before"), dict):
        reason = text(result.get("msg")) if isinstance(result, dict) else "nothing registered"
        raise AnsibleFilterError(f"{module}: could not read the current proxy settings"
                                 f" ({reason or 'no diff returned'}); the backup is required before any change")
    return dict(result["diff"]["before"])


def proxy_backup(inet_result: Any, http_result: Any, target: dict[str, Any]) -> dict[str, Any]:
    inet = module_before(inet_result, "ansible.windows.win_inet_proxy")
    http = module_before(http_result, "ansible.windows.win_http_proxy")
    return {
        "scope": target.get("scope"), "user": target.get("user"),
        "wininet": {"proxy": inet.get("server", inet.get("proxy")) or None,
                    "bypass": inet.get("bypass") or None,
                    "auto_config_url": inet.get("auto_config_url") or None,
                    "auto_detect": bool(inet.get("auto_detect"))},
        "winhttp": {"proxy": http.get("proxy") or None, "bypass": http.get("bypass") or None},
    }


def stack_as_policy(settings: dict[str, Any]) -> dict[str, Any]:
    servers = parse_proxy_server(settings.get("proxy"))
    pac_url = settings.get("auto_config_url") or None
    return {"mode": "pac" if pac_url else "manual" if servers else "none", "servers": servers, "pac_url": pac_url,
            "bypass": split_bypass(settings.get("bypass"))}


def render_server(servers: dict[str, str], current: Any) -> str | None:
    """The proxy string WinINet/WinHTTP take; the current string is kept when it says the same."""
    if not servers:
        return None
    if parse_proxy_server(current) == servers:
        return text(current)
    plain = {protocol: re.sub(r"^[a-z0-9]+://", "", server) for protocol, server in servers.items()}
    scheme = re.match(r"^([a-z0-9]+)://", next(iter(servers.values())))
    if len(set(plain.values())) == 1 and set(plain) <= {"http", "https"}:
        host = next(iter(plain.values()))
        return f"socks={host}" if scheme and scheme.group(1).startswith("socks") else host
    return ";".join(f"{protocol}={server}" for protocol, server in plain.items())


def stack_options(desired: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    proxy = render_server(desired["servers"], current.get("proxy"))
    return {"proxy": proxy or "", "bypass": ";".join(desired["bypass"]) if proxy and desired["bypass"] else ""}


def same_settings(options: dict[str, Any], current: dict[str, Any]) -> bool:
    """What the module would compare; a bypass list left without any proxy is inert and not a difference."""
    keys = [k for k in options if not (k == "bypass" and not options.get("proxy") and not current.get("proxy"))]
    return all((options.get(k) or None) == (current.get(k) or None) for k in keys)


def proxy_settings(backup: Any, policy: Any, controller_subnets: Any, server: Any = None, bypass: Any = None,
                   pac_url: Any = None) -> dict[str, Any]:
    """Module options for win_inet_proxy and win_http_proxy implementing `policy`, plus a readable diff.

    WinINet: keep/manual/pac/direct through the shared desired_proxy(); a bypass list only with a proxy (the
    module requires it); `direct` also turns WPAD auto-detect off, since WPAD can bring a proxy back.
    WinHTTP has no PAC in its default configuration: under `pac` it is treated like `keep`.
    """
    try:
        subnets = parse_cidrs(controller_subnets, "zoom_room_controller_subnets")
        validate_policy(text(policy), text(server) or None, text(pac_url) or None, "windows")
    except InvalidValue as error:
        raise AnsibleFilterError(str(error).replace("policy:", "zoom_room_proxy_policy:", 1)
                                 .replace("server:", "zoom_room_proxy_server:", 1)
                                 .replace("pac_url:", "zoom_room_proxy_pac_url:", 1)) from None
    if not isinstance(backup, dict) or "wininet" not in backup or "winhttp" not in backup:
        raise AnsibleFilterError("zoom_room_proxy_backup: no saved proxy settings; read them before planning a change")
    required = required_bypass("windows", subnets)
    extra = split_bypass(bypass)
    options: dict[str, Any] = {}
    for stack, stack_policy in (("wininet", text(policy)),
                                ("winhttp", "keep" if text(policy) == "pac" else text(policy))):
        current = backup[stack]
        desired = desired_proxy(stack_as_policy(current), stack_policy, required, server=text(server) or None,
                                extra_bypass=extra, pac_url=text(pac_url) or None)
        desired["bypass"] = local_last(desired["bypass"]) if desired["servers"] else []
        stack_opts = stack_options(desired, current)
        if stack == "wininet":
            stack_opts["auto_config_url"] = desired.get("pac_url") or ""
            stack_opts["auto_detect"] = False if text(policy) == "direct" else bool(current.get("auto_detect"))
        options[stack] = {**stack_opts, "bypass": split_bypass(stack_opts["bypass"]),
                          "needs_change": not same_settings(stack_opts, current)}
    return {**options, "diff": {"before": readable(backup), "after": readable(options)}}


def readable(settings: dict[str, Any]) -> str:
    """One line per stack, credentials redacted, for `--diff` and the report."""
    lines = []
    for stack, label in (("wininet", WININET_SOURCE), ("winhttp", WINHTTP_SOURCE)):
        values = settings.get(stack) or {}
        bypass = values.get("bypass")
        bypass = ";".join(bypass) if isinstance(bypass, list) else text(bypass)
        parts = [f"proxy={redact_url(text(values.get('proxy'))) or '(none)'}", f"bypass={bypass or '(none)'}"]
        if stack == "wininet":
            parts += [f"pac={redact_url(text(values.get('auto_config_url'))) or '(none)'}",
                      f"auto_detect={bool(values.get('auto_detect'))}"]
        lines.append(f"{label}: {' '.join(parts)}")
    return "\n".join(lines) + "\n"


def proxy_restore(backup: Any) -> dict[str, Any]:
    """Module options that put the saved settings back (empty strings remove a value)."""
    if not isinstance(backup, dict) or "wininet" not in backup:
        raise AnsibleFilterError("zoom_room_proxy_backup: nothing saved to restore")
    inet, http = backup["wininet"], backup["winhttp"]
    return {
        "wininet": {"proxy": text(inet.get("proxy")),
                    "bypass": split_bypass(inet.get("bypass")) if inet.get("proxy") else [],
                    "auto_config_url": text(inet.get("auto_config_url")), "auto_detect": bool(inet.get("auto_detect"))},
        "winhttp": {"proxy": text(http.get("proxy")),
                    "bypass": split_bypass(http.get("bypass")) if http.get("proxy") else []},
    }


# --------------------------------------------------------------------------- the plan the action applies

INET_MODULE = "ansible.windows.win_inet_proxy"
HTTP_MODULE = "ansible.windows.win_http_proxy"
# Run in check mode with diff, these read the module's own view of the current values (`diff.before`);
# the options given are only what the modules need to run.
READ_ARGS = {INET_MODULE: {"auto_detect": True}, HTTP_MODULE: {"proxy": ""}}
STACK_MODULES = (("wininet", INET_MODULE), ("winhttp", HTTP_MODULE))


def stack_args(stack: str, options: dict[str, Any]) -> dict[str, Any]:
    """The module options for one stack, from proxy_settings() / proxy_restore() output."""
    keys = ("proxy", "bypass", "auto_config_url", "auto_detect") if stack == "wininet" else ("proxy", "bypass")
    return {key: options[key] for key in keys}


def proxy_plan(inet_before: Any, http_before: Any, target: dict[str, Any], policy: Any, controller_subnets: Any,
               server: Any = None, bypass: Any = None, pac_url: Any = None) -> dict[str, Any]:
    """Both stacks' current values (the modules' check-mode diffs) -> the options for the stacks that need a
    change, the backup (`{"windows_proxy": ...}`, what `restore` takes back) and a readable diff."""
    backup = proxy_backup(inet_before, http_before, target)
    settings = proxy_settings(backup, policy, controller_subnets, server, bypass, pac_url)
    module_args = {module: stack_args(stack, settings[stack]) for stack, module in STACK_MODULES
                   if settings[stack]["needs_change"]}
    return {"changed": bool(module_args), "module_args": module_args, "backup": {"windows_proxy": backup},
            "target": target, "diff": settings["diff"]}


# `user:password@` in a proxy string without a scheme (`proxy:8080`, `http=host:port;...`), as WinINet keeps it.
_PROXY_USERINFO = re.compile(r"(^|[\s'\"=;])[^\s'\"=;@/]+:[^\s'\"@]*@")


def redact_proxy_text(value: str) -> str:
    """Hide credentials in a proxy string or in a module's message quoting one (win_inet_proxy and win_http_proxy
    put the proxy string into their failure messages)."""
    return _PROXY_USERINFO.sub(lambda match: f"{match.group(1)}***@", value)


def shown_args(module_args: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """module_args as a task result shows them: the modules get each proxy string as it is, the result and the
    log never do (a `keep` plan passes back the current string, whatever someone wrote into it)."""
    return {module: {**options, "proxy": redact_proxy_text(text(options["proxy"]))} if options.get("proxy")
            else dict(options) for module, options in module_args.items()}


def restore_plan(restore: Any) -> dict[str, Any]:
    """The options that put a saved `{"windows_proxy": ...}` backup back, for both stacks, and whose account."""
    saved = restore.get("windows_proxy") if isinstance(restore, dict) else None
    if not isinstance(saved, dict):
        raise AnsibleFilterError("restore: not a Windows proxy backup (expected the `backup` an earlier run of "
                                 "zoomrooms.remediation.zoom_room_proxy returned on this room)")
    options = proxy_restore(saved)
    return {"module_args": {module: stack_args(stack, options[stack]) for stack, module in STACK_MODULES},
            "target": {"scope": saved.get("scope"), "user": saved.get("user"),
                       "become": saved.get("scope") == "user"}}
