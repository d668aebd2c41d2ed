"""labctl: the podman lab of Zoom Rooms (room containers, a probe, two network segments).

Pure parts (argument checks, inventory, fault scripts) are plain functions unit-tested in
tests/unit/lab/test_labctl.py; everything that runs podman goes through `Podman`.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

ROOT = Path(__file__).resolve().parents[2]
LAB_SRC = ROOT / "tests" / "lab"
FAULT_KINDS = ("firewall_block", "not_listening", "proxy_no_bypass", "old_version", "wrong_segment",
               "csapi_busy", "csapi_down")
CURRENT_VERSION = "6.2.0.4512"
OLD_VERSION = "5.16.2.3001"
PACKAGE = "zoom-rooms-sim"
CONTROLLER_PORT = 9090
CSAPI_PORT = 2244
DEBIAN_SUITE = "bookworm"
BASE_PACKAGES = ("python3", "openssh-server", "nftables", "iptables", "iproute2", "procps", "ufw")
# Installed with apt in the debootstrapped tree: debootstrap's own first configure pass fails on the
# python3-* modules' postinst. python3-paramiko: the rooms' ZR-CSAPI endpoint is a paramiko server.
EXTRA_PACKAGES = ("python3-paramiko",)
FAULT_TABLE = "zr_lab_fault"
# The Zoom API double: upgrades target the lab's current package (the rooms can install it), and
# finish quickly; rooms look for news every API_REPORT_INTERVAL seconds and report what changed.
API_LATEST_VERSION = "6.2.0 (4512)"  # CURRENT_VERSION in the API's form
API_UPGRADE_DELAY = 1.0
API_REPORT_INTERVAL = 2
API_STANDALONE_ROOMS = 20
# The double's lab defaults (zoom_api_double.LAB_*): not secrets, but never logged all the same.
API_ACCOUNT_ID = "lab-account-id"
API_CLIENT_ID = "lab-client-id"
API_CLIENT_SECRET = "lab-client-secret-not-for-production"
# The lab rooms' ZR-CSAPI passcode: a lab value in the inventory; a real one comes from vault or
# ZOOM_ROOM_CSAPI_PASSCODE, and the toolkit never logs either.
CSAPI_PASSCODE = "lab-csapi-passcode-not-for-production"
CSAPI_HOST_KEY = "/var/lib/zoom-rooms-sim/csapi_host_rsa_key"


class LabError(Exception):
    """A user-facing error: printed without a traceback, exit code 2."""


@dataclass
class LabConfig:
    name: str = field(default_factory=lambda: os.environ.get("ZR_LAB_NAME", "zr"))
    state_dir: Path = field(default_factory=lambda: Path(os.environ.get("ZR_LAB_DIR", ROOT / ".lab")))
    cache_dir: Path = field(default_factory=lambda: Path(os.environ.get("ZR_LAB_CACHE", ROOT / ".lab" / "cache")))
    mirror: str = field(default_factory=lambda: os.environ.get("ZR_LAB_MIRROR", "http://deb.debian.org/debian"))

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def inventory_file(self) -> Path:
        return self.state_dir / "inventory.yml"

    @property
    def ssh_key(self) -> Path:
        return self.state_dir / "ssh" / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def csapi_known_hosts(self) -> Path:
        return self.state_dir / "csapi_known_hosts"

    @property
    def standalone_api_file(self) -> Path:
        return self.state_dir / "api-standalone.json"


# ---------------------------------------------------------------- pure parts

def room_names(lab: str, count: int) -> list[str]:
    if count < 1:
        raise LabError(f"--rooms: {count} is not a positive number of rooms")
    width = max(2, len(str(count)))
    return [f"{lab}-room-{index:0{width}d}" for index in range(1, count + 1)]


def check_fault_args(state: dict[str, Any], room: str, kind: str | None) -> None:
    """Fail before anything changes when the room or the fault kind is unknown."""
    if room not in state.get("rooms", {}):
        known = ", ".join(sorted(state.get("rooms", {}))) or "none (is the lab up?)"
        raise LabError(f"unknown room '{room}'; rooms: {known}")
    if kind is not None and kind not in FAULT_KINDS:
        raise LabError(f"unknown fault kind '{kind}'; kinds: {', '.join(FAULT_KINDS)}")


def inventory(state: dict[str, Any], config: LabConfig) -> dict[str, Any]:
    """The Ansible inventory of a lab state: the groups and variables of docs/design.md."""
    probe = state["probe"]
    rooms = {
        name: {"ansible_host": room["mgmt_ip"], "zoom_room_address": room["address"]}
        for name, room in sorted(state["rooms"].items())
    }
    ssh_args = f"-o UserKnownHostsFile={config.known_hosts} -o StrictHostKeyChecking=yes"
    room_group_vars: dict[str, Any] = {
        "zoom_room_controller_subnets": [state["networks"]["ctl"]["subnet"]],
        "zoom_room_probe": probe["name"],
        "zoom_room_package_name": PACKAGE,
        # ZR-CSAPI stays opt-in (zoom_room_csapi: true); these say how to reach and trust it.
        "zoom_room_csapi_known_hosts": str(config.csapi_known_hosts),
        "zoom_room_csapi_passcode": CSAPI_PASSCODE,
    }
    room_group_vars.update(api_inventory_vars(state.get("api") or {}))
    return {
        "all": {
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(config.ssh_key),
                "ansible_ssh_common_args": ssh_args,
                "ansible_python_interpreter": "/usr/bin/python3",
            },
            "children": {
                "zoom_rooms": {
                    "vars": room_group_vars,
                    # The appliance group is empty in the lab; it exists so playbook patterns match.
                    "children": {"zoom_rooms_linux": {"hosts": rooms}, "zoom_rooms_appliance": {"hosts": {}}},
                },
                "zoom_room_probes": {"hosts": {probe["name"]: {"ansible_host": probe["mgmt_ip"]}}},
            },
        }
    }


def api_inventory_vars(api: dict[str, Any]) -> dict[str, str]:
    """Group vars that point the toolkit at the lab's Zoom API double (over loopback), or none.

    The credentials are the double's lab defaults, so a first run works without exporting anything;
    the toolkit treats them like real ones (no_log) all the same.
    """
    if not api.get("base_url") or not api.get("token_url"):
        return {}
    return {
        "zoom_rooms_api_base_url": api["base_url"],
        "zoom_rooms_api_token_url": api["token_url"],
        "zoom_rooms_api_account_id": API_ACCOUNT_ID,
        "zoom_rooms_api_client_id": API_CLIENT_ID,
        "zoom_rooms_api_client_secret": API_CLIENT_SECRET,
    }


def api_exports(api: dict[str, Any]) -> str:
    """The shell line that points the toolkit (inventory plugin, zoom_rooms_api) at a double."""
    values = {
        "ZOOM_API_BASE_URL": api["base_url"],
        "ZOOM_OAUTH_TOKEN_URL": api["token_url"],
        "ZOOM_ACCOUNT_ID": API_ACCOUNT_ID,
        "ZOOM_CLIENT_ID": API_CLIENT_ID,
        "ZOOM_CLIENT_SECRET": API_CLIENT_SECRET,
    }
    return "export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in values.items())


def api_state(info: dict[str, Any], pid: int, log_file: Path) -> dict[str, Any]:
    """What labctl keeps about a running double: the control node's (loopback) URLs first.

    ``info`` is the double's start line; with ``--extra-host 127.0.0.1`` the loopback URLs are the
    extra ones and ``report_url`` (where lab rooms report) is the main address.
    """
    loopback = [(base, token) for base, token in zip(info.get("extra_base_urls") or [],
                                                     info.get("extra_token_urls") or [], strict=False)
                if base.startswith(("http://127.", "http://[::1]", "http://localhost"))]
    base_url, token_url = loopback[0] if loopback else (info["base_url"], info["token_url"])
    return {"pid": pid, "port": info["port"], "base_url": base_url, "token_url": token_url,
            "report_url": info["base_url"].rsplit("/v2", 1)[0], "log": str(log_file)}


def fault_script(kind: str) -> str:
    """Shell run inside a room to inject a fault (not wrong_segment: that is podman's job)."""
    scripts = {
        "firewall_block": (
            f"nft add table inet {FAULT_TABLE} && "
            f"nft add chain inet {FAULT_TABLE} input '{{ type filter hook input priority -10; policy accept; }}' && "
            f"nft add rule inet {FAULT_TABLE} input tcp dport {CONTROLLER_PORT} drop"
        ),
        "not_listening": "/usr/sbin/zoom-rooms-simctl stop",
        # A third-party control system holds the one ZR-CSAPI session; or ZR-CSAPI stops while 9090 stays.
        "csapi_busy": "/usr/sbin/zoom-rooms-simctl csapi-hold",
        "csapi_down": "/usr/sbin/zoom-rooms-simctl csapi-stop",
        "proxy_no_bypass": (
            "printf 'http_proxy=\"http://proxy.lab.invalid:3128\"\\n"
            "https_proxy=\"http://proxy.lab.invalid:3128\"\\n' >> /etc/environment"
        ),
        "old_version": (
            f"dpkg -i /opt/zoom-rooms-sim/{PACKAGE}_old.deb >/dev/null && "
            "{ ! /usr/sbin/zoom-rooms-simctl status >/dev/null || /usr/sbin/zoom-rooms-simctl restart; }"
        ),
    }
    return scripts[kind]


# Back to the image's baseline, whatever a fault or a test changed.
HEAL_SCRIPT = (
    "{ ! grep -qs '^ENABLED=yes' /etc/ufw/ufw.conf || ufw --force disable >/dev/null; } && "
    "cp /var/lib/zr-lab/baseline/nftables.conf /etc/nftables.conf && "
    "cp /var/lib/zr-lab/baseline/environment /etc/environment && "
    "rm -f /etc/iptables/rules.v4 /etc/iptables/rules.v6 /etc/nftables.d/zoom-rooms.nft && "
    "rm -rf /var/backups/zoom-rooms && "
    "nft -f /etc/nftables.conf && "
    f"{{ [ \"$(dpkg-query -W -f='${{Version}}' {PACKAGE})\" = {CURRENT_VERSION} ] || "
    f"dpkg -i /opt/zoom-rooms-sim/{PACKAGE}_current.deb >/dev/null; }} && "
    "/usr/sbin/zoom-rooms-simctl restart"
)


def csapi_known_hosts_lines(state: dict[str, Any]) -> list[str]:
    """known_hosts lines for each room's ZR-CSAPI host key at its controller address (`[addr]:2244`)."""
    return [f"[{room['address']}]:{CSAPI_PORT} {' '.join(room['csapi_host_key'].split()[:2])}"
            for _unused, room in sorted(state.get("rooms", {}).items()) if room.get("csapi_host_key")]


def render_yaml(data: Any, indent: int = 0) -> str:
    """Block YAML for the inventory's plain dicts, lists and scalars (labctl runs without PyYAML)."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, (dict, list)) and value:
                lines.append(f"{pad}{key}:")
                lines.append(render_yaml(value, indent + 1))
            else:
                lines.append(f"{pad}{key}: {_yaml_scalar(value)}")
    elif isinstance(data, list):
        for item in data:
            lines.append(f"{pad}- {_yaml_scalar(item)}")
    return "\n".join(lines)


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    if isinstance(value, (bool, int)):
        return json.dumps(value)
    return json.dumps(str(value))  # a JSON string is a valid YAML double-quoted scalar


def content_hash(paths: Sequence[Path], extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------- podman

class Podman:
    def __init__(self) -> None:
        os.environ.setdefault("CONTAINERS_CONF", str(LAB_SRC / "containers.conf"))
        if not shutil.which("podman"):
            raise LabError("podman is not installed: run `make deps` (or apt-get install podman runc)")

    def run(self, *args: str, check: bool = True, input_text: str | None = None) -> str:
        result = subprocess.run(["podman", *args], capture_output=True, text=True, input=input_text)
        if check and result.returncode != 0:
            raise LabError(f"podman {' '.join(args[:3])}: {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def sh(self, container: str, script: str, check: bool = True) -> str:
        return self.run("exec", container, "sh", "-c", script, check=check)

    def exists(self, kind: str, name: str) -> bool:
        return subprocess.run(["podman", kind, "exists", name], capture_output=True).returncode == 0

    def network_info(self, name: str) -> dict[str, str]:
        info = json.loads(self.run("network", "inspect", name))[0]
        subnet = info["subnets"][0]
        return {"name": name, "subnet": subnet["subnet"], "gateway": subnet.get("gateway", "")}

    def address_on(self, container: str, network: str) -> str:
        info = json.loads(self.run("inspect", container))[0]
        return info["NetworkSettings"]["Networks"][network]["IPAddress"]


# ---------------------------------------------------------------- image

def build_debs(out_dir: Path) -> None:
    """zoom-rooms-sim as real .deb packages, one per lab version."""
    for label, version in (("current", CURRENT_VERSION), ("old", OLD_VERSION)):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "DEBIAN").mkdir()
            (root / "DEBIAN" / "control").write_text(
                f"Package: {PACKAGE}\nVersion: {version}\nArchitecture: all\n"
                "Depends: python3, python3-paramiko, iproute2\n"
                "Maintainer: Zoom Rooms toolkit lab <lab@example.invalid>\n"
                "Description: Zoom Rooms simulator for the toolkit's test lab\n"
            )
            for source, target in (("zoom-rooms-sim", "usr/bin"), ("zoom-rooms-csapi", "usr/bin"),
                                   ("zoom-rooms-simctl", "usr/sbin")):
                (root / target).mkdir(parents=True, exist_ok=True)
                shutil.copy2(LAB_SRC / "sim" / source, root / target / source)
            (root / "usr/share/zoom-rooms-sim").mkdir(parents=True)
            (root / "usr/share/zoom-rooms-sim/version").write_text(version + "\n")
            subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root),
                            str(out_dir / f"{PACKAGE}_{label}.deb")], check=True, capture_output=True)


def ensure_base(podman: Podman, config: LabConfig) -> str:
    packages = " ".join(BASE_PACKAGES + EXTRA_PACKAGES)
    key = hashlib.sha256(f"{DEBIAN_SUITE} {config.mirror} {packages}".encode()).hexdigest()[:16]
    tag = f"localhost/zoom-rooms-lab-base:{key}"
    if podman.exists("image", tag):
        return tag
    config.cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=config.cache_dir) as tmp:
        rootfs = Path(tmp) / "rootfs"
        log(f"debootstrap {DEBIAN_SUITE} (minbase) from {config.mirror}")
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", DEBIAN_SUITE,
             str(rootfs), config.mirror], capture_output=True, text=True)
        if result.returncode != 0:
            raise LabError(f"debootstrap failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")
        install_extra_packages(rootfs)
        subprocess.run(["rm", "-rf", str(rootfs / "var/cache/apt/archives"), str(rootfs / "var/lib/apt/lists")])
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(["podman", "import", "-", tag], stdin=tar.stdout, capture_output=True, text=True)
        tar.wait()
        if imported.returncode != 0:
            raise LabError(f"podman import failed: {imported.stderr}")
    return tag


def install_extra_packages(rootfs: Path) -> None:
    """EXTRA_PACKAGES into the debootstrapped tree, with its own apt (its sources.list is the mirror)."""
    script = ("apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
              f"{' '.join(EXTRA_PACKAGES)} && apt-get clean")
    result = subprocess.run(["chroot", str(rootfs), "sh", "-c", script], capture_output=True, text=True)
    if result.returncode != 0:
        raise LabError(f"apt-get install {' '.join(EXTRA_PACKAGES)} in the lab tree failed: "
                       f"{result.stdout[-2000:]}{result.stderr[-2000:]}")


def ensure_image(podman: Podman, config: LabConfig) -> str:
    """The lab image, rebuilt only when its inputs (base packages, sim, image files) change."""
    base = ensure_base(podman, config)
    inputs = [p for folder in ("image", "sim") for p in (LAB_SRC / folder).iterdir() if p.is_file()]
    tag = f"localhost/zoom-rooms-lab:{content_hash(inputs, base + CURRENT_VERSION + OLD_VERSION)}"
    if podman.exists("image", tag):
        return tag
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp)
        shutil.copy2(LAB_SRC / "image" / "Containerfile", context / "Containerfile")
        shutil.copy2(LAB_SRC / "image" / "lab-init", context / "lab-init")
        (context / "debs").mkdir()
        build_debs(context / "debs")
        podman.run("build", "--pull=never", "--build-arg", f"BASE={base}", "-t", tag, str(context))
    return tag


# ---------------------------------------------------------------- lab lifecycle

def log(message: str) -> None:
    print(f"labctl: {message}", file=sys.stderr, flush=True)


def load_state(config: LabConfig) -> dict[str, Any]:
    if not config.state_file.exists():
        return {"rooms": {}}
    return json.loads(config.state_file.read_text())


def save_state(config: LabConfig, state: dict[str, Any]) -> None:
    config.state_dir.mkdir(parents=True, exist_ok=True)
    config.state_file.write_text(json.dumps(state, indent=2) + "\n")
    header = "# Generated by tests/lab/labctl; rewritten at every up, fault and heal (addresses change).\n"
    config.inventory_file.write_text(header + render_yaml(inventory(state, config)) + "\n")
    config.csapi_known_hosts.write_text("".join(line + "\n" for line in csapi_known_hosts_lines(state)))


def down(podman: Podman, config: LabConfig) -> None:
    ids = podman.run("ps", "-aq", "--filter", f"label=zr.lab={config.name}").split()
    if ids:
        podman.run("rm", "-f", "-t", "0", *ids)
    for segment in ("mgmt", "ctl", "guest"):
        name = f"{config.name}-{segment}"
        if podman.exists("network", name):
            podman.run("network", "rm", "-f", name)
    state = load_state(config)
    api_pid = state.get("api", {}).get("pid")
    if api_pid:
        stop_api(int(api_pid))
    stop_standalone_api(config)
    for path in (config.state_file, config.inventory_file, config.known_hosts, config.csapi_known_hosts):
        path.unlink(missing_ok=True)


def is_api_process(pid: int) -> bool:
    """True when ``pid`` is a running Zoom API double (not a recycled pid of something else)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"zoom_api_double.py" in cmdline


def stop_api(pid: int, timeout: float = 5.0) -> None:
    if not is_api_process(pid):
        return
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while is_api_process(pid) and time.monotonic() < deadline:
        reap(pid)
        time.sleep(0.05)


def reap(pid: int) -> None:
    """Collect our own exited child (a double started by this labctl process), if it is one."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stop_standalone_api(config: LabConfig) -> bool:
    """Stop the double of `labctl api start`; False when none was running."""
    if not config.standalone_api_file.exists():
        return False
    info = json.loads(config.standalone_api_file.read_text())
    running = is_api_process(int(info.get("pid", 0)))
    stop_api(int(info.get("pid", 0)))
    config.standalone_api_file.unlink(missing_ok=True)
    return running


def start_standalone_api(config: LabConfig, rooms: int) -> dict[str, Any]:
    """A double on loopback with N seeded rooms, for the zoom_rooms inventory plugin (no lab needed)."""
    if rooms < 0:
        raise LabError(f"--rooms: {rooms} is not a number of rooms")
    stop_standalone_api(config)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    api = start_api(config, "127.0.0.1", rooms, extra_hosts=(), log_name="api-standalone.log")
    config.standalone_api_file.write_text(json.dumps(api, indent=2) + "\n")
    log(f"Zoom API double with {rooms} seeded rooms at {api['base_url']} (pid {api['pid']}); "
        "stop it with `labctl api stop`")
    return api


def create_networks(podman: Podman, config: LabConfig) -> dict[str, dict[str, str]]:
    """mgmt: where Ansible reaches hosts; ctl: the controllers' segment; guest: another VLAN."""
    networks = {}
    for segment, internal in (("mgmt", False), ("ctl", True), ("guest", True)):
        name = f"{config.name}-{segment}"
        podman.run("network", "create", "--disable-dns", *(["--internal"] if internal else []), name)
        networks[segment] = podman.network_info(name)
    return networks


def ensure_ssh_key(config: LabConfig) -> None:
    if config.ssh_key.exists():
        return
    config.ssh_key.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{config.name}-lab",
                    "-f", str(config.ssh_key)], check=True)


