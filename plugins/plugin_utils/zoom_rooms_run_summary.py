"""The run summary a playbook publishes with set_stats (AWX job artifacts), and where reports go.

Controller-side. A job's artifacts are what AWX shows and what the next workflow node gets as
extra variables; AWX merges the artifacts of several jobs (job slices, converging nodes) key by
key, so each run also publishes its report directory under a key of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_report import (
    rooms_needing_attention,
    summarize,
)

SUMMARY_KEY = "zoom_rooms_summary"
REPORT_KEY_PREFIX = "zoom_rooms_report_"
# A report key: the prefix and a run id (UTC start first), as merge_reports.yml looks them up.
REPORT_KEY_PATTERN = f"^{REPORT_KEY_PREFIX}[0-9]{{8}}T"
# Set by the report callback, for the task that publishes the summary: the run directory it wrote.
RUN_DIR_ENV = "ZOOM_ROOMS_REPORT_RUN_DIR"
DEFAULT_ATTENTION_LIMIT = 200
REPORTS_DIR_NAME = "reports"


def run_summary(report: Mapping[str, Any], location: str, limit: int = DEFAULT_ATTENTION_LIMIT) -> dict[str, Any]:
    """Counts by status, the rooms that are not healthy (worst first, at most `limit`) and the report path."""
    run = report["run"]
    counts = summarize(report)
    attention = rooms_needing_attention(report)
    summary: dict[str, Any] = {
        "run_id": run["id"],
        "playbook": run["playbook"],
        "mode": run["mode"],
        "check_mode": bool(run.get("check_mode", False)),
        "rooms": sum(counts.values()),
        "counts": counts,
        "attention": [{"room": room, "status": status, "codes": codes}
                      for room, status, codes in attention[:max(limit, 0)]],
        "report": location,
    }
    if len(attention) > len(summary["attention"]):
        summary["attention_omitted"] = len(attention) - len(summary["attention"])
    return summary


def report_key(run_id: str) -> str:
    """The artifact key of one run's report directory: a variable name unique to the run."""
    return REPORT_KEY_PREFIX + re.sub(r"\W", "_", run_id)


def published_stats(report: Mapping[str, Any], run_dir: Path, limit: int = DEFAULT_ATTENTION_LIMIT
                    ) -> dict[str, Any]:
    """The set_stats data of a run: its summary, and its report directory under its own key."""
    return {SUMMARY_KEY: run_summary(report, str(run_dir), limit), report_key(run_dir.name): str(run_dir)}


def report_base_dir(configured: str | None, config_file: str | None, cwd: Path) -> Path:
    """The directory that holds the run directories: the configured one, else `reports` next to
    the active ansible.cfg (or in the current directory when there is none)."""
    if configured:
        return Path(configured)
    root = Path(config_file).resolve().parent if config_file else cwd
    return root / REPORTS_DIR_NAME
