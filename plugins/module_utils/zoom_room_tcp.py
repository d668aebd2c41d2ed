"""Concurrent TCP connect tests, as a controller on the probe's segment would try them.

Non-blocking sockets and one selector: hundreds of targets cost one process and about one
timeout of wall time, with at most `concurrency` sockets open at once.
"""

from __future__ import annotations

import errno
import ipaddress
import selectors
import socket
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Mapping, Sequence

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_command import (
    Runner,
    plain_command_runner,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    Network,
    address_in_any,
    as_address,
    ip_network_of,
    parse_ip_addr,
    parse_port,
)

try:
    import resource
except ImportError:  # not a POSIX host: the open-file limit is left as it is
    resource = None  # type: ignore[assignment]

NO_ROUTE_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH}
# Every target of a call is started at once up to this many: a target that does not answer holds its
# slot for the whole timeout, so targets queued behind the limit finish a timeout later.
DEFAULT_CONCURRENCY = 1024
# Names are looked up at most this many at once: each lookup blocks a thread for as long as the resolver waits.
RESOLVER_THREADS = 16
# Descriptors the probe keeps for itself beside its sockets: stdio, the selector, the `ip` command's pipes.
RESERVED_FILES = 32
# zoom_room_reachability's options: the module and its action (which validates for the lean payload) share them.
PROBE_ARGUMENT_SPEC: dict[str, Any] = {
    "targets": {"type": "list", "elements": "dict", "required": True, "options": {
        "name": {"type": "str", "required": True},
        "address": {"type": "str", "required": True},
        "port": {"type": "int"},
    }},
    "port": {"type": "int", "default": 9090},
    "timeout": {"type": "float", "default": 2.0},
    "concurrency": {"type": "int", "default": DEFAULT_CONCURRENCY},
    "lean": {"type": "bool", "default": True},
}


def classify_errno(code: int) -> str:
    if code == 0:
        return "open"
    if code == errno.ECONNREFUSED:
        return "refused"
    if code in NO_ROUTE_ERRNOS:
        return "no_route"
    if code == errno.ETIMEDOUT:
        return "timeout"
    return "error"


def probe_many(targets: Sequence[dict[str, Any]], timeout: float, concurrency: int) -> dict[str, dict[str, Any]]:
    """{name: {address, port, state, latency_ms, error}} for targets [{name, address, port}]."""
    results: dict[str, dict[str, Any]] = {}
    pending = deque(targets)
    selector = selectors.DefaultSelector()
    # In start order: every target has the same timeout, so the first one in flight is the next to expire.
    in_flight: dict[socket.socket, tuple[dict[str, Any], float]] = {}
    try:
        while pending or in_flight:
            while pending and len(in_flight) < concurrency:
                target = pending.popleft()
                started = time.monotonic()
                sock, immediate = _start_connect(target)
                if sock is None:
                    results[target["name"]] = _result(target, immediate, started)
                    continue
                in_flight[sock] = (target, started)
                selector.register(sock, selectors.EVENT_WRITE)
            _collect(selector, in_flight, results, timeout)
    finally:
        for sock in in_flight:
            sock.close()
        selector.close()
    return results


def _start_connect(target: dict[str, Any]) -> tuple[socket.socket | None, int]:
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(target["address"]).version == 6 else socket.AF_INET
    except ValueError:
        return None, errno.EINVAL
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    code = sock.connect_ex((target["address"], int(target["port"])))
    if code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
        return sock, 0
    sock.close()
    return None, code


def _collect(selector: selectors.BaseSelector, in_flight: dict, results: dict, timeout: float) -> None:
    """Waits until a socket is ready or the oldest one's time is up; costs what it finds, not what is in
    flight (a scan of every socket per pass made 500 targets start 0.2 s late on a busy probe host)."""
    if not in_flight:
        return
    _unused, oldest_started = next(iter(in_flight.values()))
    for key, _unused in selector.select(max(0.0, oldest_started + timeout - time.monotonic())):
        sock = key.fileobj
        target, started = in_flight.pop(sock)
        selector.unregister(sock)
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        sock.close()
        results[target["name"]] = _result(target, code, started)
    now = time.monotonic()
    while in_flight:
        sock, (target, started) = next(iter(in_flight.items()))
        if now - started < timeout:
            break
        del in_flight[sock]
        selector.unregister(sock)
        sock.close()
        results[target["name"]] = {**_result(target, 0, started), "state": "timeout",
                                   "error": f"no answer within {timeout:g}s"}


