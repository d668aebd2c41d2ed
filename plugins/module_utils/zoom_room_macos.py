"""macOS room computer: command-output parsers, the application-firewall and proxy backends, and facts.

Runs on the Mac inside an Ansible module, so it is stdlib only and stays Python 3.9 compatible
(/usr/bin/python3 from the Command Line Tools is 3.9 on macOS 12-15). Layout:

* pure parsers: text in, `Parsed(value, note)` out. Unknown wording gives `value=None` and a note,
  never an exception: output wording differs between macOS releases (see docs/macos.md for sources);
* `read_app`: the Zoom Rooms app version from Info.plist;
* `AppFirewallBackend` / `NetworkSetupProxyBackend`: read -> desired (pure) -> apply, the surface the
  modules share with the Linux backends; `commands()` is the pure plan `apply()` executes;
* `macos_facts`: the whole facts schema (docs/facts.md), errors collected, never raised.
"""

from __future__ import annotations

import ipaddress
import os
import plistlib
import re
import socket
from typing import Any, Callable, Dict, List, NamedTuple, Sequence, Tuple
from urllib.parse import urlsplit

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    Network,
    is_loopback,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_proxy_policy import (
    all_covered,
    coverage,
    desired_proxy,
    empty_proxy,
    redact_proxy,
    required_bypass,
    strongest_mode,
    validate_policy,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_version import normalise_version

SOCKETFILTERFW = "/usr/libexec/ApplicationFirewall/socketfilterfw"
NETWORKSETUP = "/usr/sbin/networksetup"
LSOF = "/usr/sbin/lsof"
IFCONFIG = "/sbin/ifconfig"
SW_VERS = "/usr/bin/sw_vers"
DEFAULT_APP_PATH = "/Applications/ZoomPresence.app"
BUNDLE_ID = "us.zoom.ZoomPresence"

# run(argv) -> (rc, stdout, stderr); the module passes a wrapper of module.run_command.
Runner = Callable[[List[str]], Tuple[int, str, str]]
PlistReader = Callable[[str], Dict[str, Any]]

PER_APP_NOTE = (
    "the macOS application firewall filters per application, not per source address or port: "
    "the verdict is the same for every controller subnet"
)
_MANAGED = "cannot be modified from command line on managed mac"


class Parsed(NamedTuple):
    """A parser's answer: `value` is None when the output was not understood, `note` says why."""

    value: Any
    note: str | None = None


class MacCommandError(RuntimeError):
    """A command failed or refused; the message names the command and its output."""


# ---------------------------------------------------------------------------------------------------------------------
# helpers


def _lines(text: str) -> List[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _excerpt(text: str, limit: int = 120) -> str:
    flat = " | ".join(_lines(text))
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _not_recognised(what: str, text: str) -> Parsed:
    managed = next((line for line in _lines(text) if _MANAGED in line.lower()), None)
    if managed:
        return Parsed(None, f"{what}: refused on a Mac managed by a configuration profile ({managed})")
    if not _lines(text):
        return Parsed(None, f"{what}: no output")
    return Parsed(None, f"{what}: unrecognised output '{_excerpt(text)}'")


def _key_values(text: str) -> Dict[str, str]:
    """`Key: value` lines (networksetup, sw_vers); the value keeps any further colons (URLs, IPv6)."""
    fields: Dict[str, str] = {}
    for line in _lines(text):
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields


def _yes_no(value: str | None) -> bool | None:
    if value is None:
        return None
    return {"yes": True, "1": True, "on": True, "no": False, "0": False, "off": False}.get(value.strip().lower())


# ---------------------------------------------------------------------------------------------------------------------
# socketfilterfw parsers

_STATE_RE = re.compile(r"\(\s*state\s*=\s*(\d+)\s*\)", re.IGNORECASE)
_BLOCK_ALL_OFF = ("block all disabled", "block all state set to disabled")
_BLOCK_ALL_ON = (
    "block all enabled",
    "block all state set to enabled",
    "is blocking all non-essential",
    "set to block all non-essential",
)
_STEALTH_RE = re.compile(r"stealth mode (?:is )?(on|off|enabled|disabled)\b", re.IGNORECASE)
_SIGNED_APP_RE = re.compile(r"allow downloaded signed software (enabled|disabled)", re.IGNORECASE)


def parse_global_state(text: str) -> Parsed:
    """`--getglobalstate`: 0 off, 1 on, 2 on for essential services only (older 'block all' state).

    Also reads the line out of a combined `--getglobalstate --getblockall ...` call.
    """
    for line in _lines(text):
        match = _STATE_RE.search(line)
        if match and line.lower().startswith("firewall is") and int(match.group(1)) in (0, 1, 2):
            return Parsed(int(match.group(1)))
    for line in _lines(text):
        bare = line.lower().rstrip(". ")
        if bare == "firewall is enabled":
            return Parsed(1)
        if bare == "firewall is disabled":
            return Parsed(0)
    return _not_recognised("socketfilterfw --getglobalstate", text)


def parse_block_all(text: str) -> Parsed:
    """`--getblockall` in its old ('Block all DISABLED!') and new ('... block all state set to ...') wordings."""
    for line in _lines(text):
        low = line.lower()
        if "state =" in low:  # the --getglobalstate line of a combined call ("blocking all ... (State = 2)")
            continue
        if any(phrase in low for phrase in _BLOCK_ALL_OFF):
            return Parsed(False)
        if any(phrase in low for phrase in _BLOCK_ALL_ON):
            return Parsed(True)
    return _not_recognised("socketfilterfw --getblockall", text)


def parse_stealth(text: str) -> Parsed:
    """`--getstealthmode`: 'Stealth mode enabled' (older) or 'Firewall stealth mode is on' (newer)."""
    for line in _lines(text):
        match = _STEALTH_RE.search(line)
        if match:
            return Parsed(match.group(1).lower() in ("on", "enabled"))
    return _not_recognised("socketfilterfw --getstealthmode", text)


def parse_allow_signed_app(text: str) -> Parsed:
    """`--getallowsigned`: whether downloaded signed software is allowed incoming connections automatically."""
    for line in _lines(text):
        match = _SIGNED_APP_RE.search(line)
        if match:
            return Parsed(match.group(1).lower() == "enabled")
    return _not_recognised("socketfilterfw --getallowsigned", text)


def parse_app_blocked(text: str) -> Parsed:
    """`--getappblocked PATH` -> 'permitted' | 'blocked' | 'absent'.

    Some releases answer 'permitted' for a path the firewall does not list, so `read()` asks
    `--listapps` first and uses this only as a fallback.
    """
    low = " ".join(_lines(text)).lower()
    if "not part of the firewall" in low:
        return Parsed("absent")
    match = re.search(r"\bis\s+(blocked|permitted|allowed)\b", low)
    if match:
        return Parsed("blocked" if match.group(1) == "blocked" else "permitted")
    return _not_recognised("socketfilterfw --getappblocked", text)


_APP_ROW = re.compile(r"^\d+\s*:\s*(.+?)\s*$")
_APP_VERDICT = re.compile(r"^\(\s*(allow|block) incoming connections\s*\)$", re.IGNORECASE)
_APP_STATE_ROW = re.compile(r"^(.+?)\s*\(state:\s*(\d+)\)$", re.IGNORECASE)
_LEGACY_APP_STATE = {"1": True, "4": False}  # 1 allow, 4 block (kolide/launcher's --listapps test data)


def parse_listapps(text: str) -> Parsed:
    """`--listapps` -> [{"path", "allowed"}]; `allowed` None when the verdict line is missing.

    Two layouts: 'N : /path' followed by '(Allow|Block incoming connections)' (macOS 10.x-26), and
    'name (state: N)' rows.
    """
    lines = _lines(text)
    header = next((line for line in lines if re.search(r"total number of apps\s*=\s*\d+", line, re.I)), None)
    if header is None:
        return _not_recognised("socketfilterfw --listapps", text)
    entries: List[Dict[str, Any]] = []
    waiting: Dict[str, Any] | None = None
    for line in lines:
        row, verdict, legacy = _APP_ROW.match(line), _APP_VERDICT.match(line), _APP_STATE_ROW.match(line)
        if row:
            waiting = {"path": row.group(1), "allowed": None}
            entries.append(waiting)
        elif verdict and waiting is not None:
            waiting["allowed"] = verdict.group(1).lower() == "allow"
            waiting = None
        elif legacy:
            entries.append({"path": legacy.group(1), "allowed": _LEGACY_APP_STATE.get(legacy.group(2))})
    expected = int(re.search(r"=\s*(\d+)", header).group(1))
    if expected != len(entries):
        return Parsed(entries, f"socketfilterfw --listapps: header says {expected} apps, parsed {len(entries)}")
    return Parsed(entries)


def _same_app(listed: str, app_path: str) -> bool:
    bundle = app_path.rstrip("/")
    if listed in (bundle, bundle + "/") or listed.startswith(bundle + "/"):
        return True
    # the 'name (state: N)' layout lists names, not paths
    name = os.path.basename(bundle)
    return "/" not in listed and listed in (name, name[: -len(".app")] if name.endswith(".app") else name)


def app_state_from_listapps(entries: Sequence[Dict[str, Any]], app_path: str) -> str | None:
    """'permitted' | 'blocked' | 'absent' for the app among the listed entries (None: a verdict is unreadable)."""
    mine = [entry for entry in entries if _same_app(entry["path"], app_path)]
    if not mine:
        return "absent"
    if any(entry["allowed"] is None for entry in mine):
        return None
    return "permitted" if all(entry["allowed"] for entry in mine) else "blocked"


# ---------------------------------------------------------------------------------------------------------------------
# networksetup parsers


def parse_network_services(text: str) -> Parsed:
    """`-listallnetworkservices` -> [{"name", "enabled"}]; the first line is a notice, '*' marks a disabled service."""
    services = []
    for line in _lines(text):
        if "asterisk" in line.lower() and "denotes" in line.lower():
            continue
        if line.startswith("**") or line.lower().startswith("error"):
            return _not_recognised("networksetup -listallnetworkservices", text)
        enabled = not line.startswith("*")
        services.append({"name": line.lstrip("*").strip(), "enabled": enabled})
    return Parsed(services)


def parse_web_proxy(text: str) -> Parsed:
    """`-getwebproxy` / `-getsecurewebproxy` -> {"enabled", "server", "port", "authenticated"}."""
    fields = _key_values(text)
    enabled = _yes_no(fields.get("enabled"))
    if enabled is None:
        return _not_recognised("networksetup -getwebproxy", text)
    server = fields.get("server") or None
    port_text = fields.get("port", "")
    port = int(port_text) if port_text.isdigit() and int(port_text) > 0 else None
    return Parsed({
        "enabled": enabled,
        "server": None if server in (None, "(null)") else server,
        "port": port,
        "authenticated": _yes_no(fields.get("authenticated proxy enabled")),
    })


def parse_auto_proxy(text: str) -> Parsed:
    """`-getautoproxyurl` -> {"url", "enabled"}; an unset URL prints as '(null)'."""
    fields = _key_values(text)
    enabled = _yes_no(fields.get("enabled"))
    if enabled is None or "url" not in fields:
        return _not_recognised("networksetup -getautoproxyurl", text)
    url = fields["url"]
    return Parsed({"url": None if url in ("", "(null)") else url, "enabled": enabled})


def parse_bypass_domains(text: str) -> Parsed:
    """`-getproxybypassdomains` -> [entry, ...]; 'There aren't any bypass domains set on X.' means none."""
    lines = _lines(text)
    if any(line.lower().startswith(("there aren't any", "there are no")) for line in lines):
        return Parsed([])
    if any(line.startswith("**") or line.lower().startswith("error") for line in lines):
        return _not_recognised("networksetup -getproxybypassdomains", text)
    return Parsed(lines)


# ---------------------------------------------------------------------------------------------------------------------
# lsof, ifconfig, sw_vers parsers


def _listen_address(name: str, family: str | None) -> str:
    host = name.rsplit(":", 1)[0].strip("[]")
    if host == "*":
        return "::" if family == "IPv6" else "0.0.0.0"
    return host.split("%", 1)[0]


def _lsof_field_records(text: str) -> List[Dict[str, Any]]:
    """`lsof -F pcntT`: one letter then the value per line; 'p' starts a process, 'f' a file."""
    records: List[Dict[str, Any]] = []
    process: Dict[str, Any] = {}
    current: Dict[str, Any] | None = None
    for raw in (text or "").splitlines():
        if not raw:
            continue
        field, value = raw[0], raw[1:]
        if field == "p":
            process, current = {"pid": int(value) if value.isdigit() else None, "process": None}, None
        elif field == "c":
            process["process"] = value
        elif field == "f" or (field in "tn" and current is None):
            current = {**process, "family": None, "name": None, "state": None}
            records.append(current)
            if field != "f":
                current["family" if field == "t" else "name"] = value
        elif field == "t":
            current["family"] = value
        elif field == "n":
            current["name"] = value
        elif field == "T" and value.startswith("ST=") and current is not None:
            current["state"] = value[3:]
    return records


def _lsof_table_records(text: str) -> List[Dict[str, Any]]:
    """`lsof` columns COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME, NAME like '*:9090 (LISTEN)'."""
    records = []
    for line in _lines(text)[1:]:
        cols = line.split()
        if "TCP" not in cols[5:]:
            continue
        node = cols.index("TCP", 5)
        name = cols[node + 1] if len(cols) > node + 1 else ""
        state = cols[node + 2].strip("()") if len(cols) > node + 2 else None
        records.append({"pid": int(cols[1]) if cols[1].isdigit() else None, "process": cols[0],
                        "family": cols[4], "name": name, "state": state})
    return records


def parse_lsof_listeners(text: str, port: int) -> Parsed:
    """`lsof -nP -iTCP:<port> -sTCP:LISTEN` in -F or table form -> [{"process", "pid", "address"}].

    No output is a valid answer (nothing listens).
    """
    lines = _lines(text)
    if not lines:
        return Parsed([])
    if lines[0].startswith("COMMAND"):
        records = _lsof_table_records(text)
    elif lines[0].startswith("p") and lines[0][1:].isdigit():
        records = _lsof_field_records(text)
    else:
        return _not_recognised("lsof", text)
    listeners = []
    for record in records:
        name = record.get("name") or ""
        if "->" in name or not name.endswith(f":{port}") or record.get("state") not in (None, "LISTEN"):
            continue
        listeners.append({"process": record.get("process"), "pid": record.get("pid"),
                          "address": _listen_address(name, record.get("family"))})
    return Parsed(listeners)


_IF_HEADER = re.compile(r"^([A-Za-z0-9_.-]+):\s+flags=")
_INET = re.compile(r"^inet\s+(\S+)(?:\s+-->\s+\S+)?\s+netmask\s+(\S+)")
_INET6 = re.compile(r"^inet6\s+(\S+)\s+prefixlen\s+(\d+)")


def _netmask_prefix(mask: str) -> int | None:
    try:
        value = int(mask, 16) if mask.lower().startswith("0x") else int(ipaddress.IPv4Address(mask))
    except ValueError:
        return None
    return bin(value).count("1")


def parse_ifconfig(text: str) -> Parsed:
    """`ifconfig` -> [{"interface", "address", "prefix"}], loopback and IPv6 link-local left out.

    macOS prints the IPv4 netmask in hex (`netmask 0xffffff00`) and IPv6 with `%scope` and `prefixlen`.
    """
    addresses = []
    interface = None
    for raw in (text or "").splitlines():
        header = _IF_HEADER.match(raw)
        if header:
            interface = header.group(1)
            continue
        line = raw.strip()
        inet, inet6 = _INET.match(line), _INET6.match(line)
        if inet:
            address, prefix = inet.group(1), _netmask_prefix(inet.group(2))
        elif inet6:
            address, prefix = inet6.group(1).split("%", 1)[0], int(inet6.group(2))
        else:
            continue
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if ip.is_loopback or (ip.version == 6 and ip.is_link_local):
            continue
        addresses.append({"interface": interface, "address": address, "prefix": prefix})
    if interface is None and (text or "").strip():
        return _not_recognised("ifconfig", text)
    return Parsed(addresses)


def parse_sw_vers(text: str) -> Parsed:
    """`sw_vers` -> {"name", "version"} for the facts `os` section ('macOS 14.5 (23F79)', '14.5')."""
    fields = _key_values(text)
    version = fields.get("productversion")
    if not version:
        return _not_recognised("sw_vers", text)
    name = f"{fields.get('productname') or 'macOS'} {version}"
    extra = fields.get("productversionextra")  # Rapid Security Response suffix, e.g. '(a)'
    if extra:
        name += f" {extra}"
    if fields.get("buildversion"):
        name += f" ({fields['buildversion']})"
    return Parsed({"name": name, "version": version})


# ---------------------------------------------------------------------------------------------------------------------
# the app


def load_plist(path: str) -> Dict[str, Any]:
    """The default `read_plist` for the module: plistlib reads both XML and binary plists."""
    with open(path, "rb") as handle:
        return plistlib.load(handle)


def _plist_version(value: Any) -> str | None:
    """The facts spelling X.Y.Z.build (shared with the other platforms), None when it does not parse."""
    try:
        return normalise_version(value, "CFBundleShortVersionString")
    except InvalidValue:
        return None


def read_app(read_plist: PlistReader, app_path: str = DEFAULT_APP_PATH) -> Dict[str, Any]:
    """The facts `app` section from the bundle's Info.plist (schema in docs/facts.md).

    A missing Info.plist means not installed; any other read error is raised for the caller to record.
    """
    try:
        info = read_plist(os.path.join(app_path, "Contents", "Info.plist"))
    except FileNotFoundError:
        return {"installed": False, "name": BUNDLE_ID, "version": None, "version_source": None}
    version = _plist_version(info.get("CFBundleShortVersionString"))
    return {
        "installed": True,
        "name": info.get("CFBundleIdentifier") or BUNDLE_ID,
        "version": version,
        "version_source": "info_plist" if version else None,
    }


# ---------------------------------------------------------------------------------------------------------------------
# running commands


def _stdout(run: Runner, argv: List[str], ok_codes: Sequence[int] = (0,)) -> str:
    """stdout of a read command; a failing exit with nothing on stdout is an error."""
    rc, out, err = run(argv)
    if rc not in ok_codes and not (out or "").strip():
        raise MacCommandError(f"{' '.join(argv)}: exit {rc}: {_excerpt(err or out) or 'no output'}")
    return out or ""


def _write(run: Runner, argv: List[str]) -> str:
    """Run a changing command; a non-zero exit or a refusal printed with exit 0 is an error.

    socketfilterfw prints 'added to firewall' without root yet adds nothing; the following --unblockapp
    then answers 'The application is not part of the firewall' (lima-vm/socket_vmnet#51).
    """
    rc, out, err = run(argv)
    text = f"{out or ''}\n{err or ''}"
    not_listed = "not part of the firewall" in text.lower() and "--remove" not in argv  # removing: the goal
    if rc != 0 or _MANAGED in text.lower() or not_listed:
        raise MacCommandError(f"{' '.join(argv)}: exit {rc}: {_excerpt(text) or 'no output'}")
    return out or ""


class _NoteTaker:
    notes: List[str]

    def _take(self, parsed: Parsed, where: str = "") -> Any:
        if parsed.note:
            self.notes.append(f"{where}: {parsed.note}" if where else parsed.note)
        return parsed.value


# ---------------------------------------------------------------------------------------------------------------------
# application firewall


def app_firewall_verdict(state: Dict[str, Any]) -> Tuple[str, str]:
    """(verdict, decided_by) for inbound connections to the app; one answer for every source address."""
    app = os.path.basename(str(state.get("app_path") or DEFAULT_APP_PATH))
    if state.get("enabled") is False:
        return "admitted", "application firewall off"
    if state.get("enabled") is None:
        return "unknown", "application firewall state unreadable"
    if state.get("block_all"):
        return "blocked", "block all incoming connections is on"
    if state.get("block_all") is None:
        return "unknown", "block-all setting unreadable"
    app_state = state.get("app_state")
    if app_state == "permitted":
        return "admitted", f"{app}: allow incoming connections"
    if app_state == "blocked":
        return "blocked", f"{app}: block incoming connections"
    if app_state == "absent":
        if state.get("allow_signed_app"):
            return "admitted", f"{app} not listed; downloaded signed software is allowed automatically"
        if state.get("allow_signed_app") is False:
            # macOS asks on screen the first time; on an unattended room nobody answers
            return "blocked", f"{app} not listed and signed software is not allowed automatically"
        return "unknown", f"{app} not listed; automatic allowing of signed software unreadable"
    return "unknown", f"{app}: firewall entry unreadable"


class AppFirewallBackend(_NoteTaker):
    """The macOS Application Firewall (socketfilterfw): per-application allow/block, plus 'block all'."""

    name = "socketfilterfw"

    def __init__(self, run: Runner, app_path: str = DEFAULT_APP_PATH) -> None:
        self.run = run
        self.app_path = app_path
        self.notes = []  # what read() could not parse; kept out of the state so states compare cleanly

    def read(self) -> Dict[str, Any]:
        """Plain data: enabled, block_all, stealth, allow_signed_app, app_path, app_state (None: unreadable)."""
        self.notes = []
        # one call answers several getters (documented by Kolide's check); each parser picks its line
        status = _stdout(self.run, [SOCKETFILTERFW, "--getglobalstate", "--getblockall", "--getstealthmode",
                                    "--getallowsigned"])
        state_code = self._take(parse_global_state(status))
        block_all = self._take(parse_block_all(status))
        if block_all is None and state_code == 2:
            block_all = True
            self.notes.append("block_all inferred from '(State = 2)'")
        return {
            "enabled": None if state_code is None else state_code >= 1,
            "block_all": block_all,
            "stealth": self._take(parse_stealth(status)),
            "allow_signed_app": self._take(parse_allow_signed_app(status)),
            "app_path": self.app_path,
            "app_state": self._read_app_state(),
        }

    def _read_app_state(self) -> str | None:
        entries = self._take(parse_listapps(_stdout(self.run, [SOCKETFILTERFW, "--listapps"])))
        if entries is not None:
            return app_state_from_listapps(entries, self.app_path)
        app_state = self._take(parse_app_blocked(_stdout(self.run, [SOCKETFILTERFW, "--getappblocked",
                                                                    self.app_path])))
        if app_state == "permitted":
            self.notes.append("app state from --getappblocked, which can say 'permitted' for an unlisted app")
        return app_state

    def desired(self, before: Dict[str, Any], params: Dict[str, Any]) -> Dict[str, Any]:
        """Pure. present: app listed and permitted; block-all off only with allow_disable_block_all; a firewall
        that is off stays off (nothing to do). absent: the app's entry removed (--remove)."""
        after = dict(before)
        state = params.get("state", "present")
        if state == "absent":
            after["app_state"] = "absent"
            return after
        if state != "present":
            raise InvalidValue(f"state: '{state}' is not one of present, absent")
        if before.get("enabled") is False:
            return after
        after["app_state"] = "permitted"
        if before.get("block_all") and params.get("allow_disable_block_all"):
            after["block_all"] = False
        return after

    def commands(self, before: Dict[str, Any], after: Dict[str, Any]) -> List[List[str]]:
        """Pure plan: the socketfilterfw calls that turn `before` into `after` (app entry, then block-all).

        Stealth, global state and signed-software settings are reported, never written.
        """
        path = after.get("app_path") or self.app_path
        have, want = before.get("app_state"), after.get("app_state")
        plan: List[List[str]] = []
        if want != have and want in ("permitted", "blocked"):
            if have in ("absent", None):
                plan.append([SOCKETFILTERFW, "--add", path])
            plan.append([SOCKETFILTERFW, "--unblockapp" if want == "permitted" else "--blockapp", path])
        elif want != have and want == "absent":
            plan.append([SOCKETFILTERFW, "--remove", path])
        if after.get("block_all") is not None and after.get("block_all") != before.get("block_all"):
            plan.append([SOCKETFILTERFW, "--setblockall", "on" if after["block_all"] else "off"])
        return plan

    def apply(self, before: Dict[str, Any], after: Dict[str, Any]) -> None:
        """The only method that writes (needs root: run the task with become)."""
        for argv in self.commands(before, after):
            _write(self.run, argv)

    def render(self, state: Dict[str, Any]) -> str:
        def word(value: Any) -> str:
            return "unknown" if value is None else ("on" if value else "off")

        app_state = {"absent": "not listed", None: "unknown"}.get(state.get("app_state"), state.get("app_state"))
        return (
            f"application firewall: {word(state.get('enabled'))}\n"
            f"block all incoming connections: {word(state.get('block_all'))}\n"
            f"stealth mode: {word(state.get('stealth'))}\n"
            f"{state.get('app_path') or self.app_path}: {app_state}\n"
        )

    def firewall_facts(self, state: Dict[str, Any], controller_subnets: Sequence[Network], port: int) -> Dict[str, Any]:
        """The facts `firewall` section; `port` is the controller port ZoomPresence listens on."""
        verdict, decided_by = app_firewall_verdict(state)
        notes = [f"{PER_APP_NOTE} (TCP {port} is admitted if the app listening on it is)", *self.notes]
        if state.get("enabled") is None:
            notes.append("firewall state unreadable: reported active")
        return {
            "backend": self.name,
            "active": state.get("enabled") is not False,
            "verdicts": [{"subnet": str(subnet), "verdict": verdict, "decided_by": decided_by}
                         for subnet in controller_subnets],
            "block_all": state.get("block_all"),
            "notes": notes,
        }


# ---------------------------------------------------------------------------------------------------------------------
# proxy per network service


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _split_host_port(server: str) -> Tuple[str, str]:
    host, _unused, port = server.rpartition(":")
    return host.strip("[]"), port


def service_proxy(web: Dict[str, Any], secure: Dict[str, Any], auto: Dict[str, Any],
                  bypass: List[str]) -> Dict[str, Any]:
    """One service's networksetup answers in the shared proxy shape (zoom_room_proxy_policy).

    Only enabled proxies appear in `servers`; `pac_url` only when auto-proxy is on.
    """
    servers = {}
    for kind, proxy in (("http", web), ("https", secure)):
        if proxy["enabled"] and proxy["server"] and proxy["port"]:
            servers[kind] = _join_host_port(proxy["server"], proxy["port"])
    pac_url = auto["url"] if auto["enabled"] and auto["url"] else None
    return {"mode": "manual" if servers else ("pac" if pac_url else "none"), "servers": servers,
            "pac_url": pac_url, "bypass": list(bypass)}


def _networksetup_server(server: str | None) -> str | None:
    """`host:port` as networksetup takes it; a scheme is dropped, credentials and SOCKS are refused."""
    if not server:
        return None
    parts = urlsplit(server if "://" in server else f"http://{server}")
    if parts.scheme not in ("http", "https"):
        raise InvalidValue(f"server: '{parts.scheme}://' proxies are not set through networksetup web proxies")
    if parts.username or parts.password:
        raise InvalidValue("server: networksetup keeps proxy credentials in the keychain; give host:port only")
    return _join_host_port(parts.hostname or "", parts.port or 0)


def canonical_proxy(proxy: Dict[str, Any]) -> Dict[str, Any]:
    """The shape `read()` produces, so a desired state compares equal to the state that results from it."""
    servers = {kind: value for kind, value in (proxy.get("servers") or {}).items()
               if kind in ("http", "https") and value}
    pac_url = proxy.get("pac_url") or None
    return {"mode": "manual" if servers else ("pac" if pac_url else "none"), "servers": servers,
            "pac_url": pac_url, "bypass": list(proxy.get("bypass") or [])}


def proxy_section(sources: Sequence[Dict[str, Any]], controller_subnets: Sequence[Network]) -> Dict[str, Any]:
    """The facts `proxy` section from per-source proxies (already redacted).

    mode/servers/pac_url/bypass come from the first source with the strongest mode; coverage holds only
    when it holds for every source that has a proxy.
    """
    mode = strongest_mode([source["mode"] for source in sources])
    primary = next((source for source in sources if source["mode"] == mode), None)
    covers = [coverage(source, controller_subnets) for source in sources]
    return {
        "mode": mode,
        "servers": dict(primary["servers"]) if primary else {},
        "pac_url": primary["pac_url"] if primary else None,
        "bypass": list(primary["bypass"]) if primary else [],
        "bypass_covers_local": all_covered([cover["bypass_covers_local"] for cover in covers]),
        "bypass_covers_subnets": {str(subnet): all_covered([cover["bypass_covers_subnets"][str(subnet)]
                                                            for cover in covers])
                                  for subnet in controller_subnets},
        "sources": list(sources),
    }


class NetworkSetupProxyBackend(_NoteTaker):
    """Web, secure-web and auto-proxy (PAC) settings and bypass domains, per network service."""

    name = "networksetup"

    def __init__(self, run: Runner, services: List[str] | None = None) -> None:
        self.run = run
        self.services = services  # None: every enabled network service
        self.notes = []

    def read(self) -> Dict[str, Dict[str, Any]]:
        """{service: proxy dict}; a service whose output does not parse raises MacCommandError."""
        self.notes = []
        return {name: self._read_service(name) for name in self._service_names()}

    def _service_names(self) -> List[str]:
        if self.services is not None:
            return list(self.services)
        parsed = parse_network_services(_stdout(self.run, [NETWORKSETUP, "-listallnetworkservices"]))
        if parsed.value is None:
            raise MacCommandError(parsed.note)
        skipped = [service["name"] for service in parsed.value if not service["enabled"]]
        if skipped:
            self.notes.append(f"disabled network services skipped: {', '.join(skipped)}")
        return [service["name"] for service in parsed.value if service["enabled"]]

    def _ask(self, parser: Callable[[str], Parsed], flag: str, service: str) -> Any:
        parsed = parser(_stdout(self.run, [NETWORKSETUP, flag, service]))
        if parsed.value is None:
            raise MacCommandError(f"networksetup:{service}: {parsed.note}")
        return parsed.value

    def _read_service(self, service: str) -> Dict[str, Any]:
        return service_proxy(
            self._ask(parse_web_proxy, "-getwebproxy", service),
            self._ask(parse_web_proxy, "-getsecurewebproxy", service),
            self._ask(parse_auto_proxy, "-getautoproxyurl", service),
            self._ask(parse_bypass_domains, "-getproxybypassdomains", service),
        )

    def desired(self, before: Dict[str, Dict[str, Any]], params: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
        """Pure. params: policy, server, bypass, pac_url, controller_subnets (ipaddress networks).

        Every service gets the shared policy result with loopback and the controller subnets in its bypass.
        """
        policy, pac_url = params.get("policy", "keep"), params.get("pac_url")
        validate_policy(policy, params.get("server"), pac_url)
        server = _networksetup_server(params.get("server")) if policy == "manual" else None
        required = required_bypass("macos", params.get("controller_subnets") or [])
        extra = list(params.get("bypass") or [])
        return {
            service: canonical_proxy(desired_proxy(current, policy, required, server=server, extra_bypass=extra,
                                                   pac_url=pac_url))
            for service, current in before.items()
        }

    def commands(self, before: Dict[str, Dict[str, Any]], after: Dict[str, Dict[str, Any]]) -> List[List[str]]:
        """Pure plan: only the services and fields that differ. Bypass first, so that a proxy never comes
        on before the controller subnets bypass it."""
        plan: List[List[str]] = []
        for service, want in after.items():
            plan.extend(_service_commands(service, before.get(service) or empty_proxy(), want))
        return plan

    def apply(self, before: Dict[str, Dict[str, Any]], after: Dict[str, Dict[str, Any]]) -> None:
        """The only method that writes (needs admin rights: run the task with become)."""
        for argv in self.commands(before, after):
            _write(self.run, argv)

    def render(self, state: Dict[str, Dict[str, Any]]) -> str:
        lines = []
        for service, proxy in state.items():
            shown = redact_proxy(proxy)
            detail = " ".join(f"{kind}={value}" for kind, value in sorted(shown["servers"].items()))
            if shown.get("pac_url"):
                detail = f"{detail} pac={shown['pac_url']}".strip()
            lines.append(f"{service}: {shown['mode']}{' ' + detail if detail else ''}")
            lines.append(f"  bypass: {', '.join(shown['bypass']) or '(none)'}")
        return "\n".join(lines) + "\n"

    def proxy_facts(self, state: Dict[str, Dict[str, Any]], controller_subnets: Sequence[Network]) -> Dict[str, Any]:
        sources = [{"source": f"networksetup:{service}", **redact_proxy(proxy)} for service, proxy in state.items()]
        return proxy_section(sources, controller_subnets)


_PROXY_COMMANDS = (("http", "-setwebproxy", "-setwebproxystate"),
                   ("https", "-setsecurewebproxy", "-setsecurewebproxystate"))


def _service_commands(service: str, have: Dict[str, Any], want: Dict[str, Any]) -> List[List[str]]:
    plan: List[List[str]] = []
    if list(want.get("bypass") or []) != list(have.get("bypass") or []):
        plan.append([NETWORKSETUP, "-setproxybypassdomains", service, *(want.get("bypass") or ["Empty"])])
    for kind, set_flag, state_flag in _PROXY_COMMANDS:
        wanted, had = (want.get("servers") or {}).get(kind), (have.get("servers") or {}).get(kind)
        if wanted and wanted != had:
            plan.append([NETWORKSETUP, set_flag, service, *_split_host_port(wanted)])  # also turns it on
        elif had and not wanted:
            plan.append([NETWORKSETUP, state_flag, service, "off"])
    wanted_pac, had_pac = want.get("pac_url"), have.get("pac_url")
    if wanted_pac and wanted_pac != had_pac:
        plan.append([NETWORKSETUP, "-setautoproxyurl", service, wanted_pac])
        plan.append([NETWORKSETUP, "-setautoproxystate", service, "on"])
    elif had_pac and not wanted_pac:
        plan.append([NETWORKSETUP, "-setautoproxystate", service, "off"])
    return plan


# ---------------------------------------------------------------------------------------------------------------------
# facts


def read_os(run: Runner) -> Parsed:
    return parse_sw_vers(_stdout(run, [SW_VERS]))


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _lsof_stdout(run: Runner, argv: List[str]) -> str:
    """lsof exits 1 both when nothing matches and on errors; only warnings may accompany 'nothing matches'."""
    rc, out, err = run(argv)
    problems = [line for line in _lines(err) if not line.startswith("lsof: WARNING")]
    if rc not in (0, 1) or (rc == 1 and problems and not _lines(out)):
        raise MacCommandError(f"{' '.join(argv)}: exit {rc}: {_excerpt(err or out) or 'no output'}")
    return out or ""


def read_listener(run: Runner, port: int) -> Parsed:
    # +c 0: the whole command name ('ZoomPresence', not 'ZoomPrese')
    argv = [LSOF, "-nP", "+c", "0", f"-iTCP:{port}", "-sTCP:LISTEN", "-FpcntT"]
    parsed = parse_lsof_listeners(_lsof_stdout(run, argv), port)
    if parsed.value is None:
        return parsed
    listeners = parsed.value
    note = parsed.note
    if not listeners and not _running_as_root():
        note = "lsof ran without root and sees only this user's sockets: run the facts task with become"
    addresses = sorted({listener["address"] for listener in listeners})
    return Parsed({"listening": bool(listeners), "addresses": addresses,
                   "process": listeners[0]["process"] if listeners else None}, note)


def read_addresses(run: Runner) -> Parsed:
    parsed = parse_ifconfig(_stdout(run, [IFCONFIG]))
    if parsed.value is None:
        return parsed
    return Parsed([entry for entry in parsed.value if not is_loopback(entry["address"])], parsed.note)


def _section(errors: List[str], what: str, read: Callable[[], Any], fallback: Any) -> Any:
    """A facts section, or `fallback` with the reason in `errors`: facts stay partial, never fail."""
    try:
        value = read()
    except Exception as error:  # facts must not fail: any failure becomes an error line
        errors.append(f"{what}: {error}")
        return fallback
    if isinstance(value, Parsed):
        if value.note:
            errors.append(f"{what}: {value.note}")
        return fallback if value.value is None else value.value
    return value


def _unknown_firewall(controller_subnets: Sequence[Network]) -> Dict[str, Any]:
    return {"backend": AppFirewallBackend.name, "active": True, "block_all": None, "notes": [PER_APP_NOTE],
            "verdicts": [{"subnet": str(subnet), "verdict": "unknown", "decided_by": "firewall unreadable"}
                         for subnet in controller_subnets]}


def _unknown_proxy(controller_subnets: Sequence[Network]) -> Dict[str, Any]:
    return {"mode": None, "servers": {}, "pac_url": None, "bypass": [], "bypass_covers_local": None,
            "bypass_covers_subnets": {str(subnet): None for subnet in controller_subnets}, "sources": []}


def _app_fallback() -> Dict[str, Any]:
    # the plist exists (a missing one is not an error) but could not be read
    return {"installed": True, "name": BUNDLE_ID, "version": None, "version_source": None}


def macos_facts(
    run: Runner,
    read_plist: PlistReader,
    port: int,
    controller_subnets: Sequence[Network],
    app_path: str = DEFAULT_APP_PATH,
    services: List[str] | None = None,
    hostname: str | None = None,
) -> Dict[str, Any]:
    """The whole facts schema for a Mac: sw_vers, ifconfig, lsof, two socketfilterfw calls, and
    1 + 4 networksetup calls per enabled network service. Never raises; failures land in `errors`."""
    errors: List[str] = []
    firewall = AppFirewallBackend(run, app_path)
    proxy = NetworkSetupProxyBackend(run, services)
    fw_state = _section(errors, "firewall", firewall.read, None)
    proxy_state = _section(errors, "proxy", proxy.read, None)
    return {
        "schema": 1,
        "platform": "macos",
        "os": _section(errors, "os", lambda: read_os(run), {"name": None, "version": None}),
        "hostname": hostname or socket.gethostname(),
        "controller_port": port,
        "app": _section(errors, "app", lambda: read_app(read_plist, app_path), _app_fallback()),
        "listener": _section(errors, "listener", lambda: read_listener(run, port),
                             {"listening": None, "addresses": [], "process": None}),
        "firewall": (_unknown_firewall(controller_subnets) if fw_state is None
                     else firewall.firewall_facts(fw_state, controller_subnets, port)),
        "proxy": (_unknown_proxy(controller_subnets) if proxy_state is None
                  else proxy.proxy_facts(proxy_state, controller_subnets)),
        "addresses": _section(errors, "addresses", lambda: read_addresses(run), []),
        "errors": errors,
    }