def start_container(podman: Podman, config: LabConfig, image: str, name: str, role: str,
                    networks: dict[str, dict[str, str]], sim_conf: Path | None) -> None:
    args = ["run", "-d", "--name", name, "--hostname", name, "--label", f"zr.lab={config.name}",
            "--label", f"zr.role={role}", "--network", networks["mgmt"]["name"],
            "--network", networks["ctl"]["name"], "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW",
            "-e", f"ZR_ROLE={role}",
            "-v", f"{config.ssh_key}.pub:/root/.ssh/authorized_keys:ro"]
    if sim_conf is not None:
        args += ["-v", f"{sim_conf}:/etc/zoom-rooms-sim.conf:ro"]
    podman.run(*args, image)


def start_timeout() -> float:
    """Seconds a container may take to make its host keys and start sshd (ZR_LAB_START_TIMEOUT, default 180).

    Every container makes its RSA, ECDSA and Ed25519 host keys at start: with several labs starting at once
    beside other work on 2 CPUs (`make test`), that took over 60 s."""
    return float(os.environ.get("ZR_LAB_START_TIMEOUT", "180"))


def wait_host_key(podman: Podman, name: str, path: str = "/etc/ssh/ssh_host_ed25519_key.pub",
                  kind: str = "ssh-ed25519", timeout: float | None = None) -> str:
    """A public host key the container made at start (sshd's, or the ZR-CSAPI endpoint's)."""
    timeout = start_timeout() if timeout is None else timeout
    script = (f"i=0; while [ ! -s /run/sshd.pid ] || [ ! -s {path} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); "
              f"done; cat {path}")
    deadline = time.monotonic() + timeout
    while True:
        key = podman.sh(name, script, check=False).strip()
        if key.startswith(kind):
            return key
        if time.monotonic() > deadline:
            raise LabError(f"{name}: no {path} within {timeout:.0f}s (did lab-init start?)")
        time.sleep(0.5)


