"""A handle on a running lab for integration tests: real podman, real SSH, real ansible."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"

# An SSH ControlPath is a Unix socket path, and sun_path holds 108 bytes with its NUL. Ansible's ControlPath
# is "<dir>/<10 hex chars>" and ssh binds a new master at "<ControlPath>.<16 random chars>" first (mux.c),
# so a directory of more than 79 bytes makes every new master fail: ssh exits 255 with
# 'unix_listener: path "..." too long for Unix domain socket' and Ansible reports the host UNREACHABLE.
# pytest's tmp_path is too deep for that under pytest-xdist (/tmp/pytest-of-root/pytest-12/popen-gw0/...).
CONTROL_PATH_DIR_MAX = 107 - len("/") - 10 - len(".") - 16


def check_control_path_dir(path: Path | str) -> Path:
    """``path`` as a ControlPath directory, or an AssertionError that says why it cannot be one."""
    length = len(os.fsencode(str(path)))
    if length > CONTROL_PATH_DIR_MAX:
        raise AssertionError(f"ControlPath directory {path} is {length} bytes; SSH masters under it would fail "
                             f"(at most {CONTROL_PATH_DIR_MAX}: labfixture.CONTROL_PATH_DIR_MAX)")
    return Path(path)


def new_control_path_dir(prefix: str = "zr-cp-") -> Path:
    """A fresh, empty ControlPath directory short enough for SSH's socket paths (the caller removes it)."""
    return check_control_path_dir(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


# A real TCP connect from the probe, the way a controller on that segment would try.
PROBE_CONNECT = """
import json, socket, sys, time
address, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
start = time.monotonic()
try:
    socket.create_connection((address, port), timeout=timeout).close()
    result = "open"
except socket.timeout:
    result = "timeout"
except ConnectionRefusedError:
    result = "refused"
except OSError as error:
    result = "no_route" if error.errno in (101, 113) else f"error:{error.errno}"
print(json.dumps(result))
"""

# A site's boot firewall that blocks the controller port: a comment to keep and an input policy of drop.
SITE_NFTABLES_CONF = """#!/usr/sbin/nft -f
# site firewall: keep this comment
flush ruleset

table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\ttcp dport 22 accept
\t}
}
"""


@dataclass
class Lab:
    name: str
    state_dir: Path
    # True only right after heal_all succeeded and until a test may have changed a room again.
    at_baseline: bool = False

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "ZR_LAB_NAME": self.name, "ZR_LAB_DIR": str(self.state_dir),
            "CONTAINERS_CONF": str(ROOT / "tests/lab/containers.conf"),
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_INVENTORY": str(self.inventory),
            "PATH": f"{VENV_BIN}:{env['PATH']}",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(check_control_path_dir(f"/tmp/zr-cp-{self.name}")),
        })
        return env

    @property
    def inventory(self) -> Path:
        return self.state_dir / "inventory.yml"

    @property
    def state(self) -> dict[str, Any]:
        return json.loads((self.state_dir / "state.json").read_text())

    @property
    def rooms(self) -> list[str]:
        return sorted(self.state["rooms"])

    @property
    def probe(self) -> str:
        return self.state["probe"]["name"]

    def labctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run([str(ROOT / "tests/lab/labctl"), *args], check=check)

    def run(self, argv: list[str], check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess:
        kwargs.setdefault("env", self.env)
        result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, **kwargs)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def sh(self, host: str, script: str, check: bool = True) -> str:
        return self.run(["podman", "exec", host, "sh", "-c", script], check=check).stdout

    def connect(self, room: str, port: int = 9090, timeout: float = 2.0) -> str:
        """open | refused | timeout | no_route: a real connect from the probe to the room's address."""
        address = self.state["rooms"][room]["address"]
        out = self.run(["podman", "exec", self.probe, "python3", "-c", PROBE_CONNECT, address, str(port),
                        str(timeout)]).stdout
        return json.loads(out)

    def ruleset(self, room: str) -> str:
        return self.sh(room, "nft list ruleset")

    def install_nftables_conf(self, room: str, conf: str) -> None:
        """Make `conf` the room's boot firewall (mode 755, as Debian ships it) and load it."""
        self.run(["podman", "exec", "-i", room, "sh", "-c", "mkdir -p /etc/nftables.d && cat > /etc/nftables.conf"],
                 input=conf)
        self.sh(room, "chmod 755 /etc/nftables.conf")
        self.reboot_firewall(room)

    def reboot_firewall(self, room: str) -> None:
        """What a reboot loads: the boot configuration and nothing of the live ruleset."""
        self.sh(room, "nft flush ruleset && nft -f /etc/nftables.conf")

    def file_bytes(self, room: str, path: str) -> str:
        return self.sh(room, f"cat {path}")

    def write_file(self, room: str, path: str, text: str) -> None:
        """Any text (quotes, `$`, spaces) byte for byte, through stdin; a symlink at `path` is followed."""
        self.run(["podman", "exec", "-i", room, "sh", "-c", f"cat > {path}"], input=text)

    def ansible(self, *args: str, check: bool = True, extra_env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess:
        return self.run([str(VENV_BIN / "ansible"), *args], check=check, env={**self.env, **(extra_env or {})})

    def playbook(self, *args: str, check: bool = True, extra_env: dict[str, str] | None = None
                 ) -> subprocess.CompletedProcess:
        env = {**self.env, **(extra_env or {})}
        result = subprocess.run([str(VENV_BIN / "ansible-playbook"), *args], cwd=ROOT, env=env,
                                capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"ansible-playbook {' '.join(args)} exited {result.returncode}\n"
                                 f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}")
        return result

    def heal_all(self) -> None:
        """Every room back to baseline, in one labctl call (it heals them side by side)."""
        self.at_baseline = False
        self.labctl("heal", *self.rooms)
        self.at_baseline = True
