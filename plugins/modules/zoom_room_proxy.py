#!/usr/bin/python
"""zoom_room_proxy: keep local and controller traffic away from the room's web proxy."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: zoom_room_proxy
short_description: Make a room's proxy settings leave local and controller traffic alone
description:
  - Zoom's firewall KB (KB0065712) names the cause; a web proxy on the room intercepts local traffic,
    and the controller then shows the room's IP as 127.0.0.1. This module sets the proxy by a policy.
    Unless the policy removes the proxy, the bypass list always gains loopback and every controller subnet.
  - Linux. In C(/etc/environment), C(http_proxy)/C(https_proxy)/C(no_proxy) in both lower and upper case.
    Existing lines are edited in place and every other line stays byte for byte. A symlinked file is
    edited at its target; the link stays.
  - Values are checked before the host is read; I(server) must parse exactly to scheme, host and port
    (credentials percent-encoded), bypass entries hold no whitespace, separators or control characters,
    and I(controller_subnets) that together mean any address are refused.
  - macOS. C(networksetup) web, secure web and auto proxy and the bypass domains, for every enabled
    network service or the ones named in I(services).
  - Reads first, computes the desired setting, applies only the difference, re-reads and verifies. If
    the host does not show the desired setting, the module puts back what it found and fails.
  - Windows. The action plugin of the same name keeps both HTTP stacks right (which one the app uses is not
    documented). WinINet through M(ansible.windows.win_inet_proxy), as the account whose settings count
    (the machine's when the C(ProxySettingsPerUser) policy is 0, else I(windows_proxy_user) or the auto-logon
    account); WinHTTP through M(ansible.windows.win_http_proxy). Bypass entries are WinINet host patterns
    (C(10.1.2.*), C(<local>) last), never CIDR. WinHTTP has no PAC, so under C(pac) it is treated as C(keep).
version_added: "1.0.0"
author: Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
options:
  policy:
    description:
      - C(keep) keeps the proxy and only fixes the bypass list. A room without a proxy is left alone.
      - C(direct) removes the proxy servers and leaves the bypass list as it is.
      - C(manual) sets I(server) and the bypass list.
      - C(pac) sets the auto-configuration URL I(pac_url) (macOS only; Linux has no PAC variable).
    type: str
    choices: [keep, direct, manual, pac]
    default: keep
  server:
    description: C(host:port) or C(http://host:port) for I(policy=manual).
    type: str
  bypass:
    description: Bypass entries for I(policy=manual), before the required loopback and controller entries.
    type: list
    elements: str
    default: []
  pac_url:
    description: Proxy auto-config URL for I(policy=pac).
    type: str
  controller_subnets:
    description: CIDRs of the controllers; each is added to the bypass list.
    type: list
    elements: str
    default: []
  environment_file:
    description: Linux. The environment file to manage.
    type: path
    default: /etc/environment
  services:
    description:
      - macOS. Network services to manage; default every enabled service.
      - Each name must be one that C(networksetup -listallnetworkservices) lists (a disabled service may be
        named). The names are checked before anything is changed, also in check mode; an unknown name fails
        the task, naming it.
    type: list
    elements: str
  restore:
    description:
      - A C(backup) returned by an earlier run; the module undoes that run's change.
      - Linux. Only the proxy lines go back to what they were; every other line stays as it is now, so a
        line added meanwhile survives. Only while the proxy lines are still what that run wrote; if
        someone changed them since, nothing is changed and the module fails with RV(conflict).
      - macOS. Each network service the backup holds gets its saved proxy settings back; a service added or
        enabled since the backup stays as it is. If a service of the backup is no longer read (removed,
        renamed or disabled since), nothing is changed and the module fails naming it.
    type: dict
  backup_dir:
    description:
      - Linux. Where the previous environment file is copied (directory 0700, copy 0600, owned by the
        connection user, root) before a change. The file can hold proxy credentials, so C(backup) carries
        only the copy's path and keyed digests of the lines written, never bytes of the file.
    type: path
    default: /var/backups/zoom-rooms
  windows_proxy_user:
    description:
      - Windows. The account whose WinINet settings the Zoom Rooms app uses (C(DOMAIN\\user)); empty = the
        Winlogon auto-logon account. Ignored when the C(ProxySettingsPerUser) policy is 0.
    type: str
    default: ""
  backup_keep:
    description:
      - Linux. How many copies of the environment file I(backup_dir) keeps; older ones are removed when a
        new one is written. At least 1 (the copy a rollback of this run needs).
    type: int
    default: 5

extends_documentation_fragment:
  - zoomrooms.remediation.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Keep the proxy, bypass it for local and controller traffic
  zoomrooms.remediation.zoom_room_proxy:
    policy: keep
    controller_subnets: "{{ zoom_room_controller_subnets }}"

- name: Use a company proxy
  zoomrooms.remediation.zoom_room_proxy:
    policy: manual
    server: proxy.example.com:3128
    bypass: [".example.com"]
    controller_subnets: ["10.20.0.0/16"]
"""

