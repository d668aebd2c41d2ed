"""macOS rooms, the facts reader: the whole facts schema (docs/facts.md) from sw_vers, ifconfig, lsof,
Info.plist and the two backends' reads (zoom_room_macos_firewall, zoom_room_macos_proxy). Errors are
collected, never raised. Stdlib only, Python 3.9 compatible.
"""

from __future__ import annotations

import ipaddress
import os
import plistlib
import re
import socket
from typing import Any, Callable, Dict, List, Sequence

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos_cli import (
    BUNDLE_ID,
    DEFAULT_APP_PATH,
    IFCONFIG,
    LSOF,
    SW_VERS,
    MacCommandError,
    Parsed,
    PlistReader,
    Runner,
    excerpt,
    key_values,
    not_recognised,
    read_stdout,
    text_lines,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos_firewall import (
    PER_APP_NOTE,
    AppFirewallBackend,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos_proxy import (
    NetworkSetupProxyBackend,
    read_effective_proxy,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    Network,
    as_address,
    is_local_scope,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_version import read_version

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
    for line in text_lines(text)[1:]:
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
    lines = text_lines(text)
    if not lines:
        return Parsed([])
    if lines[0].startswith("COMMAND"):
        records = _lsof_table_records(text)
    elif lines[0].startswith("p") and lines[0][1:].isdigit():
        records = _lsof_field_records(text)
    else:
        return not_recognised("lsof", text)
    listeners = []
    for record in records:
        name = record.get("name") or ""
        if "->" in name or not name.endswith(f":{port}") or record.get("state") not in (None, "LISTEN"):
            continue
        listeners.append({"process": record.get("process"), "pid": record.get("pid"),
                          "address": _listen_address(name, record.get("family"))})
    return Parsed(listeners)


_IF_HEADER = re.compile(r"^([A-Za-z0-9_.-]+):\s+flags=\w*<([^>]*)>")
_INET = re.compile(r"^inet\s+(\S+)(?:\s+-->\s+\S+)?\s+netmask\s+(\S+)")
_INET6 = re.compile(r"^inet6\s+(\S+)\s+prefixlen\s+(\d+)(.*)")
# IPv6 address states (ifconfig(8), the in6_ifaddr flags) of an address no new connection is made to: the
# Windows reader likewise keeps only addresses in state Preferred.
_INET6_UNUSABLE = frozenset({"deprecated", "detached", "duplicated", "tentative"})


def _netmask_prefix(mask: str) -> int | None:
    try:
        value = int(mask, 16) if mask.lower().startswith("0x") else int(ipaddress.IPv4Address(mask))
    except ValueError:
        return None
    return bin(value).count("1")


def parse_ifconfig(text: str) -> Parsed:
    """`ifconfig` -> [{"interface", "address", "prefix"}]: loopback interfaces, IPv6 link-local and IPv6
    addresses no new connection is made to (deprecated, tentative, ...) left out.

    macOS prints the IPv4 netmask in hex (`netmask 0xffffff00`) and IPv6 with `%scope` and `prefixlen`.
    """
    addresses = []
    interface, loopback = None, False
    for raw in (text or "").splitlines():
        header = _IF_HEADER.match(raw)
        if header:
            # A loopback interface's every address is local, aliases too (VM tools add 10.254.254.254 to lo0).
            interface, loopback = header.group(1), "LOOPBACK" in header.group(2).split(",")
            continue
        line = raw.strip()
        inet, inet6 = _INET.match(line), _INET6.match(line)
        if loopback:
            continue
        if inet:
            address, prefix = inet.group(1), _netmask_prefix(inet.group(2))
        elif inet6 and not _INET6_UNUSABLE.intersection(inet6.group(3).split()):
            address, prefix = inet6.group(1).split("%", 1)[0], int(inet6.group(2))
        else:
            continue
        if as_address(address) is None or is_local_scope(address):
            continue
        addresses.append({"interface": interface, "address": address, "prefix": prefix})
    if interface is None and (text or "").strip():
        return not_recognised("ifconfig", text)
    return Parsed(addresses)


def parse_sw_vers(text: str) -> Parsed:
    """`sw_vers` -> {"name", "version"} for the facts `os` section ('macOS 14.5 (23F79)', '14.5')."""
    fields = key_values(text)
    version = fields.get("productversion")
    if not version:
        return not_recognised("sw_vers", text)
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


def read_app(read_plist: PlistReader, app_path: str = DEFAULT_APP_PATH) -> Dict[str, Any]:
    """The facts `app` section from the bundle's Info.plist (schema in docs/facts.md).

    A missing Info.plist means not installed; any other read error is raised for the caller to record.
    A version text the shared parser cannot read stays in `raw_version` with `version_status: unreadable`.
    """
    try:
        info = read_plist(os.path.join(app_path, "Contents", "Info.plist"))
    except FileNotFoundError:
        return {"installed": False, "name": BUNDLE_ID, **read_version(None, None)}
    return {
        "installed": True,
        "name": info.get("CFBundleIdentifier") or BUNDLE_ID,
        **read_version(info.get("CFBundleShortVersionString"), "info_plist"),
    }


# ---------------------------------------------------------------------------------------------------------------------
# facts


def read_os(run: Runner) -> Parsed:
    return parse_sw_vers(read_stdout(run, [SW_VERS]))


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _lsof_stdout(run: Runner, argv: List[str]) -> str:
    """lsof exits 1 both when nothing matches and on errors; only warnings may accompany 'nothing matches'."""
    rc, out, err = run(argv)
    problems = [line for line in text_lines(err) if not line.startswith("lsof: WARNING")]
    if rc not in (0, 1) or (rc == 1 and problems and not text_lines(out)):
        raise MacCommandError(f"{' '.join(argv)}: exit {rc}: {excerpt(err or out) or 'no output'}")
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
    return parse_ifconfig(read_stdout(run, [IFCONFIG]))  # loopback and link-local already left out


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


def _unknown_firewall(controller_subnets: Sequence[Network], errors: List[str]) -> Dict[str, Any]:
    """socketfilterfw could not be read: every verdict unknown, and the layer named in `unreadable` (as Linux
    layers are), so the diagnosis says the room's firewall is unknown instead of blaming the network."""
    why = [error for error in errors if error.startswith("firewall:")]
    return {"backend": AppFirewallBackend.name, "active": True, "block_all": None, "notes": [PER_APP_NOTE],
            "verdicts": [{"subnet": str(subnet), "verdict": "unknown", "decided_by": "firewall unreadable"}
                         for subnet in controller_subnets],
            "unreadable": [{"backend": AppFirewallBackend.name, "reason": why[0] if why else "firewall unreadable"}]}


def _unknown_proxy(controller_subnets: Sequence[Network]) -> Dict[str, Any]:
    return {"mode": None, "servers": {}, "pac_url": None, "bypass": [], "bypass_covers_local": None,
            "bypass_covers_subnets": {str(subnet): None for subnet in controller_subnets}, "sources": []}


def _app_fallback() -> Dict[str, Any]:
    # the plist exists (a missing one is not an error) but could not be read
    return {"installed": True, "name": BUNDLE_ID, **read_version(None, None)}


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
    1 + 4 networksetup calls per enabled network service, scutil --proxy. Never raises; failures land in `errors`."""
    errors: List[str] = []
    firewall = AppFirewallBackend(run, app_path)
    proxy = NetworkSetupProxyBackend(run, services)
    fw_state = _section(errors, "firewall", firewall.read, None)
    proxy_state = _section(errors, "proxy", proxy.read, None)
    effective_proxy = _section(errors, "proxy (effective)", lambda: read_effective_proxy(run), None)
    return {
        "schema": 1,
        "platform": "macos",
        "os": _section(errors, "os", lambda: read_os(run), {"name": None, "version": None}),
        "hostname": hostname or socket.gethostname(),
        "controller_port": port,
        "app": _section(errors, "app", lambda: read_app(read_plist, app_path), _app_fallback()),
        "listener": _section(errors, "listener", lambda: read_listener(run, port),
                             {"listening": None, "addresses": [], "process": None}),
        "firewall": (_unknown_firewall(controller_subnets, errors) if fw_state is None
                     else firewall.firewall_facts(fw_state, controller_subnets, port)),
        "proxy": (_unknown_proxy(controller_subnets) if proxy_state is None
                  else proxy.proxy_facts(proxy_state, controller_subnets, effective_proxy)),
        "addresses": _section(errors, "addresses", lambda: read_addresses(run), []),
        "errors": errors,
    }
