"""Host access for the zoom_room_* modules: commands, file reads and writes, firewall layer choice.

The platform parsers and planners take these callables, so tests replace them with
recordings; everything here is thin I/O.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Callable

from ansible.module_utils.zoom_room_firewalld import FIREWALLD_IPTABLES_CHAIN, FIREWALLD_TABLES, FirewalldBackend
from ansible.module_utils.zoom_room_iptables import IptablesBackend, UfwBackend, iptables_in_use, parse_iptables_save
from ansible.module_utils.zoom_room_net import Network
from ansible.module_utils.zoom_room_nftables import NftablesBackend, native_input_chains
from ansible.module_utils.zoom_room_packetfilter import ADMITTED, combine_layers

Runner = Callable[..., tuple[int, str, str]]
LINUX_BACKENDS = ("nftables", "iptables", "ufw", "firewalld")


def command_runner(module: Any) -> Runner:
    """argv -> (rc, stdout, stderr) in the C locale; `data` goes to stdin byte for byte."""
    def run(argv: list[str], data: str | None = None) -> tuple[int, str, str]:
        if module.get_bin_path(argv[0]) is None and not argv[0].startswith("/"):
            return 127, "", f"{argv[0]}: command not found"
        return module.run_command(argv, data=data, binary_data=True, check_rc=False,
                                  environ_update={"LANG": "C", "LC_ALL": "C"})
    return run


def read_file(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except OSError:
        return None


def file_writer(module: Any) -> Callable[[str, str], None]:
    """Write a file atomically, keeping its owner, mode and SELinux context (module.atomic_move)."""
    def write(path: str, content: str) -> None:
        directory = os.path.dirname(path) or "."
        fd, temp = tempfile.mkstemp(prefix=".zoom-rooms-", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        module.atomic_move(temp, path)
    return write


# ---------------------------------------------------------------- firewall layers

def ufw_active(run: Runner) -> bool:
    rc, out, _ = run(["ufw", "status"])
    return rc == 0 and out.startswith("Status: active")


def firewalld_running(run: Runner) -> bool:
    """`firewall-cmd --state` prints `running` (rc 0); `not running` goes to stderr with rc 252."""
    rc, out, _ = run(["firewall-cmd", "--state"])
    return rc == 0 and out.strip() == "running"


def linux_layers(run: Runner, port: int, backend: str = "auto", persist: bool = True) -> list[Any]:
    """The filtering layers on this host, outermost first, or just the one asked for.

    nftables' own tables and iptables' (legacy or nft) both see every inbound packet, so
    both are layers; with ufw active, ufw owns the iptables rules. With firewalld running,
    firewalld owns its `inet firewalld` table (nftables backend) or its INPUT_ZONES chains
    (iptables backend): it is read and changed through firewall-cmd, and the nftables and
    iptables layers leave those alone. Changing them directly would be undone by the next
    `firewall-cmd --reload`, and nftables.conf would get a copy of firewalld's table.
    """
    if backend == "firewalld":
        return [FirewalldBackend(run, port, persist=persist)]
    if backend == "iptables":
        return [IptablesBackend(run, port, persist=persist)]
    if backend == "ufw":
        return [UfwBackend(run, port)]
    firewalld_on = firewalld_running(run)
    excluded = FIREWALLD_TABLES if firewalld_on else frozenset()
    nft = NftablesBackend(run, port, persist=persist, exclude_tables=excluded)
    if backend == "nftables":
        return [nft]
    layers: list[Any] = []
    try:
        if native_input_chains(nft.chains(), exclude_tables=excluded):
            layers.append(nft)
    except (RuntimeError, ValueError):
        pass  # no nft binary or no nf_tables: the iptables layer covers the host
    if ufw_active(run):
        layers.append(UfwBackend(run, port))
    elif _iptables_has_rules(run, skip_firewalld=firewalld_on):
        layers.append(IptablesBackend(run, port, persist=persist))
    if firewalld_on:
        layers.append(FirewalldBackend(run, port, persist=persist))
    return layers


def _iptables_has_rules(run: Runner, skip_firewalld: bool = False) -> bool:
    """INPUT has rules or a non-ACCEPT policy; with `skip_firewalld`, not counting firewalld's own table."""
    for command in ("iptables-save", "ip6tables-save"):
        rc, out, _ = run([command, "-t", "filter"])
        table = parse_iptables_save(out) if rc == 0 else None
        if table is None or (skip_firewalld and FIREWALLD_IPTABLES_CHAIN in table.policies):
            continue
        if iptables_in_use(table):
            return True
    return False


def firewall_facts(layers: list[Any], subnets: list[Network]) -> dict[str, Any]:
    """The facts "firewall" section: per subnet, the strictest verdict across layers."""
    per_layer = [(layer.name, layer.verdicts(subnets)) for layer in layers]
    verdicts = []
    for index, subnet in enumerate(subnets):
        verdict = combine_layers([results[index] for _, results in per_layer])
        verdicts.append({**verdict, "subnet": str(subnet)})
    primary = next((name for name in ("ufw", "firewalld", "iptables", "nftables") if name in dict(per_layer)), "none")
    return {
        "backend": primary,
        "active": bool(layers),
        "layers": [{"backend": name, "verdicts": results} for name, results in per_layer],
        "verdicts": verdicts,
        "block_all": False,
        "notes": [],
    }


def all_admitted(facts: dict[str, Any]) -> bool:
    return all(v["verdict"] == ADMITTED for v in facts["verdicts"])
