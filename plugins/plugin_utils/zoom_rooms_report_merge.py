"""One fleet report from several runs' reports: AWX job slices, several control nodes or sites.

Controller-side and pure: report dicts in, one report dict out (written by
zoom_rooms_report.write_report like any run's). Rules, as docs/awx.md explains them:

- every room appears once;
- a room in two runs that ran at the same time (their start..finish windows overlap) must be
  reported the same way (status and finding codes), else the merge fails naming the room and
  both runs: a room belongs to one slice, and two answers about it at once cannot both be true;
- a room in two runs one after the other takes the later run's entry (a rerun supersedes);
- the merged run lists the runs it was made from (id, playbook, mode, times, source);
- all runs must be of one mode (diagnose, plan, apply, ...): one report has one mode.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any

from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_report import (
    STATUSES,
    iso_utc,
    make_run_id,
    natural_key,
    room_codes,
)

MERGED_SUFFIX = "merged"
# run keys every report has; the rest (controllers_to_update, notes, errors, ...) are merged per key.
_RUN_HEADER_KEYS = frozenset({"id", "playbook", "mode", "started", "finished", "check_mode"})
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class ReportMergeError(ValueError):
    """A report that cannot be merged, or reports that contradict each other."""


@dataclass(frozen=True)
class SourceReport:
    """One report to merge and where it came from (a path, for messages and the merged run)."""

    source: str
    report: Mapping[str, Any]

    @property
    def run(self) -> Mapping[str, Any]:
        return self.report["run"]

    @property
    def label(self) -> str:
        return f"{self.run['id']} ({self.source})"


# --------------------------------------------------------------------------- checks


def _parse_time(value: Any, where: str) -> datetime:
    try:
        return datetime.strptime(str(value), _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ReportMergeError(f"{where}: {value!r} is not a UTC time like 2026-03-01T09:30:00Z") from None


def check_report(source: SourceReport) -> None:
    """Fail with the source's name when it is not a run report (report.json of this toolkit)."""
    report = source.report
    if not isinstance(report, Mapping) or not isinstance(report.get("run"), Mapping) \
            or not isinstance(report.get("rooms"), Mapping):
        raise ReportMergeError(f"{source.source}: not a Zoom Rooms run report (no 'run' and 'rooms')")
    missing = [key for key in ("id", "playbook", "mode", "started", "finished") if not report["run"].get(key)]
    if missing:
        raise ReportMergeError(f"{source.source}: run has no {', '.join(missing)}")
    for key in ("started", "finished"):
        _parse_time(report["run"][key], f"{source.source}: run.{key}")
    for name, room in report["rooms"].items():
        if not isinstance(room, Mapping) or room.get("status") not in STATUSES:
            raise ReportMergeError(f"{source.source}: room {name!r} has no valid status")


def run_window(run: Mapping[str, Any]) -> tuple[datetime, datetime]:
    return _parse_time(run["started"], "run.started"), _parse_time(run["finished"], "run.finished")


