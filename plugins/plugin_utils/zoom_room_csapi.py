"""ZR-CSAPI client: the room app's own view of itself, over SSH on TCP 2244 (paramiko).

ZR-CSAPI (Zoom Rooms Control System API, developers.zoom.us/docs/rooms/cli) is an interactive SSH
CLI on Windows and Mac rooms: one session at a time, no SSH exec, CLI-style or JSON replies, host keys
rsa-sha2-512 / rsa-sha2-256 only from Zoom Rooms 5.17.0. While a session is open the room's touch
controller cannot connect, so `read()` opens one session, asks a few read-only questions and closes
it at once.

What we send: `echo off`, `format json`, `zStatus SystemUnit` (room name, app version, platform) and
`zStatus Call Status`, then `bye`. What we rely on beyond the developer pages comes from public
clients (the ssh2 client zoom-rooms-control-system, PlaceOS's Zoom::ZrCSAPI driver, PepperDash
Essentials' zStatus classes, Node-JF's tag-zoom_rooms): user `zoom` with the passcode as password, the
greeting `*r Login successful`, JSON replies with `{` and `}` at the start of a line and a
`"Status": {"message", "state"}`, zEvents as JSON objects after `format json`, `onUnsupported Command`.
docs/zoom-csapi.md has the sources.

Pure parts (`parse_messages`, `summarize`, `fingerprint`, `host_key_verdict`, `relay_failure`) are
unit-tested on recorded replies; `read()` is the only function that touches the network. The
passcode is only ever handed to paramiko's password authentication, after the host key checked out.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import select
import shlex
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

try:
    import paramiko
except ImportError:  # the action reports it; parsing works without it
    paramiko = None

CSAPI_PORT = 2244
CSAPI_USER = "zoom"
HOST_KEY_TYPES = ("rsa-sha2-512", "rsa-sha2-256")  # all ZR-CSAPI offers from Zoom Rooms 5.17.0
# (command, topKey of its reply, the field under the topKey that the reply must hold; () for any).
QUESTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("zStatus SystemUnit", "SystemUnit", ()), ("zStatus Call Status", "Call", ("Status",)))
# The Pipe zEvents the session acts on (developers.zoom.us/docs/rooms/cli/zEvents).
CONTROLLER_LOGIN, RECONNECTING = "OtherControllerLogin", "Reconnecting"

# Outcome states. Only `answered` means the app spoke; the rest say why not.
ANSWERED = "answered"  # logged in, SystemUnit read
BUSY = "busy"  # logged in, but the one session is held (by a room's control system, say)
DISPLACED = "displaced"  # a touch controller took the room over mid-session (zEvent Pipe OtherControllerLogin)
NO_ANSWER = "no_answer"  # logged in, the shell opened, but SystemUnit never came
DOWN = "down"  # nothing accepts TCP 2244: ZR-CSAPI not running or not enabled
TIMEOUT = "timeout"  # no answer in time (dropped packets, or a dead service)
UNREACHABLE = "unreachable"  # no route to the address
AUTH_FAILED = "auth_failed"  # ZR-CSAPI refused the passcode
HOST_KEY_UNKNOWN = "host_key_unknown"  # refused before login: no known_hosts entry or pinned fingerprint
HOST_KEY_MISMATCH = "host_key_mismatch"  # refused before login: the key differs from the one we trust
# An SSH server answered, but offers no host key algorithm we accept (rsa-sha2-512/256): a room app older
# than Zoom Rooms 5.17.0 offers only ssh-rsa / ssh-dss.
HOST_KEY_UNSUPPORTED = "host_key_unsupported"
NOT_SSH = "not_ssh"  # something answered on 2244, but not an SSH server we could talk to
ERROR = "error"

STATES = (ANSWERED, BUSY, DISPLACED, NO_ANSWER, DOWN, TIMEOUT, UNREACHABLE, AUTH_FAILED, HOST_KEY_UNKNOWN,
          HOST_KEY_MISMATCH, HOST_KEY_UNSUPPORTED, NOT_SSH, ERROR)
# States in which the interface itself answered on 2244 (an SSH server spoke).
SPOKE = (ANSWERED, BUSY, DISPLACED, NO_ANSWER, AUTH_FAILED, HOST_KEY_UNKNOWN, HOST_KEY_MISMATCH,
         HOST_KEY_UNSUPPORTED)

_EVENT = re.compile(r"^\*e\s+(?P<top>\S+)\s*(?P<rest>.*)$")
_CLI = re.compile(r"^\*(?P<marker>[scr])\s+(?P<top>\S+)\s+(?P<path>.*?):\s?(?P<value>.*)$")
_CLI_KINDS = {"s": "zStatus", "c": "zConfiguration", "r": "zCommand"}
# The header of a CLI reply, `*r DialStartResult (status=OK):` (developers.zoom.us/docs/rooms/cli/zCommands):
# the reply's status, not a data key.
_CLI_STATUS = re.compile(r"\(status=(?P<state>[^)]*)\)$")


class CsapiError(Exception):
    """A session that ended before the app answered: `state` is one of STATES."""

    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state, self.message = state, message


@dataclass
class Target:
    """Where and how to reach one room's ZR-CSAPI. `passcode` never appears in repr or results."""

    address: str
    passcode: str = field(repr=False)
    port: int = CSAPI_PORT
    username: str = CSAPI_USER
    known_hosts: str | None = None
    fingerprint: str | None = None  # a pinned SHA256:... host key fingerprint, instead of known_hosts
    timeout: float = 10.0
    proxy_command: list[str] | None = None  # reach the controller segment through a relay (ssh -W)


