#!/usr/bin/python
"""Documentation only: the zoom_room_diagnose action plugin (plugins/action/zoom_room_diagnose.py) does the work."""

from __future__ import annotations

DOCUMENTATION = r"""
module: zoom_room_diagnose
short_description: Read a room's state in one round trip and diagnose it on the controller
description:
  - Runs M(zoomrooms.remediation.zoom_room_facts) on the room (Linux, macOS), or the I(windows_script) with
    C(ansible.windows.win_powershell) (Windows), or takes I(facts) already read. Then it diagnoses
    the room on the controller from the facts, the probe's reachability entry, the Zoom API view and
    the policy (docs/findings.md).
  - Sets C(zoom_room_facts), C(zoom_room_findings), C(zoom_room_api) when the I(api_job) read
    succeeded, and C(zoom_room_report) when I(report) is true, as the room's facts.
  - One task result per room, where a module call and three set_fact tasks were before, is why it
    exists (docs/performance.md). The zoom_room_diagnose role runs it; use the role, not this
    action, unless you build your own pipeline.
  - Read-only. Runs the same in check mode.
version_added: "1.0.0"
author:
  - Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
options:
  controller_port:
    description: TCP port the controller connects to on the room (Zoom KB0065712).
    type: int
    default: 9090
  controller_subnets:
    description: CIDRs where the controllers live. Firewall verdicts and bypass coverage are per subnet.
    type: list
    elements: str
    default: []
  package_name:
    description:
      - Linux rooms, the package that installs the room app (passed to
        M(zoomrooms.remediation.zoom_room_facts)).
    type: str
    default: zoom-rooms
  app_path:
    description: macOS rooms, the Zoom Rooms application bundle (passed to M(zoomrooms.remediation.zoom_room_facts)).
    type: str
    default: /Applications/ZoomPresence.app
  facts:
    description:
      - The room's facts in the shared schema (docs/facts.md), already read. When given, nothing
        runs on the room.
    type: dict
  address:
    description: Address the controller uses for the room (evidence of the path findings).
    type: str
    default: ""
  min_version:
    description: Lowest acceptable room app version; empty for no minimum.
    type: str
    default: ""
  reachability:
    description:
      - This room's entry of a M(zoomrooms.remediation.zoom_room_reachability) result (outcome, latency); omit when no
        probe tested the room.
    type: dict
  api:
    description:
      - The room's Zoom API view without this run's read. Used when I(api_job) is not given, or its read
        failed or did not finish.
      - Default the C(zoom_room_api_view) filter over the room's variables (an earlier read's
        C(zoom_room_api) fact, else the C(zoom_rooms) inventory plugin's host vars), read by the action.
    type: dict
  api_job:
    description:
      - The registered result of the batch's M(zoomrooms.remediation.zoom_rooms_api) task with
        C(background=true), which reads the API in a process of its own on the control node. The task
        reads the room first, then waits
        for that read (its results file), matches the room in it and sets C(zoom_room_api).
    type: dict
  api_room:
    description:
      - The room's identity for the match in the I(api_job) read - C(inventory_hostname), C(zoom_room_id),
        C(zoom_room_name), and the activation values of the inventory.
      - Default those variables of the room, read by the action.
    type: dict
  api_timeout:
    description: Seconds to wait for the I(api_job) read after the room was read; then the room goes on without it.
    type: float
    default: 900.0
  report:
    description: Also set C(zoom_room_report), the room's entry of a diagnose run's report.
    type: bool
    default: false
  windows_script:
    description:
      - Windows rooms, the facts script (roles/zoom_room_diagnose/files/windows_facts.ps1). When given,
        the task runs it with C(ansible.windows.win_powershell) instead of
        M(zoomrooms.remediation.zoom_room_facts) and turns its
        result into the facts schema with the C(zoom_room_windows_facts) filter's code.
    type: str
  windows_proxy_user:
    description: Windows rooms, the account whose WinINet proxy the app uses (empty = the auto-logon account).
    type: str
    default: ""
  windows_app_paths:
    description: Windows rooms, where the ZoomRooms.exe file-version fallback looks.
    type: list
    elements: str
    default: []
  lean:
    description:
      - Linux and macOS rooms. Read the room as a lean payload - the code of M(zoomrooms.remediation.zoom_room_facts)
        sent to the room's Python without AnsiballZ, which spends more of the room's CPU unpacking and compiling
        ansible's own module code than the read itself takes. The facts are the same.
      - C(false) runs M(zoomrooms.remediation.zoom_room_facts) as a module. The module also runs with C(async).
        A Python still to be discovered is discovered first, by ansible's own interpreter discovery.
    type: bool
    default: true
  csapi:
    description:
      - Also read the room's app over ZR-CSAPI (TCP 2244), with these options of
        M(zoomrooms.remediation.zoom_room_csapi) (address, port, username, passcode, known_hosts,
        host_key_fingerprint, timeout, via, expected_room_name).
        The read joins the diagnosis (docs/findings.md, C(csapi_*) codes; its version where the host gave none).
      - B(A ZR-CSAPI session displaces the room's touch controller while it is open); the roles pass this only
        for rooms with C(zoom_room_csapi=true). Omitted, ZR-CSAPI is not read.
    type: dict

extends_documentation_fragment:
  - zoomrooms.remediation.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Action plugin; the room needs Python for M(zoomrooms.remediation.zoom_room_facts) unless I(facts) is given.
seealso:
  - module: zoomrooms.remediation.zoom_room_facts
  - module: zoomrooms.remediation.zoom_room_reachability
"""

EXAMPLES = r"""
- name: Read the room's state and diagnose it
  zoomrooms.remediation.zoom_room_diagnose:
    controller_port: "{{ zoom_room_controller_port }}"
    controller_subnets: "{{ zoom_room_controller_subnets }}"
    address: "{{ zoom_room_address }}"
    reachability: "{{ inventory_hostname | zoom_room_reachability_of(probe_result) }}"
  register: diagnosis

- name: Show the finding codes
  ansible.builtin.debug:
    var: diagnosis.findings
"""

RETURN = r"""
findings:
  description: The codes of the room's findings, in order (the whole findings are in ansible_facts).
  returned: success
  type: list
  elements: str
  sample: [host_firewall_blocks_controller_port]
ansible_facts:
  description: The facts set on the room.
  returned: success
  type: complex
  contains:
    zoom_room_facts:
      description: The room's state in the shared schema (docs/facts.md).
      type: dict
    zoom_room_findings:
      description: The findings (docs/findings.md), each with code, severity, summary, evidence, next_step, fixed_by.
      type: list
      elements: dict
    zoom_room_api:
      description: The room's Zoom API record from the batch's read, or null when the API has no such room.
      returned: when the api_job read succeeded
      type: dict
    zoom_room_csapi:
      description: What ZR-CSAPI showed (the C(csapi) result of M(zoomrooms.remediation.zoom_room_csapi)).
      returned: when csapi is set
      type: dict
    zoom_room_report:
      description: The room's report entry (platform, status, findings, facts_before; csapi when read).
      returned: when report is true
      type: dict
"""
