"""/etc/environment: we own only the proxy keys; a rollback undoes our edit only, and only while it is ours."""

import os
import stat
from collections import Counter

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_linux import (
    EnvironmentFileProxy,
    RollbackConflict,
    render_environment,
    undo_edit,
)
from hypothesis import given, settings
from hypothesis import strategies as st

SERVER = "http://ops:S3cret%2F6@proxy.example:3128"
FIXED = {"mode": "manual", "servers": {"http": SERVER, "https": SERVER}, "pac_url": None,
         "bypass": ["localhost", "127.0.0.1", "::1", "10.89.1.0/24"]}

BEFORES = {
    "empty file": "",
    "no proxy yet": "# site settings\nLANG=C.UTF-8\n",
    "proxy in the middle, no final newline": "A=1\nhttp_proxy=http://old:3128\nB=2\nexport no_proxy='x'\nC=3",
    "last line is ours, no final newline": "LANG=C\nhttps_proxy=\"http://old:3128\"",
    "duplicates and both spellings": "http_proxy=a:1\nHTTP_PROXY=b:2\n# note\nhttp_proxy=c:3\nno_proxy=x\n",
}


@pytest.mark.parametrize("before", BEFORES.values(), ids=BEFORES.keys())
def test_undo_of_our_edit_gives_back_every_byte(before):
    assert undo_edit(before, render_environment(before, FIXED)) == before


@pytest.mark.parametrize("before, added_where, expected", [
    pytest.param("LANG=C\nhttps_proxy=http://old:3128\n", lambda text: text + "ADDED=1\n",
                 "LANG=C\nhttps_proxy=http://old:3128\nADDED=1\n", id="appended after our lines"),
    pytest.param("LANG=C\nhttps_proxy=http://old:3128\nPATH=/bin\n",
                 lambda text: text.replace("PATH=/bin\n", "ADDED=1\nPATH=/bin\n"),
                 "LANG=C\nhttps_proxy=http://old:3128\nADDED=1\nPATH=/bin\n", id="inserted before a line"),
    pytest.param("LANG=C\nhttps_proxy=http://old:3128\nPATH=/bin\n", lambda text: "ADDED=1\n" + text,
                 "ADDED=1\nLANG=C\nhttps_proxy=http://old:3128\nPATH=/bin\n", id="inserted at the top"),
    pytest.param("LANG=C\nhttps_proxy=http://old:3128\nPATH=/bin\n", lambda text: text.replace("LANG=C\n", ""),
                 "https_proxy=http://old:3128\nPATH=/bin\n", id="the line before ours removed"),
    pytest.param("LANG=C", lambda text: text + "ADDED=1", "LANG=C\nADDED=1", id="no final newline anywhere"),
])
def test_undo_keeps_what_others_changed_meanwhile(before, added_where, expected):
    assert undo_edit(before, added_where(render_environment(before, FIXED))) == expected


@given(others=st.lists(st.sampled_from(["A=1\n", "# c\n", "\n", "PATH=/bin\n", "B='x y'\n"]), max_size=6),
       ours=st.lists(st.sampled_from(["http_proxy=http://o:1\n", "NO_PROXY=a,b\n", "export https_proxy='h:2'\n"]),
                     max_size=3),
       positions=st.lists(st.integers(0, 9), max_size=3), added=st.sampled_from(["ADDED=1\n", "# new\n"]),
       at=st.integers(0, 12))
@settings(max_examples=200, deadline=None)
def test_undo_round_trip_with_a_line_added_anywhere(others, ours, positions, added, at):
    lines = list(others)
    for line, position in zip(ours, positions, strict=False):
        lines.insert(min(position, len(lines)), line)
    before = "".join(lines)
    after = render_environment(before, FIXED).splitlines(keepends=True)
    at = min(at, len(after))
    meanwhile = "".join([*after[:at], added, *after[at:]])
    restored = undo_edit(before, meanwhile)
    assert undo_edit(before, render_environment(before, FIXED)) == before
    assert added in restored.splitlines(keepends=True), "the line added during the run must survive"
    assert Counter(restored.splitlines()) == Counter((before + added).splitlines()), "nothing else may differ"