def _result(target: dict[str, Any], code: int, started: float) -> dict[str, Any]:
    return {"address": target["address"], "port": int(target["port"]), "state": classify_errno(code),
            "latency_ms": round((time.monotonic() - started) * 1000, 1),
            "error": None if code == 0 else errno.errorcode.get(code, str(code))}


def in_connected_subnet(address: str, connected: Iterable[str]) -> bool:
    """Is the address on one of the probe host's own subnets (given as `10.0.0.5/24` or `10.0.0.0/24`)?"""
    return address_in_any(address, _networks(connected))


def _networks(connected: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(subnet, strict=False) for subnet in connected]


TARGET_OPTIONS = tuple(PROBE_ARGUMENT_SPEC["targets"]["options"])
OPTION_DEFAULTS = {name: option["default"] for name, option in PROBE_ARGUMENT_SPEC.items() if "default" in option}


def probe_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """The options with the spec's defaults where one is left out: the module and the action pass validated
    options, which have them already; a direct caller need not (the defaults live in the spec only)."""
    return {**OPTION_DEFAULTS, **params}


def checked_targets(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The targets with their ports resolved; InvalidValue names the bad option (module and action alike).

    Each target is checked here as the argument spec's suboptions would: the action checks the items of
    `targets` only here, not with Ansible's validator, which deep-copies hundreds of tagged dicts
    (plugin_utils/zoom_room_lean.py, BULK_OPTIONS).
    """
    options = probe_options(params)
    default_port = parse_port(options["port"], "port")
    if float(options["timeout"]) <= 0 or int(options["concurrency"]) < 1:
        raise InvalidValue("timeout must be > 0 and concurrency >= 1")
    given = options.get("targets")
    if not isinstance(given, (list, tuple)):
        raise InvalidValue("targets: a list of dicts with name, address and port is required")
    return [checked_target(target, f"targets[{index}]", default_port) for index, target in enumerate(given)]


def checked_target(target: Any, where: str, default_port: int) -> dict[str, Any]:
    if not isinstance(target, Mapping):
        raise InvalidValue(f"{where}: a dict with name, address and port is required, got {type(target).__name__}")
    unknown = sorted(str(key) for key in target if key not in TARGET_OPTIONS)
    if unknown:
        raise InvalidValue(f"{where}: unsupported option(s) {', '.join(unknown)}; "
                           f"supported: {', '.join(TARGET_OPTIONS)}")
    for key in ("name", "address"):
        if target.get(key) is None or str(target[key]) == "":
            raise InvalidValue(f"{where}.{key} is required")
    port = parse_port(target["port"], f"{where}.port") if target.get("port") else default_port
    return {"name": str(target["name"]), "address": str(target["address"]), "port": port}


def files_limit_for(wanted: int, soft: int, hard: int, unlimited: int) -> tuple[int | None, int]:
    """(the soft open-file limit to ask for, or None to keep it; the sockets the probe may then hold).

    The soft limit is raised toward the hard one when the wanted sockets do not fit: macOS starts
    processes with a soft limit of 256 (`launchctl limit maxfiles`), Linux with 1024; an unprivileged
    process may raise its soft limit up to the hard one."""
    needed = wanted + RESERVED_FILES
    if soft == unlimited or soft >= needed:
        return None, max(1, wanted)
    raised = needed if hard == unlimited else min(needed, hard)
    return (raised if raised > soft else None), max(1, min(wanted, raised - RESERVED_FILES))


def socket_slots(wanted: int) -> int:
    """How many sockets the probe holds at once: ``wanted``, or fewer when the open-file limit cannot be
    raised that far (a failed raise keeps the current limit)."""
    if resource is None:
        return max(1, wanted)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    raise_to, slots = files_limit_for(wanted, soft, hard, resource.RLIM_INFINITY)
    if raise_to is None:
        return slots
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (raise_to, hard))
    except (ValueError, OSError):
        return files_limit_for(wanted, soft, soft, resource.RLIM_INFINITY)[1]
    return slots


def connected_subnets(run: Runner) -> list[str]:
    """The probe's own subnets, from `ip -j addr show` (none when ip is missing: no subnet is then 'connected')."""
    rc, out, _unused = run(["ip", "-j", "addr", "show"])
    if rc != 0:
        return []
    return sorted({str(ip_network_of(entry)) for entry in parse_ip_addr(out)})


def resolve_name(name: str, port: int) -> str:
    """The first address the probe host's resolver gives for `name` (the one a TCP client tries first);
    OSError (socket.gaierror) when the name does not resolve."""
    return str(socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)[0][4][0])


