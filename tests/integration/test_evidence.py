"""collect_evidence.yml on the lab: the pack Zoom support gets, checked from the archives' bytes.

One room has a web proxy WITH credentials in /etc/environment (proxy_no_bypass, then
user:password added); another has an app log bigger than the size limit with credentials in
its tail; the others have no log. The real ansible-playbook runs twice: under --check, limited
to the logged room, then for the other rooms; so the pack is made in check mode, --limit does
not skip the run-wide steps, and the day's index keeps the rooms of the earlier run. The test
unpacks every archive with tarfile and reads the files, the index, the run reports and the
playbook output.

The first tests need no lab: the role's filters and log reader on recorded data.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import io
import json
import re
import tarfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from ansible_collections.zoomrooms.remediation.plugins.filter import zoom_room_evidence as evidence
from ansible_collections.zoomrooms.remediation.plugins.modules import zoom_room_log_tail as log_tail

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t"
PROXY_WITH_CREDENTIALS = f"http://ops:{SECRET}@proxy.lab.invalid:3128"
LOG = "/var/log/zoom-rooms-sim.log"
LOG_MAX_BYTES = 4096
SIM_REPORT_INTERVAL = 5.0  # tests/lab/sim/zoom-rooms-sim reports to the Zoom API double this often


# --------------------------------------------------------------------------- no lab

NOW = "2026-03-02T10:00:00Z"
BASE_INPUTS = {"error_text": "Error Code 2002: Cannot connect to Zoom Rooms", "error_code": 2002,
               "window_start": "", "window_end": "", "log_max_bytes": 1048576, "base_dir": "/srv/evidence"}
SETTINGS_CASES = {
    "defaults: the 24 hours before the run": (
        {}, {}, [], {"start": "2026-03-01T10:00:00Z", "end": "2026-03-02T10:00:00Z"}),
    "window with an offset is kept in UTC": (
        {"window_start": "2026-03-01T09:00:00+01:00", "window_end": "2026-03-01T12:00:00+01:00"}, {}, [],
        {"start": "2026-03-01T08:00:00Z", "end": "2026-03-01T11:00:00Z"}),
    "a time without an offset is UTC": (
        {"window_start": "2026-03-01T09:00:00"}, {}, [], {"start": "2026-03-01T09:00:00Z", "end": NOW}),
    "start after end": (
        {"window_start": "2026-03-02T11:00:00Z"}, {},
        ["zoom_rooms_evidence_window_start: 2026-03-02T11:00:00Z is not before"], None),
    "not ISO 8601": ({"window_end": "yesterday"}, {}, ["zoom_rooms_evidence_window_end: 'yesterday' is not"], None),
    "error code not a number": ({"error_code": "E2002"}, {}, ["zoom_rooms_evidence_error_code: 'E2002'"], None),
    "controller type names the room": (
        {}, {"room-7": {"zoom_room_controller_type": "ipad"}},
        ["room-7: zoom_room_controller_type 'ipad' is not one of"], None),
    "connection type names the room": (
        {}, {"room-7": {"zoom_room_connection_type": "ethernet"}},
        ["room-7: zoom_room_connection_type 'ethernet' is not one of"], None),
}


@pytest.mark.parametrize("case", list(SETTINGS_CASES))
def test_settings(case):
    inputs, rooms, errors, window = SETTINGS_CASES[case]
    settings = evidence.evidence_settings({**BASE_INPUTS, **inputs}, NOW, rooms)
    assert len(settings["errors"]) == len(errors), settings["errors"]
    for message, expected in zip(settings["errors"], errors, strict=True):
        assert message.startswith(expected), message
    if window:
        assert settings["window"] == window
    assert (settings["date"], settings["dir"]) == ("2026-03-02", "/srv/evidence/2026-03-02")


LOOPBACK_CASES = {"IPv4 loopback": ("127.0.0.1", True), "other 127/8": ("127.1.2.3", True), "IPv6": ("::1", True),
                  "localhost": ("localhost", True), "room address": ("10.89.7.3", False),
                  "unspecified": ("0.0.0.0", False), "a name": ("room-01.example", False), "empty": ("", False)}


@pytest.mark.parametrize("case", list(LOOPBACK_CASES))
def test_loopback_flag(case):
    address, expected = LOOPBACK_CASES[case]
    assert evidence.is_loopback(address) is expected


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


LOG_CASES = {
    "missing log is noted": (
        {"logs": [{"path": "/var/log/a.log", "requested": "/var/log/a.log", "status": "missing", "error": "No such"}]},
        [("missing", None, None)]),
    "collected log is redacted": (
        {"logs": [{"path": "/var/log/a.log", "status": "collected", "size": 60, "truncated": False,
                   "content_b64": b64(f"via {PROXY_WITH_CREDENTIALS} password={SECRET}\n")}]},
        [("collected", "logs/var_log_a.log", "via http://<redacted>@proxy.lab.invalid:3128 password=<redacted>\n")]),
    "reader failed: every path noted": (
        {"failed": True, "msg": f"boom {PROXY_WITH_CREDENTIALS}"},
        [("not_read", None, None), ("not_read", None, None)]),
}


@pytest.mark.parametrize("case", list(LOG_CASES))
def test_log_entries(case):
    tail, expected = LOG_CASES[case]
    entries = evidence.evidence_logs(tail, ["/var/log/a.log", "/var/log/b.log"])
    assert [(e["status"], e["file"], e["text"]) for e in entries] == expected
    assert SECRET not in json.dumps(entries)


TAIL_CASES = {
    "fits: whole file": (b"one\ntwo\n", 100, b"one\ntwo\n", False),
    "tail drops the partial first line": (b"first line\nsecond\nthird\n", 15, b"second\nthird\n", True),
    "tail inside one long line: nothing": (b"x" * 50, 10, b"", True),
}


@pytest.mark.parametrize("case", list(TAIL_CASES))
def test_tail_bytes(case):
    data, max_bytes, expected, truncated = TAIL_CASES[case]
    assert log_tail.tail_bytes(io.BytesIO(data), len(data), max_bytes) == (expected, truncated)


EARLIER = {"rooms": {
    "room-1": {"status": "healthy", "archive": "room-1.tar.gz", "sha256": "aa", "collected_at": "2026-03-02T08:00:00Z"},
    "room-2": {"status": "needs_attention", "archive": "room-2.tar.gz", "sha256": "bb",
               "collected_at": "2026-03-02T08:00:00Z"},
}}
INDEX_CASES = {
    "a room of this run replaces its row": (
        {"room-1": {"zoom_room_evidence_entry": {"archive": "room-1.tar.gz", "sha256": "cc", "collected_at": NOW},
                    "zoom_room_report": {"status": "needs_attention", "findings": [{"code": "app_not_listening"}]}}},
        {"room-1": ("needs_attention", "cc", ["app_not_listening"]), "room-2": ("needs_attention", "bb", None)}),
    "an unreachable room keeps the earlier archive, with a note": (
        {"room-1": {"zoom_room_evidence_entry": {"archive": None, "note": None},
                    "zoom_room_report": {"status": "unreachable", "findings": [{"code": "room_unreachable"}]}}},
        {"room-1": ("unreachable", "aa", ["room_unreachable"]), "room-2": ("needs_attention", "bb", None)}),
    "a room outside this run (--limit) is left alone": (
        {"room-1": {}, "room-3": {"zoom_room_evidence_entry": {"archive": "room-3.tar.gz", "sha256": "dd"},
                                  "zoom_room_report": {"status": "healthy", "findings": []}}},
        {"room-1": ("healthy", "aa", None), "room-2": ("needs_attention", "bb", None),
         "room-3": ("healthy", "dd", [])}),
}


@pytest.mark.parametrize("case", list(INDEX_CASES))
def test_index_merges_the_days_runs(case):
    hostvars, expected = INDEX_CASES[case]
    settings = evidence.evidence_settings(BASE_INPUTS, NOW)
    index = evidence.evidence_index(hostvars, sorted(hostvars), settings, json.dumps(EARLIER), NOW)
    rows = {room: (row["status"], row["sha256"], row.get("findings")) for room, row in index["rooms"].items()}
    assert rows == expected
    if "unreachable" in case:
        assert "not collected" in index["rooms"]["room-1"]["note"] and "earlier run" in index["rooms"]["room-1"]["note"]


# --------------------------------------------------------------------------- the lab


def rooms_state(lab):
    """What a read-only run must leave alone on each room: proxy file, ruleset, app log (one exec per room)."""
    script = f"cat /etc/environment; echo ---; nft list ruleset; echo ---; sha256sum {LOG} 2>/dev/null || true"
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(lab.rooms, pool.map(lambda room: lab.sh(room, script), lab.rooms), strict=True))


def unpack(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return {member.name: tar.extractfile(member).read() for member in tar.getmembers() if member.isfile()}


def snapshot(folder: Path) -> tuple[dict, str, dict[str, bytes]]:
    """index.json, index.md and the archives' bytes of a date folder, as a run left them."""
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")], "staging area left behind"
    return (json.loads((folder / "index.json").read_text()), (folder / "index.md").read_text(),
            {p.name: p.read_bytes() for p in folder.glob("*.tar.gz")})


