"""Aggregate callback: collects each room's zoom_room_report fact and writes the run report."""

from __future__ import annotations

import atexit
import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ansible import constants as C
from ansible import context
from ansible.plugins.callback import CallbackBase
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_report import (
    add_room_error,
    build_report,
    make_run_id,
    mark_unreachable,
    merge_room_report,
    playbook_short_name,
    summarize,
    terminal_summary,
    write_report,
)

DOCUMENTATION = r"""
name: zoom_rooms_report
type: aggregate
short_description: Write the Zoom Rooms run report (JSON, HTML, JUnit)
description:
  - Collects the C(zoom_room_report) fact each room's play sets with C(ansible.builtin.set_fact)
    (later calls merge shallowly into earlier ones, later keys win) and the run-wide
    C(zoom_rooms_run) fact, and records unreachable rooms and failed tasks.
  - At the end of the playbook writes C(<dir>/<run-id>/report.json), C(report.html) and
    C(junit.xml), points C(<dir>/latest) at the new run, deletes runs beyond the newest O(keep)
    and prints a summary. Runs where no room set C(zoom_room_report), no room was
    unreachable and no C(zoom_rooms_run) was set write nothing (an unrelated playbook).
  - A run stopped by the input checks (C(zoom_rooms_run.input_errors)) and a run interrupted by
    Ctrl-C or SIGTERM still write their report, marked in C(run.outcome), so C(latest) is never
    an older run's.
  - A host is a room when it set C(zoom_room_report) or is in the C(zoom_rooms) group.
  - Values of secret-looking keys and credentials in URLs are redacted before anything is written.
  - See docs/reports.md.
requirements:
  - enable in configuration (callbacks_enabled = zoomrooms.remediation.zoom_rooms_report)
options:
  dir:
    description:
      - Directory that holds the run directories and the C(latest) link.
      - Unset means C(reports) next to the active ansible.cfg (or in the current directory when
        there is none). A relative path in ansible.cfg is relative to that file; from the
        environment it is relative to the current directory.
    type: path
    env:
      - name: ZOOM_ROOMS_REPORT_DIR
    ini:
      - section: zoom_rooms_report
        key: dir
  keep:
    description: How many run directories to keep (newest first); 0 keeps all.
    type: int
    default: 20
    env:
      - name: ZOOM_ROOMS_REPORT_KEEP
    ini:
      - section: zoom_rooms_report
        key: keep
"""

EXAMPLES = r"""
# ansible.cfg
[defaults]
callbacks_enabled = zoomrooms.remediation.zoom_rooms_report

[zoom_rooms_report]
# relative to this ansible.cfg
dir = reports
keep = 20

# or, for one run of an installed collection:
#   ANSIBLE_CALLBACKS_ENABLED=zoomrooms.remediation.zoom_rooms_report \
#   ZOOM_ROOMS_REPORT_DIR=/srv/zoom-rooms/reports ansible-playbook zoomrooms.remediation.diagnose -i rooms.yml
"""

ROOM_FACT = "zoom_room_report"
RUN_FACT = "zoom_rooms_run"
ROOMS_GROUP = "zoom_rooms"
PLATFORM_GROUPS = {"zoom_rooms_windows": "windows", "zoom_rooms_macos": "macos", "zoom_rooms_linux": "linux"}
STATUS_COLORS = {"healthy": C.COLOR_OK, "fixed": C.COLOR_CHANGED, "needs_attention": C.COLOR_WARN,
                 "failed": C.COLOR_ERROR, "unreachable": C.COLOR_UNREACHABLE}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _group_names(host: Any) -> set[str]:
    return {group.get_name() for group in host.get_groups()}


def _facts_in(result: dict[str, Any]) -> list[dict[str, Any]]:
    """ansible_facts of a task result; for a loop, each item's in order."""
    facts = [result["ansible_facts"]] if isinstance(result.get("ansible_facts"), dict) else []
    for item in result.get("results") or []:
        if isinstance(item, dict) and isinstance(item.get("ansible_facts"), dict):
            facts.append(item["ansible_facts"])
    return facts