def resolved_addresses(targets: Sequence[dict[str, Any]], resolve: Any = None) -> dict[str, str | OSError]:
    """{host name: its address, or the resolver's error} for the targets given by name.

    An inventory often names rooms by DNS name (`ansible_host: zr-01.corp.example`); the probe connects
    to the address that name has on the controllers' segment. Names are looked up concurrently so that
    one slow lookup does not hold up the others."""
    names = sorted({t["address"] for t in targets if as_address(t["address"]) is None})
    if not names:
        return {}
    resolve = resolve or resolve_name

    def lookup(name: str, port: int) -> str | OSError:
        try:
            return resolve(name, port)
        except OSError as error:
            return error

    ports = {t["address"]: t["port"] for t in targets}
    with ThreadPoolExecutor(max_workers=min(RESOLVER_THREADS, len(names))) as pool:
        lookups = {name: pool.submit(lookup, name, ports[name]) for name in names}
        return {name: looked_up.result() for name, looked_up in lookups.items()}


def unresolved_result(target: dict[str, Any], error: OSError) -> dict[str, Any]:
    return {"address": target["address"], "port": int(target["port"]), "state": "error", "latency_ms": 0.0,
            "error": f"the name does not resolve on the probe host: {error}"}


def probe_report(params: Mapping[str, Any], run: Runner) -> dict[str, Any]:
    """The module's result (without `changed`): every target tried at once, plus the probe's subnets."""
    options = probe_options(params)
    targets = checked_targets(options)
    subnets = connected_subnets(run)
    started = time.monotonic()
    names = resolved_addresses(targets)
    unresolved = {t["name"]: unresolved_result(t, names[t["address"]]) for t in targets
                  if isinstance(names.get(t["address"]), OSError)}
    to_connect = [{**t, "address": names.get(t["address"], t["address"])} for t in targets
                  if t["name"] not in unresolved]
    concurrency = socket_slots(min(len(to_connect), int(options["concurrency"])))
    results = {**probe_many(to_connect, float(options["timeout"]), concurrency), **unresolved}
    networks = _networks(subnets)
    for target in targets:
        result = results[target["name"]]
        if target["address"] in names and target["name"] not in unresolved:
            result["resolved_address"], result["address"] = result["address"], target["address"]
        result["in_connected_subnet"] = address_in_any(result.get("resolved_address", result["address"]), networks)
    return {"reachability": results, "connected_subnets": subnets, "concurrency": concurrency,
            "elapsed_ms": round((time.monotonic() - started) * 1000, 1)}


def lean_probe(params: Mapping[str, Any]) -> dict[str, Any]:
    """Entry point of the zoom_room_reachability action's lean payload (plugin_utils/zoom_room_lean.py)."""
    try:
        return {"changed": False, **probe_report(params, plain_command_runner())}
    except InvalidValue as error:
        return {"failed": True, "msg": str(error)}
