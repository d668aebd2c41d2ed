#!/usr/bin/python
"""Documentation only: the zoom_rooms_api action plugin (plugins/action/zoom_rooms_api.py) does the work."""

from __future__ import annotations

DOCUMENTATION = r"""
module: zoom_rooms_api
short_description: Zoom Rooms API data per room, remote app upgrade/downgrade, activation codes
description:
  - Reads each room's list entry and devices from the Zoom REST API and returns them per room id,
    with the devices normalised (app versions as C(X.Y.Z.build)) and a summary (the room computer's
    reported IP and version, the controllers' versions).
  - With I(app_version_action), asks Zoom to upgrade, downgrade or cancel the room computer's Zoom
    Rooms app (Mac and Windows rooms only; controllers cannot be changed remotely) and, with
    I(wait), polls the devices until the version moved or I(wait_timeout) passed. Zoom's refusals
    (codes 8001-8004) become per-room outcomes, not task failures.
  - With I(regenerate_activation_code), issues a new activation code for every selected room.
  - With I(regenerate_activation_code) or I(restart), an API error of one room (for example Zoom's 400 code 200
    "No permission to regenerate an activation code", or 404 code 1012 "Room does not exist") is recorded for
    that room and the other rooms are still asked; the task then fails, naming those rooms, with every room's
    result in it (the codes already issued replaced the old ones). Credential, rate-limit and network errors
    stop the task at once.
  - Runs on the controller only (action plugin, no connection to the room). Use it once per run,
    for example in a play on C(localhost) or with C(run_once=true).
  - Credentials come from the options or the C(ZOOM_*) environment variables, as for the
    C(zoom_rooms) inventory plugin.
version_added: "1.0.0"
author:
  - Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
extends_documentation_fragment:
  - zoomrooms.remediation.zoom_rooms_api
options:
  app_version_action:
    description:
      - Change the Zoom Rooms app version of each selected room's room computer (or the device in
        I(device_ids)). Omit to only read.
    type: str
    choices: [upgrade, downgrade, cancel]
    aliases: [action]
  device_ids:
    description: Room id to device id, where the device to change is not the room computer found in the API.
    type: dict
    default: {}
  wait:
    description: After an upgrade or downgrade request, poll until the version changed.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to keep polling before the outcome is C(timeout).
    type: float
    default: 900
  poll_interval:
    description: Seconds between polls.
    type: float
    default: 15
  regenerate_activation_code:
    description:
      - Issue a new activation code for every selected room (codes are valid for 10 days).
      - The new codes are returned in RV(activation_codes); set C(no_log) on the task if its output is kept.
        Rooms Zoom refused are in RV(activation_code_errors).
    type: bool
    default: false
  restart:
    description:
      - Ask Zoom to restart the Zoom Rooms app of every selected room (C(PATCH /rooms/{roomId}/events),
        method C(zoomroom.restart)). Per-room results in RV(restarts); an offline room (Zoom code 300) is
        the outcome C(offline), not a task failure. In check mode nothing is requested (C(would_restart)).
    type: bool
    default: false
  check_settings:
    description:
      - Only check that the Zoom API is configured (credentials from the options or C(ZOOM_*)) and that
        the settings are sane (https, or http to loopback only); nothing is asked of Zoom. The task fails
        with the reason otherwise. update_versions.yml runs this before it touches any room.
    type: bool
    default: false
  if_configured:
    description:
      - Do nothing, with a skipped result, when the Zoom API is not configured, that is when no credential
        (I(account_id), I(client_id), I(client_secret)) is given as an option or as its C(ZOOM_*) variable.
        The zoom_room_diagnose role reads the API this way, only when it is configured.
    type: bool
    default: false
  background:
    description:
      - Start the read (rooms and devices, no change) in a process of its own on the control node and
        return at once with RV(results_file). The process writes the result there, readable by the
        owner only; a later task takes it with I(collect). The zoom_room_diagnose role starts its batch's
        read this way, so the API's pacing overlaps the rooms' round trips (docs/performance.md).
      - While it runs, the process also writes the room list (ids and names) and then each room's record,
        as soon as that room's devices are read, into a directory beside RV(results_file) (its name with
        C(.rooms) after it, readable by the owner only), so that each room's zoom_room_diagnose task waits
        for its own room only. I(collect) removes it.
      - Not with I(app_version_action) or I(regenerate_activation_code).
    type: bool
    default: false
  collect:
    description:
      - The registered result of a task with I(background=true). Waits up to I(wait_timeout) seconds
        for that read, removes its file (and its directory of rooms read so far) and returns the read as
        if this task had made it.
        Connection options are not needed.
    type: dict
attributes:
  check_mode:
    support: full
    description: Reads for real; changes are reported as C(would_upgrade) and so on, without being requested.
  diff_mode:
    description: Returns no diff; the per-room outcomes say what changed.
    support: none
  platform:
    description: Runs on the control node only; the rooms are reached through the Zoom API.
    support: full
    platforms: all
notes:
  - Zoom documents version changes for Mac and Windows rooms only; appliances and controllers are refused.
  - Rate limits, retries and the daily limit behave as described in docs/zoom-api.md.
"""

EXAMPLES = r"""
- name: Read API data for the rooms in this play
  zoomrooms.remediation.zoom_rooms_api:
    room_ids: "{{ ansible_play_hosts | map('extract', hostvars, 'zoom_room_id') | select | list }}"
  run_once: true
  register: zoom_api

- name: Upgrade rooms below the minimum version and wait for them
  zoomrooms.remediation.zoom_rooms_api:
    room_ids: "{{ rooms_to_upgrade }}"
    app_version_action: upgrade
    wait_timeout: 1800
  delegate_to: localhost
  run_once: true
  register: upgrade

- name: Rooms whose upgrade did not go through
  ansible.builtin.debug:
    var: upgrade.summary.failed_room_ids

- name: New activation code for one room
  zoomrooms.remediation.zoom_rooms_api:
    room_ids: [qMOLddnySIGGVycz8aX_JQ]
    regenerate_activation_code: true
  run_once: true
  no_log: true
  register: codes
"""

