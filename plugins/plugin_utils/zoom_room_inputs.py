"""Inventory values checked for every room before any host is touched (docs/design.md, inventory variables)."""

from __future__ import annotations

import json
import re
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


def _check_min_version(value: Any, _unused: bool) -> None:
    # YAML reads an unquoted 5.10 as the float 5.1: the version meant is lost before it gets here, so a
    # float is refused rather than read as 5.1.0.0 (a str or an int is a version as it is).
    if isinstance(value, float):
        raise InvalidValue(f"zoom_room_min_version: {value!r} is a number, not a version (YAML reads 5.10 as 5.1); "
                           "quote it, for example '5.10'")
    if value not in (None, ""):
        parse_version(value, "zoom_room_min_version")


def _check_at_least_one(name: str) -> Callable[[Any, bool], None]:
    """A count the modules refuse below 1 (backup copies kept): refused here, before the first wave, instead
    of on a room in the middle of the rollout. Its type is the role argument specs' check."""
    def check(value: Any, _unused: bool) -> None:
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            raise InvalidValue(f"{name}: {value} must be 1 or more")
    return check


def _check_csapi(host_vars: Mapping[str, Any]) -> None:
    """ZR-CSAPI values, for a room that reads it: read per room at diagnosis, so a bad one would end that
    room's diagnosis instead of stopping the run before any room is read."""
    enabled = host_vars.get("zoom_room_csapi", False)
    _check_boolean("zoom_room_csapi")(enabled, False)
    if str(enabled).lower() not in _TRUE_WORDS:
        return
    parse_port(host_vars.get("zoom_room_csapi_port", 2244), "zoom_room_csapi_port")
    timeout = host_vars.get("zoom_room_csapi_timeout", 10)
    try:
        valid = not isinstance(timeout, bool) and float(timeout) > 0
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise InvalidValue(f"zoom_room_csapi_timeout: {timeout!r} is not a number of seconds above 0")


# The platforms zoom_room_common's argument specs allow: windows, else the POSIX tasks. `unknown` is what
# the Zoom API inventory sets for a room computer that reports no system: the playbooks read it over SSH
# like any POSIX room (an unreachable one is reported so), so it must not stop the run for the others.
PLATFORMS = ("windows", "posix", "linux", "macos", "appliance", "unknown")

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
    "zoom_room_min_version": _check_min_version,
    "zoom_room_firewall_backup_keep": _check_at_least_one("zoom_room_firewall_backup_keep"),
    "zoom_room_proxy_backup_keep": _check_at_least_one("zoom_room_proxy_backup_keep"),
}
CSAPI_VARIABLES = ("zoom_room_csapi", "zoom_room_csapi_port", "zoom_room_csapi_timeout")


# Run-wide values: one per run (extra vars), checked once rather than per room.
_BATCH = re.compile(r"(\d+)(%?)")
# What the `bool` filter reads without coercion (ansible-core's to_bool; strings in any case, ints 0 and 1):
# anything else it reads as false with only a deprecation warning, which for zoom_rooms_plan_only applies changes.
_TRUE_WORDS = ("true", "yes", "on", "1")
_BOOLEANS = (*_TRUE_WORDS, "false", "no", "off", "0")


def _check_batch(value: Any, _unused: bool) -> None:
    """serial's wave size: rooms (1 or more) or 1%-100%, or a list of them (Ansible's serial takes one).

    Ansible reads 0 (and a negative count) as one batch of every room: a bad change would reach the whole
    fleet at once. `10.5%` or a word would only fail once the rollout play starts.
    """
    for entry in value if isinstance(value, list) and value else [value]:
        match = None if isinstance(entry, (bool, float)) else _BATCH.fullmatch(str(entry).strip())
        number = int(match.group(1)) if match else 0
        if number < 1 or (match and match.group(2) and number > 100):
            raise InvalidValue(f"zoom_rooms_batch: {value!r} is not a wave size; give a number of rooms (1 or more) "
                               "or a percentage from 1% to 100%")


def _check_boolean(name: str) -> Callable[[Any, bool], None]:
    def check(value: Any, _unused: bool) -> None:
        # None too: `bool` reads a null as false.
        if str(value).lower() not in _BOOLEANS:
            raise InvalidValue(f"{name}: {value!r} is not a boolean; give true or false")
    return check


# The run-wide values remediate.yml reads (docs/usage.md), as the playbook reads them (its defaults applied).
RUN_CHECKS: dict[str, Callable[[Any, bool], None]] = {
    "zoom_rooms_batch": _check_batch,
    "zoom_rooms_plan_only": _check_boolean("zoom_rooms_plan_only"),
    "zoom_rooms_api_enabled": _check_boolean("zoom_rooms_api_enabled"),
}


def run_errors(run_values: Mapping[str, Any]) -> list[str]:
    """One message per bad run-wide value, `run: variable: why` (no host: the value is the whole run's)."""
    errors = []
    for name, value in run_values.items():
        try:
            RUN_CHECKS[name](value, False)
        except InvalidValue as error:
            errors.append(f"run: {error}")
    return errors


PROXY_VARIABLES = ("zoom_room_proxy_policy", "zoom_room_proxy_server", "zoom_room_proxy_pac_url")


# The variable each policy reads its value from (validate_policy parses it as text).
POLICY_VARIABLE = {"manual": "zoom_room_proxy_server", "pac": "zoom_room_proxy_pac_url"}


def _check_proxy(host_vars: dict[str, Any]) -> None:
    policy = host_vars.get("zoom_room_proxy_policy", "keep")
    if policy not in POLICIES:
        raise InvalidValue(f"zoom_room_proxy_policy: '{policy}' is not one of {', '.join(POLICIES)}")
    if policy in POLICY_VARIABLE:
        # A number from the inventory (3128) would crash the parse without naming the host or the variable.
        _check_text(POLICY_VARIABLE[policy])(host_vars.get(POLICY_VARIABLE[policy]), False)
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
                 role_options: Mapping[str, Mapping[str, Any]] | None = None,
                 run_values: Mapping[str, Any] | None = None) -> list[str]:
    """One message per bad value, `host: variable: why`; empty when the inventory is usable.

    role_options: the options of the roles the playbook runs (their `main` argument specs), each
    room's values checked against them too. run_values: the playbook's run-wide values (RUN_CHECKS).
    """
    errors = run_errors(run_values or {})
    names = {*CHECKS, *PROXY_VARIABLES, *CSAPI_VARIABLES, *(role_options or {})}
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
        try:
            _check_csapi(host_vars)
        except InvalidValue as error:
            errors.append(f"{host}: {error}")
    return errors
