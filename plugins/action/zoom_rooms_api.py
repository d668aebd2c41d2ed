"""Action plugin zoom_rooms_api: Zoom Rooms API data per room, app version changes, activation codes.

Runs on the controller only (no connection to the room host); documented in
plugins/modules/zoom_rooms_api.py. Pure parts (target device, outcome rules, summary) are separate
from the I/O (run_api_task) so they are unit-tested without Ansible or a network.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections import Counter
from typing import Any, Callable, Dict, List, Mapping, Tuple

from ansible.plugins.action import ActionBase
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_host import read_file
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_api import (
    APP_VERSION_ACTIONS,
    CONNECTION_ARGUMENT_SPEC,
    FATAL_ERRORS,
    READ_ARGUMENT_SPEC,
    ReadProgress,
    ZoomApiError,
    ZoomClient,
    api_configured,
    gather,
    normalise_device,
    progress_dir_of,
    reads_whole_account,
    settings_from,
    version_key,
    wait_for_background,
    write_result_file,
)

CONNECTION_OPTIONS = tuple(CONNECTION_ARGUMENT_SPEC)
# The options that change rooms: they act on room_ids only, never on rooms matched by name.
CHANGE_OPTIONS = ("app_version_action", "regenerate_activation_code", "restart")
NOT_CONFIGURED = "the Zoom API is not configured (no credential as an option or ZOOM_* variable)"

ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    **READ_ARGUMENT_SPEC,
    "app_version_action": {"type": "str", "choices": list(APP_VERSION_ACTIONS), "aliases": ["action"]},
    "device_ids": {"type": "dict", "default": {}},
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "float", "default": 900.0},
    "poll_interval": {"type": "float", "default": 15.0},
    "regenerate_activation_code": {"type": "bool", "default": False},
    "restart": {"type": "bool", "default": False},
    "check_settings": {"type": "bool", "default": False},
    "if_configured": {"type": "bool", "default": False},
    "background": {"type": "bool", "default": False},
    "collect": {"type": "dict"},
}

# Outcomes that mean "the room is where the caller wanted it" (or would be, in check mode).
SUCCESS_OUTCOMES = frozenset({"upgraded", "downgraded", "cancelled", "requested", "already_current_or_updating",
                              "would_upgrade", "would_downgrade", "would_cancel"})
# possibly_requested: not known to be done (so not ok), but Zoom may have acted (so read again).
CHANGED_OUTCOMES = frozenset({"upgraded", "downgraded", "cancelled", "requested", "timeout", "possibly_requested"})


# --------------------------------------------------------------------------- pure parts


def target_device(record: Mapping[str, Any], device_id: str | None = None) -> Dict[str, Any] | None:
    """The device to change: the given id, else the room computer."""
    wanted = device_id or record.get("room_computer_id")
    return next((d for d in record["devices"] if d["id"] == wanted), None) if wanted else None


def version_changed(before: Mapping[str, Any], now: Mapping[str, Any] | None) -> bool:
    """True once the device reports a different app version than before the change."""
    if now is None:
        return False
    if before.get("app_version") and now.get("app_version"):
        return version_key(before["app_version"]) != version_key(now["app_version"])
    return before.get("app_version_raw") != now.get("app_version_raw")


def finished_outcome(action: str, before: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    """'upgraded' / 'downgraded' by the direction the version actually moved."""
    old, new = version_key(before.get("app_version")), version_key(now.get("app_version"))
    if old and new and new < old:
        return "downgraded"
    if old and new and new > old:
        return "upgraded"
    return f"{action}d"


def outcome(name: str, device: Mapping[str, Any] | None, *, after: Mapping[str, Any] | None = None,
            code: int | None = None, message: str = "") -> Dict[str, Any]:
    return {
        "outcome": name,
        "ok": name in SUCCESS_OUTCOMES,
        "changed": name in CHANGED_OUTCOMES,
        "device_id": device["id"] if device else None,
        "before": device["app_version"] if device else None,
        "after": (after or device or {}).get("app_version"),
        "code": code,
        "message": message,
    }


def error_outcome(exc: ZoomApiError) -> Dict[str, Any]:
    """One room's API error (a 4xx, or a 5xx after the retries) as that room's outcome."""
    return {"ok": False, "outcome": "error", "status": exc.status, "code": exc.code, "message": exc.message}


def per_room(rooms: List[str], call: Callable[[str], Any]) -> Tuple[Dict[str, Any], Dict[str, Dict[str, Any]]]:
    """({room_id: call(room_id)}, {room_id: error_outcome}): one room's API error is recorded and the others
    still asked; FATAL_ERRORS (credentials, rate limits, network) stop at once, as every call would fail."""
    answers: Dict[str, Any] = {}
    errors: Dict[str, Dict[str, Any]] = {}
    for room_id in rooms:
        try:
            answers[room_id] = call(room_id)
        except FATAL_ERRORS:
            raise
        except ZoomApiError as exc:
            errors[room_id] = error_outcome(exc)
    return answers, errors


def failure_message(what: str, errors: Mapping[str, Mapping[str, Any]]) -> str:
    """The task's msg for rooms whose request failed: each room with the client's message (no secret in it)."""
    return f"{what} failed for {len(errors)} room(s): " + "; ".join(
        f"{room_id}: {error['message']}" for room_id, error in errors.items())


def summarise(outcomes: Mapping[str, Mapping[str, Any]]) -> Dict[str, Any]:
    return {
        "counts": dict(Counter(o["outcome"] for o in outcomes.values())),
        "failed_room_ids": sorted(room_id for room_id, o in outcomes.items() if not o["ok"]),
    }


# --------------------------------------------------------------------------- I/O


def change_versions(client: ZoomClient, records: Mapping[str, Dict[str, Any]], params: Mapping[str, Any],
                    check_mode: bool, sleep: Callable[[float], None], clock: Callable[[], float]
                    ) -> Dict[str, Dict[str, Any]]:
    """Request the app version change for every room, then poll until each version moved or time ran out."""
    action = params["app_version_action"]
    wanted_ids = params.get("device_ids") or {}
    devices = {room_id: target_device(record, wanted_ids.get(room_id)) for room_id, record in records.items()}
    to_request = [] if check_mode else [room_id for room_id, device in devices.items() if device is not None]
    answers, errors = per_room(to_request, lambda room_id: client.set_app_version(room_id, devices[room_id]["id"],
                                                                                  action))
    outcomes: Dict[str, Dict[str, Any]] = {}
    pending: Dict[str, Dict[str, Any]] = {}
    for room_id, device in devices.items():
        answer = answers.get(room_id) or errors.get(room_id)
        if device is None:
            wanted_id = wanted_ids.get(room_id)
            outcomes[room_id] = (outcome("device_not_in_room", None, message=f"{wanted_id} is not in this room")
                                 if wanted_id else outcome("no_room_computer", None, message="no room computer"))
        elif check_mode:
            outcomes[room_id] = outcome(f"would_{action}", device)
        elif not answer["ok"]:  # a refusal, or one room's API error (404, a 5xx after the retries): outcome error
            outcomes[room_id] = outcome(answer["outcome"], device, code=answer["code"], message=answer["message"])
        elif action == "cancel":
            outcomes[room_id] = outcome("cancelled", device)
        elif not params["wait"]:
            outcomes[room_id] = outcome("requested", device)
        else:
            pending[room_id] = device
    outcomes.update(wait_for_versions(client, pending, action, params, sleep, clock))
    return outcomes


def wait_for_versions(client: ZoomClient, pending: Dict[str, Dict[str, Any]], action: str,
                      params: Mapping[str, Any], sleep: Callable[[float], None], clock: Callable[[], float]
                      ) -> Dict[str, Dict[str, Any]]:
    """Poll GET devices for the pending rooms until each device's version changed or wait_timeout."""
    outcomes: Dict[str, Dict[str, Any]] = {}
    latest: Dict[str, Dict[str, Any] | None] = dict.fromkeys(pending)
    deadline = clock() + float(params["wait_timeout"])
    while pending and clock() < deadline:
        sleep(max(0.0, min(float(params["poll_interval"]), deadline - clock())))
        devices, _unused = client.devices_by_room(list(pending), params["max_workers"])
        for room_id, before in list(pending.items()):
            now = next((normalise_device(d) for d in devices.get(room_id, []) if d.get("id") == before["id"]), None)
            latest[room_id] = now or latest[room_id]
            if version_changed(before, now):
                outcomes[room_id] = outcome(finished_outcome(action, before, now), before, after=now)
                del pending[room_id]
    for room_id, before in pending.items():
        outcomes[room_id] = outcome("timeout", before, after=latest[room_id],
                                    message=f"version unchanged after {float(params['wait_timeout']):g}s")
    return outcomes


