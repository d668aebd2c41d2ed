"""Host access for the zoom_room_* modules: file reads and writes, firewall layer choice.

The platform parsers and planners take these callables, so tests replace them with
recordings; everything here is thin I/O, and the small pure rules that pick the layers.

A backend module (nftables, iptables and ufw, firewalld) is imported in the function that puts
that backend in play, not at the top: AnsiballZ imports module_utils from a zip and compiles
each one on every run, so a room compiles only the backends it has. AnsiballZ still ships them
all: its import scanner reads the imports inside functions too. Running commands is
module_utils/zoom_room_command, which needs nothing of this file.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Callable

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_command import Runner
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import Network
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_packetfilter import (
    ADMITTED,
    UNKNOWN,
    combine_layers,
)

LINUX_BACKENDS = ("nftables", "iptables", "ufw", "firewalld")


def read_file(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except OSError:
        return None


def file_writer(module: Any) -> Callable[[str, str], None]:
    """Write a file atomically, keeping its owner, mode and SELinux context (module.atomic_move).

    A symlink is followed: its target gets the new bytes and the link stays a link (replacing the
    link with a file would leave the target, which others may read, stale).
    """
    def write(path: str, content: str) -> None:
        path = os.path.realpath(path)
        directory = os.path.dirname(path) or "."
        fd, temp = tempfile.mkstemp(prefix=".zoom-rooms-", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        module.atomic_move(temp, path)
    return write


# ---------------------------------------------------------------- firewall layers

# ufw's input chain: `ufw status` looks it up to tell whether ufw is loaded.
UFW_INPUT_CHAIN = "ufw-user-input"


def ufw_may_be_active(iptables_save_rc: int, iptables_save: str) -> bool:
    """Can `ufw status` say active? Judged from `iptables-save -t filter`: ufw is a Python start (~50 ms).

    ufw reports active only when `iptables -L ufw-user-input` succeeds (ufw 0.36,
    backend_iptables.get_status), i.e. when its chains are loaded; iptables-save lists them as
    `:ufw-user-input`, read from the same iptables (legacy or nft) ufw runs. ENABLED=yes in
    /etc/ufw/ufw.conf is not the test: it says what to load at boot, not what is loaded now.
    When iptables-save failed we cannot tell, so ufw is asked.
    """
    if iptables_save_rc != 0:
        return True
    return any(line.startswith(f":{UFW_INPUT_CHAIN} ") for line in iptables_save.splitlines())


def ufw_active(run: Runner) -> bool:
    """`ufw status verbose` (what UfwBackend reads, so a read_once runner reuses it) says active."""
    rc, out, _unused = run(["iptables-save", "-t", "filter"])
    if not ufw_may_be_active(rc, out):
        return False
    rc, out, _unused = run(["ufw", "status", "verbose"])
    return rc == 0 and out.startswith("Status: active")


def firewalld_running(run: Runner) -> bool:
    """`firewall-cmd --state` prints `running` (rc 0); `not running` goes to stderr with rc 252."""
    rc, out, _unused = run(["firewall-cmd", "--state"])
    return rc == 0 and out.strip() == "running"


class UnreadableLayer:
    """A layer whose tool is missing or fails: its verdicts are `unknown` with the reason, never "no firewall".

    Changing through it is refused at the first read, before anything on the host changes."""

    def __init__(self, name: str, reason: str):
        self.name, self.reason = name, reason

    def verdicts(self, subnets: list[Network]) -> list[dict[str, str]]:
        reason = f"{self.name} could not be read: {self.reason}"
        return [{"subnet": str(subnet), "verdict": UNKNOWN, "decided_by": reason} for subnet in subnets]

    def read(self) -> dict[str, Any]:
        raise RuntimeError(f"{self.name} could not be read: {self.reason}")


def linux_layers(run: Runner, port: int, backend: str = "auto", persist: bool = True,
                 backup: Callable[[str], str] = lambda path: "") -> list[Any]:
    """The filtering layers on this host, outermost first, or just the one asked for.

    nftables' own tables and iptables' (legacy or nft) both see every inbound packet, so
    both are layers; with ufw active, ufw owns the iptables rules. With firewalld running,
    firewalld owns its `inet firewalld` table (nftables backend) or its INPUT_ZONES chains
    (iptables backend): it is read and changed through firewall-cmd, and the nftables and
    iptables layers leave those alone. Changing them directly would be undone by the next
    `firewall-cmd --reload`, and nftables.conf would get a copy of firewalld's table.
    """
    if backend == "firewalld":
        return [_firewalld_layer(run, port, persist)]
    if backend in ("iptables", "ufw"):
        return [_iptables_layer(run, port, backend, persist, backup)]
    from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_nftables import (
        NftablesBackend,
        native_input_chains,
    )

    firewalld_on = firewalld_running(run)
    excluded, firewalld_chain = _firewalld_owned(firewalld_on)
    nft = NftablesBackend(run, port, persist=persist, exclude_tables=excluded, backup=backup)
    if backend == "nftables":
        return [nft]
    layers: list[Any] = []
    try:
        if native_input_chains(nft.chains(), exclude_tables=excluded):
            layers.append(nft)
    except (RuntimeError, ValueError) as error:
        # No nft binary, or it fails: nftables tables may still filter the port, so the verdict is
        # unknown with the reason (never "no firewall, admitted").
        layers.append(UnreadableLayer("nftables", str(error)))
    if ufw_active(run):
        layers.append(_iptables_layer(run, port, "ufw", persist, backup))
    elif _iptables_has_rules(run, firewalld_chain):
        layers.append(_iptables_layer(run, port, "iptables", persist, backup))
    if firewalld_on:
        layers.append(_firewalld_layer(run, port, persist))
    return layers


def _iptables_has_rules(run: Runner, firewalld_chain: str | None = None) -> bool:
    """INPUT has rules or a non-ACCEPT policy, in a table without firewalld's chain (when firewalld runs)."""
    for command in ("iptables-save", "ip6tables-save"):
        rc, out, _unused = run([command, "-t", "filter"])
        if save_filters_input(rc, out, firewalld_chain):
            return True
    return False


