"""The ZR-CSAPI client: parsing recorded replies, conversations with a scripted shell (pipe reconnecting),
and whole sessions against the lab's ZR-CSAPI simulator run in process on loopback (answer, busy, down,
wrong passcode, host keys)."""

from __future__ import annotations

import base64
import json
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


def test_parse_takes_the_cli_status_header_as_the_replys_status():
    # `*r DialStartResult (status=OK):` (zCommands page): the header says how the command went; it is not data.
    result = csapi.parse_messages(recorded("csapi/cli_dial_start.txt"))[0]
    assert result["DialStartResult"] == {}
    assert csapi.reply_status(result) == ("OK", "")
    failed = csapi.parse_messages("*r DialStartResult (status=Error): no such meeting\r\n** end\r\n")[0]
    assert csapi.reply_status(failed) == ("Error", "no such meeting")


def json_reply(top_key: str, data, kind: str = "zStatus", state: str = "OK", message: str = "") -> str:
    """A reply as ZR-CSAPI prints it after `format json` (the shape of json_system_unit.txt)."""
    body = {top_key: data, "Status": {"message": message, "state": state}, "Sync": False, "topKey": top_key,
            "type": kind}
    return json.dumps(body, indent=2, sort_keys=True).replace("\n", "\r\n") + "\r\n"


SYSTEM_UNIT = {"platform": "Windows 10", "room_version": "5.17.5 (3907)", "room_info": {"room_name": "Boardroom 4.01"}}


def test_a_reply_whose_status_is_not_ok_is_an_error_not_data():
    # Every JSON reply carries "Status": {"message", "state"}; Node-JF's tag-zoom_rooms takes a state other
    # than "OK" as an error and reports Status.message.
    failed = csapi.summarize(csapi.parse_messages(json_reply("SystemUnit", SYSTEM_UNIT, state="Error",
                                                             message="Room is not logged in")))
    assert (failed["state"], failed["room_name"], failed["app_version"]) == ("error", None, None)
    assert failed["message"] == "ZR-CSAPI answered zStatus SystemUnit with status Error: Room is not logged in"
    call_failed = csapi.summarize(csapi.parse_messages(
        json_reply("SystemUnit", SYSTEM_UNIT) + json_reply("Call", {"Status": "IN_MEETING"}, state="Error")))
    assert (call_failed["state"], call_failed["room_name"], call_failed["call_status"]) == (
        "answered", "Boardroom 4.01", None)
    assert "zStatus Call Status with status Error" in call_failed["message"]


def test_call_status_comes_from_the_zstatus_not_a_zconfiguration_of_call():
    # zConfiguration replies and pushes share the topKey Call; only zStatus Call holds Call.Status.
    push = json_reply("Call", {"Microphone": {"Mute": False}}, kind="zConfiguration")
    text = json_reply("SystemUnit", SYSTEM_UNIT) + json_reply("Call", {"Status": "NOT_IN_MEETING"}) + push
    assert csapi.summarize(csapi.parse_messages(text))["call_status"] == "NOT_IN_MEETING"
    assert csapi.status_reply(csapi.parse_messages(push), "Call", ("Status",)) is None


def json_event(body) -> str:
    """A zEvent after `format json`: a JSON object of "type": "zEvent" (PepperDash ZoomRoom.cs
    `case eZoomRoomResponseType.zEvent`, PlaceOS zr_csapi.cr `when "zEvent"`, Node-JF `data.type == 'zEvent'`).
    The shape of a Pipe event's body is not documented: these bodies are made up, naming the event."""
    return json.dumps({"Pipe": body, "Status": {"message": "", "state": "OK"}, "Sync": False, "topKey": "Pipe",
                       "type": "zEvent"}) + "\r\n"


