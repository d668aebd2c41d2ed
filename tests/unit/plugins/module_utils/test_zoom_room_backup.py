"""On-room backups: written 0600 before a change, the newest N kept per file, other files' copies untouched."""

import datetime
import os
import stat
from pathlib import Path

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_backup import (
    backups_of,
    prune_backups,
    save_backup,
)


def at(second):
    return datetime.datetime(2026, 12, 2, 6, 0, second, tzinfo=datetime.UTC)


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "etc" / "nftables.conf"
    path.parent.mkdir()
    path.write_bytes(b"#!/usr/sbin/nft -f\ninclude \"/etc/nftables.d/*.nft\"\n")
    return path


def test_backup_holds_the_bytes_and_is_private(conf, tmp_path):
    backup_dir = tmp_path / "backups"
    saved = save_backup(str(conf), str(backup_dir), keep=3, now=at(1))
    assert Path(saved).read_bytes() == conf.read_bytes()
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(backup_dir).st_mode) == 0o700
    assert os.path.basename(saved).startswith(str(conf).replace("/", "_") + ".20261202T060001")


def test_only_the_newest_copies_of_each_file_are_kept(conf, tmp_path):
    backup_dir = str(tmp_path / "backups")
    other = tmp_path / "etc" / "nftables.conf.d"
    other.write_text("other\n")
    other_backup = save_backup(str(other), backup_dir, keep=1, now=at(0))
    saved = [save_backup(str(conf), backup_dir, keep=2, now=at(second)) for second in (1, 2, 3)]
    assert backups_of(str(conf), backup_dir) == saved[1:]
    assert backups_of(str(other), backup_dir) == [other_backup], "another file's backups were pruned"


@pytest.mark.parametrize("keep, left", [(1, 1), (5, 3)], ids=["keep one", "keep more than there are"])
def test_prune_keeps_the_newest(conf, tmp_path, keep, left):
    backup_dir = str(tmp_path / "backups")
    saved = [save_backup(str(conf), backup_dir, keep=10, now=at(second)) for second in (1, 2, 3)]
    removed = prune_backups(str(conf), backup_dir, keep)
    assert backups_of(str(conf), backup_dir) == saved[len(saved) - left:]
    assert removed == saved[:len(saved) - left]


def test_missing_file_has_nothing_to_save(tmp_path):
    assert save_backup(str(tmp_path / "absent"), str(tmp_path / "backups"), keep=2) == ""
    assert not (tmp_path / "backups").exists()


def test_keep_below_one_is_refused_before_writing(conf, tmp_path):
    with pytest.raises(ValueError, match="at least 1"):
        save_backup(str(conf), str(tmp_path / "backups"), keep=0)
    assert not (tmp_path / "backups").exists()
