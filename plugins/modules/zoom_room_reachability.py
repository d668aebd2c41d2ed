#!/usr/bin/python
"""zoom_room_reachability: from the controllers' segment, try TCP to every room at once."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: zoom_room_reachability
short_description: Test TCP reachability of many rooms concurrently from a probe host
description:
  - Runs on a probe host on the controllers' network segment and tries a TCP connection to every target
    at once (bounded concurrency, one timeout per target). This is what a touch controller does when it
    connects to the room computer on TCP 9090.
  - Classifies each target as C(open), C(refused) (host up, nothing listening or a reject rule),
    C(timeout) (silently dropped), C(no_route) (no route to that network) or C(error).
  - Also reports whether each target address lies in one of the probe's own connected subnets.
  - Read-only. One call per probe per run, whatever the number of rooms.
version_added: "1.0.0"
author: Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
options:
  targets:
    description: Rooms to test.
    type: list
    elements: dict
    required: true
    suboptions:
      name: {description: Inventory name of the room., type: str, required: true}
      address: {description: Address the controller uses., type: str, required: true}
      port: {description: Port; default I(port)., type: int}
  port:
    description: Default port for targets that name none.
    type: int
    default: 9090
  timeout:
    description: Seconds to wait for each connection.
    type: float
    default: 2.0
  concurrency:
    description: Connections in flight at once.
    type: int
    default: 256
extends_documentation_fragment:
  - zoomrooms.remediation.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Try every room from the probe
  zoomrooms.remediation.zoom_room_reachability:
    targets:
      - {name: boardroom, address: 10.20.1.15}
      - {name: huddle-2, address: 10.20.1.16, port: 9090}
    timeout: 2
  register: reachability
"""

RETURN = r"""
reachability:
  description: Per target name, the outcome.
  returned: always
  type: dict
  sample:
    boardroom: {address: 10.20.1.15, port: 9090, state: open, latency_ms: 0.4, error: null, in_connected_subnet: true}
connected_subnets:
  description: The probe's own connected subnets.
  returned: always
  type: list
  elements: str
  sample: [10.20.1.0/24]
elapsed_ms:
  description: Wall time of the whole test.
  returned: always
  type: float
"""

import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_host import command_runner
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    ip_network_of,
    parse_ip_addr,
    parse_port,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_tcp import in_connected_subnet, probe_many


def connected_subnets(module: AnsibleModule) -> list[str]:
    # The address helpers come from zoom_room_net, not zoom_room_linux: the probe's payload then carries
    # no room-side firewall or proxy code (smaller to build, send and compile on every call).
    rc, out, _unused = command_runner(module)(["ip", "-j", "addr", "show"])
    if rc != 0:
        return []
    return sorted({str(ip_network_of(entry)) for entry in parse_ip_addr(out)})


def validated_targets(module: AnsibleModule) -> list[dict[str, Any]]:
    targets = []
    try:
        default_port = parse_port(module.params["port"], "port")
        for index, target in enumerate(module.params["targets"]):
            port = parse_port(target["port"], f"targets[{index}].port") if target.get("port") else default_port
            targets.append({"name": target["name"], "address": target["address"], "port": port})
    except InvalidValue as error:
        module.fail_json(msg=str(error))
    if module.params["timeout"] <= 0 or module.params["concurrency"] < 1:
        module.fail_json(msg="timeout must be > 0 and concurrency >= 1")
    return targets


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "targets": {"type": "list", "elements": "dict", "required": True, "options": {
                "name": {"type": "str", "required": True},
                "address": {"type": "str", "required": True},
                "port": {"type": "int"},
            }},
            "port": {"type": "int", "default": 9090},
            "timeout": {"type": "float", "default": 2.0},
            "concurrency": {"type": "int", "default": 256},
        },
        supports_check_mode=True,
    )
    targets = validated_targets(module)
    subnets = connected_subnets(module)
    started = time.monotonic()
    results = probe_many(targets, module.params["timeout"], module.params["concurrency"])
    for target in targets:
        results[target["name"]]["in_connected_subnet"] = in_connected_subnet(target["address"], subnets)
    module.exit_json(changed=False, reachability=results, connected_subnets=subnets,
                     elapsed_ms=round((time.monotonic() - started) * 1000, 1))


if __name__ == "__main__":
    main()
