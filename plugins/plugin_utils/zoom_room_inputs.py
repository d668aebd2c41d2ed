"""Inventory values checked for every room before any host is touched (docs/design.md, inventory variables)."""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    parse_cidrs,
    parse_port,
    refuse_any_address,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_proxy_policy import (
    POLICIES,
    validate_policy,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_url import check_list_entry, check_text
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_version import parse_version


def _check_subnets(value: Any, remediate: bool) -> None:
    subnets = parse_cidrs(value if value is not None else [], "zoom_room_controller_subnets", required=remediate)
    for index, subnet in enumerate(subnets):
        if subnet.prefixlen == 0:
            raise InvalidValue(f"zoom_room_controller_subnets[{index}]: '{subnet}' is 'any'; give the controller "
                               "subnets")
    refuse_any_address(subnets, "zoom_room_controller_subnets")


def _check_text(name: str) -> Callable[[Any, bool], None]:
    def check(value: Any, _unused: bool) -> None:
        if value is not None and not isinstance(value, str):
            raise InvalidValue(f"{name}: {value!r} is not a string")
        if value is not None:
            check_text(value, name)
    return check


def _check_bypass(value: Any, _unused: bool) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        raise InvalidValue(f"zoom_room_proxy_bypass: {value!r} is not a list")
    for index, entry in enumerate(value):
        check_list_entry(entry, f"zoom_room_proxy_bypass[{index}]")


def _check_names(name: str) -> Callable[[Any, bool], None]:
    """A list of names that reach a room command as arguments (macOS network services may hold spaces)."""
    def check(value: Any, _unused: bool) -> None:
        if value is not None and not isinstance(value, list):
            raise InvalidValue(f"{name}: {value!r} is not a list")
        for index, entry in enumerate(value or []):
            if not isinstance(entry, str):
                raise InvalidValue(f"{name}[{index}]: {entry!r} is not a string")
            check_text(entry, f"{name}[{index}]")
    return check


def _check_platform(value: Any, _unused: bool) -> None:
    if value is not None and value not in PLATFORMS:
        raise InvalidValue(f"zoom_room_platform: {value!r} is not one of {', '.join(PLATFORMS)}")


# The platforms zoom_room_common's argument specs allow: windows, else the POSIX tasks.
PLATFORMS = ("windows", "posix", "linux", "macos", "appliance")

# Each room's contract values (docs/design.md; roles/zoom_room_common/meta/argument_specs.yml), all checked
# here at once: the playbooks run this before any room is touched, instead of per-room role validation.
CHECKS: dict[str, Callable[[Any, bool], None]] = {
    "zoom_room_address": _check_text("zoom_room_address"),
    "zoom_room_probe": _check_text("zoom_room_probe"),
    "zoom_room_package_name": _check_text("zoom_room_package_name"),
    "zoom_room_macos_app_path": _check_text("zoom_room_macos_app_path"),
    "zoom_room_proxy_bypass": _check_bypass,
    "zoom_room_proxy_services": _check_names("zoom_room_proxy_services"),
    "zoom_room_windows_proxy_user": _check_text("zoom_room_windows_proxy_user"),
    "zoom_room_platform": _check_platform,
    "zoom_room_controller_subnets": _check_subnets,
    "zoom_room_controller_port": lambda value, _unused: parse_port(value, "zoom_room_controller_port"),
    "zoom_room_min_version": lambda value, _unused: (
        value in (None, "") or parse_version(value, "zoom_room_min_version")),
}


PROXY_VARIABLES = ("zoom_room_proxy_policy", "zoom_room_proxy_server", "zoom_room_proxy_pac_url")


def _check_proxy(host_vars: dict[str, Any]) -> None:
    policy = host_vars.get("zoom_room_proxy_policy", "keep")
    if policy not in POLICIES:
        raise InvalidValue(f"zoom_room_proxy_policy: '{policy}' is not one of {', '.join(POLICIES)}")
    validate_policy(policy, host_vars.get("zoom_room_proxy_server"), host_vars.get("zoom_room_proxy_pac_url"),
                    host_vars.get("zoom_room_platform"))


def role_option_errors(host_vars: Mapping[str, Any], options: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """A room's values of a role's options (meta/argument_specs.yml) that the role would refuse.

    The playbooks check every room here at once, before any room is touched, instead of one
    validation task per room when the role starts (docs/performance.md).
    """
    given = {name: host_vars[name] for name in options if name in host_vars}
    # As plain data: on Ansible's tagged template results the validator is some 50 times slower
    # (12 ms a room instead of 0.2 ms, measured in a playbook run).
    plain = json.loads(json.dumps(given, default=str))
    return list(ArgumentSpecValidator(dict(options)).validate(plain).error_messages)


def input_errors(rooms: dict[str, dict[str, Any]], remediate: bool = False,
                 role_options: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """One message per bad value, `host: variable: why`; empty when the inventory is usable.

    role_options: the options of the roles the playbook runs (their `main` argument specs), each
    room's values checked against them too.
    """
    errors = []
    names = {*CHECKS, *PROXY_VARIABLES, *(role_options or {})}
    for host, room_vars in sorted(rooms.items()):
        # Each value once: reading one of Ansible's hostvars templates it every time (docs/performance.md).
        host_vars = {name: room_vars[name] for name in names if name in room_vars}
        errors += [f"{host}: {message}" for message in role_option_errors(host_vars, role_options or {})]
        for name, check in CHECKS.items():
            try:
                check(host_vars.get(name, 9090 if name == "zoom_room_controller_port" else None), remediate)
            except InvalidValue as error:
                errors.append(f"{host}: {error}")
        try:
            _check_proxy(host_vars)
        except InvalidValue as error:
            message = str(error)
            errors.append(f"{host}: {message if message.startswith('zoom_room_') else 'zoom_room_proxy_' + message}")
    return errors
