"""The zoom_rooms_report callback inside a real ansible-playbook run (local hosts, no lab).

The rooms are local connections (one named "<script>alert(1)</script>"); one room is an SSH
host on 127.0.0.1 port 1 (closed), so it is really unreachable. A probe host fails a task:
not a room, it lands in run.errors.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from labfixture import check_control_path_dir

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text())
HOSTILE_SITE = "<script>alert(1)</script>"

INVENTORY = f"""
all:
  vars:
    ansible_python_interpreter: {sys.executable}
  children:
    zoom_rooms:
      children:
        zoom_rooms_linux:
          hosts:
            room-01: {{ansible_connection: local, fake_status: healthy}}
            room-02: {{ansible_connection: local, fake_status: fixed}}
            room-03: {{ansible_connection: local, fake_status: needs_attention}}
            room-04: {{ansible_connection: local, fake_status: failed}}
            room-05: {{ansible_connection: local, fake_status: none}}
            "{HOSTILE_SITE}": {{ansible_connection: local, fake_status: healthy}}
            room-gone:
              ansible_connection: ssh
              ansible_host: 127.0.0.1
              ansible_port: 1
              ansible_user: nobody
              ansible_ssh_common_args: -o ConnectTimeout=2 -o BatchMode=yes
    zoom_room_probes:
      hosts:
        probe-1: {{ansible_connection: local}}
"""

ROOMS_PLAYBOOK = """
- name: Rooms
  hosts: zoom_rooms
  gather_facts: false
  tasks:
    - name: Reach the room
      ansible.builtin.ping:

    - name: First report (platform and site only)
      ansible.builtin.set_fact:
        zoom_room_report: {platform: linux, site: "SITE"}

    - name: A failure the play ignores
      ansible.builtin.fail: {msg: ignored}
      ignore_errors: true
      when: inventory_hostname == 'room-01'

    - name: Diagnosis (later call, merged over the first)
      ansible.builtin.set_fact:
        zoom_room_report:
          status: "{{ fake_status }}"
          findings: "{{ findings[fake_status] | default([]) }}"
          rolled_back: "{{ fake_status == 'failed' }}"
          changed: "{{ [{'summary': 'admit 9090', 'diff': {'before': 'drop', 'after': 'accept'}}]
                       if fake_status == 'fixed' else [] }}"
          verify: {passed: "{{ fake_status == 'fixed' }}", findings: []}
      when: fake_status != 'none'
      vars:
        findings:
          needs_attention:
            - {code: controller_port_blocked, severity: high, summary: probe cannot reach 9090,
               evidence: {probe: timeout}, next_step: check the network ACL}
          failed:
            - {code: proxy_intercepts_local_traffic, severity: high, summary: proxy without bypass,
               evidence: "http_proxy=http://bob:hunter2@proxy.example:3128", next_step: add bypass}

    - name: A room with no status fails a task
      ansible.builtin.fail: {msg: "could not read facts (password=hunter2)"}
      when: inventory_hostname == 'room-05'

- name: Run data
  hosts: zoom_room_probes
  gather_facts: false
  tasks:
    - name: Run-wide report data
      ansible.builtin.set_fact:
        zoom_rooms_run: {mode: "{{ zr_mode | default('diagnose') }}", controllers_to_update: [ctl-03]}

    - name: Probe fails (not a room)
      ansible.builtin.fail: {msg: probe broke}
"""

CHECK_PLAYBOOK = """
- name: One room, run under --check
  hosts: room-01
  gather_facts: false
  tasks:
    - name: Report
      ansible.builtin.set_fact:
        zoom_room_report: {platform: linux, status: healthy}
        zoom_rooms_run: {mode: apply}
"""

UNRELATED_PLAYBOOK = """
- name: Nothing about rooms
  hosts: zoom_room_probes
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def ansible_env(report_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        ZOOM_ROOMS_REPORT_DIR=str(report_dir),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_SSH_CONTROL_PATH_DIR=str(check_control_path_dir(report_dir.parent / "cp")),
        **extra,
    )
    return env


def run_playbook(tmp_path: Path, playbook: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "rooms.yml").write_text(playbook.replace("SITE", HOSTILE_SITE))
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"),
         str(tmp_path / "rooms.yml"), *args],
        cwd=ROOT, env=ansible_env(tmp_path / "reports", **env), capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(scope="module")
def one_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    tmp_path = tmp_path_factory.mktemp("callback")
    return run_playbook(tmp_path, ROOMS_PLAYBOOK), tmp_path / "reports"