def regenerate_codes(client: ZoomClient, room_ids: List[str]) -> Tuple[Dict[str, str], Dict[str, Dict[str, Any]]]:
    """({room_id: new activation code}, {room_id: error_outcome}). A room Zoom refuses (400 code 200 "No
    permission to regenerate an activation code", Zoom Rooms OpenAPI) does not lose the others' new codes,
    which already replaced their old ones."""
    return per_room(room_ids, lambda room_id: client.get_room(room_id, regenerate_activation_code=True)
                    .get("basic", {}).get("activation_code", ""))


def restart_rooms(client: ZoomClient, room_ids: List[str], check_mode: bool) -> Dict[str, Dict[str, Any]]:
    """PATCH /rooms/{id}/events zoomroom.restart for each room; refusals (offline, ...) are outcomes, and so is
    any other API error of one room (404 code 1012 "Room does not exist": outcome error)."""
    if check_mode:
        return {room_id: {"ok": True, "outcome": "would_restart", "code": None,
                          "message": "check mode, nothing requested"} for room_id in room_ids}
    answers, errors = per_room(room_ids, client.restart_room)
    return {room_id: answers[room_id] if room_id in answers else errors[room_id] for room_id in room_ids}


def run_api_task(client: ZoomClient, params: Mapping[str, Any], check_mode: bool = False,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic
                 ) -> Dict[str, Any]:
    """The whole task without Ansible: gather, optionally change versions / regenerate codes, re-read."""
    records, missing, errors = gather(client, params.get("room_ids"), params["max_workers"],
                                      room_names=params.get("room_names"))
    result: Dict[str, Any] = {"changed": False, "rooms": records, "missing_room_ids": missing, "errors": errors}
    if params.get("app_version_action"):
        outcomes = change_versions(client, records, params, check_mode, sleep, clock)
        result.update(outcomes=outcomes, summary=summarise(outcomes))
        result["changed"] = any(o["changed"] or o["outcome"].startswith("would_") for o in outcomes.values())
        changed_rooms = [room_id for room_id, o in outcomes.items() if o["changed"]]
        if changed_rooms:  # hand back what the API says now, not what it said before the change
            fresh, _unused, _unused = gather(client, changed_rooms, params["max_workers"])
            records.update(fresh)
    failures = []  # per-room API errors: the task fails, with every room's result still in it
    if params.get("regenerate_activation_code") and records:
        if check_mode:
            result["changed"] = True
        else:
            codes, errors = regenerate_codes(client, sorted(records))
            result.update(activation_codes=codes, activation_code_errors=errors)
            result["changed"] = result["changed"] or bool(codes)
            if errors:
                failures.append(failure_message("new activation code", errors))
    if params.get("restart") and records:
        result["restarts"] = restart_rooms(client, sorted(records), check_mode)
        result["changed"] = result["changed"] or any(
            o["outcome"] in ("restart_requested", "would_restart") for o in result["restarts"].values())
        errors = {room_id: o for room_id, o in result["restarts"].items() if o["outcome"] == "error"}
        if errors:
            failures.append(failure_message("restart", errors))
    if failures:
        result.update(failed=True, msg="; ".join(failures))
    return result