@pytest.mark.parametrize("body, events, state", [
    ({"Event": "OtherControllerLogin"}, ["OtherControllerLogin"], "displaced"),
    ({"OtherControllerLogin": {}}, ["OtherControllerLogin"], "displaced"),
    ("Reconnecting", ["Reconnecting"], "no_answer"),
    ({"state": "SomethingElse"}, [""], "no_answer"),
], ids=["named in a value", "named as a key", "the body is the name", "an event we do not know"])
def test_a_json_pipe_event_reads_like_the_cli_text(body, events, state):
    messages = csapi.parse_messages(json_event(body))
    assert csapi.pipe_events(messages) == events
    assert csapi.summarize(messages)["state"] == state


def test_a_broken_json_reply_is_skipped_not_fatal():
    text = "{\r\n  \"topKey\": \"SystemUnit\",\r\n  oops\r\n}\r\n" + recorded("csapi/placeos_one_line.txt")
    assert [m["topKey"] for m in csapi.parse_messages(text)] == ["SystemUnit", "Call"]


# ----------------------------------------------------------------------------- conversations (scripted shell)

class ScriptedShell:
    """A ZR-CSAPI shell on a fake channel: each command it is sent gets the next of its scripted answers
    (a list of chunks, read one per recv); nothing is echoed, as after `echo off`."""

    def __init__(self, script: dict[str, list[list[str]]], greeting: str = "*r Login successful\r\n") -> None:
        self.script = {command: list(answers) for command, answers in script.items()}
        self.pending, self.sent, self.closed, self.timeout = [greeting], [], False, 0.5
        self.sent_at: list[float] = []

    def get_pty(self) -> None:
        pass

    def invoke_shell(self) -> None:
        pass

    def settimeout(self, timeout: float) -> None:
        self.timeout = timeout

    def sendall(self, data: bytes) -> None:
        command = data.decode().strip()
        self.sent.append(command)
        self.sent_at.append(time.monotonic())
        if self.script.get(command):
            self.pending.extend(self.script[command].pop(0))

    def recv(self, size: int) -> bytes:
        if not self.pending:
            time.sleep(min(self.timeout, 0.01))
            raise TimeoutError()
        return self.pending.pop(0).encode()


def test_the_greeting_wait_ends_at_login_successful():
    # `*r Login successful` is the first line after login (PepperDash ZoomRoom.cs, zoom-rooms-control-system,
    # PlaceOS zr_csapi.cr): the client goes on at once instead of waiting for a ZAAPI banner that never comes.
    shell = ScriptedShell({"zStatus SystemUnit": [[json_reply("SystemUnit", SYSTEM_UNIT)]],
                           "zStatus Call Status": [[json_reply("Call", {"Status": "NOT_IN_MEETING"})]]})
    started = time.monotonic()
    csapi._converse(shell, 5.0)
    assert shell.sent[0] == "echo off" and shell.sent_at[0] - started < 0.5
    assert all(map(csapi._greeted, ["*r Login successful\r\n", "Welcome to ZAAPI\r\n", "*s Login x: y\r\n** end"]))


ASKED_AGAIN = ["echo off", "format json", "zStatus SystemUnit", "zStatus SystemUnit", "zStatus Call Status"]


@pytest.mark.parametrize("reconnecting", [["*e Pipe Reconnecting\r\n", "** end\r\n"], [json_event("Reconnecting")]],
                         ids=["CLI text", "JSON zEvent"])
def test_pipe_reconnecting_ends_the_wait_and_the_question_is_asked_again(reconnecting):
    # zEvents page: on `*e Pipe Reconnecting` the command was not run and must be issued again.
    shell = ScriptedShell({"zStatus SystemUnit": [reconnecting, [json_reply("SystemUnit", SYSTEM_UNIT)]],
                           "zStatus Call Status": [[json_reply("Call", {"Status": "NOT_IN_MEETING"})]]})
    started = time.monotonic()
    summary = csapi.summarize(csapi.parse_messages(csapi._converse(shell, 5.0)))
    assert time.monotonic() - started < 2.0  # not the 5 s a question may take
    assert (summary["state"], summary["room_name"], summary["call_status"]) == (
        "answered", "Boardroom 4.01", "NOT_IN_MEETING")
    assert shell.sent == ASKED_AGAIN