def load_report(reports: Path) -> dict:
    return json.loads((reports / "latest" / "report.json").read_text())


def test_files_written_and_latest_points_at_them(one_run):
    proc, reports = one_run
    assert proc.returncode == 4, proc.stdout + proc.stderr  # 4: some host was unreachable
    runs = [p for p in reports.iterdir() if p.name != "latest"]
    assert len(runs) == 1
    latest = reports / "latest"
    assert latest.is_symlink() and os.readlink(latest) == runs[0].name
    assert sorted(p.name for p in runs[0].iterdir()) == ["junit.xml", "report.html", "report.json"]


def test_report_valid_against_schema(one_run):
    jsonschema.validate(load_report(one_run[1]), SCHEMA)


@pytest.mark.parametrize(("room", "status", "codes"), [
    pytest.param("room-01", "healthy", [], id="healthy (ignored failure not recorded)"),
    pytest.param("room-02", "fixed", [], id="fixed"),
    pytest.param("room-03", "needs_attention", ["controller_port_blocked"], id="needs attention"),
    pytest.param("room-04", "failed", ["proxy_intercepts_local_traffic"], id="failed"),
    pytest.param("room-05", "needs_attention", [], id="no status + failed task"),
    pytest.param("room-gone", "unreachable", ["room_unreachable"], id="unreachable over ssh"),
    pytest.param(HOSTILE_SITE, "healthy", [], id="hostile inventory hostname"),
])
def test_room_status(one_run, room, status, codes):
    rooms = load_report(one_run[1])["rooms"]
    assert rooms[room]["status"] == status
    assert [f["code"] for f in rooms[room]["findings"]] == codes


def test_room_details(one_run):
    report = load_report(one_run[1])
    rooms = report["rooms"]
    assert set(rooms) == {"room-01", "room-02", "room-03", "room-04", "room-05", "room-gone", HOSTILE_SITE}  # no probe
    assert rooms["room-01"]["errors"] == []
    assert rooms["room-01"]["site"] == HOSTILE_SITE  # from the first set_fact, kept by the merge
    assert rooms["room-02"]["changed"][0]["diff"] == {"before": "drop", "after": "accept"}
    assert rooms["room-02"]["verify"]["passed"] is True
    assert rooms["room-04"]["rolled_back"] is True
    assert [(e["kind"], e["task"]) for e in rooms["room-05"]["errors"]] == [
        ("task_failed", "A room with no status fails a task")]
    assert rooms["room-gone"]["platform"] == "linux"  # from the zoom_rooms_linux group
    assert "port 1" in rooms["room-gone"]["findings"][0]["evidence"]


def test_run_data(one_run):
    run = load_report(one_run[1])["run"]
    assert run["playbook"] == "rooms"
    assert run["mode"] == "diagnose"
    assert run["controllers_to_update"] == ["ctl-03"]
    assert [(e["host"], e["kind"]) for e in run["errors"]] == [("probe-1", "task_failed")]
    assert run["id"].endswith("Z-rooms")


def test_no_secret_in_any_file(one_run):
    latest = one_run[1] / "latest"
    for name in ("report.json", "report.html", "junit.xml"):
        assert "hunter2" not in (latest / name).read_text(), name


def test_junit(one_run):
    suite = ET.parse(one_run[1] / "latest" / "junit.xml").getroot().find("testsuite")
    assert suite.attrib["name"] == "zoom-rooms.rooms"
    assert (suite.attrib["tests"], suite.attrib["failures"]) == ("8", "5")  # 7 rooms and the run (a probe failed)
    failing = {case.attrib["name"]: case.find("failure").attrib["type"]
               for case in suite.findall("testcase") if case.find("failure") is not None}
    assert failing == {"room-03": "needs_attention", "room-04": "failed", "room-05": "needs_attention",
                       "room-gone": "unreachable", "run": "run_error"}


def test_html_escapes_the_hostile_name_and_site(one_run):
    html = (one_run[1] / "latest" / "report.html").read_text()
    assert HOSTILE_SITE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_terminal_summary(one_run):
    proc, reports = one_run
    out = proc.stdout
    assert "ZOOM ROOMS REPORT" in out
    assert "healthy=2  fixed=1  needs_attention=2  failed=1  unreachable=1" in out
    assert "room-gone" in out and "room_unreachable" in out
    assert str(reports.resolve()) in out or str(reports) in out


