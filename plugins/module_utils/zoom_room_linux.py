"""Linux rooms: parsers for what the facts module reads, and the /etc/environment proxy backend.

Parsers are pure (text in, plain data out). The readers take a `run` callable
(argv, data=None) -> (rc, stdout, stderr) and a `read_file` callable (path) -> str | None,
so a module passes its own and tests pass recordings.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import os
import re
import socket
import struct
from typing import Any, Callable

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_backup import save_backup
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue, Network
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_proxy_policy import (
    coverage,
    desired_proxy,
    redact_proxy,
    required_bypass,
    validate_policy,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_version import read_version

Runner = Callable[..., tuple[int, str, str]]
FileReader = Callable[[str], "str | None"]

TCP_LISTEN = "0A"
PROXY_KEYS = {"http": ("http_proxy", "HTTP_PROXY"), "https": ("https_proxy", "HTTPS_PROXY")}
BYPASS_KEYS = ("no_proxy", "NO_PROXY")
# The only keys of /etc/environment we own: edits, backups' checks and rollbacks touch no other line.
MANAGED_KEYS = (*PROXY_KEYS["http"], *PROXY_KEYS["https"], *BYPASS_KEYS)
# In the backup directory: the key of the digests a backup reference carries (never leaves the room).
DIGEST_KEY_FILE = ".zoom-rooms-digest.key"


class RollbackConflict(ValueError):
    """Our keys changed after we wrote them: a rollback would overwrite someone else's edit."""


# ---------------------------------------------------------------- parsers

def parse_os_release(text: str) -> dict[str, str]:
    values = dict(_key_values(text))
    return {"name": values.get("PRETTY_NAME", values.get("NAME", "Linux")), "version": values.get("VERSION_ID", "")}


def _hex_address(text: str) -> str:
    """/proc/net/tcp address: little-endian 32-bit words, in hex."""
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = struct.unpack("<4I", raw)
    return socket.inet_ntop(socket.AF_INET6, struct.pack(">4I", *words))


def parse_proc_net_tcp(text: str, port: int) -> list[dict[str, Any]]:
    """Listening sockets on `port` from /proc/net/tcp or tcp6: address and socket inode."""
    listeners = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != TCP_LISTEN:
            continue
        address, port_hex = fields[1].split(":")
        if int(port_hex, 16) == port:
            listeners.append({"address": _hex_address(address), "inode": fields[9]})
    return listeners


def parse_dpkg_status(text: str) -> dict[str, Any]:
    """`dpkg-query -W -f '${Status}\\t${Version}'`: installed only when dpkg says `install ok installed`."""
    status, _unused, version = text.partition("\t")
    installed = status.strip().endswith(" installed") and status.strip().startswith("install")
    return {"installed": installed, "raw_version": version.strip() if installed else None}


def _key_values(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        parsed = parse_environment_line(line)
        if parsed:
            pairs.append(parsed)
    return pairs


def parse_environment_line(line: str) -> tuple[str, str] | None:
    """`KEY=value`, `KEY="value"`, `export KEY='value'`; comments and blanks give None."""
    match = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*?)\s*$", line)
    if not match:
        return None
    value = match.group(2)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return match.group(1), value


# ---------------------------------------------------------------- /etc/environment proxy

def proxy_from_environment(text: str) -> dict[str, Any]:
    """The proxy setting /etc/environment gives programs (the lowercase name wins, as curl does)."""
    values = dict(_key_values(text))
    servers = {}
    for scheme, keys in PROXY_KEYS.items():
        value = next((values[k] for k in keys if values.get(k)), None)
        if value:
            servers[scheme] = value
    bypass_text = next((values[k] for k in BYPASS_KEYS if k in values), "")
    bypass = [entry.strip() for entry in bypass_text.split(",") if entry.strip()]
    return {"mode": "manual" if servers else "none", "servers": servers, "pac_url": None, "bypass": bypass}


def render_environment(text: str, proxy: dict[str, Any]) -> str:
    """`text` with the proxy variables set to `proxy`; every other line kept byte for byte.

    Both spellings of each variable are written, since programs read one or the other.
    Existing lines are edited in place; missing ones are appended.
    """
    wanted: dict[str, str | None] = {}
    for scheme, keys in PROXY_KEYS.items():
        for key in keys:
            wanted[key] = proxy["servers"].get(scheme) if proxy["mode"] == "manual" else None
    bypass = ",".join(proxy.get("bypass", []))
    for key in BYPASS_KEYS:
        wanted[key] = bypass or None
    lines = text.splitlines(keepends=True)
    result, seen = [], set()
    for line in lines:
        parsed = parse_environment_line(line)
        if not parsed or parsed[0] not in wanted:
            result.append(line)
            continue
        key = parsed[0]
        if key in seen or wanted[key] is None:
            seen.add(key)
            continue  # a duplicate or a variable to remove
        seen.add(key)
        if parsed[1] == wanted[key]:
            result.append(line)
        else:
            ending = "\n" if line.endswith("\n") else ""
            result.append(f'{key}="{wanted[key]}"{ending}')
    if result and not result[-1].endswith("\n") and any(k not in seen and v for k, v in wanted.items()):
        result[-1] += "\n"
    result.extend(f'{key}="{value}"\n' for key, value in wanted.items() if key not in seen and value)
    return "".join(result)


