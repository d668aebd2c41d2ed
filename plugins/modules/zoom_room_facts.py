#!/usr/bin/python
"""zoom_room_facts: the whole state of a Zoom Rooms computer (Linux or macOS) in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: zoom_room_facts
short_description: Read everything that decides whether a Zoom Rooms controller can reach this room
description:
  - Reads, in one module execution, the room app and its version, the listener on the controller
    port, the host firewall verdict for that port from each controller subnet, the proxy settings and
    whether their bypass list covers local traffic and the controller subnets, and the room's addresses.
  - Returns them in the facts schema shared by every platform (see docs/facts.md); Windows rooms get
    the same schema from the zoom_room_windows_facts filter.
  - Read-only. Runs in check mode. A value that cannot be read is reported in C(errors), never fatal.
version_added: "1.0.0"
author: Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
options:
  controller_port:
    description: TCP port the controller connects to on the room (Zoom KB0065712).
    type: int
    default: 9090
  controller_subnets:
    description:
      - CIDRs where the controllers live. Firewall verdicts and bypass coverage are given per subnet.
    type: list
    elements: str
    default: []
  package_name:
    description:
      - Linux only. Package that installs the room app, read with dpkg-query or rpm.
      - Zoom publishes no Linux room app; the default is a placeholder name, set it per inventory.
    type: str
    default: zoom-rooms
  app_path:
    description: macOS only. The Zoom Rooms application bundle.
    type: path
    default: /Applications/ZoomPresence.app
  proxy_services:
    description: macOS only. Network services to read proxies from; default every enabled service.
    type: list
    elements: str
  environment_file:
    description: Linux only. The file whose proxy variables login sessions and services inherit.
    type: path
    default: /etc/environment
extends_documentation_fragment:
  - zoomrooms.remediation.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - The firewall verdict models nftables, iptables (legacy and nft) and ufw rule sets; a rule that
    matches on something the evaluator does not model (a named set, an interface) gives C(unknown).
  - A layer whose tool is missing or fails (no C(nft)) gives C(unknown) with the reason and is listed in
    C(firewall.unreadable); it is never read as "no firewall".
  - C(firewall.boot_differences) lists our admissions that are live but not loaded at boot (nftables
    include file, iptables save file), or the reverse.
"""

EXAMPLES = r"""
- name: Read the room's state
  zoomrooms.remediation.zoom_room_facts:
    controller_subnets: "{{ zoom_room_controller_subnets }}"
    controller_port: "{{ zoom_room_controller_port }}"
    package_name: "{{ zoom_room_package_name }}"
  register: zoom_room_facts_result

- name: Show the firewall verdicts
  ansible.builtin.debug:
    var: zoom_room_facts_result.facts.firewall.verdicts
"""

RETURN = r"""
facts:
  description: The room's state in the shared schema (docs/facts.md).
  returned: always
  type: dict
  contains:
    schema: {description: Schema version., type: int, sample: 1}
    platform: {description: linux or macos., type: str, sample: linux}
    os: {description: OS name and version., type: dict, sample: {name: "Debian GNU/Linux 12 (bookworm)", version: "12"}}
    hostname: {description: Host name., type: str}
    controller_port: {description: The port the verdicts are for., type: int, sample: 9090}
    app:
      description: The room app.
      type: dict
      sample: {installed: true, name: zoom-rooms, version: 6.2.0.4512, raw_version: 6.2.0.4512, version_source: dpkg}
    listener:
      description: What listens on the controller port.
      type: dict
      sample: {listening: true, addresses: ["0.0.0.0"], process: /usr/bin/python3 /usr/bin/zoom-rooms-sim}
    firewall:
      description: >-
        Host firewall; C(verdicts) has one entry per controller subnet (admitted, blocked or unknown);
        C(unreadable) and C(boot_differences) on Linux (see docs/facts.md).
      type: dict
      sample:
        backend: nftables
        active: true
        verdicts: [{subnet: 10.89.1.0/24, verdict: blocked, decided_by: "inet fault input: tcp dport 9090 drop"}]
        layers: []
        block_all: false
        notes: []
    proxy:
      description: Proxy mode, servers (credentials redacted), bypass list and its coverage.
      type: dict
      sample:
        mode: manual
        servers: {http: "http://proxy:3128"}
        pac_url: null
        bypass: []
        bypass_covers_local: false
        bypass_covers_subnets: {10.89.1.0/24: false}
        sources: []
    addresses:
      description: The room's global addresses.
      type: list
      elements: dict
      sample: [{interface: eth1, address: 10.89.1.3, prefix: 24}]
    errors:
      description: What could not be read, and why.
      type: list
      elements: str
"""

import platform
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_command import command_runner
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_host import read_file
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_read import (
    FACTS_ARGUMENT_SPEC,
    room_facts,
)


def run_module(module: AnsibleModule) -> dict[str, Any]:
    try:
        facts = room_facts(module.params, command_runner(module), read_file, platform.system())
    except InvalidValue as error:
        module.fail_json(msg=str(error))
    return {"changed": False, "facts": facts}


def main() -> None:
    # zoom_room_diagnose usually reads the room without this module (the same room_facts, as a lean payload).
    module = AnsibleModule(argument_spec=FACTS_ARGUMENT_SPEC, supports_check_mode=True)
    module.exit_json(**run_module(module))


if __name__ == "__main__":
    main()
