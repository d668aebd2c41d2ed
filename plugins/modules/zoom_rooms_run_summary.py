#!/usr/bin/python
"""Documentation for the zoom_rooms_run_summary action plugin (plugins/action/zoom_rooms_run_summary.py).

The work happens in the action plugin on the controller; this file only carries the docs that
ansible-doc reads, and fails if something runs it as a module.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: zoom_rooms_run_summary
short_description: Publish the Zoom Rooms run summary with set_stats (AWX job artifacts)
description:
  - The last task of the toolkit's playbooks. When it starts, the C(zoomrooms.remediation.zoom_rooms_report)
    callback writes the run's report; this task then publishes the run's summary as custom stats, as
    M(ansible.builtin.set_stats) does, so AWX and ansible-runner show it in the job's artifacts and
    a later workflow node gets it as extra variables.
  - "Publishes C(zoom_rooms_summary): C(run_id), C(playbook), C(mode), C(check_mode), C(rooms),
    C(counts) (rooms per status), C(attention) (each room that is not healthy, worst first, with
    C(room), C(status) and C(codes)), C(attention_omitted) when I(summary_limit) cut the list, and
    C(report) (the run directory). Also C(zoom_rooms_report_<run id>): the run directory under a key
    of its own, so the reports of job slices survive AWX merging their artifacts (docs/awx.md)."
  - Skips when the callback is not enabled or the run reported no room.
  - Runs on the controller; touches no host.
version_added: 1.0.0
options:
  summary_limit:
    description: Most rooms listed in C(attention); the report lists all.
    type: int
    default: 200
extends_documentation_fragment:
  - zoomrooms.remediation.attributes
attributes:
  check_mode:
    support: full
    description: Publishes the summary of the check-mode run.
  diff_mode:
    support: none
author:
  - Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Publish the run summary (AWX job artifacts)
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Publish the run summary
      zoomrooms.remediation.zoom_rooms_run_summary:
"""

RETURN = r"""
stats:
  description: The published data (C(zoom_rooms_summary) and C(zoom_rooms_report_<run id>)).
  returned: success
  type: dict
"""