def managed_key(line: str) -> str | None:
    parsed = parse_environment_line(line)
    return parsed[0] if parsed and parsed[0] in MANAGED_KEYS else None


def proxy_lines(text: str) -> dict[str, list[str]]:
    """Each proxy key's lines (without their line ending), in file order."""
    lines: dict[str, list[str]] = {}
    for line in text.splitlines():
        key = managed_key(line)
        if key:
            lines.setdefault(key, []).append(line)
    return lines


def proxy_line_digests(text: str, key: bytes) -> dict[str, str]:
    """Per proxy key, an HMAC of its lines: compares them across runs without carrying their bytes."""
    return {name: hmac.new(key, "\n".join(lines).encode(), hashlib.sha256).hexdigest()
            for name, lines in proxy_lines(text).items()}


def digest_key(backup_dir: str) -> bytes:
    """The room's random digest key (0600 in the backup directory), made on first use."""
    path = os.path.join(backup_dir, DIGEST_KEY_FILE)
    os.makedirs(backup_dir, mode=0o700, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path, "rb") as handle:
            return handle.read()
    key = os.urandom(32)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def undo_edit(before: str, now: str) -> str:
    """`now` with its proxy lines replaced by `before`'s, each back after the other line it followed.

    Other lines are taken from `now`, so a line someone added during the run survives. Where a proxy
    line went is found by matching `before`'s other lines in `now` (difflib); a line someone removed
    moves its followers to the previous line still there.
    """
    before_lines = before.splitlines(keepends=True)
    others_before = [line for line in before_lines if not managed_key(line)]
    others_now = [line for line in now.splitlines(keepends=True) if not managed_key(line)]
    followers: list[list[str]] = [[] for _unused in range(len(others_before) + 1)]  # [k]: after k other lines
    count = 0
    for line in before_lines:
        if managed_key(line):
            followers[count].append(line)
        else:
            count += 1
    found = _line_positions(others_before, others_now)
    slots: list[list[str]] = [[] for _unused in range(len(others_now) + 1)]  # [j]: after now's j other lines
    slot = 0
    for index, lines in enumerate(followers):
        if index and found.get(index - 1) is not None:
            slot = found[index - 1] + 1
        slots[slot] += lines
    result = list(slots[0])
    for position, line in enumerate(others_now):
        result += [line, *slots[position + 1]]
    return _joined(result, before_lines[-1] if before_lines else None)


def _line_positions(old: list[str], new: list[str]) -> dict[int, int]:
    """old index -> new index for the lines difflib matches (line endings ignored)."""
    matcher = difflib.SequenceMatcher(None, [line.rstrip("\n") for line in old],
                                      [line.rstrip("\n") for line in new], autojunk=False)
    return {block.a + offset: block.b + offset for block in matcher.get_matching_blocks()
            for offset in range(block.size)}


def _joined(lines: list[str], last_before: str | None) -> str:
    """Lines as text: each but the last ends in a newline; a last line that was last before keeps its ending."""
    lines = [line if line.endswith("\n") else line + "\n" for line in lines[:-1]] + lines[-1:]
    if lines and last_before is not None and lines[-1].rstrip("\n") == last_before.rstrip("\n"):
        lines[-1] = last_before
    return "".join(lines)