def sim_conf_for(config: LabConfig, room: str, networks: dict[str, dict[str, str]], api_url: str | None) -> Path:
    path = config.state_dir / "rooms" / f"{room}.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"ROOM_NAME={room}", f"PORT={CONTROLLER_PORT}", f"MGMT_SUBNET={networks['mgmt']['subnet']}",
             f"CSAPI_PORT={CSAPI_PORT}", f"CSAPI_PASSCODE={CSAPI_PASSCODE}", f"CSAPI_HOST_KEY={CSAPI_HOST_KEY}"]
    if api_url:
        lines += [f"API_REPORT_URL={api_url}", f"REPORT_INTERVAL={API_REPORT_INTERVAL}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def up(podman: Podman, config: LabConfig, rooms: int, with_api: bool = True) -> dict[str, Any]:
    names = room_names(config.name, rooms)
    started = time.monotonic()
    image = ensure_image(podman, config)
    log(f"image {image} ready in {time.monotonic() - started:.1f}s")
    down(podman, config)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    ensure_ssh_key(config)
    networks = create_networks(podman, config)
    probe = f"{config.name}-probe"
    jobs = [(probe, "probe", None)] + [(room, "room", sim_conf_for(config, room, networks, None)) for room in names]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda job: start_container(podman, config, image, job[0], job[1], networks, job[2]), jobs))
        host_keys = dict(zip([job[0] for job in jobs], pool.map(lambda job: wait_host_key(podman, job[0]), jobs),
                             strict=True))
        csapi_keys = dict(zip(names, pool.map(lambda room: wait_host_key(podman, room, CSAPI_HOST_KEY + ".pub",
                                                                         "ssh-rsa"), names), strict=True))
    # The gateway address exists only once a container is on the network: start the API
    # double now and point the simulators at it (they re-read their conf file).
    # It also listens on loopback: the control node's client accepts plain http to loopback only.
    api = start_api(config, networks["mgmt"]["gateway"], 0, extra_hosts=("127.0.0.1",)) if with_api else {}
    if api:
        for room in names:
            sim_conf_for(config, room, networks, api["report_url"])
    state: dict[str, Any] = {"name": config.name, "image": image, "networks": networks, "api": api,
                             "probe": {"name": probe, "mgmt_ip": podman.address_on(probe, networks["mgmt"]["name"])},
                             "rooms": {}}
    for room in names:
        state["rooms"][room] = {"mgmt_ip": podman.address_on(room, networks["mgmt"]["name"]),
                                "address": podman.address_on(room, networks["ctl"]["name"]),
                                "segment": "ctl", "faults": [], "csapi_host_key": csapi_keys[room]}
    write_known_hosts(config, state, host_keys)
    save_state(config, state)
    log(f"{rooms} rooms and a probe up in {time.monotonic() - started:.1f}s; inventory {config.inventory_file}")
    return state


