"""Action plugin zoom_rooms_run_summary: publish the run's summary with set_stats (AWX job artifacts).

Runs on the controller only; documented in plugins/modules/zoom_rooms_run_summary.py. The report
callback writes the run's report when this task starts and names the run directory in
ZOOM_ROOMS_REPORT_RUN_DIR (the task's worker process starts after that); this task reads the
report back and returns the summary as `ansible_stats`, which ansible-playbook adds to the run's
custom stats like set_stats does. A callback cannot do that itself: ansible-runner's stdout
callback, which turns the stats into the job's artifacts, runs before any other callback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict

from ansible.plugins.action import ActionBase
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_run_summary import (
    DEFAULT_ATTENTION_LIMIT,
    RUN_DIR_ENV,
    published_stats,
)

ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    "summary_limit": {"type": "int", "default": DEFAULT_ATTENTION_LIMIT},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: Dict[str, Any] | None = None) -> Dict[str, Any]:
        _unused, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        result = super().run(tmp, task_vars)
        run_dir = os.environ.get(RUN_DIR_ENV)
        if not run_dir:
            result.update(skipped=True, msg="no run report to summarise: the zoomrooms.remediation.zoom_rooms_report "
                                            "callback is not enabled (callbacks_enabled), or no room was reported")
            return result
        try:
            report = json.loads((Path(run_dir) / "report.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            return {**result, "failed": True, "msg": f"cannot read the run report in {run_dir}: {error}"}
        data = published_stats(report, Path(run_dir), params["summary_limit"])
        result.update(changed=False, stats=data,
                      ansible_stats={"data": data, "per_host": False, "aggregate": False})
        return result
