"""diagnose.yml with zoom_room_csapi: true on the lab: the app's own view in report.json and report.html,
each room's session opened and closed (the room's ZR-CSAPI log), busy and down as evidence and findings."""

from __future__ import annotations

import json

NO_API = ("-e", "zoom_rooms_api_enabled=false")
LOG = "/var/log/zoom-rooms-csapi.log"
SESSION_FILE = "/run/zoom-rooms-csapi.session"


def diagnose(lab, tmp_path, *args):
    reports = tmp_path / "reports"
    lab.playbook("playbooks/diagnose.yml", *NO_API, *args, extra_env={"ZOOM_ROOMS_REPORT_DIR": str(reports)})
    latest = reports / "latest"
    return json.loads((latest / "report.json").read_text()), (latest / "report.html").read_text()


def log_lines(lab, room):
    return lab.sh(room, f"cat {LOG} 2>/dev/null || true").splitlines()


def test_opt_in_reads_each_room_once_and_closes_the_session(healed, tmp_path):
    before = {room: len(log_lines(healed, room)) for room in healed.rooms}
    report, html = diagnose(healed, tmp_path, "-e", "zoom_room_csapi=true")
    for room in healed.rooms:
        csapi = report["rooms"][room]["csapi"]
        assert (csapi["state"], csapi["room_name"], csapi["room_matches"]) == ("answered", room, True), csapi
        version = healed.sh(room, "dpkg-query -W -f='${Version}' zoom-rooms-sim")
        assert csapi["app_version"] == "{} ({})".format(*version.rsplit(".", 1))
        assert report["rooms"][room]["status"] == "healthy"
        events = [line.split(" ", 1)[1].split(" from ")[0] for line in log_lines(healed, room)[before[room]:]]
        assert events == ["session opened", "session closed"]
        assert healed.sh(room, f"test -e {SESSION_FILE} && echo held || echo free").strip() == "free"
        # The session came from the controller segment: the probe's address there, not the control node.
        probe_ctl = healed.sh(healed.probe, "ip -4 -o addr show").split()
        assert any(address.startswith(log_lines(healed, room)[-1].split(" from ")[1].split(":")[0] + "/")
                   for address in probe_ctl)
    assert "ZR-CSAPI" in html and "NOT_IN_MEETING" in html


def test_without_opt_in_no_session_is_opened(healed, tmp_path):
    before = {room: len(log_lines(healed, room)) for room in healed.rooms}
    report, _unused = diagnose(healed, tmp_path)
    for room in healed.rooms:
        assert "csapi" not in report["rooms"][room]
        assert log_lines(healed, room)[before[room]:] == []


def test_busy_and_down_are_evidence_and_silence_is_a_finding(healed, tmp_path):
    busy, down = healed.rooms[0], healed.rooms[1]
    healed.labctl("fault", busy, "csapi_busy")
    healed.labctl("fault", down, "csapi_down")
    holder = healed.sh(busy, f"cat {SESSION_FILE}").strip()

    report, html = diagnose(healed, tmp_path, "-e", "zoom_room_csapi=true")

    assert report["rooms"][busy]["csapi"]["state"] == "busy"
    assert report["rooms"][busy]["status"] == "healthy"  # evidence, never an error of the run
    assert healed.sh(busy, f"cat {SESSION_FILE}").strip() == holder  # the control system kept its session
    assert report["rooms"][down]["csapi"]["state"] == "down"
    assert [f["code"] for f in report["rooms"][down]["findings"]] == ["csapi_not_answering"]
    assert healed.connect(down) == "open"  # 9090 listens all the while
    assert "csapi_not_answering" in html


def test_a_room_that_answers_as_another_room(healed, tmp_path):
    room = healed.rooms[0]
    report, _unused = diagnose(healed, tmp_path, "-l", room, "-e", "zoom_room_csapi=true",
                               "-e", "zoom_room_name=Boardroom 4.01")
    entry = report["rooms"][room]
    assert entry["csapi"]["room_matches"] is False, entry["csapi"]  # the read's state and message if it failed
    assert [f["code"] for f in entry["findings"]] == ["csapi_reports_other_room"]
    assert entry["findings"][0]["evidence"]["room_name"] == room