# ---------------------------------------------------------------- parsing (pure)

def parse_messages(text: str) -> list[dict[str, Any]]:
    """Every reply in a transcript, in order: JSON objects, CLI `*s/*c/*r` blocks, `*e` events.

    A JSON reply spans the lines from one starting with `{` to one starting with `}`; a CLI block
    runs to `** end`, and its `(status=...)` header becomes the block's "Status" as in JSON. Echoed
    commands, `OK` and other lines are skipped.
    """
    messages: list[dict[str, Any]] = []
    json_lines: list[str] | None = None
    block: dict[str, Any] | None = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if json_lines is not None:
            json_lines.append(line)
            if line.startswith("}"):
                messages.extend(_json_message("\n".join(json_lines)))
                json_lines = None
            continue
        if line.startswith("{"):
            json_lines = [line]
            if line.rstrip().endswith("}"):  # a one-line object
                messages.extend(_json_message(line))
                json_lines = None
            continue
        if line.startswith("** end"):
            if block is not None:
                messages.append(block)
            block = None
            continue
        event = _EVENT.match(line)
        if event:
            messages.append({"type": "zEvent", "topKey": event["top"], "event": event["rest"].strip()})
            continue
        cli = _CLI.match(line)
        if cli:
            kind = _CLI_KINDS[cli["marker"]]
            status = _CLI_STATUS.search(cli["path"].strip())
            if status or block is None or block["topKey"] != cli["top"] or block["type"] != kind:
                if block is not None:  # a status header always starts a reply of its own
                    messages.append(block)
                block = {"type": kind, "topKey": cli["top"], cli["top"]: {}}
            if status:
                block["Status"] = {"state": status["state"].strip(), "message": cli["value"].strip()}
            else:
                block[cli["top"]][cli["path"].strip()] = cli["value"].strip()
            continue
        if line.strip() == "onUnsupported Command":
            messages.append({"type": "zStatus", "topKey": "onUnsupported Command"})
    if block is not None:
        messages.append(block)
    return messages


