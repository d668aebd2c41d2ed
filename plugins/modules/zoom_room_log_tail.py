#!/usr/bin/python

"""zoom_room_log_tail: the last bytes of the room app's logs, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: zoom_room_log_tail
short_description: Read the tail of log files (and of the files in log folders) without changing anything
description:
  - For each path in I(paths) returns at most the last I(max_bytes) bytes of the file, base64 encoded,
    with its size and modification time. A folder contributes its newest I(max_files_per_dir) regular
    files (not recursive).
  - When the tail starts inside a file, the partial first line is dropped, so a secret cut in half
    cannot slip past redaction on the control node.
  - A missing, unreadable or special path is reported in its entry (C(status)), never as a failure.
  - The content is not redacted here (the room may lack the libraries), so register the result with
    C(no_log) and redact on the control node.
  - Read-only. POSIX hosts (Linux, macOS); Windows rooms use the role's PowerShell task instead.
author: Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
options:
  paths:
    description: Log files or folders to read.
    type: list
    elements: path
    required: true
  max_bytes:
    description: Most bytes read from the end of each file.
    type: int
    default: 1048576
  max_files_per_dir:
    description: Newest files read from a folder in I(paths).
    type: int
    default: 5
extends_documentation_fragment:
  - zoomrooms.remediation.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read the installer log's last MiB
  zoomrooms.remediation.zoom_room_log_tail:
    paths: [/Library/Logs/zpinstall.log, /Library/Logs/us.zoom.ZoomRoomUpdateRecord]
    max_bytes: 1048576
  no_log: true
  register: zoom_room_evidence_log_tail
"""

RETURN = r"""
logs:
  description: One entry per file read or path that could not be read, in the order of I(paths).
  returned: always
  type: list
  elements: dict
  contains:
    path: {description: The file's path., type: str}
    requested: {description: The entry of I(paths) it came from (a folder for files found in one)., type: str}
    status: {description: "collected, missing, unreadable, not_a_file or empty_dir.", type: str}
    size: {description: File size in bytes (null when unknown)., type: int}
    mtime: {description: "Modification time, ISO 8601 UTC (null when unknown).", type: str}
    truncated: {description: True when only the tail was read., type: bool}
    content_b64: {description: "The bytes read, base64 (empty unless collected).", type: str}
    error: {description: Why the path could not be read (null when it was)., type: str}
"""

import base64
import errno
import os
import stat
import time

from ansible.module_utils.basic import AnsibleModule


def iso_utc(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def entry(path: str, requested: str, status: str, **fields) -> dict:
    base = {"path": path, "requested": requested, "status": status, "size": None, "mtime": None,
            "truncated": False, "content_b64": "", "error": None}
    base.update(fields)
    return base


def tail_bytes(handle, size: int, max_bytes: int) -> tuple[bytes, bool]:
    """The last max_bytes of an open file; a partial first line is dropped when the tail starts mid-file."""
    if size <= max_bytes:
        return handle.read(max_bytes), False
    handle.seek(size - max_bytes)
    data = handle.read(max_bytes)
    newline = data.find(b"\n")
    return (data[newline + 1:] if newline >= 0 else b""), True


def read_file(path: str, requested: str, max_bytes: int) -> dict:
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return entry(path, requested, "not_a_file", error="not a regular file")
            data, truncated = tail_bytes(handle, info.st_size, max_bytes)
    except OSError as error:
        status = {errno.ENOENT: "missing", errno.ENOTDIR: "missing", errno.EACCES: "unreadable",
                  errno.EPERM: "unreadable"}.get(error.errno, "unreadable")
        return entry(path, requested, status, error=error.strerror or str(error))
    return entry(path, requested, "collected", size=info.st_size, mtime=iso_utc(info.st_mtime),
                 truncated=truncated, content_b64=base64.b64encode(data).decode("ascii"))


def newest_files(folder: str, limit: int) -> list[str]:
    found = []
    with os.scandir(folder) as entries:
        for item in entries:
            try:
                if item.is_file(follow_symlinks=False):
                    found.append((item.stat(follow_symlinks=False).st_mtime, item.path))
            except OSError:
                continue
    return [path for _unused, path in sorted(found, reverse=True)[:limit]]


def read_path(path: str, max_bytes: int, max_files_per_dir: int) -> list[dict]:
    if not os.path.isdir(path):
        return [read_file(path, path, max_bytes)]
    try:
        files = newest_files(path, max_files_per_dir)
    except OSError as error:
        return [entry(path, path, "unreadable", error=error.strerror or str(error))]
    if not files:
        return [entry(path, path, "empty_dir", error="folder holds no regular file")]
    return [read_file(file_path, path, max_bytes) for file_path in files]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "required": True},
            "max_bytes": {"type": "int", "default": 1048576},
            "max_files_per_dir": {"type": "int", "default": 5},
        },
        supports_check_mode=True,
    )
    max_bytes = module.params["max_bytes"]
    max_files = module.params["max_files_per_dir"]
    if max_bytes < 1:
        module.fail_json(msg=f"max_bytes: {max_bytes} is not a positive number of bytes")
    if max_files < 1:
        module.fail_json(msg=f"max_files_per_dir: {max_files} is not a positive number of files")
    logs = [item for path in module.params["paths"] for item in read_path(path, max_bytes, max_files)]
    module.exit_json(changed=False, logs=logs)


if __name__ == "__main__":
    main()
