#!/usr/bin/python
"""Documentation for the zoom_room_csapi action plugin (plugins/action/zoom_room_csapi.py).

The work happens in the action plugin on the control node; this file only carries the docs that
ansible-doc reads, and fails if something runs it as a module.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: zoom_room_csapi
short_description: Read a Zoom Room's app over ZR-CSAPI (SSH on TCP 2244)
description:
  - Opens one ZR-CSAPI session (Zoom Rooms Control System API, an interactive SSH CLI on TCP 2244 of
    Windows and Mac rooms), asks C(zStatus SystemUnit) and C(zStatus Call Status) in JSON, and closes
    the session at once. Returns what the app says about itself (room name, app version, platform,
    call status), or why it did not answer.
  - B(A ZR-CSAPI session displaces the room's touch controller while it is open) (one session at a
    time; the standard controller cannot connect meanwhile). Use it only for rooms where you opted in
    (C(zoom_room_csapi=true) in the toolkit's roles); never in a loop that holds sessions.
  - The room's host key is verified before the passcode is sent, against I(known_hosts) (entries
    C([address]:2244 ssh-rsa ...)) or a pinned I(host_key_fingerprint). The host key algorithms offered are
    rsa-sha2-512 and rsa-sha2-256 (all ZR-CSAPI offers from Zoom Rooms 5.17.0).
  - A session that cannot be had is a result, not a failure; RV(csapi.state) says C(busy) (another
    session, such as the room's control system, holds it), C(down), C(auth_failed), ... The task
    fails only on options it cannot use (no passcode, no way to verify the host key).
  - Runs on the control node. With I(via), the TCP connection is relayed by that inventory host
    (the probe on the controller segment) with C(ssh -W), using its own connection variables; the
    SSH session to the room stays end to end.
version_added: "1.0.0"
author:
  - Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
options:
  address:
    description: The room's address as the controllers reach it (C(zoom_room_address)).
    type: str
    required: true
  port:
    description: The ZR-CSAPI port.
    type: int
    default: 2244
  username:
    description: SSH user name; public ZR-CSAPI clients use C(zoom).
    type: str
    default: zoom
  passcode:
    description:
      - The room's ZR-CSAPI passcode (from vault). Never logged or returned.
      - When omitted, the environment variable C(ZOOM_ROOM_CSAPI_PASSCODE) of the control node.
    type: str
  known_hosts:
    description: A known_hosts file with the room's ZR-CSAPI host key at C([address]:port).
    type: path
    default: ~/.ssh/known_hosts
  host_key_fingerprint:
    description:
      - The room's host key fingerprint, C(SHA256:...) as C(ssh-keygen -lf) prints it. When set, it is
        the only key accepted and I(known_hosts) is not read.
    type: str
  timeout:
    description: Seconds for the connection and for the whole session.
    type: float
    default: 10
  via:
    description:
      - An inventory host that relays the TCP connection (C(ssh -W address:port)), normally the room's
        probe (C(zoom_room_probe)) on the controller segment. Omit to connect from the control node.
    type: str
  expected_room_name:
    description: The room name the inventory expects; RV(csapi.room_matches) compares the app's answer with it.
    type: str
extends_documentation_fragment:
  - zoomrooms.remediation.attributes
attributes:
  check_mode:
    support: full
    description: Only reads; runs the same in check mode.
  diff_mode:
    support: none
notes:
  - Sources, reply formats and the lab simulator are described in docs/zoom-csapi.md.
seealso:
  - name: Zoom Rooms Control System API
    description: Zoom's ZR-CSAPI developer documentation.
    link: https://developers.zoom.us/docs/rooms/cli/
"""

EXAMPLES = r"""
- name: Ask the room's app about itself, through its probe (opt-in rooms only)
  zoomrooms.remediation.zoom_room_csapi:
    address: "{{ zoom_room_address }}"
    passcode: "{{ zoom_room_csapi_passcode }}"
    known_hosts: "{{ zoom_room_csapi_known_hosts }}"
    via: "{{ zoom_room_probe }}"
    expected_room_name: "{{ zoom_room_name | default(inventory_hostname) }}"
  when: zoom_room_csapi | bool
  register: csapi

- name: With a pinned host key instead of known_hosts
  zoomrooms.remediation.zoom_room_csapi:
    address: 10.20.0.10
    host_key_fingerprint: "SHA256:2Q6Ws+2zniPWGIdmZI8pjwoLUj0sNgV4YhDGS0SUUIw"
  environment:
    ZOOM_ROOM_CSAPI_PASSCODE: "{{ vault_csapi_passcode }}"
  register: csapi
"""

RETURN = r"""
csapi:
  description: What the session showed. Never the passcode; not the account e-mail or meeting number either.
  returned: always
  type: dict
  contains:
    state:
      description:
        - answered, busy (another session holds the interface), displaced (a touch controller took over),
          no_answer, down (nothing accepts TCP 2244), timeout, unreachable, auth_failed, host_key_unknown,
          host_key_mismatch, host_key_unsupported (the SSH server offers no host key algorithm the toolkit
          accepts, rsa-sha2-512/256; a room app older than Zoom Rooms 5.17.0), not_ssh or error.
      type: str
    message: {description: "What happened, in words.", type: str}
    address: {description: The address asked., type: str}
    port: {description: The port asked., type: int}
    host_key: {description: SHA256 fingerprint of the host key the room presented (null if none)., type: str}
    room_name: {description: The name the app says it has (SystemUnit room_info.room_name)., type: str}
    app_version: {description: The app's version as it says it (SystemUnit room_version)., type: str}
    platform: {description: The platform the app says it runs on., type: str}
    call_status: {description: "Call Status, for example NOT_IN_MEETING.", type: str}
    zaapi_release: {description: "The ZAAPI release of the greeting, when there was one.", type: str}
    expected_room_name: {description: The name the inventory expects., type: str}
    room_matches: {description: Whether the app's name is the expected one (null when either is unknown)., type: bool}
    seconds: {description: How long the session took., type: float}
  sample:
    state: answered
    message: ZR-CSAPI answered
    address: 10.20.0.10
    port: 2244
    host_key: "SHA256:2Q6Ws+2zniPWGIdmZI8pjwoLUj0sNgV4YhDGS0SUUIw"
    room_name: HQ 3F Boardroom
    app_version: 6.2.0 (4512)
    platform: Windows 10
    call_status: NOT_IN_MEETING
    expected_room_name: HQ 3F Boardroom
    room_matches: true
    seconds: 0.9
"""
