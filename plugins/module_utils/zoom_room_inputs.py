"""Inventory values checked for every room before any host is touched (DESIGN.md, inventory contract)."""

from __future__ import annotations

from typing import Any, Callable

from ansible.module_utils.zoom_room_net import InvalidValue, parse_cidrs, parse_port
from ansible.module_utils.zoom_room_proxy_policy import POLICIES, validate_policy
from ansible.module_utils.zoom_room_version import parse_version


def _check_subnets(value: Any, remediate: bool) -> None:
    subnets = parse_cidrs(value if value is not None else [], "zoom_room_controller_subnets", required=remediate)
    for index, subnet in enumerate(subnets):
        if subnet.prefixlen == 0:
            raise InvalidValue(f"zoom_room_controller_subnets[{index}]: '{subnet}' is 'any'; give the controller "
                               "subnets")


CHECKS: dict[str, Callable[[Any, bool], None]] = {
    "zoom_room_controller_subnets": _check_subnets,
    "zoom_room_controller_port": lambda value, _: parse_port(value, "zoom_room_controller_port"),
    "zoom_room_min_version": lambda value, _: value in (None, "") or parse_version(value, "zoom_room_min_version"),
}


def _check_proxy(host_vars: dict[str, Any]) -> None:
    policy = host_vars.get("zoom_room_proxy_policy", "keep")
    if policy not in POLICIES:
        raise InvalidValue(f"zoom_room_proxy_policy: '{policy}' is not one of {', '.join(POLICIES)}")
    validate_policy(policy, host_vars.get("zoom_room_proxy_server"), host_vars.get("zoom_room_proxy_pac_url"))


def input_errors(rooms: dict[str, dict[str, Any]], remediate: bool = False) -> list[str]:
    """One message per bad value, `host: variable: why`; empty when the inventory is usable."""
    errors = []
    for host, host_vars in sorted(rooms.items()):
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
