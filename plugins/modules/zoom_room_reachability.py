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
    C(timeout) (silently dropped), C(no_route) (no route to that network) or C(error) (for example a host
    name that does not resolve on the probe host).
  - Also reports whether each target address lies in one of the probe's own connected subnets.
  - Read-only. One call per probe per run, whatever the number of rooms.
  - The probe host needs Python 3 and, for I(in_connected_subnet), the C(ip) command (iproute2).
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
      address:
        description:
          - Address the controller uses, an IP address or a host name. A name is looked up on the probe host (its
            first address, as a TCP client tries first); a name that does not resolve there gives C(error).
        type: str
        required: true
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
    description:
      - Connections in flight at once. A target that does not answer holds its connection for the whole
        C(timeout), so targets beyond this many may finish a timeout later.
      - Each connection is an open file. The probe raises its own soft open-file limit toward the hard limit
        when needed (macOS starts processes with 256, Linux with 1024); where the hard limit is lower, it
        holds fewer connections at once and returns how many as C(concurrency).
    type: int
    default: 1024
  lean:
    description:
      - Run the probe as a lean payload, without AnsiballZ (the action of the same name validates the options on
        the control node and sends the probe's own code to the probe host's Python, about 0.4 s less per call).
      - C(false) runs this module as usual. The module also runs with C(async) and on Windows. A Python still to
        be discovered is discovered first, by ansible's own interpreter discovery.
    type: bool
    default: true
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
  description:
    - Per target name, the outcome. C(address) is the target's address as given; C(resolved_address), only for a
      target given by host name, is the address the probe connected to.
  returned: always
  type: dict
  sample:
    boardroom: {address: 10.20.1.15, port: 9090, state: open, latency_ms: 0.4, error: null, in_connected_subnet: true}
    huddle-2: {address: zr-huddle-2.corp.example, resolved_address: 10.20.1.16, port: 9090, state: open,
               latency_ms: 0.5, error: null, in_connected_subnet: true}
connected_subnets:
  description: The probe's own connected subnets.
  returned: always
  type: list
  elements: str
  sample: [10.20.1.0/24]
concurrency:
  description: Connections the probe had in flight at most (the option, bounded by the targets and the open-file limit).
  returned: always
  type: int
  sample: 500
elapsed_ms:
  description: Wall time of the whole test.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_command import command_runner
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_tcp import (
    PROBE_ARGUMENT_SPEC,
    probe_report,
)


def main() -> None:
    # The action of the same name usually runs probe_report without this module (its lean payload);
    # this module is its fallback: async, lean=false.
    module = AnsibleModule(argument_spec=PROBE_ARGUMENT_SPEC, supports_check_mode=True)
    try:
        module.exit_json(changed=False, **probe_report(module.params, command_runner(module)))
    except InvalidValue as error:
        module.fail_json(msg=str(error))


if __name__ == "__main__":
    main()