def _fact_target(result: Any) -> str:
    """The host a set_fact lands on: the delegated host with delegate_facts (when literal), else the host."""
    task = result.task
    delegate_to = getattr(task, "delegate_to", None)
    if getattr(task, "delegate_facts", False) and isinstance(delegate_to, str) and "{" not in delegate_to:
        return delegate_to
    return result.host.get_name()


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "zoomrooms.remediation.zoom_rooms_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._started = _utcnow()
        self._playbooks: list[str] = []
        self._rooms: dict[str, dict[str, Any]] = {}
        self._reported: set[str] = set()  # hosts that set zoom_room_report or were unreachable
        self._platform_hints: dict[str, str] = {}
        self._run_data: dict[str, Any] = {}
        self._run_errors: list[dict[str, Any]] = []
        self._written = False
        self._pid = os.getpid()  # forked workers inherit the handlers below: only this process writes
        # An interrupted run ends without v2_playbook_on_stats: Ctrl-C exits through sys.exit (atexit
        # runs), SIGTERM through the default action (it does not), so SIGTERM writes first.
        atexit.register(self._write_interrupted)
        self._previous_sigterm = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, self._on_sigterm)

    # ------------------------------------------------------------------ events

    def v2_playbook_on_start(self, playbook: Any) -> None:
        # Called once per playbook on the command line; the report covers the whole command.
        path = getattr(playbook, "_file_name", None) or "run"
        if not self._playbooks:
            self._started = _utcnow()
        self._playbooks.append(str(path))

    def v2_runner_on_ok(self, result: Any) -> None:
        for facts in _facts_in(result.result):
            if isinstance(facts.get(ROOM_FACT), dict):
                host = _fact_target(result)
                self._rooms[host] = merge_room_report(self._rooms.get(host), facts[ROOM_FACT])
                self._reported.add(host)
                if host == result.host.get_name():
                    self._remember_platform(result.host)
            if isinstance(facts.get(RUN_FACT), dict):
                self._run_data.update(facts[RUN_FACT])

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        if ignore_errors:
            return
        self._record_error(result, "task_failed")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._record_error(result, "unreachable")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        self._write(interrupted=False)

    # ------------------------------------------------------------------ writing

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        self._write_interrupted()
        previous = self._previous_sigterm
        if callable(previous):
            previous(signum, frame)
        else:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)

    def _write_interrupted(self) -> None:
        if not self._written and os.getpid() == self._pid:
            self._write(interrupted=True)

    def _write(self, interrupted: bool) -> None:
        if self._written or not (self._reported or self._run_data):
            return
        self._written = True
        report = self._build_report(interrupted)
        base = self._report_dir()
        try:
            run_dir = write_report(base, report, int(self.get_option("keep")))
        except OSError as error:
            self._display.error(f"zoom_rooms_report: could not write the report under {base}: {error}")
            return
        report["run"]["id"] = run_dir.name
        self._print_summary(report, run_dir / "report.html")

    # ------------------------------------------------------------------ helpers

    def _is_room(self, host: Any) -> bool:
        return host.get_name() in self._rooms or ROOMS_GROUP in _group_names(host)

    def _remember_platform(self, host: Any) -> None:
        for group in _group_names(host):
            if group in PLATFORM_GROUPS:
                self._platform_hints[host.get_name()] = PLATFORM_GROUPS[group]

    def _record_error(self, result: Any, kind: str) -> None:
        host = result.host
        name = host.get_name()
        message = str(result.result.get("msg") or result.result.get("stderr") or "")
        task = result.task_name
        # A run-wide step (run_once, such as the input checks) failing is the run's error, not one room's.
        if not self._is_room(host) or (kind != "unreachable" and getattr(result.task, "run_once", False) is True):
            self._run_errors.append({"host": name, "kind": kind, "task": task, "msg": message})
            return
        self._remember_platform(host)
        if kind == "unreachable":
            self._rooms[name] = mark_unreachable(self._rooms.get(name), message, task)
            self._reported.add(name)
        else:
            self._rooms[name] = add_room_error(self._rooms.get(name), kind, task, message)

    def _build_report(self, interrupted: bool = False) -> dict[str, Any]:
        check_mode = bool(context.CLIARGS.get("check", False))
        first = self._playbooks[0] if self._playbooks else "run"
        run_data = dict(self._run_data)
        if len(self._playbooks) > 1:
            run_data["playbooks"] = [playbook_short_name(path) for path in self._playbooks]
        return build_report(
            run_id=make_run_id(self._started, first),
            playbook=playbook_short_name(first),
            started=self._started,
            finished=_utcnow(),
            rooms=self._rooms,
            run_data=run_data,
            check_mode=check_mode,
            platform_hints=self._platform_hints,
            run_errors=self._run_errors,
            interrupted=interrupted,
        )

    def _report_dir(self) -> Path:
        configured = self.get_option("dir")
        if configured:
            return Path(configured)
        config_file = C.CONFIG_FILE
        root = Path(config_file).resolve().parent if config_file else Path.cwd()
        return root / "reports"

    def _print_summary(self, report: dict[str, Any], location: Path) -> None:
        lines = terminal_summary(report, str(location))
        self._display.banner("ZOOM ROOMS REPORT")
        self._display.display(lines[0])
        self._display.display(lines[1], color=self._counts_color(summarize(report)))
        for line in lines[2:]:
            self._display.display(line)

    @staticmethod
    def _counts_color(counts: dict[str, int]) -> str | None:
        for status in ("failed", "unreachable", "needs_attention"):
            if counts.get(status):
                return STATUS_COLORS[status]
        return STATUS_COLORS["healthy"]
