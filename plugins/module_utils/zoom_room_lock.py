"""The room's run lock (zoom_room_lock): an exclusive flock on a file under /run, held by a small process.

The module and its action's lean payload (plugin_utils/zoom_room_lean.py) both run lock_state. Python 3.9
compatible (macOS rooms: the Command Line Tools' Python).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import time
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue

# zoom_room_lock's options; the action validates them on the control node for the lean payload. `path` is a
# str there (a "path" would be expanded on the control node, not on the room).
LOCK_ARGUMENT_SPEC: dict[str, Any] = {
    "state": {"type": "str", "choices": ["held", "released"], "default": "held"},
    "owner": {"type": "str", "required": True},
    "path": {"type": "path", "default": "/run/zoom-rooms/remediate.lock"},
    "timeout": {"type": "float", "default": 60.0},
    "max_hold": {"type": "int", "default": 14400},
    "lean": {"type": "bool", "default": True},
}


def checked_lock_options(params: Mapping[str, Any]) -> None:
    if params["timeout"] < 0 or params["max_hold"] < 1:
        raise InvalidValue("timeout must be >= 0 and max_hold >= 1 (seconds)")


# --------------------------------------------------------------------------- pure parts


def holder_record(owner: str, pid: int, now: float, max_hold: int) -> dict[str, Any]:
    """What the lock file says about its holder (read by other runs and by release)."""
    return {"owner": owner, "pid": pid, "since": _utc(now), "until": _utc(now + max_hold)}


def parse_holder(text: str) -> dict[str, Any] | None:
    try:
        record = json.loads(text) if text.strip() else None
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("owner") else None


def _utc(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- the lock file (I/O)

def try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def wait_for_lock(fd: int, timeout: float, clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> bool:
    """Take the flock, trying every 0.2 s until timeout seconds have passed."""
    deadline = clock() + max(timeout, 0)
    while not try_lock(fd):
        if clock() >= deadline:
            return False
        sleep(0.2)
    return True


def read_holder(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_holder(handle.read())
    except OSError:
        return None


def lock_is_free(path: str) -> bool:
    """Nobody holds the flock now (a missing file is free too)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        return try_lock(fd)
    finally:
        os.close(fd)  # closing drops the flock this probe took


def write_holder(fd: int, record: dict[str, Any]) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode(), 0)
    os.fsync(fd)


def hold(path: str, owner: str, timeout: float, max_hold: int) -> dict[str, Any]:
    """Fork the holder; it waits for the flock and tells the module through a pipe whether it got it."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    started = time.monotonic()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the holder: never returns into the module
        os.close(reader)
        _holder_main(path, owner, timeout, max_hold, writer)
    os.close(writer)
    with os.fdopen(reader, encoding="utf-8") as answers:
        answer = answers.readline().strip()
    os.waitpid(pid, 0)  # the first child exits once the holder (its child) has answered
    got_it = answer == "held"
    return {"busy": not got_it, "held": got_it, "holder": read_holder(path),
            "waited": round(time.monotonic() - started, 1)}


def _holder_main(path: str, owner: str, timeout: float, max_hold: int, writer: int) -> None:
    """Detach (new session, second fork, stdio on /dev/null) so the task's SSH session can end, then hold."""
    try:
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for stream in (0, 1, 2):
            os.dup2(null, stream)
        os.closerange(3, writer)  # nothing of the task's session stays open in the holder
        os.closerange(writer + 1, 65536)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if not wait_for_lock(fd, timeout):
            os.write(writer, b"busy\n")
            os._exit(0)
        write_holder(fd, holder_record(owner, os.getpid(), time.time(), max_hold))
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        os.write(writer, b"held\n")
        os.close(writer)
        time.sleep(max_hold)  # the kernel drops the flock when this process ends
    finally:
        os._exit(0)


def release(path: str, owner: str, wait: float = 10.0) -> dict[str, Any]:
    """Stop this owner's holder; another owner's lock is left alone."""
    holder = read_holder(path)
    if lock_is_free(path):
        return {"busy": False, "held": False, "holder": None, "waited": 0.0}
    if not holder or holder.get("owner") != owner:
        return {"busy": True, "held": False, "holder": holder, "waited": 0.0}
    with contextlib.suppress(ProcessLookupError, ValueError, TypeError):  # it may have just let go
        os.kill(int(holder["pid"]), signal.SIGTERM)
    deadline = time.monotonic() + wait
    while not lock_is_free(path) and time.monotonic() < deadline:
        time.sleep(0.1)
    return {"busy": False, "held": not lock_is_free(path), "holder": None, "waited": 0.0}


def check_only(path: str, owner: str, timeout: float) -> dict[str, Any]:
    """Check mode: could the lock be taken within timeout seconds? Takes and drops it, creates nothing."""
    holder = read_holder(path)
    if holder and holder.get("owner") == owner and not lock_is_free(path):
        return {"busy": False, "held": True, "holder": holder, "waited": 0.0}
    started = time.monotonic()
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return {"busy": False, "held": True, "holder": None, "waited": 0.0}
    try:
        got_it = wait_for_lock(fd, timeout)
    finally:
        os.close(fd)
    return {"busy": not got_it, "held": got_it, "holder": None if got_it else read_holder(path),
            "waited": round(time.monotonic() - started, 1)}


def lock_state(params: Mapping[str, Any], check_mode: bool) -> dict[str, Any]:
    """The module's result (without `changed`): take, find or give back this owner's lock."""
    path, owner = params["path"], params["owner"]
    if params["state"] == "released":
        return release(path, owner) if not check_mode else {"busy": False, "held": False,
                                                            "holder": read_holder(path), "waited": 0.0}
    if check_mode:
        return check_only(path, owner, params["timeout"])
    holder = read_holder(path)
    if holder and holder.get("owner") == owner and not lock_is_free(path):
        return {"busy": False, "held": True, "holder": holder, "waited": 0.0}  # taken earlier in this run
    return hold(path, owner, params["timeout"], params["max_hold"])


def lean_lock(params: Mapping[str, Any]) -> dict[str, Any]:
    """Entry point of the zoom_room_lock action's lean payload; `check_mode` comes with the options."""
    try:
        checked_lock_options(params)
    except InvalidValue as error:
        return {"failed": True, "msg": str(error)}
    return {"changed": False, **lock_state(params, bool(params.get("check_mode")))}
