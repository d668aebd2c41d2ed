#!/usr/bin/python
"""Documentation for the zoom_rooms_merge_reports action plugin (plugins/action/zoom_rooms_merge_reports.py).

The work happens in the action plugin on the controller; this file only carries the docs that
ansible-doc reads, and fails if something runs it as a module.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: zoom_rooms_merge_reports
short_description: One fleet report from several Zoom Rooms run reports (job slices, sites)
description:
  - Reads the C(report.json) of several runs (AWX job slices, several control nodes or sites) and
    writes one report (C(report.json), C(report.html), C(junit.xml)) into a new run directory of
    I(dest), pointing C(latest) at it, like a run's own report.
  - Every room appears once. A room reported by two runs that ran at the same time (their start to
    finish overlap) must have the same status and finding codes in both, else the task fails naming
    the room and both runs. A room in two runs one after the other takes the later run's entry.
  - C(run.merged_from) lists every merged run (id, playbook, mode, started, finished, rooms,
    source); each room carries the C(run_id) it came from. All runs must be of one mode.
  - Publishes the merged report's summary with C(set_stats) as C(zoom_rooms_summary).
  - Runs on the controller; touches no host. See docs/awx.md ("Job slicing").
version_added: 1.0.0
options:
  sources:
    description:
      - The reports to merge, each a C(report.json) file or a run directory that holds one. The
        same report given twice (a run directory and C(latest)) counts once.
    type: list
    elements: path
    required: true
  dest:
    description:
      - Directory to write the merged run directory into.
      - Default is the report callback's directory (C(ZOOM_ROOMS_REPORT_DIR) or C([zoom_rooms_report] dir)),
        else C(reports) next to the active ansible.cfg.
    type: path
  keep:
    description: How many run directories to keep in I(dest) (newest first); C(0) deletes none.
    type: int
    default: 0
  summary_limit:
    description: Most rooms listed in the published summary's C(attention); the report lists all.
    type: int
    default: 200
extends_documentation_fragment:
  - zoomrooms.remediation.attributes
attributes:
  check_mode:
    support: full
    description: Merges and checks the reports but writes nothing.
  diff_mode:
    support: none
author:
  - Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Merge the reports of two job slices
  zoomrooms.remediation.zoom_rooms_merge_reports:
    sources:
      - /srv/zoom-rooms/reports/20260301T060000Z-diagnose
      - /srv/zoom-rooms/reports/20260301T060000Z-diagnose-2/report.json
"""

RETURN = r"""
run_dir:
  description: The run directory of the merged report.
  returned: success, not in check mode
  type: str
rooms:
  description: Number of rooms in the merged report.
  returned: success
  type: int
merged_from:
  description: Run ids of the merged reports, oldest first.
  returned: success
  type: list
  elements: str
summary:
  description: The published summary (run_id, playbook, mode, check_mode, rooms, counts, attention, report).
  returned: success, not in check mode
  type: dict
"""
