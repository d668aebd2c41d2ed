"""Backups on the room: a copy of a file we are about to change, 0600 root, the last N kept per file.

Runs on the room (module_utils). A backup is written before the change, so a crash between the
two still leaves the previous bytes on the room. The copies stay on the room: modules return
their paths, never their content (a proxy file can hold credentials).

Names: `<backup_dir>/<path with "/" as "_">.<UTC time>.bak`, e.g.
`/var/backups/zoom-rooms/_etc_nftables.conf.20261202T061500.123456Z.bak`; the time sorts the copies,
so retention keeps the newest `keep` copies of each file and removes the older ones.
"""

from __future__ import annotations

import datetime
import os

DEFAULT_BACKUP_DIR = "/var/backups/zoom-rooms"
DEFAULT_KEEP = 5
SUFFIX = ".bak"


def backup_prefix(path: str) -> str:
    """The file-name prefix every backup of `path` shares."""
    return os.path.abspath(path).replace("/", "_") + "."


def backup_name(path: str, now: datetime.datetime) -> str:
    return f"{backup_prefix(path)}{now.strftime('%Y%m%dT%H%M%S.%fZ')}{SUFFIX}"


def backups_of(path: str, backup_dir: str) -> list[str]:
    """The backups of `path`, oldest first."""
    prefix = backup_prefix(path)
    try:
        names = os.listdir(backup_dir)
    except FileNotFoundError:
        return []
    return sorted(os.path.join(backup_dir, name) for name in names
                  if name.startswith(prefix) and name.endswith(SUFFIX) and _stamp(name[len(prefix):]))


def _stamp(rest: str) -> bool:
    """`rest` is exactly `<time>.bak`: keeps /etc/a from matching the backups of /etc/a.d/b."""
    return len(rest) == len("20261202T061500.123456Z") + len(SUFFIX) and rest[8] == "T"


def save_backup(path: str, backup_dir: str = DEFAULT_BACKUP_DIR, keep: int = DEFAULT_KEEP,
                now: datetime.datetime | None = None) -> str:
    """Copy `path` into `backup_dir` (0700) as a 0600 file, then keep its newest `keep` copies.

    Returns the backup's path, or "" when `path` does not exist (there is nothing to lose).
    Raises OSError when the copy cannot be written: the caller must not change the file then.
    """
    if keep < 1:
        raise ValueError(f"backup keep must be at least 1, got {keep}")
    try:
        with open(path, "rb") as source:
            content = source.read()
    except FileNotFoundError:
        return ""
    os.makedirs(backup_dir, mode=0o700, exist_ok=True)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    target = os.path.join(backup_dir, backup_name(path, now))
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    prune_backups(path, backup_dir, keep)
    return target


def prune_backups(path: str, backup_dir: str = DEFAULT_BACKUP_DIR, keep: int = DEFAULT_KEEP) -> list[str]:
    """Remove all but the newest `keep` backups of `path`; returns the removed paths."""
    removed = backups_of(path, backup_dir)[:-keep] if keep > 0 else backups_of(path, backup_dir)
    for old in removed:
        os.remove(old)
    return removed
