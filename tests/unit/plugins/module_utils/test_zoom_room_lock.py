"""The run lock's mechanics on this machine (module_utils/zoom_room_lock): a real flock held by the real holder process.

The lab tests (tests/integration/test_pipeline.py, "locking") run it on rooms through remediate.yml, and
tests/unit/plugins/plugin_utils/test_zoom_room_lean.py through the lean payload.
"""

import os
import time

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils import zoom_room_lock as lock


@pytest.fixture
def path(tmp_path):
    lock_path = str(tmp_path / "run" / "remediate.lock")
    yield lock_path
    holder = lock.read_holder(lock_path)
    if holder and not lock.lock_is_free(lock_path):  # never leave a holder behind
        lock.release(lock_path, holder["owner"])


def test_a_second_run_waits_then_finds_the_room_busy(path):
    first = lock.hold(path, "run-a", timeout=1, max_hold=60)
    assert (first["held"], first["busy"], first["holder"]["owner"]) == (True, False, "run-a")
    assert oct(os.stat(os.path.dirname(path)).st_mode & 0o777) == "0o700"

    started = time.monotonic()
    second = lock.hold(path, "run-b", timeout=1.0, max_hold=60)
    assert time.monotonic() - started >= 1.0, "the second run did not wait"
    assert (second["held"], second["busy"], second["holder"]["owner"]) == (False, True, "run-a")


def test_only_the_owner_releases_and_then_the_next_run_gets_it(path):
    lock.hold(path, "run-a", timeout=1, max_hold=60)
    refused = lock.release(path, "run-b")
    assert (refused["busy"], refused["holder"]["owner"]) == (True, "run-a")
    assert not lock.lock_is_free(path)

    assert lock.release(path, "run-a")["held"] is False
    assert lock.lock_is_free(path)
    assert lock.hold(path, "run-b", timeout=1, max_hold=60)["held"] is True


def test_a_waiting_run_gets_the_lock_when_the_holder_lets_go(path):
    lock.hold(path, "run-a", timeout=1, max_hold=1)  # gives up after 1 s on its own
    second = lock.hold(path, "run-b", timeout=5, max_hold=60)
    assert (second["held"], second["holder"]["owner"]) == (True, "run-b")
    assert second["waited"] >= 0.5


def test_check_mode_waits_but_holds_nothing(path, tmp_path):
    assert lock.check_only(path, "run-a", timeout=0.2)["busy"] is False
    assert not os.path.exists(os.path.dirname(path)), "check mode created the lock directory"
    lock.hold(path, "run-a", timeout=1, max_hold=60)
    assert lock.check_only(path, "run-b", timeout=0.5)["busy"] is True
    assert lock.check_only(path, "run-a", timeout=0.5)["held"] is True  # its own lock


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param('{"owner": "run-a", "pid": 7}', {"owner": "run-a", "pid": 7}, id="holder record"),
    pytest.param("", None, id="empty file (never held)"),
    pytest.param("{not json", None, id="torn write"),
    pytest.param('{"pid": 7}', None, id="no owner"),
])
def test_parse_holder(text, expected):
    assert lock.parse_holder(text) == expected
