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
    Existing lines are edited in place and every other line stays byte for byte.
  - macOS. C(networksetup) web, secure web and auto proxy and the bypass domains, for every enabled
    network service or the ones named in I(services).
  - Reads first, computes the desired setting, applies only the difference, re-reads and verifies. If
    the host does not show the desired setting, the module puts back what it found and fails.
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
    description: macOS. Network services to manage; default every enabled service.
    type: list
    elements: str
  restore:
    description: A C(backup) returned by an earlier run; the module puts that setting back.
    type: dict
  backup_dir:
    description:
      - Linux. Where the previous environment file is copied (mode 0600) before a change. The file can
        hold proxy credentials, so C(backup) carries only its path and checksum, never its bytes.
    type: path
    default: /var/backups/zoom-rooms
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
    - Linux. A reference to the copy in I(backup_dir) (path, sha256, redacted proxy), never the file's bytes.
  returned: always
  type: dict
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
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_host import (
    command_runner,
    file_writer,
    read_file,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_linux import EnvironmentFileProxy
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos import NetworkSetupProxyBackend
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    Network,
    parse_cidrs,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_proxy_policy import (
    redact_proxy,
    validate_policy,
)


class MacProxyLayer(BeforeAfterLayer):
    """networksetup behind the same surface as the /etc/environment layer."""

    def __init__(self, module: AnsibleModule):
        super().__init__(NetworkSetupProxyBackend(command_runner(module), module.params["services"]))

    def desired(self, before: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        return self.backend.desired(before, params)

    def proxy_facts(self, state: dict[str, Any], subnets: list[Network]) -> dict[str, Any]:
        return self.backend.proxy_facts(state, subnets)


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
        subnets = parse_cidrs(params["controller_subnets"], "controller_subnets", required=False)
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
    return layer.state_from_backup(saved) if hasattr(layer, "state_from_backup") else saved


def backup_of(layer: Any, state: dict[str, Any], backup_dir: str | None) -> dict[str, Any]:
    """The file layer keeps its bytes on the host (they may hold credentials); networksetup state has none."""
    return layer.backup_reference(state, backup_dir) if hasattr(layer, "backup_reference") else state


def run_module(module: AnsibleModule) -> dict[str, Any]:
    params = validated(module)
    if platform.system() == "Darwin":
        layer: Any = MacProxyLayer(module)
    else:
        layer = EnvironmentFileProxy(read_file, file_writer(module), module.params["environment_file"])
    before = {layer.name: layer.read()}
    try:
        after = {layer.name: desired_or_restored(layer, before[layer.name], params, module.params["restore"])}
    except (InvalidValue, ValueError) as error:
        module.fail_json(msg=str(error))
    result = planned_change([RedactedLayer(layer)], before, after)
    applying = result["changed"] and not module.check_mode
    result["backup"] = {layer.name: backup_of(layer, before[layer.name], module.params["backup_dir"] if applying
                                              else None)}
    if applying:
        check = (lambda: None) if module.params["restore"] is not None else (
            lambda: uncovered(layer, params["controller_subnets"], params["policy"]))
        problem = apply_with_rollback([layer], before, after, check)
        if problem:
            module.fail_json(msg=f"{problem}; the previous proxy setting was put back", **result)
    result["proxy"] = layer.proxy_facts(layer.read(), params["controller_subnets"])
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
        },
        supports_check_mode=True,
    )
    module.exit_json(**run_module(module))


if __name__ == "__main__":
    main()
