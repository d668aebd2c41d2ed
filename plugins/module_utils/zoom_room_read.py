"""The room's whole state in one read (docs/facts.md): what zoom_room_facts returns.

One function for both ways it runs: the zoom_room_facts module (AnsiballZ, with AnsibleModule's
command runner) and the zoom_room_diagnose action's lean payload (plugin_utils/zoom_room_lean.py,
with plain_command_runner). The platform readers take the runner and the file reader, so tests
replay recorded host output through them.
"""

from __future__ import annotations

import platform
import socket
from typing import Any, Callable, Mapping

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_command import (
    Runner,
    plain_command_runner,
    read_once,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_host import (
    firewall_facts,
    linux_layers,
    read_file,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_linux import (
    EnvironmentFileProxy,
    parse_os_release,
    read_app,
    read_listener,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    Network,
    parse_cidrs,
    parse_ip_addr,
    parse_port,
)

SCHEMA_VERSION = 1
FileReader = Callable[[str], "str | None"]
# zoom_room_facts's options (its DOCUMENTATION describes them); the lean payload gets the same defaults.
FACTS_ARGUMENT_SPEC: dict[str, Any] = {
    "controller_port": {"type": "int", "default": 9090},
    "controller_subnets": {"type": "list", "elements": "str", "default": []},
    "package_name": {"type": "str", "default": "zoom-rooms"},
    "app_path": {"type": "path", "default": "/Applications/ZoomPresence.app"},
    "proxy_services": {"type": "list", "elements": "str"},
    "environment_file": {"type": "path", "default": "/etc/environment"},
}


def room_facts(params: Mapping[str, Any], run: Runner, read: FileReader, system: str) -> dict[str, Any]:
    """The facts of this host (`system` is platform.system()); InvalidValue names a bad option."""
    params = {**{name: spec.get("default") for name, spec in FACTS_ARGUMENT_SPEC.items()}, **params}
    port = parse_port(params["controller_port"], "controller_port")
    subnets = parse_cidrs(params["controller_subnets"], "controller_subnets", required=False)
    if system == "Darwin":
        return macos_room_facts(params, run, port, subnets)
    return linux_facts(params, run, read, port, subnets)


def linux_facts(params: Mapping[str, Any], run: Runner, read: FileReader, port: int,
                subnets: list[Network]) -> dict[str, Any]:
    run = read_once(run)  # read-only: layer choice and verdicts share each command's output
    errors: list[str] = []
    facts: dict[str, Any] = {
        "schema": SCHEMA_VERSION, "platform": "linux", "hostname": socket.gethostname(), "controller_port": port,
        "os": parse_os_release(read("/etc/os-release") or ""),
        "app": read_app(run, params["package_name"]),
        "listener": read_listener(read, port),
    }
    try:
        facts["firewall"] = firewall_facts(linux_layers(run, port, persist=False), subnets)
    except (RuntimeError, ValueError) as error:
        errors.append(f"firewall: {error}")
        facts["firewall"] = {"backend": "unknown", "active": True, "layers": [], "block_all": False, "notes": [],
                             "verdicts": [{"subnet": str(s), "verdict": "unknown", "decided_by": str(error)}
                                          for s in subnets]}
    proxy = EnvironmentFileProxy(read, lambda path, content: None, params["environment_file"])
    facts["proxy"] = proxy.proxy_facts(proxy.read(), subnets)
    rc, out, err = run(["ip", "-j", "addr", "show"])
    facts["addresses"] = parse_ip_addr(out) if rc == 0 else []
    if rc != 0:
        errors.append(f"addresses: ip -j addr show: {err.strip()}")
    facts["errors"] = errors
    return facts


def macos_room_facts(params: Mapping[str, Any], run: Runner, port: int, subnets: list[Network]) -> dict[str, Any]:
    # Imported here so Linux rooms do not compile the macOS code (AnsiballZ compiles module_utils from its
    # zip on every run, the lean payload on import); both still carry it.
    from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos import load_plist, macos_facts

    return macos_facts(run, load_plist, port, subnets, app_path=params["app_path"], services=params["proxy_services"])


def lean_facts(params: Mapping[str, Any]) -> dict[str, Any]:
    """Entry point of the zoom_room_diagnose action's lean payload: the module's result, without AnsiballZ."""
    try:
        return {"changed": False, "facts": room_facts(params, plain_command_runner(), read_file, platform.system())}
    except InvalidValue as error:
        return {"failed": True, "msg": str(error)}