class EnvironmentFileProxy:
    """The proxy of a Linux room: /etc/environment, read by pam_env for every login session."""

    name = "environment_file"

    def __init__(self, read_file: FileReader, write_file: Callable[[str, str], None],
                 path: str = "/etc/environment"):
        self.read_file = read_file
        self.write_file = write_file
        self.path = path

    def read(self) -> dict[str, Any]:
        text = self.read_file(self.path)
        return {"path": self.path, "content": text, "proxy": proxy_from_environment(text or "")}

    def desired(self, before: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """Pure. params: policy, server, bypass, pac_url, controller_subnets (ipaddress networks)."""
        validate_policy(params["policy"], params.get("server"), params.get("pac_url"))
        proxy = desired_proxy(before["proxy"], params["policy"], required_bypass("posix", params["controller_subnets"]),
                              server=params.get("server"), extra_bypass=params.get("bypass") or [],
                              pac_url=params.get("pac_url"))
        return self.with_proxy(before, proxy)

    def with_proxy(self, before: dict[str, Any], proxy: dict[str, Any]) -> dict[str, Any]:
        if proxy["mode"] == "pac":
            raise InvalidValue(f"policy: 'pac' cannot be expressed in {self.path} (no PAC variable exists "
                               "for Linux programs); use manual or direct")
        if proxy == before["proxy"]:
            return before
        content = render_environment(before["content"] or "", proxy)
        return {**before, "content": content, "proxy": proxy_from_environment(content)}

    def backup_reference(self, before: dict[str, Any], after: dict[str, Any] | None, backup_dir: str | None,
                         keep: int = 5) -> dict[str, Any]:
        """What a module returns as `backup`; the file may hold proxy credentials, so its bytes stay on the room.

        When a change is applied (`after` given): a 0600 copy of the file in `backup_dir` (its last `keep`
        copies are kept) and keyed digests of the proxy lines we write, so a rollback can tell whether they
        are still ours. The key lives in `backup_dir`, so nothing derived from the file can be tested against
        guessed passwords off the room.
        """
        reference = {"path": self.path, "backup_dir": backup_dir, "copy": None, "ours": None,
                     "proxy": redact_proxy(before["proxy"])}
        if after is None or not backup_dir:
            return reference
        copy = save_backup(self.path, backup_dir, keep) if before["content"] is not None else ""
        key = digest_key(backup_dir)
        return {**reference, "copy": copy or None, "ours": proxy_line_digests(after["content"] or "", key)}

    def state_from_backup(self, reference: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        """The file with our edit undone: proxy lines as before the run, every other line as it is now.

        Only while the proxy lines are still what we wrote; otherwise RollbackConflict, nothing changes.
        """
        if reference.get("path") != self.path or reference.get("ours") is None or not reference.get("backup_dir"):
            raise ValueError(f"restore: this backup holds no change of {self.path} to undo")
        before = self.read_file(reference["copy"]) if reference.get("copy") else ""
        if before is None:
            raise ValueError(f"restore: the saved copy {reference['copy']} is missing")
        now = current["content"] or ""
        digests = proxy_line_digests(now, digest_key(reference["backup_dir"]))
        if proxy_lines(now) == proxy_lines(before):
            content = now  # already as before (a rollback run twice)
        elif digests == reference["ours"]:
            content = undo_edit(before, now)
        else:
            changed = sorted(key for key in MANAGED_KEYS if digests.get(key) != reference["ours"].get(key))
            saved = reference.get("copy") or "none, the file did not exist"
            raise RollbackConflict(
                f"rollback conflict: {', '.join(changed)} in {self.path} changed after this run wrote them; "
                f"the file is left as it is now (its copy from before the run: {saved}); compare the two and "
                "set the proxy lines by hand")
        return {"path": self.path, "content": content, "proxy": proxy_from_environment(content)}

    def apply(self, after: dict[str, Any]) -> None:
        current = self.read_file(self.path)
        if current != after["content"] and after["content"] is not None:
            self.write_file(self.path, after["content"])

    def matches(self, now: dict[str, Any], after: dict[str, Any]) -> bool:
        return now["content"] == after["content"]

    def render(self, state: dict[str, Any]) -> str:
        return state["content"] or ""

    def proxy_facts(self, state: dict[str, Any], subnets: list[Network]) -> dict[str, Any]:
        proxy = state["proxy"]
        return {**redact_proxy(proxy), **coverage(proxy, subnets),
                "sources": [{"source": self.path, **redact_proxy(proxy)}]}


# ---------------------------------------------------------------- facts readers

def read_listener(read_file: FileReader, port: int) -> dict[str, Any]:
    listeners = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        listeners += parse_proc_net_tcp(read_file(table) or "", port)
    if not listeners:
        return {"listening": False, "addresses": [], "process": None}
    return {"listening": True, "addresses": sorted({entry["address"] for entry in listeners}),
            "process": process_of_inodes({entry["inode"] for entry in listeners}, read_file)}


def process_of_inodes(inodes: set[str], read_file: FileReader) -> str | None:
    """The command owning a socket inode: walks /proc/<pid>/fd (root sees every process)."""
    targets = {f"socket:[{inode}]" for inode in inodes}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in targets for fd in fds):
                cmdline = (read_file(f"/proc/{pid}/cmdline") or "").split("\0")
                return " ".join(part for part in cmdline if part) or None
        except OSError:
            continue
    return None


def read_app(run: Runner, package: str) -> dict[str, Any]:
    """The room app as the package manager knows it (dpkg first, then rpm)."""
    rc, out, _unused = run(["dpkg-query", "-W", "-f", "${Status}\t${Version}", package])
    if rc == 0:
        status = parse_dpkg_status(out)
        return _app(package, status["raw_version"], "dpkg") if status["installed"] else _app(package, None, None)
    rc, out, _unused = run(["rpm", "-q", "--qf", "%{VERSION}", package])
    if rc == 0 and out.strip():
        return _app(package, out.strip(), "rpm")
    return _app(package, None, None)


def _app(package: str, raw_version: str | None, source: str | None) -> dict[str, Any]:
    return {"installed": raw_version is not None, "name": package, **read_version(raw_version, source)}
