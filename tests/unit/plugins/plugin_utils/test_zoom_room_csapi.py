"""The ZR-CSAPI client: parsing recorded replies, and whole sessions against the lab's ZR-CSAPI
simulator run in process on loopback (answer, busy, down, wrong passcode, host keys)."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from pathlib import Path

import paramiko
import pytest
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils import zoom_room_csapi as csapi
from fixture_files import lab_simulator, recorded

PASSCODE = "unit-test-passcode-4711"


sim = lab_simulator("zoom-rooms-csapi")


# ----------------------------------------------------------------------------- parsing recorded replies

@pytest.mark.parametrize("fixture, expected", [
    ("json_system_unit.txt", {"state": "answered", "room_name": "Boardroom 4.01", "app_version": "5.17.5 (3907)",
                              "platform": "Windows 10", "call_status": None}),
    ("placeos_one_line.txt", {"state": "answered", "room_name": None, "app_version": None, "platform": "windows",
                              "call_status": "NOT_IN_MEETING"}),
    ("cli_dial_start.txt", {"state": "no_answer", "call_status": "CONNECTING_MEETING"}),
    ("event_other_controller_login.txt", {"state": "displaced"}),
    ("reconnecting_unsupported.txt", {"state": "no_answer", "unsupported": 1}),
], ids=["pretty JSON SystemUnit", "one-line JSON (PlaceOS spec)", "CLI blocks (zCommands page)",
        "controller took over (zEvents page)", "pipe reconnecting, unsupported command"])
def test_summarize_recorded_replies(fixture, expected):
    summary = csapi.summarize(csapi.parse_messages(recorded(f"csapi/{fixture}")))
    assert {key: summary[key] for key in expected} == expected


def test_parse_keeps_the_cli_key_path_and_the_json_tree():
    messages = csapi.parse_messages(recorded("csapi/cli_dial_start.txt") + recorded("csapi/json_system_unit.txt"))
    assert [(m["type"], m["topKey"]) for m in messages] == [
        ("zCommand", "DialStartResult"), ("zStatus", "Call"), ("zStatus", "SystemUnit")]
    assert messages[1]["Call"] == {"Status": "CONNECTING_MEETING"}
    assert messages[2]["SystemUnit"]["room_info"]["room_name"] == "Boardroom 4.01"


def test_summary_leaves_out_the_account_email_and_meeting_number():
    summary = csapi.summarize(csapi.parse_messages(recorded("csapi/json_system_unit.txt")))
    assert "boardroom@example.com" not in repr(summary)
    assert "5550001234" not in repr(summary)


def test_a_broken_json_reply_is_skipped_not_fatal():
    text = "{\r\n  \"topKey\": \"SystemUnit\",\r\n  oops\r\n}\r\n" + recorded("csapi/placeos_one_line.txt")
    assert [m["topKey"] for m in csapi.parse_messages(text)] == ["SystemUnit", "Call"]


# ----------------------------------------------------------------------------- host keys (pure)

KEY_A, KEY_B = b"key-blob-a", b"key-blob-b"


@pytest.mark.parametrize("trusted, pinned, accept, state", [
    ([("ssh-rsa", KEY_A)], None, True, "answered"),
    ([("ssh-rsa", KEY_B)], None, False, "host_key_mismatch"),
    ([], None, False, "host_key_unknown"),
    ([], csapi.fingerprint(KEY_A), True, "answered"),
    ([], csapi.fingerprint(KEY_A).removeprefix("SHA256:"), True, "answered"),
    ([("ssh-rsa", KEY_A)], csapi.fingerprint(KEY_B), False, "host_key_mismatch"),
], ids=["known", "known_hosts has another key", "no entry", "pinned", "pinned without prefix",
        "the pin wins over known_hosts"])
def test_host_key_verdict(trusted, pinned, accept, state):
    verdict = csapi.host_key_verdict(("ssh-rsa", KEY_A), trusted, pinned)
    assert verdict[:2] == (accept, state)


def test_fingerprint_is_openssh_sha256_form():
    # ssh-keygen -lf prints SHA256:<base64 of sha256(blob)> without '=' padding.
    assert csapi.fingerprint(b"abc") == "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0"


@pytest.mark.parametrize("stderr, state", [
    ("channel 0: open failed: connect failed: Connection refused\nstdio forwarding failed", "down"),
    ("channel 0: open failed: connect failed: No route to host", "unreachable"),
    ("channel 0: open failed: connect failed: Connection timed out", "timeout"),
    ("ssh: connect to host 10.0.0.9 port 22: Connection refused", "down"),
    ("Permission denied (publickey).", "error"),
], ids=["room refuses", "no route", "room times out", "probe refuses too", "relay login failed"])
def test_relay_failure(stderr, state):
    assert csapi.relay_failure(stderr)[0] == state


# ----------------------------------------------------------------------------- options

def test_relay_command_uses_the_relays_own_ssh_settings():
    relay = {"host": "10.89.0.9", "user": "root", "port": 2222, "private_key_file": "/k/id",
             "ssh_args": "-o UserKnownHostsFile=/lab/known_hosts -o StrictHostKeyChecking=yes"}
    assert csapi.relay_command("10.89.1.3", 2244, relay) == [
        "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", "2222", "-l", "root", "-i", "/k/id",
        "-o", "UserKnownHostsFile=/lab/known_hosts", "-o", "StrictHostKeyChecking=yes",
        "-W", "10.89.1.3:2244", "10.89.0.9"]
    assert csapi.relay_command("fd00::3", 2244, {"host": "probe"})[-2:] == ["[fd00::3]:2244", "probe"]


@pytest.mark.parametrize("options, environ, message", [
    ({"address": "10.0.0.3", "known_hosts": "/k"}, {}, "zoom_room_csapi_passcode is not set"),
    ({"address": "", "passcode": "p", "known_hosts": "/k"}, {}, "zoom_room_address is empty"),
    ({"address": "10.0.0.3", "passcode": "p", "known_hosts": "/k", "port": 70000}, {}, "zoom_room_csapi_port: 70000"),
    ({"address": "10.0.0.3", "passcode": "p"}, {}, "neither zoom_room_csapi_known_hosts nor"),
], ids=["no passcode anywhere", "no address", "port out of range", "no way to verify the host key"])
def test_target_from_refuses_incomplete_options(options, environ, message):
    with pytest.raises(ValueError, match=message):
        csapi.target_from(options, environ)


def test_target_from_takes_the_passcode_from_the_environment():
    target = csapi.target_from({"address": "10.0.0.3", "fingerprint": "SHA256:x"}, {csapi.PASSCODE_ENV: "from-env"})
    assert (target.passcode, target.port, target.username, target.proxy_command) == ("from-env", 2244, "zoom", None)


# ----------------------------------------------------------------------------- sessions on loopback

@pytest.fixture(scope="module")
def host_key():
    return paramiko.RSAKey.generate(2048)


ROOM = {"name": "zr-room-07", "version": "6.2.0 (4512)", "platform": "lab simulator",
        "email": "zr-room-07@rooms.lab.invalid", "meeting_number": "0"}


@pytest.fixture
def server(host_key):
    running = sim.CsapiServer(host_key, PASSCODE, lambda: dict(ROOM))
    running.port = running.start("127.0.0.1", 0)
    yield running
    running.close()


def known_hosts_file(tmp_path: Path, port: int, key) -> str:
    path = tmp_path / "known_hosts"
    path.write_text(f"[127.0.0.1]:{port} {key.get_name()} {key.get_base64()}\n")
    return str(path)


def target(server, tmp_path, key=None, **options) -> csapi.Target:
    settings = {"passcode": PASSCODE, "port": server.port, "timeout": 5.0,
                "known_hosts": known_hosts_file(tmp_path, server.port, key or server.host_key)}
    settings.update(options)
    return csapi.Target("127.0.0.1", **settings)


def wait_closed(server, count: int = 1) -> None:
    deadline = time.monotonic() + 3
    while (server.slot.holder is not None or server.slot.closed < count) and time.monotonic() < deadline:
        time.sleep(0.02)


def test_answer_reads_the_room_and_closes_its_session(server, tmp_path):
    result = csapi.read(target(server, tmp_path))
    assert result["state"] == "answered", result
    assert (result["room_name"], result["app_version"], result["call_status"]) == (
        "zr-room-07", "6.2.0 (4512)", "NOT_IN_MEETING")
    assert result["host_key"] == csapi.fingerprint(server.host_key.asbytes())
    wait_closed(server)
    assert (server.slot.opened, server.slot.closed, server.slot.holder) == (1, 1, None)


def test_the_result_never_carries_the_passcode(server, tmp_path):
    for options in ({}, {"passcode": "wrong-" + PASSCODE}):
        result = csapi.read(target(server, tmp_path, **options))
        assert PASSCODE not in repr(result)
    assert PASSCODE not in repr(target(server, tmp_path))


def test_busy_when_another_session_holds_the_interface(server, tmp_path):
    holder = paramiko.SSHClient()
    holder.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    holder.connect("127.0.0.1", port=server.port, username="zoom", password=PASSCODE,
                   look_for_keys=False, allow_agent=False)
    try:
        holder.invoke_shell()
        result = csapi.read(target(server, tmp_path))
        assert result["state"] == "busy", result
        assert "another session" in result["message"]
        assert server.slot.holder is not None  # the holder keeps its session: we never displace it
    finally:
        holder.close()


def test_down_when_nothing_listens_on_the_port(tmp_path):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    result = csapi.read(csapi.Target("127.0.0.1", PASSCODE, port=port, known_hosts=str(tmp_path / "none")))
    assert result["state"] == "down"
    assert f"TCP {port}" in result["message"]


def test_timeout_when_the_port_accepts_but_never_speaks(tmp_path):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # the kernel completes the connect; nobody ever answers
    try:
        result = csapi.read(csapi.Target("127.0.0.1", PASSCODE, port=silent.getsockname()[1], timeout=1.0,
                                         known_hosts=str(tmp_path / "none")))
    finally:
        silent.close()
    assert result["state"] == "timeout", result


def test_wrong_passcode_is_auth_failed(server, tmp_path):
    result = csapi.read(target(server, tmp_path, passcode="not-the-passcode"))
    assert result["state"] == "auth_failed"
    assert server.slot.opened == 0


@pytest.mark.parametrize("case", ["empty known_hosts", "another key in known_hosts", "wrong pin"])
def test_an_untrusted_host_key_is_refused_before_the_passcode_is_sent(server, tmp_path, case):
    if case == "empty known_hosts":
        (tmp_path / "empty").write_text("")
        options, state = {"known_hosts": str(tmp_path / "empty")}, "host_key_unknown"
    elif case == "another key in known_hosts":
        options, state = {"key": paramiko.RSAKey.generate(1024)}, "host_key_mismatch"
    else:
        options, state = {"fingerprint": csapi.fingerprint(b"some other key")}, "host_key_mismatch"
    result = csapi.read(target(server, tmp_path, **options))
    assert result["state"] == state, result
    assert server.logins == []  # no passcode ever reached the server
    assert server.slot.opened == 0


def test_a_pinned_fingerprint_replaces_known_hosts(server, tmp_path):
    pin = csapi.fingerprint(server.host_key.asbytes())
    result = csapi.read(target(server, tmp_path, known_hosts=None, fingerprint=pin))
    assert result["state"] == "answered"


RELAY = ("import os, socket, sys, threading\n"
         "room = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
         "def up():\n"
         "    while (data := os.read(0, 65536)):\n"
         "        room.sendall(data)\n"
         "threading.Thread(target=up, daemon=True).start()\n"
         "while (data := room.recv(65536)):\n"
         "    os.write(1, data)\n")


def test_a_session_through_a_relay_command(server, tmp_path):
    # What `ssh -W` does on the probe, done by a local process: the session is still verified end to end.
    result = csapi.read(target(server, tmp_path, proxy_command=[sys.executable, "-c", RELAY, str(server.port)]))
    assert result["state"] == "answered", result
    assert result["room_name"] == "zr-room-07"


def test_a_relay_that_cannot_reach_the_room_says_why(tmp_path):
    refused = ["sh", "-c", "echo 'channel 0: open failed: connect failed: Connection refused' >&2; exit 255"]
    result = csapi.read(csapi.Target("10.89.1.3", PASSCODE, known_hosts=str(tmp_path / "none"), timeout=3,
                                     proxy_command=refused))
    assert (result["state"], result["message"]) == (
        "down", "relay: channel 0: open failed: connect failed: Connection refused")


# ----------------------------------------------------------------------------- the simulator's contract

def test_simulator_refuses_ssh_exec(server):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port=server.port, username="zoom", password=PASSCODE,
                   look_for_keys=False, allow_agent=False)
    try:
        with pytest.raises(paramiko.SSHException):
            client.exec_command("zStatus SystemUnit")
    finally:
        client.close()


@pytest.mark.parametrize("algorithm, works", [
    ("rsa-sha2-512", True), ("rsa-sha2-256", True), ("ssh-rsa", False)],
    ids=["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa (SHA-1) refused"])
def test_simulator_offers_only_rsa_sha2_host_keys(server, algorithm, works):
    # OpenSSH's client, since paramiko no longer offers ssh-rsa at all. Key exchange passes or fails
    # on the host key algorithm; BatchMode then stops at the password prompt.
    ssh = subprocess.run(["ssh", "-p", str(server.port), "-o", "BatchMode=yes", "-o", f"HostKeyAlgorithms={algorithm}",
                          "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=INFO",
                          "-o", "ConnectTimeout=5", "zoom@127.0.0.1", "zStatus SystemUnit"],
                         capture_output=True, text=True, timeout=20)
    assert ssh.returncode != 0
    if works:
        assert "Permission denied (password)" in ssh.stderr
    else:
        assert "no matching host key type found. Their offer: rsa-sha2-512,rsa-sha2-256" in ssh.stderr


def test_simulator_speaks_cli_until_format_json():
    session = sim.Session(dict(ROOM))
    assert "*s Login ZAAPI Release: 1.1" in session.greeting()
    cli = session.handle("zStatus SystemUnit")
    assert "*s SystemUnit room_info room_name: zr-room-07\r\n" in cli and cli.endswith("** end\r\n")
    session.handle("echo off")
    session.handle("format json")
    reply = session.handle("zStatus Call Status")
    assert reply.startswith("{\r\n") and reply.endswith("}\r\n")
    assert csapi.parse_messages(reply)[0]["Call"] == {"Status": "NOT_IN_MEETING"}
    assert session.handle("zStatus Nope").count("onUnsupported Command") == 1


def test_fingerprint_matches_paramikos_own_key_fingerprint(host_key):
    digest = base64.b64encode(__import__("hashlib").sha256(host_key.asbytes()).digest()).decode().rstrip("=")
    assert csapi.fingerprint(host_key.asbytes()) == "SHA256:" + digest


# ----------------------------------------------------------------------------- the task's options

def test_relay_vars_are_the_probes_connection_variables_templated():
    hostvars = {"zr-probe": {"ansible_host": "{{ ip }}", "ansible_user": "root", "zoom_room_secret": "not read",
                             "ansible_ssh_common_args": "-o StrictHostKeyChecking=yes"}}
    seen = []

    def template(value):
        seen.append(value)
        return value.replace("{{ ip }}", "10.89.0.9")
    relay = csapi.relay_vars_of(hostvars, "zr-probe", template)
    assert relay == {"ansible_host": "10.89.0.9", "ansible_user": "root",
                     "ansible_ssh_common_args": "-o StrictHostKeyChecking=yes"}
    assert "not read" not in seen  # only the connection variables are templated
    with pytest.raises(ValueError, match="via: 'nope' is not a host of the inventory"):
        csapi.relay_vars_of(hostvars, "nope", template)


def test_task_target_pins_or_reads_known_hosts_and_relays_through_the_probe():
    args = {"address": "10.89.1.3", "port": 2244, "username": "zoom", "passcode": "p", "known_hosts": "~/kh",
            "host_key_fingerprint": None, "timeout": 5.0, "via": "zr-probe"}
    target = csapi.task_target(args, {"ansible_host": "10.89.0.9", "ansible_user": "root"}, {})
    assert target.known_hosts.endswith("/kh") and not target.known_hosts.startswith("~")
    assert target.proxy_command[-3:] == ["-W", "10.89.1.3:2244", "10.89.0.9"]
    pinned = csapi.task_target({**args, "host_key_fingerprint": "SHA256:abc", "via": None}, None, {})
    assert (pinned.fingerprint, pinned.known_hosts, pinned.proxy_command) == ("SHA256:abc", None, None)