def start_background(read: Callable[[ReadProgress], Dict[str, Any]], directory: str | None = None) -> str:
    """Run read(progress) in a detached process that writes its result to a new 0600 file; return the file's path.

    Detached (double fork, own session, no inherited descriptors) so it outlives the Ansible
    worker that starts it; the credentials stay in memory, never in a file. What the read has so far
    goes to a 0700 directory beside the file (ReadProgress), for the rooms that wait on it.
    """
    handle, path = tempfile.mkstemp(prefix="zoom-rooms-api-", suffix=".json", dir=directory)
    with os.fdopen(handle, "w", encoding="utf-8") as started:
        started.write('{"started": 1}')
    os.mkdir(progress_dir_of(path), 0o700)
    child = os.fork()
    if child == 0:  # the first child: start the reader and leave at once
        try:
            os.setsid()
            if os.fork() == 0:
                _detach()
                write_result_file(path, _result_of(lambda: read(ReadProgress(progress_dir_of(path)))))
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    return path


def _detach() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):
        os.dup2(null, stream)
    os.closerange(3, 65536)  # the worker's pipes to ansible-playbook are not ours to hold


def _result_of(read: Callable[[], Dict[str, Any]]) -> Dict[str, Any]:
    try:
        return read()
    except ZoomApiError as exc:
        return {"failed": True, "msg": exc.message}
    except Exception as exc:  # the reader reports every failure in its result file
        return {"failed": True, "msg": f"{type(exc).__name__}: {exc}"}