def save_filters_input(rc: int, save: str, firewalld_chain: str | None = None) -> bool:
    """One `iptables-save -t filter` result: INPUT has rules or a non-ACCEPT policy, not counting firewalld's table.

    Read from the lines themselves (`:CHAIN POLICY [packets:bytes]`, `-A CHAIN ...`), so choosing the
    layers imports no iptables code on the many rooms whose filter table is empty.
    """
    if rc != 0:
        return False
    lines = save.splitlines()
    if firewalld_chain is not None and any(line.startswith(f":{firewalld_chain} ") for line in lines):
        return False
    return any(line.startswith("-A INPUT ") or (line.startswith(":INPUT ") and line.split()[1:2] != ["ACCEPT"])
               for line in lines)


def _iptables_layer(run: Runner, port: int, backend: str, persist: bool,
                    backup: Callable[[str], str] = lambda path: "") -> Any:
    from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_iptables import (
        IptablesBackend,
        UfwBackend,
    )

    return UfwBackend(run, port) if backend == "ufw" else IptablesBackend(run, port, persist=persist, backup=backup)


def _firewalld_layer(run: Runner, port: int, persist: bool) -> Any:
    from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_firewalld import FirewalldBackend

    return FirewalldBackend(run, port, persist=persist)


def _firewalld_owned(firewalld_on: bool) -> tuple[frozenset[str], str | None]:
    """What firewalld owns while it runs: its nftables tables and its iptables chain; nothing when it does not."""
    if not firewalld_on:
        return frozenset(), None
    from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_firewalld import (
        FIREWALLD_IPTABLES_CHAIN,
        FIREWALLD_TABLES,
    )

    return FIREWALLD_TABLES, FIREWALLD_IPTABLES_CHAIN


def firewall_facts(layers: list[Any], subnets: list[Network]) -> dict[str, Any]:
    """The facts "firewall" section: per subnet, the strictest verdict across layers."""
    per_layer = [(layer.name, layer.verdicts(subnets)) for layer in layers]
    verdicts = []
    for index, subnet in enumerate(subnets):
        verdict = combine_layers([results[index] for _unused, results in per_layer])
        verdicts.append({**verdict, "subnet": str(subnet)})
    primary = next((name for name in ("ufw", "firewalld", "iptables", "nftables") if name in dict(per_layer)), "none")
    return {
        "backend": primary,
        "active": bool(layers),
        "layers": [{"backend": name, "verdicts": results} for name, results in per_layer],
        "verdicts": verdicts,
        "block_all": False,
        "notes": [],
        "unreadable": [{"backend": layer.name, "reason": layer.reason} for layer in layers
                       if isinstance(layer, UnreadableLayer)],
        "boot_differences": boot_differences(layers),
    }


def boot_differences(layers: list[Any]) -> list[dict[str, str]]:
    """Where what is live and what the boot configuration loads differ, per layer that can tell."""
    found = []
    for layer in layers:
        if hasattr(layer, "boot_differences"):
            found += [{"backend": layer.name, "difference": text} for text in layer.boot_differences()]
    return found


def all_admitted(facts: dict[str, Any]) -> bool:
    return all(v["verdict"] == ADMITTED for v in facts["verdicts"])