def write_known_hosts(config: LabConfig, state: dict[str, Any], host_keys: dict[str, str]) -> None:
    addresses = {state["probe"]["name"]: state["probe"]["mgmt_ip"]}
    addresses.update({name: room["mgmt_ip"] for name, room in state["rooms"].items()})
    lines = [f"{addresses[name]} {' '.join(key.split()[:2])}" for name, key in host_keys.items()]
    config.known_hosts.write_text("\n".join(lines) + "\n")


def api_command(host: str, rooms: int, extra_hosts: Sequence[str] = ()) -> list[str]:
    """The double's command line: upgrades go to the lab's current package and finish quickly."""
    command = [sys.executable, str(LAB_SRC / "zoom_api_double.py"), "--host", host, "--port", "0",
               "--rooms", str(rooms), "--latest-version", API_LATEST_VERSION,
               "--upgrade-delay", str(API_UPGRADE_DELAY)]
    for extra in extra_hosts:
        command += ["--extra-host", extra]
    return command


def start_api(config: LabConfig, host: str, rooms: int, extra_hosts: Sequence[str] = ("127.0.0.1",),
              log_name: str = "api.log") -> dict[str, Any]:
    """The Zoom API double, on ``host`` (the lab's management gateway, so rooms can report to it)
    and on ``extra_hosts`` (loopback, for the control node). Returns api_state()."""
    script = LAB_SRC / "zoom_api_double.py"
    if not script.exists():
        return {}
    log_path = config.state_dir / log_name
    with log_path.open("w") as log_file:
        process = subprocess.Popen(api_command(host, rooms, extra_hosts), stdout=subprocess.PIPE,
                                   stderr=log_file, stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    process.stdout.close()  # the double prints one line; a closed pipe must not stop it later
    if not line:
        raise LabError(f"the Zoom API double did not start; see {log_path}")
    return api_state(json.loads(line), process.pid, log_path)


@contextlib.contextmanager
def locked_state(config: LabConfig) -> Iterator[dict[str, Any]]:
    """The lab state, read and written under a lock: faults and heals of several rooms may run at once."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    with (config.state_dir / "state.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = load_state(config)
        yield state
        save_state(config, state)


def fault(podman: Podman, config: LabConfig, room: str, kind: str) -> None:
    with locked_state(config) as state:
        check_fault_args(state, room, kind)
        if kind == "wrong_segment":
            move_segment(podman, config, state, room, "guest")
        else:
            podman.sh(room, fault_script(kind))
        if kind not in state["rooms"][room]["faults"]:
            state["rooms"][room]["faults"].append(kind)


def heal(podman: Podman, config: LabConfig, rooms: Sequence[str]) -> None:
    """Undo every fault of the rooms: their scripts run side by side, under one state lock (the test
    fixtures heal every room around each test, so one process for all of them counts)."""
    with locked_state(config) as state:
        for room in rooms:
            check_fault_args(state, room, None)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(rooms))) as pool:
            list(pool.map(lambda room: podman.sh(room, HEAL_SCRIPT), rooms))
        for room in rooms:
            if state["rooms"][room]["segment"] != "ctl":
                move_segment(podman, config, state, room, "ctl")
            state["rooms"][room]["faults"] = []


def move_segment(podman: Podman, config: LabConfig, state: dict[str, Any], room: str, segment: str) -> None:
    current = state["rooms"][room]["segment"]
    if current == segment:
        return
    podman.run("network", "disconnect", state["networks"][current]["name"], room)
    podman.run("network", "connect", state["networks"][segment]["name"], room)
    state["rooms"][room]["segment"] = segment
    state["rooms"][room]["address"] = podman.address_on(room, state["networks"][segment]["name"])


def status(podman: Podman, config: LabConfig) -> str:
    state = load_state(config)
    if not state.get("rooms"):
        return "lab is down"
    running = set(podman.run("ps", "--filter", f"label=zr.lab={config.name}", "--format", "{{.Names}}").split())
    rows = [f"{'host':<16} {'running':<8} {'mgmt':<15} {'controller address':<18} faults"]
    probe = state["probe"]
    rows.append(f"{probe['name']:<16} {probe['name'] in running!s:<8} {probe['mgmt_ip']:<15} {'-':<18} -")
    for name, room in sorted(state["rooms"].items()):
        rows.append(f"{name:<16} {name in running!s:<8} {room['mgmt_ip']:<15} {room['address']:<18} "
                    f"{','.join(room['faults']) or '-'}")
    rows.append(f"controller segment {state['networks']['ctl']['subnet']}, "
                f"second segment {state['networks']['guest']['subnet']}")
    if state.get("api"):
        rows.append(f"Zoom API double {state['api'].get('base_url')} (rooms report to "
                    f"{state['api'].get('report_url', '?')}; credentials: zoom_rooms_api_* in the inventory)")
    return "\n".join(rows)


# ---------------------------------------------------------------- CLI

def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="labctl", description="The Zoom Rooms test lab (podman).")
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="build the image if needed and start N rooms and a probe")
    up_parser.add_argument("--rooms", type=int, default=3)
    up_parser.add_argument("--no-api", action="store_true", help="do not start the Zoom API double")
    commands.add_parser("down", help="remove the lab's containers, networks and state")
    commands.add_parser("status", help="hosts, addresses and injected faults")
    commands.add_parser("inventory", help="print the path of the generated inventory")
    commands.add_parser("build", help="build the lab image (only when its inputs changed)")
    fault_parser = commands.add_parser("fault", help="inject a fault into a room")
    fault_parser.add_argument("room")
    fault_parser.add_argument("kind", help=", ".join(FAULT_KINDS))
    heal_parser = commands.add_parser("heal", help="undo every fault of one or more rooms")
    heal_parser.add_argument("rooms", nargs="+", metavar="room")
    api_parser = commands.add_parser("api", help="a standalone Zoom API double on loopback (no containers)")
    api_commands = api_parser.add_subparsers(dest="api_command", required=True)
    api_start = api_commands.add_parser(
        "start", help="start it with N seeded rooms and print the export line for the ZOOM_* variables")
    api_start.add_argument("--rooms", type=int, default=API_STANDALONE_ROOMS)
    api_commands.add_parser("stop", help="stop it")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    config = LabConfig()
    try:
        if args.command == "inventory":
            if not config.inventory_file.exists():
                raise LabError("no inventory: run `tests/lab/labctl up` first")
            print(config.inventory_file)
            return 0
        if args.command == "api":  # no podman needed
            if args.api_command == "start":
                print(api_exports(start_standalone_api(config, args.rooms)))
            elif not stop_standalone_api(config):
                log("no standalone Zoom API double was running")
            return 0
        podman = Podman()
        if args.command == "up":
            up(podman, config, args.rooms, with_api=not args.no_api)
            print(status(podman, config))
        elif args.command == "down":
            down(podman, config)
        elif args.command == "status":
            print(status(podman, config))
        elif args.command == "build":
            started = time.monotonic()
            print(ensure_image(podman, config))
            log(f"image ready in {time.monotonic() - started:.1f}s")
        elif args.command == "fault":
            fault(podman, config, args.room, args.kind)
        elif args.command == "heal":
            heal(podman, config, args.rooms)
    except LabError as error:
        print(f"labctl: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