def _json_message(text: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [value] if isinstance(value, dict) and value.get("topKey") else []


def _field(data: Any, *path: str) -> Any:
    """A nested JSON field, or the same field of a CLI block (keys joined by spaces)."""
    if not isinstance(data, dict):
        return None
    if " ".join(path) in data:
        return data[" ".join(path)]
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _last(messages: list[dict[str, Any]], top_key: str) -> dict[str, Any] | None:
    found = [m.get(top_key) for m in messages if m.get("topKey") == top_key and m.get("type") != "zEvent"]
    return found[-1] if found else None


def reply_status(message: dict[str, Any]) -> tuple[str, str]:
    """(state, Zoom's message) of a reply: JSON `"Status": {"message": "", "state": "OK"}`, or the CLI
    `(status=...)` header. A reply without one (CLI `*s` lines) counts as OK."""
    status = message.get("Status")
    if not isinstance(status, dict) or status.get("state") is None:
        return "OK", ""
    return str(status["state"]).strip(), str(status.get("message") or "").strip()


def _ok(message: dict[str, Any]) -> bool:
    # Node-JF's tag-zoom_rooms treats any Status.state but "OK" as an error.
    return reply_status(message)[0].upper() == "OK"


def status_reply(messages: list[dict[str, Any]], top_key: str,
                 path: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The last zStatus reply for `top_key` that holds `path` under it, or says it failed (Status not OK).

    zConfiguration replies and pushes share the topKey (`{"Call": {"Microphone": {"Mute": false}},
    "type": "zConfiguration"}`) and zEvents may too: neither is the status asked for."""
    found = [m for m in messages if m.get("type") == "zStatus" and m.get("topKey") == top_key
             and (not path or _field(m.get(top_key), *path) is not None or not _ok(m))]
    return found[-1] if found else None


def pipe_events(messages: list[dict[str, Any]]) -> list[str]:
    """The Pipe zEvents, in order, by name ('' for one we do not know).

    CLI text gives `*e Pipe <name>`; after `format json` a zEvent is a JSON object with "type": "zEvent"
    (PepperDash Essentials ZoomRoom.cs, PlaceOS zr_csapi.cr, Node-JF tag-zoom_rooms) whose body's shape
    for Pipe is not documented, so a known name is looked for anywhere in it."""
    return [_event_name({k: v for k, v in m.items() if k not in ("type", "topKey")})
            for m in messages if m.get("type") == "zEvent" and m.get("topKey") == "Pipe"]


def _event_name(body: Any) -> str:
    """CONTROLLER_LOGIN or RECONNECTING when the event body names it (as a key, or a word of a value)."""
    if isinstance(body, dict):
        for key, value in body.items():
            name = key if key in (CONTROLLER_LOGIN, RECONNECTING) else _event_name(value)
            if name:
                return name
    elif isinstance(body, list):
        return next((name for name in map(_event_name, body) if name), "")
    elif isinstance(body, str):
        return next((word for word in body.split() if word in (CONTROLLER_LOGIN, RECONNECTING)), "")
    return ""


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def _data(reply: dict[str, Any] | None, top_key: str) -> Any:
    """A reply's data, only when its status is OK: an error reply carries none."""
    return reply.get(top_key) if reply is not None and _ok(reply) else None


def _failed(reply: dict[str, Any], question: str) -> str:
    state, said = reply_status(reply)
    return f"ZR-CSAPI answered {question} with status {state}" + (f": {said}" if said else "")


def summarize(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """What the app said about itself: state, room name, version, platform, call status.

    The account e-mail and meeting number in SystemUnit are left out: not needed to diagnose.
    """
    system_reply, call_reply = status_reply(messages, "SystemUnit"), status_reply(messages, "Call", ("Status",))
    system_unit, call = _data(system_reply, "SystemUnit"), _data(call_reply, "Call")
    login = _last(messages, "Login")
    events = pipe_events(messages)
    version = _text(_field(system_unit, "room_version")) or _text(_field(login, "Zoom Room Release"))
    summary = {
        "room_name": _text(_field(system_unit, "room_info", "room_name")),
        "app_version": version,
        "platform": _text(_field(system_unit, "platform")),
        "call_status": _text(_field(call, "Status")),
        "zaapi_release": _text(_field(login, "ZAAPI Release")),
        "unsupported": sum(1 for m in messages if m.get("topKey") == "onUnsupported Command"),
    }
    if CONTROLLER_LOGIN in events:
        state, message = DISPLACED, "a touch controller logged in and took the room over from ZR-CSAPI"
    elif system_unit is not None:
        state, message = ANSWERED, "ZR-CSAPI answered"
        if call_reply is not None and call is None:  # the room answered; only its call status is missing
            message += "; " + _failed(call_reply, "zStatus Call Status")
    elif system_reply is not None:
        state, message = ERROR, _failed(system_reply, "zStatus SystemUnit")
    else:
        state, message = NO_ANSWER, "logged in to ZR-CSAPI, but it did not answer zStatus SystemUnit"
        if RECONNECTING in events:
            message += " (the pipe was reconnecting: zEvent Pipe Reconnecting)"
    return {"state": state, "message": message, **summary}


# ---------------------------------------------------------------- host keys (pure)

def fingerprint(key_blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob: `SHA256:<base64, no padding>`."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key_blob).digest()).decode().rstrip("=")


def known_hosts_name(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


def host_key_verdict(presented: tuple[str, bytes], trusted: list[tuple[str, bytes]],
                     pinned: str | None) -> tuple[bool, str, str]:
    """(accept, state, message) for a presented (type, blob) against known_hosts entries or a pin."""
    seen = fingerprint(presented[1])
    if pinned:
        wanted = pinned if pinned.startswith("SHA256:") else "SHA256:" + pinned
        if wanted.rstrip("=") == seen:
            return True, ANSWERED, seen
        return False, HOST_KEY_MISMATCH, f"host key {seen} is not the pinned fingerprint {wanted}"
    if not trusted:
        return False, HOST_KEY_UNKNOWN, f"host key {seen} is not in known_hosts: refused before login"
    if any(blob == presented[1] for _unused, blob in trusted):
        return True, ANSWERED, seen
    return False, HOST_KEY_MISMATCH, (f"host key {seen} differs from the one in known_hosts "
                                      "(the room was reinstalled, or this is not the room): refused before login")


def relay_failure(stderr: str) -> tuple[str, str]:
    """State and message for a relay (ssh -W) that could not reach the room; OpenSSH's wording."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    rules = (("Connection refused", DOWN), ("No route to host", UNREACHABLE), ("Network is unreachable", UNREACHABLE),
             ("timed out", TIMEOUT))
    for needle, state in rules:
        for line in lines:
            if needle in line:
                return state, f"relay: {line}"
    return ERROR, f"relay: {lines[-1] if lines else 'the relay closed the connection'}"


# ---------------------------------------------------------------- options (pure)

PASSCODE_ENV = "ZOOM_ROOM_CSAPI_PASSCODE"


def relay_command(address: str, port: int, relay: dict[str, Any]) -> list[str]:
    """`ssh -W <address>:<port> <relay>`: a TCP path to the room's 2244 from the relay host (the probe on
    the controller segment), with the relay's own SSH settings. The ZR-CSAPI session itself stays
    end to end between paramiko and the room: the relay only carries bytes."""
    command = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={int(relay.get('timeout') or 10)}"]
    for option, key in (("-p", "port"), ("-l", "user"), ("-i", "private_key_file")):
        if relay.get(key):
            command += [option, str(relay[key])]
    command += shlex.split(relay.get("ssh_args") or "")
    target = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    return [*command, "-W", target, str(relay["host"])]


# The connection variables of a relay host that `ssh -W` needs.
RELAY_VARS = ("ansible_host", "ansible_user", "ansible_port", "ansible_ssh_private_key_file",
              "ansible_private_key_file", "ansible_ssh_common_args", "ansible_ssh_extra_args")
# The zoom_room_csapi task options (and the diagnose action's `csapi` option), with their defaults.
TASK_OPTIONS: dict[str, dict[str, Any]] = {
    "address": {"type": "str", "required": True},
    "port": {"type": "int", "default": CSAPI_PORT},
    "username": {"type": "str", "default": CSAPI_USER},
    "passcode": {"type": "str", "no_log": True},
    "known_hosts": {"type": "path", "default": "~/.ssh/known_hosts"},
    "host_key_fingerprint": {"type": "str"},
    "timeout": {"type": "float", "default": 10.0},
    "via": {"type": "str"},
    "expected_room_name": {"type": "str"},
}


def relay_vars_of(hostvars: Any, name: str, template: Callable[[Any], Any]) -> dict[str, Any]:
    """The relay host's connection variables, templated (only these: templating all of a host's
    variables costs a fleet dearly)."""
    if name not in hostvars:
        raise ValueError(f"zoom_room_csapi via: '{name}' is not a host of the inventory")
    host_vars = hostvars[name]
    return {key: template(host_vars[key]) for key in RELAY_VARS if key in host_vars}


def task_target(args: dict[str, Any], relay_vars: dict[str, Any] | None, environ: dict[str, str]) -> Target:
    """The Target of a zoom_room_csapi task's options; a pinned fingerprint replaces known_hosts."""
    fingerprint = args.get("host_key_fingerprint")
    known_hosts = args.get("known_hosts") or TASK_OPTIONS["known_hosts"]["default"]
    options = {"address": args.get("address"), "port": args.get("port"), "username": args.get("username"),
               "passcode": args.get("passcode"), "fingerprint": fingerprint,
               "known_hosts": None if fingerprint else os.path.expanduser(known_hosts),
               "timeout": args.get("timeout"),
               "relay": relay_from_hostvars(args["via"], relay_vars or {}) if args.get("via") else None}
    return target_from(options, environ)


def relay_from_hostvars(name: str, host_vars: dict[str, Any]) -> dict[str, Any]:
    """The relay settings of an inventory host (the probe), from its Ansible connection variables."""
    ssh_args = " ".join(str(host_vars[key]) for key in ("ansible_ssh_common_args", "ansible_ssh_extra_args")
                        if host_vars.get(key))
    return {"host": host_vars.get("ansible_host") or name, "user": host_vars.get("ansible_user"),
            "port": host_vars.get("ansible_port"), "ssh_args": ssh_args,
            "private_key_file": host_vars.get("ansible_ssh_private_key_file")
            or host_vars.get("ansible_private_key_file")}


def room_evidence(result: dict[str, Any], expected_room_name: str | None) -> dict[str, Any]:
    """The read as evidence: with the name the inventory expects and whether the room agrees
    (None when the app did not say, or nothing was expected). Names compare without case."""
    said = result.get("room_name")
    matches = None if not said or not expected_room_name else said.casefold() == expected_room_name.casefold()
    return {**result, "expected_room_name": expected_room_name or None, "room_matches": matches}


def target_from(options: dict[str, Any], environ: dict[str, str]) -> Target:
    """A Target from the module's options; the passcode from the options or ZOOM_ROOM_CSAPI_PASSCODE.

    Raises ValueError naming the option when something needed is missing (the action adds the host).
    """
    passcode = options.get("passcode") or environ.get(PASSCODE_ENV) or ""
    if not passcode:
        raise ValueError(f"zoom_room_csapi_passcode is not set (nor {PASSCODE_ENV}): "
                         "ZR-CSAPI needs the room's passcode")
    if not options.get("address"):
        raise ValueError("zoom_room_address is empty: no address to reach ZR-CSAPI on")
    port = int(options.get("port") or CSAPI_PORT)
    if not 0 < port < 65536:
        raise ValueError(f"zoom_room_csapi_port: {port} is not a TCP port")
    if not options.get("fingerprint") and not options.get("known_hosts"):
        raise ValueError("neither zoom_room_csapi_known_hosts nor zoom_room_csapi_host_key_fingerprint is set: "
                         "the host key could not be verified")
    relay = options.get("relay")
    return Target(address=str(options["address"]), passcode=passcode, port=port,
                  username=options.get("username") or CSAPI_USER, known_hosts=options.get("known_hosts"),
                  fingerprint=options.get("fingerprint"), timeout=float(options.get("timeout") or 10),
                  proxy_command=relay_command(str(options["address"]), port, relay) if relay else None)


# ---------------------------------------------------------------- the session (I/O)

def read(target: Target) -> dict[str, Any]:
    """One ZR-CSAPI session: the outcome as plain data (never the passcode), never an exception."""
    started = time.monotonic()
    result: dict[str, Any] = {"address": target.address, "port": target.port, "host_key": None}
    try:
        result.update(summarize(parse_messages(_session(target, result))))
    except CsapiError as failure:
        result.update({"state": failure.state, "message": failure.message})
    except Exception as error:  # a surprise (a reply misread, a paramiko fault): this room's error, no traceback
        result.update({"state": ERROR, "message": _unexpected(error, target.passcode)})
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


def _unexpected(error: Exception, passcode: str) -> str:
    """The message of an unexpected failure; the passcode masked should an exception ever carry it."""
    text = f"reading ZR-CSAPI failed unexpectedly: {type(error).__name__}: {error}"
    return text.replace(passcode, "********") if passcode else text


def _session(target: Target, seen: dict[str, Any]) -> str:
    """The session's transcript; `seen["host_key"]` gets the fingerprint the room presented."""
    if paramiko is None:
        raise CsapiError(ERROR, "the paramiko Python library is not installed on the control node")
    logging.getLogger("paramiko").addHandler(logging.NullHandler())  # its warnings are ours to report
    sock, proxy = _open(target)
    transport = paramiko.Transport(sock)
    transport.get_security_options().key_types = HOST_KEY_TYPES
    try:
        try:
            transport.start_client(timeout=target.timeout)
        except (paramiko.SSHException, EOFError, OSError) as error:
            raise _handshake_failure(error, proxy) from None
        if not transport.initial_kex_done:  # start_client returns at its timeout without raising
            raise _handshake_failure(TimeoutError(), proxy)
        key = transport.get_remote_server_key()
        seen["host_key"] = fingerprint(key.asbytes())
        accept, state, detail = host_key_verdict((key.get_name(), key.asbytes()), _trusted(target), target.fingerprint)
        if not accept:
            raise CsapiError(state, detail)
        _login(transport, target)
        try:
            channel = transport.open_session(timeout=target.timeout)
        except paramiko.ChannelException as error:
            raise CsapiError(BUSY, f"ZR-CSAPI refused a session ({error}): another session holds it") from None
        except (paramiko.SSHException, EOFError) as error:
            raise CsapiError(BUSY, f"ZR-CSAPI closed the connection after login ({error}): "
                                   "another session holds it") from None
        try:
            return _converse(channel, target.timeout)
        finally:
            _close(channel)
    finally:
        with contextlib.suppress(OSError):  # the relay had exited already
            transport.close()  # closes the relay too


class Relay:
    """A socket-like pipe through a relay command (`ssh -W`). Unlike paramiko.ProxyCommand, a relay that
    exited reads as end of file at once (paramiko's waits out its whole timeout), and its stderr says why."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, bufsize=0)
        self.timeout: float | None = None
        self._closed = False  # paramiko's Transport looks at it
        self._stderr: str | None = None
        self._lock = threading.Lock()  # paramiko's thread and ours both close it

    def send(self, data: bytes) -> int:
        try:
            return self.process.stdin.write(data) or len(data)
        except (BrokenPipeError, ValueError):
            raise EOFError("the relay closed") from None

    def recv(self, size: int) -> bytes:
        if self._closed:
            return b""
        ready, _unused, _unused = select.select([self.process.stdout], [], [], self.timeout)
        if not ready:
            raise TimeoutError()
        return os.read(self.process.stdout.fileno(), size)  # b"" once the relay exited

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def stderr(self) -> str:
        """What the relay said on stderr (once it exited; '' while it runs)."""
        if self._stderr is None and not self._closed:
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                return ""
            self._stderr = self.process.stderr.read().decode("utf-8", "replace")
        return self._stderr or ""

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            if self.process.poll() is None:
                self.process.terminate()
            self.stderr()
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._closed = True
            for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
                pipe.close()


def _open(target: Target):
    """A socket to the room's 2244, direct or through the relay command."""
    if target.proxy_command:
        relay = Relay(target.proxy_command)
        return relay, relay
    try:
        return socket.create_connection((target.address, target.port), timeout=target.timeout), None
    except ConnectionRefusedError:
        raise CsapiError(DOWN, f"nothing accepts TCP {target.port} on {target.address}: "
                               "ZR-CSAPI is not running or not enabled") from None
    except TimeoutError:
        raise CsapiError(TIMEOUT, f"no answer from {target.address}:{target.port} "
                                  f"within {target.timeout:g}s") from None
    except OSError as error:
        if error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            raise CsapiError(UNREACHABLE, f"no route to {target.address}: {error.strerror}") from None
        raise CsapiError(ERROR, f"{target.address}:{target.port}: {error}") from None


def _handshake_failure(error: Exception, proxy) -> CsapiError:
    if _no_host_key_algorithm(error):  # first: an SSH server spoke, so the relay (if any) did its part
        return CsapiError(HOST_KEY_UNSUPPORTED, (
            f"the SSH server on 2244 offers no host key algorithm the toolkit accepts ({', '.join(HOST_KEY_TYPES)}): "
            "a Zoom Rooms app older than 5.17.0 offers only ssh-rsa / ssh-dss; update the room's app "
            f"(paramiko: {error})"))
    if proxy is not None:
        stderr = proxy.stderr()
        if stderr:
            state, message = relay_failure(stderr)
            return CsapiError(state, message)
    if isinstance(error, (TimeoutError, socket.timeout)):
        return CsapiError(TIMEOUT, "the SSH handshake on 2244 timed out")
    return CsapiError(NOT_SSH, f"no SSH handshake on 2244 ({error})")


def _no_host_key_algorithm(error: Exception) -> bool:
    # paramiko's Transport._negotiate_keys: IncompatiblePeer (an SSHException) "Incompatible ssh peer (no
    # acceptable host key)" when none of the server's host key algorithms is one we offer.
    return "no acceptable host key" in str(error)


def _trusted(target: Target) -> list[tuple[str, bytes]]:
    if target.fingerprint or not target.known_hosts:
        return []
    try:
        keys = paramiko.HostKeys(target.known_hosts)
    except OSError as error:
        raise CsapiError(HOST_KEY_UNKNOWN, f"known_hosts {target.known_hosts}: {error.strerror}") from None
    entries = keys.lookup(known_hosts_name(target.address, target.port)) or {}
    return [(name, key.asbytes()) for name, key in entries.items()]


def _login(transport, target: Target) -> None:
    try:
        transport.auth_password(target.username, target.passcode)
    except paramiko.BadAuthenticationType as error:
        raise CsapiError(AUTH_FAILED, f"ZR-CSAPI does not take a passcode (it allows {error.allowed_types})") from None
    except paramiko.AuthenticationException:
        raise CsapiError(AUTH_FAILED, "ZR-CSAPI refused the passcode") from None
    except (paramiko.SSHException, EOFError) as error:
        raise CsapiError(BUSY, f"ZR-CSAPI closed the connection at login ({error}): another session may hold it") \
            from None


def _converse(channel, timeout: float) -> str:
    """The greeting, then each question until its reply, each with its own `timeout`. A question that
    gets no reply ends the session: the app is not answering, the next question would only wait again."""
    channel.get_pty()
    channel.invoke_shell()
    transcript = _read_until(channel, "", _greeted, time.monotonic() + min(timeout, 2))
    for setup in ("echo off", "format json"):
        channel.sendall((setup + "\r").encode())
    for command, top_key, path in QUESTIONS:
        if _displaced(transcript):
            break
        transcript, answered = _ask(channel, transcript, command, _replied(top_key, path), timeout)
        if not answered:
            break
    return transcript


def _greeted(text: str) -> bool:
    # `*r Login successful` is the first line after login (PepperDash ZoomRoom.cs, PlaceOS zr_csapi.cr,
    # zoom-rooms-control-system); a ZAAPI banner or a closed CLI block are still taken as a greeting.
    return "Login successful" in text or "** end" in text or "ZAAPI" in text


def _ask(channel, transcript: str, command: str, replied: Callable[[list[dict[str, Any]]], bool],
         timeout: float) -> tuple[str, bool]:
    """Send `command`, read until it is settled; (transcript, whether it was answered).

    Only what arrived after the send counts, found by position: after `echo off` the command is not
    echoed. `*e Pipe Reconnecting` means the command was not run and must be issued again (zEvents
    page): it ends the wait at once, and the command is sent once more with a fresh deadline."""
    outcome = None
    for _attempt in range(2):
        start = len(transcript)
        channel.sendall((command + "\r").encode())
        transcript = _read_until(channel, transcript, _settles(start, replied), time.monotonic() + timeout)
        outcome = _outcome(transcript[start:], replied)
        if outcome != RECONNECTING:
            break
    return transcript, outcome == "reply"


def _outcome(text: str, replied: Callable[[list[dict[str, Any]]], bool]) -> str | None:
    """What `text` (all that came after a question) says of it: "reply", CONTROLLER_LOGIN (the room was
    taken over), RECONNECTING (the command was dropped), or None (nothing yet)."""
    messages = parse_messages(text)
    if replied(messages):
        return "reply"
    events = pipe_events(messages)
    return next((event for event in (CONTROLLER_LOGIN, RECONNECTING) if event in events), None)


def _settles(start: int, replied: Callable[[list[dict[str, Any]]], bool]) -> Callable[[str], bool]:
    return lambda text: _outcome(text[start:], replied) is not None


def _replied(top_key: str, path: tuple[str, ...] = ()) -> Callable[[list[dict[str, Any]]], bool]:
    """Whether messages hold the reply to a question: the zStatus of `top_key` holding `path` (or saying
    it failed), or `onUnsupported Command`."""
    def done(messages: list[dict[str, Any]]) -> bool:
        return status_reply(messages, top_key, path) is not None or any(
            m.get("topKey") == "onUnsupported Command" for m in messages)
    return done


def _displaced(text: str) -> bool:
    return CONTROLLER_LOGIN in pipe_events(parse_messages(text))


def _read_until(channel, text: str, done: Callable[[str], bool], deadline: float) -> str:
    while not done(text) and time.monotonic() < deadline and not channel.closed:
        channel.settimeout(max(0.05, min(0.5, deadline - time.monotonic())))
        try:
            data = channel.recv(65536)
        except TimeoutError:
            continue
        if not data:
            break
        text += data.decode("utf-8", "replace")
    return text


def _close(channel) -> None:
    """`bye`, then close: the touch controller may connect again at once."""
    try:
        if not channel.closed:
            channel.sendall(b"bye\r")
        channel.close()
    except (OSError, EOFError):  # ZR-CSAPI hung up on `bye` first
        pass
