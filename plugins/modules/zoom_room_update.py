#!/usr/bin/python
"""Documentation for the zoom_room_update action plugin (plugins/action/zoom_room_update.py).

The work happens in the action plugin on the control node; this file only carries the docs that
ansible-doc reads, and fails if something runs it as a module.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: zoom_room_update
short_description: update_versions.yml's per-room steps (plan, record, report) of a Zoom Rooms version update
description:
  - The decisions of playbooks/update_versions.yml (docs/zoom-api.md), as one action on plain data; the
    Zoom API calls themselves are M(zoomrooms.remediation.zoom_rooms_api)'s.
  - C(step=check) checks the run-wide options (run it once, before any room is read).
  - C(step=plan) reads the room's C(zoom_room_facts), C(zoom_room_findings) and C(zoom_room_api) facts (from
    M(zoomrooms.remediation.zoom_room_diagnose)) and sets C(zoom_room_update.plan) - upgrade a room below
    I(min_version) or behind its controllers in major.minor; with I(version_action=downgrade), downgrade a
    room ahead of them (never below the minimum); restart an app that does not listen
    (I(restart_unresponsive)); issue a new activation code for an expired one (I(regenerate_activation_codes)).
  - C(step=record) reads back the wave's registered answers (I(versions), I(restarts), I(new_code_room_ids)) into
    C(zoom_room_update) (version, restart, regenerated, changed).
  - C(step=report) judges the re-read (the same verify rule as remediate, plus the version showing in time and
    the room's and the API's version agreeing) and sets the room's C(zoom_room_report) entry.
  - Controllers are never changed (they cannot be updated remotely); those behind their room are listed in the
    entry's C(controllers_to_update).
version_added: "1.0.0"
author:
  - Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
options:
  step:
    description: Which step (see above).
    type: str
    required: true
    choices: [check, plan, record, report]
  version_action:
    description: C(upgrade) or C(downgrade) (C(zoom_rooms_version_action)).
    type: str
    default: upgrade
  version_timeout:
    description: With C(step=check), C(zoom_rooms_version_timeout) to check (positive seconds).
    type: raw
    default: 900
  poll_interval:
    description: With C(step=check), C(zoom_rooms_version_poll_interval) to check (positive seconds).
    type: raw
    default: 15
  min_version:
    description: The room's C(zoom_room_min_version), for the plan's reason.
    type: str
    default: ""
  restart_unresponsive:
    description: Plan a restart through the Zoom API for a room whose app does not listen (C(app_not_listening)).
    type: bool
    default: false
  regenerate_activation_codes:
    description: Plan a new activation code for a room whose code expired (C(activation_code_expired)).
    type: bool
    default: false
  versions:
    description: With C(step=record), the registered result of the wave's version change (zoom_rooms_api).
    type: dict
  restarts:
    description: With C(step=record), the registered result of the wave's restart requests (zoom_rooms_api restart).
    type: dict
  new_code_room_ids:
    description: With C(step=record), the Zoom room ids that got a new activation code (never the codes).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - zoomrooms.remediation.attributes
attributes:
  check_mode:
    support: full
    description: Plain data; under check mode the API action only plans, and C(step=record) says so (would_restart).
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Plan the room's version change from its findings and its controllers
  zoomrooms.remediation.zoom_room_update:
    step: plan
    version_action: upgrade
    min_version: "{{ zoom_room_min_version }}"

- name: The wave's Zoom room ids to upgrade
  ansible.builtin.debug:
    msg: "{{ ansible_play_batch | zoomrooms.remediation.zoom_rooms_update_wave(hostvars, 'change') }}"
"""

RETURN = r"""
ansible_facts:
  description: The step's facts.
  returned: success
  type: complex
  contains:
    zoom_room_update:
      description:
        - plan (wanted, change, action, reason, room_id, room_version, controllers_ahead, controllers_behind,
          restart, regenerate) and before (facts, findings, api); after C(step=record) also version (the
          version outcome, or null), restart, regenerated and did_change (something was changed).
      returned: with step plan or record
      type: dict
    zoom_room_report:
      description: The room's report entry (status, findings, planned, changed, verify, version_update, ...).
      returned: with step report
      type: dict
status:
  description: The room's status in the report (step report).
  returned: with step report
  type: str
"""
