#!/usr/bin/python
"""zoom_rooms_api_read: the Zoom API's rooms and their devices, as a module a play can run in the background."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: zoom_rooms_api_read
short_description: Read Zoom Rooms and their devices from the Zoom API (read-only; runs with async)
description:
  - Reads each room's list entry and devices from the Zoom REST API and returns them per room id,
    the same records as M(zoom_rooms_api) without an action (devices normalised, the room computer's
    reported IP and version, the controllers' versions; never an activation code).
  - It is a module, not an action plugin, so a play can start it on the control node with
    C(async) and C(poll=0) and read the rooms meanwhile. The zoom_room_diagnose role does that, so
    the API's pacing (C(max_requests_per_second)) overlaps the rooms' round trips instead of adding
    to them (docs/performance.md).
  - Run it on the control node (C(delegate_to=localhost)). Credentials come from the options or the
    C(ZOOM_*) environment variables, as for the C(zoom_rooms) inventory plugin.
version_added: "1.0.0"
author:
  - Zoom Rooms remediation toolkit
extends_documentation_fragment:
  - zoom_rooms_api
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
seealso:
  - module: zoom_rooms_api
"""

EXAMPLES = r"""
- name: Read the account's rooms in the background
  zoom_rooms_api_read:
  delegate_to: localhost
  run_once: true
  async: 600
  poll: 0
  no_log: true  # the task's arguments may carry the client secret
  register: api_job

- name: Collect the rooms
  ansible.builtin.async_status:
    jid: "{{ api_job.ansible_job_id }}"
  delegate_to: localhost
  run_once: true
  register: api_read
  until: api_read is finished
  retries: 120
  delay: 5
"""

RETURN = r"""
rooms:
  description: Room id to the room's record, as M(zoom_rooms_api) returns it.
  returned: success
  type: dict
missing_room_ids:
  description: Requested room ids the account does not have.
  returned: success
  type: list
  elements: str
errors:
  description: Room id to the reason its devices could not be read (the room is still returned).
  returned: success
  type: dict
whole_account:
  description: Whether the whole account was read (no I(room_ids) given).
  returned: success
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.zoom_api import (
    CONNECTION_ARGUMENT_SPEC,
    READ_ARGUMENT_SPEC,
    ZoomApiError,
    ZoomClient,
    gather,
    settings_from,
)


def main() -> None:
    module = AnsibleModule(argument_spec=READ_ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    try:
        client = ZoomClient(settings_from({name: params.get(name) for name in CONNECTION_ARGUMENT_SPEC}))
        rooms, missing, errors = gather(client, params["room_ids"], params["max_workers"])
    except ZoomApiError as exc:
        module.fail_json(msg=exc.message)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, rooms=rooms, missing_room_ids=missing, errors=errors,
                     whole_account=params["room_ids"] is None)


if __name__ == "__main__":
    main()
