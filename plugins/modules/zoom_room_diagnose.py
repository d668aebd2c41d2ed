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
  - An option the task leaves out is read from the room's variable of the same meaning (each option
    names it), templated by the action; an undefined variable leaves the option's default. The role's
    task therefore has no arguments, since each argument written as a template would cost a Jinja compile
    per room and option (docs/performance.md).
  - Read-only. Runs the same in check mode.
version_added: "1.0.0"
author:
  - Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
options:
  controller_port:
    description:
      - TCP port the controller connects to on the room (Zoom KB0065712).
      - Left out, the room's C(zoom_room_controller_port).
    type: int
    default: 9090
  controller_subnets:
    description:
      - CIDRs where the controllers live. Firewall verdicts and bypass coverage are per subnet.
      - Left out, the room's C(zoom_room_controller_subnets).
    type: list
    elements: str
    default: []
  package_name:
    description:
      - Linux rooms, the package that installs the room app (passed to
        M(zoomrooms.remediation.zoom_room_facts)).
      - Left out, the room's C(zoom_room_package_name).
    type: str
    default: zoom-rooms
  app_path:
    description:
      - macOS rooms, the Zoom Rooms application bundle (passed to M(zoomrooms.remediation.zoom_room_facts)).
      - Left out, the room's C(zoom_room_macos_app_path).
    type: str
    default: /Applications/ZoomPresence.app
  facts:
    description:
      - The room's facts in the shared schema (docs/facts.md), already read. When given, nothing
        runs on the room.
    type: dict
  address:
    description:
      - Address the controller uses for the room (evidence of the path findings).
      - Left out, the room's C(zoom_room_address).
    type: str
    default: ""
  min_version:
    description:
      - Lowest acceptable room app version; empty for no minimum.
      - Left out, the room's C(zoom_room_min_version).
    type: str
    default: ""
  reachability:
    description:
      - This room's entry of a M(zoomrooms.remediation.zoom_room_reachability) result (outcome, latency); omit when no
        probe tested the room.
      - Left out, the room's entry of C(zoom_room_diagnose_reachability), the role's registered probe results
        (what the C(zoom_room_reachability_of) filter returns), when it has one.
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
      - Left out, C(zoom_room_diagnose_api_job), the role's registered read, when it started one (has a results file).
    type: dict
  api_room:
    description:
      - The room's identity for the match in the I(api_job) read - C(inventory_hostname), C(zoom_room_id),
        C(zoom_room_name), and the activation values of the inventory.
      - Default those variables of the room, read by the action.
    type: dict
  api_timeout:
    description:
      - Seconds to wait for the I(api_job) read after the room was read; then the room goes on without it.
      - Left out, the room's C(zoom_room_diagnose_api_timeout).
    type: float
    default: 900.0
  report:
    description:
      - Also set C(zoom_room_report), the room's entry of a diagnose run's report.
      - Left out, C(zoom_room_diagnose_report).
    type: bool
    default: false
  windows_script:
    description:
      - Windows rooms, the facts script (roles/zoom_room_diagnose/files/windows_facts.ps1). When given,
        the task runs it with C(ansible.windows.win_powershell) instead of
        M(zoomrooms.remediation.zoom_room_facts) and turns its
        result into the facts schema with the C(zoom_room_windows_facts) filter's code.
      - Left out, for a room whose C(zoom_room_platform) is C(windows) (and no I(facts)), the file
        C(windows_facts.ps1) of the role's C(files/), found as the C(file) lookup finds it.
    type: str
  windows_proxy_user:
    description:
      - Windows rooms, the account whose WinINet proxy the app uses (empty = the auto-logon account).
      - Left out, the room's C(zoom_room_windows_proxy_user).
    type: str
    default: ""
  windows_app_paths:
    description:
      - Windows rooms, where the ZoomRooms.exe file-version fallback looks.
      - Left out, the room's C(zoom_room_windows_app_paths).
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
      - Left out, C(zoom_room_diagnose_lean).
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
      - Left out, for a room with C(zoom_room_csapi) true, built from its variables - C(zoom_room_address),
        C(zoom_room_csapi_port), C(zoom_room_csapi_passcode), C(zoom_room_csapi_known_hosts),
        C(zoom_room_csapi_host_key_fingerprint), C(zoom_room_csapi_timeout), C(zoom_room_csapi_via) (empty ones
        left out) and C(zoom_room_name) (else the inventory hostname) as I(expected_room_name).
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
- name: Read the room's state and diagnose it (every option from the room's variables, as the role does)
  zoomrooms.remediation.zoom_room_diagnose: {}
  register: diagnosis

- name: The same with options of this task's own
  zoomrooms.remediation.zoom_room_diagnose:
    controller_port: 9090
    controller_subnets: [10.20.30.0/24]
    reachability: "{{ inventory_hostname | zoomrooms.remediation.zoom_room_reachability_of(probe_result) }}"
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