def runs_overlap(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """True when the two runs were running at the same moment (times are to the second)."""
    first_start, first_end = run_window(first)
    second_start, second_end = run_window(second)
    return first_start <= second_end and second_start <= first_end


def room_outcome(room: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """What two reports must agree on about a room: its status and its finding codes.
    Evidence (latencies, timestamps) differs between any two reads and is not compared."""
    return str(room.get("status")), tuple(sorted(room_codes(room)))


def _outcome_text(outcome: tuple[str, tuple[str, ...]]) -> str:
    status, codes = outcome
    return f"{status}: {', '.join(codes)}" if codes else status


# --------------------------------------------------------------------------- merging


def distinct_reports(sources: Sequence[SourceReport]) -> list[SourceReport]:
    """Drop a report given twice (a run directory and the `latest` link to it): same content."""
    seen: dict[str, SourceReport] = {}
    for source in sources:
        key = json.dumps(source.report, sort_keys=True, default=str)
        seen.setdefault(key, source)
    return list(seen.values())


def merged_mode(sources: Sequence[SourceReport]) -> str:
    modes = {source.run["mode"] for source in sources}
    if len(modes) > 1:
        listed = "; ".join(f"{source.label}: {source.run['mode']}" for source in sources)
        raise ReportMergeError(f"reports of different modes cannot make one report ({listed})")
    return modes.pop()


def _run_order(source: SourceReport) -> tuple[datetime, datetime]:
    return run_window(source.run)


def room_conflicts(name: str, entries: Sequence[tuple[SourceReport, Mapping[str, Any]]]) -> list[str]:
    """Messages for each pair of runs that overlap in time and report this room differently."""
    conflicts = []
    for (first, first_room), (second, second_room) in combinations(entries, 2):
        if runs_overlap(first.run, second.run) and room_outcome(first_room) != room_outcome(second_room):
            conflicts.append(
                f"room {name!r} is reported differently by two runs at the same time: "
                f"{first.label} says {_outcome_text(room_outcome(first_room))}; "
                f"{second.label} says {_outcome_text(room_outcome(second_room))}"
            )
    return conflicts


def merge_rooms(sources: Sequence[SourceReport]) -> dict[str, dict[str, Any]]:
    """Every room once, from the latest run that reported it; fails on same-time contradictions."""
    by_room: dict[str, list[tuple[SourceReport, Mapping[str, Any]]]] = {}
    for source in sorted(sources, key=_run_order):
        for name, room in source.report["rooms"].items():
            by_room.setdefault(name, []).append((source, room))
    conflicts = [message for name, entries in by_room.items() for message in room_conflicts(name, entries)]
    if conflicts:
        raise ReportMergeError(
            "\n".join(conflicts) + "\nA room must be in one slice (or one site's inventory) only: "
            "check the inventories and the job template's slicing."
        )
    merged = {}
    for name in sorted(by_room, key=natural_key):
        source, room = by_room[name][-1]
        # A room of an already merged report keeps the run it came from.
        merged[name] = {**room, "run_id": room.get("run_id") or source.run["id"]}
    return merged


def _merge_values(values: Sequence[tuple[SourceReport, Any]]) -> Any:
    """One run-level extra from several runs: lists joined without repeats, equal values once,
    anything else by run id."""
    items = [value for _unused, value in values]
    if all(isinstance(value, list) for value in items):
        joined: list[Any] = []
        for value in items:
            joined.extend(item for item in value if item not in joined)
        return joined
    if all(item == items[0] for item in items):
        return items[0]
    return {source.run["id"]: value for source, value in values}


def _run_errors(source: SourceReport) -> list[Any]:
    """A run's errors, each object tagged with the run it came from."""
    return [{**error, "run": source.run["id"]} if isinstance(error, Mapping) else error
            for error in source.run.get("errors") or []]


def merged_from_entries(source: SourceReport) -> list[dict[str, Any]]:
    """The runs a source stands for: itself, or the runs of an already merged report (sites -> fleet)."""
    if source.run.get("merged_from"):
        return [dict(entry) for entry in source.run["merged_from"]]
    entry = {key: source.run[key] for key in ("id", "playbook", "mode", "started", "finished")}
    return [{**entry, "rooms": len(source.report["rooms"]), "source": source.source}]


def merged_run(sources: Sequence[SourceReport], mode: str) -> dict[str, Any]:
    ordered = sorted(sources, key=_run_order)
    playbooks = {source.run["playbook"] for source in ordered}
    playbook = playbooks.pop() if len(playbooks) == 1 else MERGED_SUFFIX
    started = min(run_window(source.run)[0] for source in ordered)
    finished = max(run_window(source.run)[1] for source in ordered)
    run: dict[str, Any] = {
        "id": make_run_id(started, playbook if playbook == MERGED_SUFFIX else f"{playbook}-{MERGED_SUFFIX}"),
        "playbook": playbook,
        "mode": mode,
        "started": iso_utc(started),
        "finished": iso_utc(finished),
        "check_mode": any(bool(source.run.get("check_mode")) for source in ordered),
        "merged_from": [entry for source in ordered for entry in merged_from_entries(source)],
    }
    extras: dict[str, list[tuple[SourceReport, Any]]] = {}
    for source in ordered:
        for key, value in source.run.items():
            if key not in _RUN_HEADER_KEYS and key not in ("errors", "merged_from"):
                extras.setdefault(key, []).append((source, value))
    run.update((key, _merge_values(values)) for key, values in extras.items())
    errors = [error for source in ordered for error in _run_errors(source)]
    if errors:
        run["errors"] = errors
    return run


def merge_reports(sources: Sequence[SourceReport]) -> dict[str, Any]:
    """The fleet report of several runs (see the module docstring for the rules)."""
    if not sources:
        raise ReportMergeError("no reports to merge")
    for source in sources:
        check_report(source)
    distinct = distinct_reports(sources)
    mode = merged_mode(distinct)
    return {"run": merged_run(distinct, mode), "rooms": merge_rooms(distinct)}


# --------------------------------------------------------------------------- files (the only I/O)


def read_source(path: str) -> SourceReport:
    """A report.json file, or a run directory holding one."""
    candidate = Path(path).expanduser()
    if candidate.is_dir():
        candidate = candidate / "report.json"
    try:
        text = candidate.read_text(encoding="utf-8")
    except OSError as error:
        raise ReportMergeError(f"{path}: cannot read the report ({error.strerror or error})") from None
    try:
        return SourceReport(source=str(candidate.resolve()), report=json.loads(text))
    except ValueError as error:
        raise ReportMergeError(f"{candidate}: not JSON ({error})") from None