RETURN = r"""
results_file:
  description: Where the background read writes its result (with I(background=true)).
  returned: when background is true
  type: str
whole_account:
  description: Whether the read covered the whole account (neither I(room_ids) nor I(room_names)).
  returned: with collect, when the background read succeeded
  type: bool
rooms:
  description: Per room id, the API data after any change.
  returned: always
  type: dict
  contains:
    room:
      description:
        - The C(GET /rooms) list item (id, room_id, name, status, location_id, tag_ids), without the
          activation code.
      type: dict
    devices:
      description:
        - Normalised devices, each with id, type, role (room_computer, controller, other), app_version
          (X.Y.Z.build), app_version_raw, device_system, platform, status, ip_address, hostname.
      type: list
      elements: dict
    room_computer_id:
      description: Device id of the room computer, or null when the room has none.
      type: str
    platform:
      description: windows, macos, linux, appliance or unknown (from the room computer's device_system).
      type: str
    reported_ip:
      description: The room computer's ip_address as Zoom reports it (127.0.0.1 points at a proxy on the room).
      type: str
    room_computer_version:
      description: Room computer app version, X.Y.Z.build.
      type: str
    controller_versions:
      description: App versions of the room's controllers, X.Y.Z.build.
      type: list
      elements: str
  sample:
    qMOLddnySIGGVycz8aX_JQ:
      room: {id: qMOLddnySIGGVycz8aX_JQ, name: HQ 3F Boardroom, status: Available, location_id: 49D7a0xPQvGQ2DCMZgSe7w}
      room_computer_id: "{0.0.1.00000000}.{eff76542-ac52-4c78-bd90-67f968bab16f}"
      platform: windows
      reported_ip: 10.20.0.10
      room_computer_version: 6.2.0.4512
      controller_versions: [6.2.0.4512]
missing_room_ids:
  description: Requested room ids the account does not have.
  returned: always
  type: list
  elements: str
errors:
  description: Room id to the API error that kept its devices from being read (the room has no devices then).
  returned: always
  type: dict
outcomes:
  description:
    - Per room id, the result of I(app_version_action).
    - "C(outcome) is one of: upgraded, downgraded, cancelled, requested (wait=false), timeout,
      already_current_or_updating (8001), no_downgrade_target (8002), nothing_to_cancel (8003),
      device_not_in_room (8004), rejected (another 400), possibly_requested, error (another API error of
      that room, for example a 404 or a 5xx after the retries), no_room_computer, would_upgrade,
      would_downgrade, would_cancel (check mode)."
    - "C(possibly_requested): the request got a server error (5xx) and was retried, and the retry got 8002 (a
      downgrade) or 8003 (a cancel), which Zoom also answers once the first attempt was carried out. Zoom may
      have accepted it: C(ok) is false (listed in RV(summary)'s C(failed_room_ids)) and C(changed) true; read the room
      again (diagnose.yml) to see which. An upgrade needs no such outcome: its retry gets 8001
      (C(already_current_or_updating))."
  returned: when app_version_action is set
  type: dict
  contains:
    outcome: {description: See above., type: str}
    ok: {description: "The room ended where it was asked to (or would, in check mode).", type: bool}
    changed: {description: Zoom accepted a change for this room., type: bool}
    device_id: {description: The device asked to change., type: str}
    before: {description: "Version before, X.Y.Z.build.", type: str}
    after: {description: "Version last seen, X.Y.Z.build.", type: str}
    code: {description: Zoom error code of a refusal., type: int}
    message: {description: "Zoom's message of a refusal, or why the wait ended.", type: str}
summary:
  description: Outcome counts and the room ids whose outcome is not ok.
  returned: when app_version_action is set
  type: dict
  sample:
    counts: {upgraded: 12, already_current_or_updating: 3, timeout: 1}
    failed_room_ids: [qMOLddnySIGGVycz8aX_JQ]
restarts:
  description:
    - Per room id, the answer to I(restart). C(outcome) is restart_requested, offline (code 300),
      rejected (another 400 refusal), error (another API error of that room, for example 404 code 1012
      "Room does not exist"; the task fails) or would_restart (check mode).
  returned: when restart is true
  type: dict
  contains:
    outcome: {description: See above., type: str}
    ok: {description: "Zoom accepted the restart (or would, in check mode).", type: bool}
    status: {description: HTTP status of an error outcome., type: int}
    code: {description: Zoom error code of a refusal., type: int}
    message: {description: Zoom's message., type: str}
configured:
  description: The Zoom API is configured (with check_settings).
  returned: when check_settings is true and the settings are good
  type: bool
activation_codes:
  description: Room id to the newly issued activation code (rooms Zoom refused are not in it).
  returned: when regenerate_activation_code is true and not in check mode
  type: dict
activation_code_errors:
  description:
    - Room id to why Zoom issued no new code for it (for example 400 code 200 "No permission to regenerate
      an activation code for a Zoom Room"); the task fails when it is not empty.
  returned: when regenerate_activation_code is true and not in check mode
  type: dict
  contains:
    outcome: {description: Always C(error)., type: str}
    ok: {description: Always false., type: bool}
    status: {description: HTTP status., type: int}
    code: {description: Zoom error code., type: int}
    message: {description: The client's message (Zoom's message in it; never a secret)., type: str}
"""