def test_check_mode_runs_prune_and_get_unique_ids(tmp_path):
    runs = [run_playbook(tmp_path, CHECK_PLAYBOOK, "--check", ZOOM_ROOMS_REPORT_KEEP="2") for _unused in range(3)]
    assert [proc.returncode for proc in runs] == [0, 0, 0], runs[0].stdout + runs[0].stderr
    written = [re.search(r"report: (\S+)/report.html", proc.stdout)[1] for proc in runs]
    assert len(set(written)) == 3  # three runs, three run ids, even within one second
    reports = tmp_path / "reports"
    kept = sorted(p.name for p in reports.iterdir() if p.name != "latest")
    assert kept == sorted(Path(path).name for path in written[1:])  # the oldest was pruned
    assert os.readlink(reports / "latest") == Path(written[-1]).name
    report = load_report(reports)
    assert report["run"]["check_mode"] is True
    assert report["run"]["mode"] == "plan"  # "apply" under --check


def test_unrelated_playbook_writes_nothing(tmp_path):
    proc = run_playbook(tmp_path, UNRELATED_PLAYBOOK)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (tmp_path / "reports").exists()
    assert "ZOOM ROOMS REPORT" not in proc.stdout


# --------------------------------------------------------------------------- issue 12: reports that tell the truth

MID_RUN_UNREACHABLE_PLAYBOOK = """
- name: A room diagnosed, then its connection dies
  hosts: room-01
  gather_facts: false
  tasks:
    - name: Diagnosis
      ansible.builtin.set_fact:
        zoom_rooms_run: {mode: apply}
        zoom_room_report:
          status: needs_attention
          findings: [{code: host_firewall_blocks_controller_port, severity: high, summary: blocked,
                      evidence: {}, next_step: remediate}]
          changed: [{summary: firewall}]

    - name: The next step finds the room gone (SSH to a closed port)
      ansible.builtin.ping:
      vars:
        ansible_connection: ssh
        ansible_host: 127.0.0.1
        ansible_port: 1
        ansible_user: nobody
        ansible_ssh_common_args: -o ConnectTimeout=2 -o BatchMode=yes
"""


def test_a_room_whose_connection_dies_mid_run_is_unreachable(tmp_path):
    """Case 10: it was reported needs_attention with its stale findings, and unreachable=0."""
    proc = run_playbook(tmp_path, MID_RUN_UNREACHABLE_PLAYBOOK)
    room = load_report(tmp_path / "reports")["rooms"]["room-01"]
    assert room["status"] == "unreachable", room
    assert [f["code"] for f in room["findings"]] == ["room_unreachable"]
    assert [f["code"] for f in room["findings_before_unreachable"]] == ["host_firewall_blocks_controller_port"]
    assert room["changed"] == [{"summary": "firewall"}]  # what was changed stays listed
    assert "needs_attention=0  failed=0  unreachable=1" in proc.stdout
    jsonschema.validate(load_report(tmp_path / "reports"), SCHEMA)


SLOW_PLAYBOOK = """
- name: A run that is interrupted
  hosts: room-01
  gather_facts: false
  tasks:
    - name: Report
      ansible.builtin.set_fact:
        zoom_rooms_run: {mode: diagnose}
        zoom_room_report: {platform: linux, status: healthy}

    - name: Say the report fact is set
      ansible.builtin.debug: {msg: READY}

    - name: Something long
      ansible.builtin.command: sleep 60
      changed_when: false
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_an_interrupted_run_still_writes_its_report(tmp_path, signum):
    """Case 13: an interrupted run wrote nothing, so reports/latest still showed an older run."""
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "rooms.yml").write_text(SLOW_PLAYBOOK)
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"),
         str(tmp_path / "rooms.yml")],
        cwd=ROOT, env=ansible_env(tmp_path / "reports"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = ""
    for line in proc.stdout:
        output += line
        if "Something long" in line:
            break
    time.sleep(1)
    proc.send_signal(signum)
    output += proc.communicate(timeout=60)[0]
    report = load_report(tmp_path / "reports")
    assert report["run"]["outcome"] == "interrupted", output
    assert report["rooms"]["room-01"]["status"] == "healthy"
    jsonschema.validate(report, SCHEMA)
    suite = ET.parse(tmp_path / "reports" / "latest" / "junit.xml").getroot().find("testsuite")
    assert suite.find("testcase[@name='run']/failure").attrib["type"] == "interrupted"
