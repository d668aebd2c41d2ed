"""Action plugin zoom_rooms_merge_reports: one fleet report from several runs' reports.

Runs on the controller only; documented in plugins/modules/zoom_rooms_merge_reports.py. The merge
rules are plugin_utils/zoom_rooms_report_merge.py; the files are written by the same writer as a
run's report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_report import write_report
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_report_merge import (
    ReportMergeError,
    merge_reports,
    read_source,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_run_summary import (
    DEFAULT_ATTENTION_LIMIT,
    SUMMARY_KEY,
    report_base_dir,
    run_summary,
)

REPORT_CALLBACK = "zoomrooms.remediation.zoom_rooms_report"

ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    "sources": {"type": "list", "elements": "path", "required": True},
    "dest": {"type": "path"},
    "keep": {"type": "int", "default": 0},
    "summary_limit": {"type": "int", "default": DEFAULT_ATTENTION_LIMIT},
}


def configured_report_dir() -> str | None:
    """The report callback's `dir` option (ZOOM_ROOMS_REPORT_DIR or [zoom_rooms_report] dir), if set."""
    from ansible.plugins.loader import callback_loader

    callback = callback_loader.get(REPORT_CALLBACK, class_only=True)
    if callback is None:
        return None
    # Its options are registered under the name it was loaded by (the Python module's, for a collection's).
    return C.config.get_config_value("dir", plugin_type="callback", plugin_name=callback._load_name)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # reads and writes files on the controller only
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: Dict[str, Any] | None = None) -> Dict[str, Any]:
        _unused, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        result = super().run(tmp, task_vars)
        try:
            merged = merge_reports([read_source(path) for path in params["sources"]])
        except ReportMergeError as error:
            return {**result, "failed": True, "msg": str(error)}
        base = Path(params["dest"]) if params["dest"] else report_base_dir(
            configured_report_dir(), C.CONFIG_FILE, Path.cwd())
        result.update(changed=True, rooms=len(merged["rooms"]),
                      merged_from=[entry["id"] for entry in merged["run"]["merged_from"]])
        if self._task.check_mode:
            result.update(report_dir=str(base), msg=f"would write a report of {len(merged['rooms'])} rooms")
            return result
        try:
            run_dir = write_report(base, merged, params["keep"])
        except OSError as error:
            return {**result, "changed": False, "failed": True,
                    "msg": f"could not write the report under {base}: {error}"}
        merged["run"]["id"] = run_dir.name
        summary = run_summary(merged, str(run_dir), params["summary_limit"])
        result.update(run_dir=str(run_dir), summary=summary,
                      ansible_stats={"data": {SUMMARY_KEY: summary}, "per_host": False, "aggregate": False})
        return result
