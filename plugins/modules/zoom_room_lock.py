#!/usr/bin/python
"""zoom_room_lock: one run at a time per room (a flock on a file under /run, held by a small process)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: zoom_room_lock
short_description: Hold or release a room's run lock, so two runs never change one room at once
description:
  - C(state=held) takes an exclusive C(flock) on I(path) for the run I(owner), waiting up to I(timeout)
    seconds while another run holds it. The lock is held by a small process the module leaves on the room
    (the module itself ends with its task); it lets go when C(state=released) stops it, after I(max_hold)
    seconds, or when the room reboots (I(path) is under C(/run), a tmpfs).
  - When another run still holds the lock after I(timeout) seconds the module does not fail; it returns
    C(busy=true) and the holder, and the play leaves the room alone (remediate.yml reports it with the
    finding C(room_busy)).
  - C(state=released) stops the holder only when it is this I(owner)'s; another run's lock is never touched.
  - Never reports C(changed), since a lock is not a change to the room's configuration.
  - Check mode waits for the lock the same way and reports C(busy), but holds nothing and creates nothing.
  - POSIX rooms (Linux, macOS). Windows rooms are not locked (docs/usage.md).
version_added: "1.0.0"
author:
  - Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
options:
  state:
    description: C(held) takes the lock (or finds it is already this owner's); C(released) gives it back.
    type: str
    choices: [held, released]
    default: held
  owner:
    description: The run that holds the lock (any unique text, for example the run id); shown to other runs.
    type: str
    required: true
  path:
    description: The lock file. Its directory is created (0700) when missing.
    type: path
    default: /run/zoom-rooms/remediate.lock
  timeout:
    description: Seconds to wait for a lock another run holds before returning C(busy).
    type: float
    default: 60
  max_hold:
    description:
      - Seconds after which the holder lets go even without C(state=released), so a run whose control node
        died does not lock the room for ever. Longer than the slowest run (every wave) should take.
    type: int
    default: 14400
  lean:
    description:
      - Run as a lean payload - the lock's own code on the room's Python, without AnsiballZ (the action of the
        same name validates the options on the control node first). C(false) runs this module; it also runs
        with C(async) and on Windows. A Python still to be discovered is discovered first, by ansible's own
        interpreter discovery.
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
- name: One run at a time on this room
  zoomrooms.remediation.zoom_room_lock:
    owner: "{{ zoom_rooms_lock_owner }}"
    timeout: 60
  register: zoom_room_lock_result

- name: Give the room back
  zoomrooms.remediation.zoom_room_lock:
    state: released
    owner: "{{ zoom_rooms_lock_owner }}"
"""

RETURN = r"""
busy:
  description: Another run held the lock for the whole I(timeout) (C(state=held)); nothing was taken.
  type: bool
  returned: always
held:
  description: This owner holds the lock now (in check mode, whether it could have taken it).
  type: bool
  returned: always
holder:
  description: Who holds the lock (C(owner), C(pid), C(since), C(until) as UTC times), or null when free.
  type: dict
  returned: always
waited:
  description: Seconds spent waiting for the lock.
  type: float
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_lock import (
    LOCK_ARGUMENT_SPEC,
    checked_lock_options,
    lock_state,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue


def main() -> None:
    # The action of the same name usually runs lock_state without this module (its lean payload).
    module = AnsibleModule(argument_spec=LOCK_ARGUMENT_SPEC, supports_check_mode=True)
    try:
        checked_lock_options(module.params)
    except InvalidValue as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, **lock_state(module.params, module.check_mode))


if __name__ == "__main__":
    main()