def test_a_pipe_that_keeps_reconnecting_is_asked_once_more_only():
    again = ["*e Pipe Reconnecting\r\n** end\r\n"]
    shell = ScriptedShell({"zStatus SystemUnit": [again, again, again]})
    started = time.monotonic()
    summary = csapi.summarize(csapi.parse_messages(csapi._converse(shell, 5.0)))
    assert time.monotonic() - started < 2.0
    assert shell.sent == ["echo off", "format json", "zStatus SystemUnit", "zStatus SystemUnit"]
    assert summary["state"] == "no_answer" and "reconnecting" in summary["message"]


def test_a_zconfiguration_push_does_not_answer_the_call_question():
    push = json_reply("Call", {"Microphone": {"Mute": False}}, kind="zConfiguration")
    shell = ScriptedShell({"zStatus SystemUnit": [[json_reply("SystemUnit", SYSTEM_UNIT)]],
                           "zStatus Call Status": [[push, json_reply("Call", {"Status": "IN_MEETING"})]]})
    summary = csapi.summarize(csapi.parse_messages(csapi._converse(shell, 5.0)))
    assert summary["call_status"] == "IN_MEETING"


def test_read_turns_an_unexpected_failure_into_the_error_state(monkeypatch):
    def broken(target, seen):
        raise KeyError(f"event {PASSCODE}")
    monkeypatch.setattr(csapi, "_session", broken)
    result = csapi.read(csapi.Target("10.0.0.3", PASSCODE, fingerprint="SHA256:x"))
    assert result["state"] == "error"
    assert result["message"].startswith("reading ZR-CSAPI failed unexpectedly: KeyError")
    assert PASSCODE not in repr(result)


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


def test_a_room_offering_no_host_key_algorithm_we_accept_is_host_key_unsupported(tmp_path):
    # Rooms before Zoom Rooms 5.17.0 offer only ssh-rsa / ssh-dss, which paramiko no longer offers at all; an
    # ECDSA-only server stands in for them here: paramiko's "Incompatible ssh peer (no acceptable host key)".
    old_room = sim.CsapiServer(paramiko.ECDSAKey.generate(), PASSCODE, lambda: dict(ROOM))
    port = old_room.start("127.0.0.1", 0)
    try:
        result = csapi.read(csapi.Target("127.0.0.1", PASSCODE, port=port, timeout=5.0,
                                         known_hosts=str(tmp_path / "none")))
    finally:
        old_room.close()
    assert result["state"] == "host_key_unsupported", result
    assert "no host key algorithm the toolkit accepts (rsa-sha2-512, rsa-sha2-256)" in result["message"]
    assert "older than 5.17.0" in result["message"]
    assert old_room.logins == []  # no passcode sent
    assert "host_key_unsupported" in csapi.SPOKE  # an SSH server did answer


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
    # The real first line after login is `*r Login successful` (PepperDash Essentials ZoomRoom.cs ProcessMessage
    # `case "*r login successful"`; zoom-rooms-control-system `line === '*r Login successful'`), not the
    # Login status block this double used to make up; that status is still there for `zStatus Login`.
    assert session.greeting() == "*r Login successful\r\n"
    assert "*s Login ZAAPI Release: 1.1\r\n" in session.handle("zStatus Login")
    cli = session.handle("zStatus SystemUnit")
    # zCommands page example: the command, `OK`, then the reply.
    assert cli.startswith("zStatus SystemUnit\r\nOK\r\n*s SystemUnit ")
    assert "*s SystemUnit room_info room_name: zr-room-07\r\n" in cli and cli.endswith("** end\r\n")
    assert session.handle("echo off") == "echo off\r\nOK\r\n"
    assert session.handle("format json") == "OK\r\n"
    reply = session.handle("zStatus Call Status")
    assert reply.startswith("OK\r\n{\r\n") and reply.endswith("}\r\n")
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