def collect_background(job: Mapping[str, Any], timeout: float) -> Dict[str, Any]:
    """The result of a background read (waiting for it up to timeout seconds); its file is removed."""
    path = job.get("results_file")
    if not path:
        return {"failed": True, "msg": job.get("msg") or "no background read was started"}
    result = wait_for_background(lambda: read_file(path), timeout)
    for leftover in (path, f"{path}.tmp"):
        with contextlib.suppress(OSError):
            os.remove(leftover)
    shutil.rmtree(progress_dir_of(path), ignore_errors=True)
    if result is None:
        return {"failed": True, "msg": f"the background read did not finish within {timeout:g}s"}
    return result


def skip_unconfigured(params: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Dict[str, Any] | None:
    """A skipped result for a task with if_configured=true when the Zoom API is not configured."""
    if params.get("if_configured") and not api_configured({name: params.get(name) for name in CONNECTION_OPTIONS},
                                                          environ):
        return {"changed": False, "skipped": True, "skip_reason": NOT_CONFIGURED}
    return None


def background_read(settings: Any, params: Mapping[str, Any]) -> Callable[[ReadProgress], Dict[str, Any]]:
    def read(progress: ReadProgress) -> Dict[str, Any]:
        records, missing, errors = gather(ZoomClient(settings), params.get("room_ids"), params["max_workers"],
                                          progress, params.get("room_names"))
        return {"changed": False, "rooms": records, "missing_room_ids": missing, "errors": errors,
                "whole_account": reads_whole_account(params.get("room_ids"), params.get("room_names"))}
    return read


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # talks to the Zoom API from the controller only
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: Dict[str, Any] | None = None) -> Dict[str, Any]:
        _unused, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        result = super().run(tmp, task_vars)
        if params["collect"] is not None:
            result.update(collect_background(params["collect"], params["wait_timeout"]))
            return result
        skipped = skip_unconfigured(params)
        if skipped:
            result.update(skipped)
            return result
        try:
            if params.get("room_names") is not None and any(params.get(change) for change in CHANGE_OPTIONS):
                raise ValueError(f"room_names selects rooms to read; {', '.join(CHANGE_OPTIONS)} take room_ids")
            settings = settings_from({name: params.get(name) for name in CONNECTION_OPTIONS})
            if params["check_settings"]:  # configured, and sane: nothing is asked of Zoom
                _check_settings_now(settings)
                result.update(changed=False, configured=True)
                return result
            if params["background"]:
                if params.get("app_version_action") or params["regenerate_activation_code"]:
                    raise ValueError("background reads only: app_version_action and regenerate_activation_code "
                                     "need the task to wait")
                _check_settings_now(settings)
                result.update(changed=False, started=True, results_file=start_background(
                    background_read(settings, params)))
                return result
            client = ZoomClient(settings, logger=self._log)
            result.update(run_api_task(client, params, check_mode=bool(self._task.check_mode)))
        except ZoomApiError as exc:
            result.update(failed=True, msg=exc.message)
        except ValueError as exc:
            result.update(failed=True, msg=str(exc))
        return result

    def _log(self, message: str, verbosity: int) -> None:
        self._display.verbose(message, caplevel=max(0, verbosity - 1))


def _check_settings_now(settings: Any) -> None:
    """Bad settings fail the starting task, not silently in the background: ZoomClient checks them."""
    ZoomClient(settings)
