"""Running commands on a host for the zoom_room_* modules and the lean payloads.

Its own file, with nothing but the standard library: the probe (zoom_room_reachability) and
zoom_room_version need only this, and a lean payload ships and compiles the module_utils its entry
imports (plugins/plugin_utils/zoom_room_lean.py), not the firewall code of zoom_room_host.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any, Callable

Runner = Callable[..., tuple[int, str, str]]


def command_runner(module: Any) -> Runner:
    """argv -> (rc, stdout, stderr) in the C locale; `data` goes to stdin byte for byte.

    The command runs by the path get_bin_path found: it also looks in the sbin folders, which the
    session's PATH may lack (pam_env sets PATH from /etc/environment when that file has one).
    """
    def run(argv: list[str], data: str | None = None) -> tuple[int, str, str]:
        path = argv[0] if argv[0].startswith("/") else module.get_bin_path(argv[0])
        if path is None:
            return 127, "", f"{argv[0]}: command not found"
        return module.run_command([path, *argv[1:]], data=data, binary_data=True, check_rc=False,
                                  environ_update={"LANG": "C", "LC_ALL": "C"})
    return run


SBIN_FOLDERS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def plain_command_runner() -> Runner:
    """command_runner without AnsibleModule, for the lean payloads (plugin_utils/zoom_room_lean.py): the
    same search (PATH, then the sbin folders), the C locale, stdin bytes, text decoded leniently."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *SBIN_FOLDERS])

    def run(argv: list[str], data: str | None = None) -> tuple[int, str, str]:
        path = argv[0] if argv[0].startswith("/") else shutil.which(argv[0], path=search)
        if path is None:
            return 127, "", f"{argv[0]}: command not found"
        try:
            done = subprocess.run([path, *argv[1:]], input=None if data is None else data.encode("utf-8"),
                                  capture_output=True, check=False, env={**os.environ, "LANG": "C", "LC_ALL": "C"})
        except OSError as error:
            return 127, "", f"{argv[0]}: {error}"
        return (done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))
    return run


def read_once(run: Runner) -> Runner:
    """For callers that only read: a command asked again answers from its first run.

    zoom_room_facts asks for the nftables ruleset and iptables-save both to choose the layers
    and for their verdicts; one run each gives one consistent snapshot and saves the repeats.
    Not for callers that change the host: they must see the change.
    """
    results: dict[tuple[tuple[str, ...], str | None], tuple[int, str, str]] = {}

    def run_once(argv: list[str], data: str | None = None) -> tuple[int, str, str]:
        key = (tuple(argv), data)
        if key not in results:
            results[key] = run(argv, data=data)
        return results[key]
    return run_once