class Room:
    """An environment file and a backup directory in tmp_path, standing in for the room's."""

    def __init__(self, tmp_path, text):
        self.path, self.backups = tmp_path / "environment", tmp_path / "backups"
        self.path.write_text(text)
        self.layer = EnvironmentFileProxy(self.read, self.write, str(self.path))

    @staticmethod
    def read(path):
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                return handle.read()
        except OSError:
            return None

    @staticmethod
    def write(path, content):
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)

    def change(self, keep=5):
        """What zoom_room_proxy does on apply: the backup reference (copy first), then the write."""
        before = self.layer.read()
        after = self.layer.with_proxy(before, FIXED)
        reference = self.layer.backup_reference(before, after, str(self.backups), keep)
        self.layer.apply(after)
        return reference

    def rollback(self, reference):
        self.layer.apply(self.layer.state_from_backup(reference, self.layer.read()))


def test_rollback_keeps_a_line_added_during_the_run(tmp_path):
    room = Room(tmp_path, "LANG=C\nhttps_proxy=http://old:3128\n")
    reference = room.change()
    room.path.write_text(room.path.read_text() + "ADDED=1\n")
    room.rollback(reference)
    assert room.path.read_text() == "LANG=C\nhttps_proxy=http://old:3128\nADDED=1\n"


@pytest.mark.parametrize("edit, keys", [
    pytest.param(lambda text: text.replace('no_proxy="', 'no_proxy="mine,'), "no_proxy", id="bypass edited"),
    pytest.param(lambda text: text + "HTTP_PROXY=other:1\n", "HTTP_PROXY", id="a second line of our key"),
    pytest.param(lambda text: text.replace("https_proxy=", "#https_proxy="), "https_proxy", id="ours commented out"),
])
def test_rollback_stops_when_our_keys_changed_since(tmp_path, edit, keys):
    room = Room(tmp_path, "LANG=C\nhttps_proxy=http://old:3128\n")
    reference = room.change()
    changed = edit(room.path.read_text())
    room.path.write_text(changed)
    with pytest.raises(RollbackConflict, match=f"rollback conflict: {keys} in .* changed after this run"):
        room.rollback(reference)
    assert room.path.read_text() == changed


def test_rollback_of_a_change_that_removed_every_proxy_line(tmp_path):
    room = Room(tmp_path, "LANG=C\nhttps_proxy=http://old:3128\n")
    before = room.layer.read()
    after = room.layer.with_proxy(before, {"mode": "none", "servers": {}, "pac_url": None, "bypass": []})
    reference = room.layer.backup_reference(before, after, str(room.backups))
    room.layer.apply(after)
    assert room.path.read_text() == "LANG=C\n" and reference["ours"] == {}
    room.rollback(reference)
    assert room.path.read_text() == "LANG=C\nhttps_proxy=http://old:3128\n"


def test_rollback_twice_changes_nothing_the_second_time(tmp_path):
    room = Room(tmp_path, "LANG=C\nhttps_proxy=http://old:3128\n")
    reference = room.change()
    room.rollback(reference)
    room.rollback(reference)
    assert room.path.read_text() == "LANG=C\nhttps_proxy=http://old:3128\n"


def test_backups_are_private_kept_per_file_and_carry_no_bytes(tmp_path):
    room = Room(tmp_path, f"https_proxy={SERVER}\n")
    references = []
    for index in range(4):
        room.path.write_text(f"https_proxy={SERVER}\nRUN={index}\n")
        references.append(room.change(keep=2))
    copies = sorted(name for name in os.listdir(room.backups) if name.endswith(".bak"))
    assert len(copies) == 2 and [os.path.join(room.backups, c) for c in copies] == [r["copy"] for r in references[2:]]
    assert stat.S_IMODE(os.stat(room.backups).st_mode) == 0o700
    for name in os.listdir(room.backups):
        assert stat.S_IMODE(os.stat(room.backups / name).st_mode) == 0o600
    assert "S3cret" not in repr(references) and "RUN=" not in repr(references)
    assert references[-1]["proxy"]["servers"]["https"] == "http://***@proxy.example:3128"
