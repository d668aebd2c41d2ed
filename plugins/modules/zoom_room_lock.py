#!/usr/bin/python
"""zoom_room_lock: one run at a time per room (a flock on a file under /run, held by a small process)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: zoom_room_lock
short_description: Hold or release a room's run lock, so two runs never change one room at once
description:
  - C(state=held) takes an exclusive C(flock) on I(path) for the run I(owner), waiting up to I(timeout)
    seconds while another run holds it. The lock is held by a small process the module leaves on the room
    (the module itself ends with its task); it lets go when C(state=released) stops it, after I(max_hold)
    seconds, or when the room reboots (I(path) is under C(/run), a tmpfs).
  - When another run still holds the lock after I(timeout) seconds the module does not fail; it returns
    C(busy=true) and the holder, and the play leaves the room alone (remediate.yml reports it with the
    finding C(room_busy)).
  - C(state=released) stops the holder only when it is this I(owner)'s; another run's lock is never touched.
  - Never reports C(changed), since a lock is not a change to the room's configuration.
  - Check mode waits for the lock the same way and reports C(busy), but holds nothing and creates nothing.
  - POSIX rooms (Linux, macOS). Windows rooms are not locked (docs/usage.md).
version_added: "1.0.0"
author:
  - Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
options:
  state:
    description: C(held) takes the lock (or finds it is already this owner's); C(released) gives it back.
    type: str
    choices: [held, released]
    default: held
  owner:
    description: The run that holds the lock (any unique text, for example the run id); shown to other runs.
    type: str
    required: true
  path:
    description: The lock file. Its directory is created (0700) when missing.
    type: path
    default: /run/zoom-rooms/remediate.lock
  timeout:
    description: Seconds to wait for a lock another run holds before returning C(busy).
    type: float
    default: 60
  max_hold:
    description:
      - Seconds after which the holder lets go even without C(state=released), so a run whose control node
        died does not lock the room for ever. Longer than the slowest run (every wave) should take.
    type: int
    default: 14400
extends_documentation_fragment:
  - zoomrooms.remediation.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: One run at a time on this room
  zoomrooms.remediation.zoom_room_lock:
    owner: "{{ zoom_rooms_lock_owner }}"
    timeout: 60
  register: zoom_room_lock_result

- name: Give the room back
  zoomrooms.remediation.zoom_room_lock:
    state: released
    owner: "{{ zoom_rooms_lock_owner }}"
"""

RETURN = r"""
busy:
  description: Another run held the lock for the whole I(timeout) (C(state=held)); nothing was taken.
  type: bool
  returned: always
held:
  description: This owner holds the lock now (in check mode, whether it could have taken it).
  type: bool
  returned: always
holder:
  description: Who holds the lock (C(owner), C(pid), C(since), C(until) as UTC times), or null when free.
  type: dict
  returned: always
waited:
  description: Seconds spent waiting for the lock.
  type: float
  returned: always
"""

import contextlib
import fcntl
import json
import os
import signal
import time
from datetime import UTC, datetime
from typing import Any, Callable

from ansible.module_utils.basic import AnsibleModule

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
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def run_module(module: AnsibleModule) -> dict[str, Any]:
    params = module.params
    path, owner = params["path"], params["owner"]
    if params["state"] == "released":
        return release(path, owner) if not module.check_mode else {"busy": False, "held": False,
                                                                   "holder": read_holder(path), "waited": 0.0}
    if module.check_mode:
        return check_only(path, owner, params["timeout"])
    holder = read_holder(path)
    if holder and holder.get("owner") == owner and not lock_is_free(path):
        return {"busy": False, "held": True, "holder": holder, "waited": 0.0}  # taken earlier in this run
    return hold(path, owner, params["timeout"], params["max_hold"])


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["held", "released"], "default": "held"},
            "owner": {"type": "str", "required": True},
            "path": {"type": "path", "default": "/run/zoom-rooms/remediate.lock"},
            "timeout": {"type": "float", "default": 60.0},
            "max_hold": {"type": "int", "default": 14400},
        },
        supports_check_mode=True,
    )
    if module.params["timeout"] < 0 or module.params["max_hold"] < 1:
        module.fail_json(msg="timeout must be >= 0 and max_hold >= 1 (seconds)")
    module.exit_json(changed=False, **run_module(module))


if __name__ == "__main__":
    main()