def run_evidence(lab, tmp_path, *args):
    return lab.playbook("playbooks/collect_evidence.yml",
                        "-e", f"zoom_rooms_evidence_dir={tmp_path / 'evidence'}",
                        "-e", f"zoom_rooms_evidence_log_max_bytes={LOG_MAX_BYTES}",
                        "-e", '{"zoom_room_controller_type": "iPad", "zoom_room_connection_type": "wifi"}',
                        *args, extra_env={"ZOOM_ROOMS_REPORT_DIR": str(tmp_path / "reports")})


def test_evidence_pack(healed, tmp_path):
    rooms = healed.rooms
    proxied, logged = rooms[0], rooms[1]
    others = [room for room in rooms if room != logged]
    healed.labctl("fault", proxied, "proxy_no_bypass")
    healed.sh(proxied, "sed -i 's#^https_proxy=.*#https_proxy=\"" + PROXY_WITH_CREDENTIALS + "\"#' /etc/environment")
    faulted_at = time.monotonic()
    assert SECRET in healed.file_bytes(proxied, "/etc/environment"), "the room must really hold the credentials"
    healed.sh(logged, f"{{ echo FIRST-LINE; for i in $(seq 1 300); do "
                      f"echo \"line $i: proxy {PROXY_WITH_CREDENTIALS} password={SECRET}\"; done; "
                      f"echo LAST-LINE; }} > {LOG}")
    inventory = yaml.safe_load(healed.inventory.read_text())
    api_secret = inventory["all"]["children"]["zoom_rooms"]["vars"].get("zoom_rooms_api_client_secret")
    before = rooms_state(healed)
    try:
        # Run A, --check and --limit to the logged room (while the simulators report to the Zoom API double).
        checked = run_evidence(healed, tmp_path, "--check", "--limit", logged)
        after_check = rooms_state(healed)
        dated = list((tmp_path / "evidence").iterdir())
        first = snapshot(dated[0])
        if api_secret:  # the proxied room's simulator has reported its new IP (127.0.0.1) by now
            time.sleep(max(0.0, SIM_REPORT_INTERVAL + 1 - (time.monotonic() - faulted_at)))
        # Run B, the other rooms; -v: every task result is in the output the test scans.
        result = run_evidence(healed, tmp_path, "-v", "--limit", f"all:!{logged}")
        after = rooms_state(healed)
    finally:
        healed.sh(logged, f"rm -f {LOG}")
    assert after_check == before and after == before, "a read-only run changed a room"

    # Where the pack is: one dated folder (UTC), index and one archive per room.
    assert len(dated) == 1 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", dated[0].name), dated
    folder = dated[0]
    first_index, _unused, first_archives = first
    assert list(first_index["rooms"]) == [logged]
    index, index_md, archives = snapshot(folder)
    assert sorted(index["rooms"]) == rooms, "the day's index lists every room, the earlier run's too"
    assert index["rooms"][logged] == first_index["rooms"][logged]
    assert archives[f"{logged}.tar.gz"] == first_archives[f"{logged}.tar.gz"]
    assert (index["error"]["code"], index["error"]["text"]) == (2002, "Error Code 2002: Cannot connect to Zoom Rooms")
    packs = {}
    for room in rooms:
        entry = index["rooms"][room]
        assert room in index_md
        assert entry["sha256"] == hashlib.sha256(archives[entry["archive"]]).hexdigest()
        packs[room] = unpack(archives[entry["archive"]])
        assert all(name.startswith(f"{room}/") and ".." not in name for name in packs[room]), sorted(packs[room])
        assert {f"{room}/evidence.json", f"{room}/summary.md"} <= set(packs[room])
    assert index["rooms"][proxied]["status"] == "needs_attention"
    assert "proxy_intercepts_local_traffic" in index["rooms"][proxied]["findings"]

    # The proxied room's pack: error context, versions, addresses, firewall, proxy, findings.
    doc = json.loads(packs[proxied][f"{proxied}/evidence.json"])
    summary = packs[proxied][f"{proxied}/summary.md"].decode()
    assert doc["error"]["code"] == 2002
    window = doc["error"]["window"]
    start, end = (datetime.strptime(window[key], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) for key in ("start", "end"))
    assert end - start == timedelta(hours=24) and abs(datetime.now(UTC) - end) < timedelta(minutes=10)
    assert (doc["controller"]["type"], doc["controller"]["connection_type"]) == ("iPad", "wifi")
    installed = healed.sh(proxied, "dpkg-query -W -f='${Version}' zoom-rooms-sim").strip()
    assert doc["room_computer"]["app"]["version"] == installed
    assert doc["room_computer"]["os"]["name"].startswith("Debian")
    address = healed.state["rooms"][proxied]["address"]
    entries = doc["addresses"]["entries"]
    assert {"role": "controller_target", "address": address, "loopback": False}.items() <= next(
        e for e in entries if e["role"] == "controller_target").items()
    assert address in [e["address"] for e in entries if e["role"] == "interface"]
    ctl_subnet = healed.state["networks"]["ctl"]["subnet"]
    assert doc["firewall"]["backend"] == "nftables"
    assert [v["subnet"] for v in doc["firewall"]["verdicts"]] == [ctl_subnet]
    assert doc["proxy"]["mode"] == "manual"
    assert doc["proxy"]["servers"]["https"] == "http://<redacted>@proxy.lab.invalid:3128"
    assert doc["proxy"]["bypass_covers_local"] is False
    assert "proxy_intercepts_local_traffic" in [f["code"] for f in doc["findings"]]
    assert [(e["path"], e["status"]) for e in doc["logs"]] == [(LOG, "missing")]
    assert any(LOG in note and "not found" in note for note in doc["notes"])
    assert "## Findings" in summary and "proxy_intercepts_local_traffic" in summary
    if api_secret:  # the Zoom API double sees 127.0.0.1 from a room whose proxy swallows local traffic
        reported = next(e for e in entries if e["role"] == "reported_by_zoom")
        assert (reported["address"], reported["loopback"]) == ("127.0.0.1", True)
        assert doc["controller"]["versions"], "the API double lists the room's controller"
        assert "room_reports_loopback_ip" in [f["code"] for f in doc["findings"]]
        assert "127.0.0.1 **LOOPBACK**" in summary and index["rooms"][proxied]["loopback"] is True
    else:
        assert any("No Zoom API data" in note for note in doc["notes"])

    # The logged room (packed under --check): only the tail, redacted.
    logged_doc = json.loads(packs[logged][f"{logged}/evidence.json"])
    assert logged_doc["check_mode"] is True
    [log_entry] = logged_doc["logs"]
    assert (log_entry["status"], log_entry["truncated"]) == ("collected", True)
    assert log_entry["size"] > LOG_MAX_BYTES >= log_entry["bytes"] > LOG_MAX_BYTES - 200  # read from the room
    text = packs[logged][f"{logged}/{log_entry['file']}"].decode()
    assert text.endswith("LAST-LINE\n") and "FIRST-LINE" not in text
    assert "http://<redacted>@proxy.lab.invalid:3128 password=<redacted>" in text

    # No secret anywhere: archives, index, run reports, playbook output (both runs).
    written = [data for pack in packs.values() for data in pack.values()]
    written += [path.read_bytes() for path in folder.iterdir() if path.suffix != ".gz"]
    written += [path.read_bytes() for path in (tmp_path / "reports").rglob("*") if path.is_file()]
    for secret in filter(None, [SECRET, api_secret]):
        assert not [i for i, data in enumerate(written) if secret.encode() in data], f"{secret} leaked into a file"
        for run in (checked, result):
            assert secret not in run.stdout + run.stderr, f"{secret} leaked into the playbook output"

    # The normal report is written too, in evidence mode, with each room's status and pack.
    run_dirs = sorted(p for p in (tmp_path / "reports").iterdir() if p.name != "latest")
    check_report, report = (json.loads((path / "report.json").read_text()) for path in run_dirs)
    assert (check_report["run"]["mode"], check_report["run"]["check_mode"], list(check_report["rooms"])) == \
        ("evidence", True, [logged])
    assert (report["run"]["mode"], report["run"]["check_mode"], list(report["rooms"])) == ("evidence", False, others)
    assert report["rooms"][proxied]["status"] == "needs_attention"
    assert report["rooms"][proxied]["evidence"]["archive"] == str(folder / f"{proxied}.tar.gz")