RETURN = r"""
changed:
  description: Whether the setting was (or in check mode would be) changed.
  returned: always
  type: bool
diff:
  description: The setting before and after, readable (--diff); credentials redacted.
  returned: when changed
  type: dict
backup:
  description:
    - The previous setting, machine-readable; pass it as I(restore) to undo.
    - Linux. A reference to the copy in I(backup_dir) (its path, keyed digests of the proxy lines written,
      the redacted proxy), never bytes of the file.
  returned: always
  type: dict
conflict:
  description: The restore found the proxy lines changed since they were written, and changed nothing.
  returned: when a restore meets a conflict
  type: bool
proxy:
  description: The proxy section of the facts schema after the run (credentials redacted).
  returned: always
  type: dict
  sample: {mode: manual, bypass: ["localhost", "127.0.0.1", "::1", "10.89.1.0/24"], bypass_covers_local: true}
"""

import platform
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_change import (
    BeforeAfterLayer,
    apply_with_rollback,
    planned_change,
    restore_target,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_command import command_runner
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_host import file_writer, read_file
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_linux import (
    EnvironmentFileProxy,
    RollbackConflict,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos_cli import MacCommandError
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos_proxy import (
    NetworkSetupProxyBackend,
    services_to_restore,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    Network,
    parse_cidrs,
    refuse_any_address,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_proxy_policy import (
    redact_proxy,
    validate_policy,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_url import (
    check_list_entry,
    split_userinfo,
)


class MacProxyLayer(BeforeAfterLayer):
    """networksetup behind the same surface as the /etc/environment layer."""

    def __init__(self, module: AnsibleModule):
        super().__init__(NetworkSetupProxyBackend(command_runner(module), module.params["services"]))

    def desired(self, before: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        return self.backend.desired(before, params)

    def proxy_facts(self, state: dict[str, Any], subnets: list[Network]) -> dict[str, Any]:
        return self.backend.proxy_facts(state, subnets)

    def state_from_backup(self, saved: Any, current: dict[str, Any]) -> dict[str, Any]:
        """Only the backup's services go back; one added or enabled since stays as it is, so that the restore
        does not fail its whole-state check on a service it never saved."""
        return services_to_restore(saved, current)


class RedactedLayer:
    """Shows the diff of a layer with credentials hidden (an /etc/environment line may carry user:pw@)."""

    def __init__(self, layer: Any):
        self.layer, self.name = layer, layer.name

    def render(self, state: dict[str, Any]) -> str:
        if "proxy" in state:
            proxy = redact_proxy(state["proxy"])
            return (f"mode: {proxy['mode']}\n" + "".join(f"{k}: {v}\n" for k, v in sorted(proxy["servers"].items()))
                    + f"bypass: {', '.join(proxy['bypass']) or '(none)'}\n")
        return self.layer.render(state)


def validated(module: AnsibleModule) -> dict[str, Any]:
    params = module.params
    try:
        validate_policy(params["policy"], params["server"], params["pac_url"])
        for index, entry in enumerate(params["bypass"]):
            check_list_entry(entry, f"bypass[{index}]")
        subnets = parse_cidrs(params["controller_subnets"], "controller_subnets", required=False)
        refuse_any_address(subnets, "controller_subnets")
        if params["backup_keep"] < 1:
            raise InvalidValue(f"backup_keep: {params['backup_keep']} must be 1 or more")
    except InvalidValue as error:
        module.fail_json(msg=str(error))
    return {"policy": params["policy"], "server": params["server"], "bypass": params["bypass"],
            "pac_url": params["pac_url"], "controller_subnets": subnets}


def uncovered(layer: Any, subnets: list[Network], policy: str) -> str | None:
    """After the change, local traffic and every controller subnet must bypass the proxy."""
    if policy == "direct":
        return None
    facts = layer.proxy_facts(layer.read(), subnets)
    missing = [] if facts["bypass_covers_local"] in (True, None) else ["loopback"]
    missing += [subnet for subnet, covered in facts["bypass_covers_subnets"].items() if covered is False]
    return f"the bypass list still lacks {', '.join(missing)}" if missing else None


def desired_or_restored(layer: Any, before: dict[str, Any], params: dict[str, Any],
                        restore: dict[str, Any] | None) -> dict[str, Any]:
    if restore is None:
        return layer.desired(before, params)
    saved = restore_target({layer.name: before}, restore)[layer.name]
    return layer.state_from_backup(saved, before) if hasattr(layer, "state_from_backup") else saved


def backup_of(layer: Any, before: dict[str, Any], after: dict[str, Any] | None, module: AnsibleModule
              ) -> dict[str, Any]:
    """The file layer keeps its bytes on the host (they may hold credentials); networksetup state has none.

    `after` is given when the change is applied: then the file is copied before it is written.
    """
    if not hasattr(layer, "backup_reference"):
        return before
    return layer.backup_reference(before, after, module.params["backup_dir"], module.params["backup_keep"])


def hide_credentials(module: AnsibleModule) -> None:
    """The server's user and password stay out of the result, its echo of the arguments (-vvv) included."""
    userinfo = split_userinfo(module.params["server"] or "")[1]
    if userinfo:
        module.no_log_values.add(userinfo)


def read_or_fail(module: AnsibleModule, layer: Any, result: dict[str, Any] | None = None) -> dict[str, Any]:
    """The layer's state, or a clean failure for what networksetup refuses or prints that no parser knows (a
    `services` name this Mac lacks is refused before any per-service command), instead of a traceback.

    `result`: the run so far, when the read is the one after the plan (the result's `proxy`).
    """
    try:
        return layer.read()
    except (MacCommandError, InvalidValue) as error:
        applied = result is not None and result["changed"] and not module.check_mode
        outcome = "the change was applied and verified; reading it again failed" if applied else "nothing was changed"
        module.fail_json(msg=f"{error}; {outcome}", **(result or {"changed": False}))


def run_module(module: AnsibleModule) -> dict[str, Any]:
    params = validated(module)
    if platform.system() == "Darwin":
        layer: Any = MacProxyLayer(module)
    else:
        layer = EnvironmentFileProxy(read_file, file_writer(module), module.params["environment_file"])
    before = {layer.name: read_or_fail(module, layer)}
    try:
        after = {layer.name: desired_or_restored(layer, before[layer.name], params, module.params["restore"])}
    except RollbackConflict as error:
        module.fail_json(msg=str(error), conflict=True, changed=False)
    except (InvalidValue, ValueError) as error:
        module.fail_json(msg=str(error))
    result = planned_change([RedactedLayer(layer)], before, after)
    applying = result["changed"] and not module.check_mode
    try:
        result["backup"] = {layer.name: backup_of(layer, before[layer.name], after[layer.name] if applying
                                                  and module.params["restore"] is None else None, module)}
    except OSError as error:
        module.fail_json(msg=f"could not save a backup in {module.params['backup_dir']}: {error}; nothing was "
                             "changed", changed=False)
    if applying:
        check = (lambda: None) if module.params["restore"] is not None else (
            lambda: uncovered(layer, params["controller_subnets"], params["policy"]))
        problem = apply_with_rollback([layer], before, after, check)
        if problem:
            module.fail_json(msg=f"{problem}; the previous proxy setting was put back", **result)
    result["proxy"] = layer.proxy_facts(read_or_fail(module, layer, result), params["controller_subnets"])
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "policy": {"type": "str", "choices": ["keep", "direct", "manual", "pac"], "default": "keep"},
            "server": {"type": "str"},
            "bypass": {"type": "list", "elements": "str", "default": [], "no_log": False},  # host names, not secrets
            "pac_url": {"type": "str"},
            "controller_subnets": {"type": "list", "elements": "str", "default": []},
            "environment_file": {"type": "path", "default": "/etc/environment"},
            "services": {"type": "list", "elements": "str"},
            "restore": {"type": "dict"},
            "backup_dir": {"type": "path", "default": "/var/backups/zoom-rooms"},
            "backup_keep": {"type": "int", "default": 5},
            # Windows only: the action plugin of the same name takes it and never passes it here.
            "windows_proxy_user": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    hide_credentials(module)
    module.exit_json(**run_module(module))


if __name__ == "__main__":
    main()
