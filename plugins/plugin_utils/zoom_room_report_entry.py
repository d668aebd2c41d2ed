"""A room's entry in the run report (the `zoom_room_report` fact): the one builder of it.

Every producer gives its phase's pieces and this settles the entry's shape and status: the
zoom_room_diagnose action, the update flow (zoom_room_update.updated_room_entry) and the playbooks,
through the zoom_room_report_entry filter. The report callback then fills what a phase left out
(zoom_rooms_report.normalize_room). The contract is docs/design.md "Report"; docs/report.schema.json
its schema. Pure; unit-tested without Ansible.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Sequence

from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_findings import room_status

DIAGNOSE = "diagnose"


def not_verified() -> Dict[str, Any]:
    """The `verify` of an entry whose change was not verified (nothing applied, plan, --check)."""
    return {"passed": None, "findings": []}


def rolled_back(rollback: Sequence[Mapping[str, Any]] | None) -> bool:
    """True when there was a rollback and every layer of it was restored."""
    return bool(rollback) and all(layer.get("restored") for layer in rollback or ())


def room_entry(findings: Sequence[Any], platform: str | None = None, mode: str = DIAGNOSE, *,
               applied: Sequence[str] | None = None, verify: Mapping[str, Any] | None = None,
               apply_failed: bool = False, status_verify: Mapping[str, Any] | None = None,
               planned: Sequence[Any] | None = None, changed: Sequence[Any] | None = None,
               rollback: Sequence[Mapping[str, Any]] | None = None, **extras: Any) -> Dict[str, Any]:
    """The room's entry: platform, status (zoom_room_findings.room_status), findings; a run that may
    change rooms (any mode but diagnose) adds planned, changed, verify, rollback (when given) and
    rolled_back. `status_verify`: what the status judges when it is not the `verify` shown (the update
    flow fails a room only when its change failed). `extras` (facts_before, csapi, ...) follow, in order.
    """
    entry: Dict[str, Any] = {
        "platform": platform,
        "status": room_status(list(findings), mode, list(applied) if applied is not None else None,
                              status_verify if status_verify is not None else verify, bool(apply_failed)),
        "findings": list(findings),
    }
    if mode != DIAGNOSE:
        entry.update(planned=list(planned or []), changed=list(changed or []),
                     verify=dict(verify) if verify is not None else not_verified())
        if rollback is not None:
            entry["rollback"] = list(rollback)
        entry["rolled_back"] = rolled_back(rollback)
    entry.update(extras)
    return entry
