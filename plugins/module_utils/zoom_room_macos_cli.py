"""macOS rooms, the command-line side every reader and backend shares: the commands' paths, the
`Parsed` answer of a parser, and running read and write commands.

Runs on the Mac inside an Ansible module: stdlib only, Python 3.9 compatible (/usr/bin/python3 from the
Command Line Tools is 3.9 on macOS 12-15). Parsers never raise on a wording they do not know: they give
`Parsed(None, note)`, and the note says so (output wording differs between macOS releases, docs/macos.md).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, NamedTuple, Sequence, Tuple

SOCKETFILTERFW = "/usr/libexec/ApplicationFirewall/socketfilterfw"
NETWORKSETUP = "/usr/sbin/networksetup"
SCUTIL = "/usr/sbin/scutil"
LSOF = "/usr/sbin/lsof"
IFCONFIG = "/sbin/ifconfig"
SW_VERS = "/usr/bin/sw_vers"
DEFAULT_APP_PATH = "/Applications/ZoomPresence.app"
BUNDLE_ID = "us.zoom.ZoomPresence"

# run(argv) -> (rc, stdout, stderr); the module passes a wrapper of module.run_command.
Runner = Callable[[List[str]], Tuple[int, str, str]]
PlistReader = Callable[[str], Dict[str, Any]]

MANAGED = "cannot be modified from command line on managed mac"


class Parsed(NamedTuple):
    """A parser's answer: `value` is None when the output was not understood, `note` says why."""

    value: Any
    note: str | None = None


class MacCommandError(RuntimeError):
    """A command failed or refused; the message names the command and its output."""


# ---------------------------------------------------------------------------------------------------------------------
# helpers


def text_lines(text: str) -> List[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def excerpt(text: str, limit: int = 120) -> str:
    flat = " | ".join(text_lines(text))
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def not_recognised(what: str, text: str) -> Parsed:
    managed = next((line for line in text_lines(text) if MANAGED in line.lower()), None)
    if managed:
        return Parsed(None, f"{what}: refused on a Mac managed by a configuration profile ({managed})")
    if not text_lines(text):
        return Parsed(None, f"{what}: no output")
    return Parsed(None, f"{what}: unrecognised output '{excerpt(text)}'")


def key_values(text: str) -> Dict[str, str]:
    """`Key: value` lines (networksetup, sw_vers); the value keeps any further colons (URLs, IPv6)."""
    fields: Dict[str, str] = {}
    for line in text_lines(text):
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields


def yes_no(value: str | None) -> bool | None:
    if value is None:
        return None
    return {"yes": True, "1": True, "on": True, "no": False, "0": False, "off": False}.get(value.strip().lower())

# ---------------------------------------------------------------------------------------------------------------------
# running commands


def read_stdout(run: Runner, argv: List[str], ok_codes: Sequence[int] = (0,)) -> str:
    """stdout of a read command; a failing exit with nothing on stdout is an error."""
    rc, out, err = run(argv)
    if rc not in ok_codes and not (out or "").strip():
        raise MacCommandError(f"{' '.join(argv)}: exit {rc}: {excerpt(err or out) or 'no output'}")
    return out or ""


def write(run: Runner, argv: List[str]) -> str:
    """Run a changing command; a non-zero exit or a refusal printed with exit 0 is an error.

    socketfilterfw prints 'added to firewall' without root yet adds nothing; the following --unblockapp
    then answers 'The application is not part of the firewall' (lima-vm/socket_vmnet#51).
    """
    rc, out, err = run(argv)
    text = f"{out or ''}\n{err or ''}"
    not_listed = "not part of the firewall" in text.lower() and "--remove" not in argv  # removing: the goal
    if rc != 0 or MANAGED in text.lower() or not_listed:
        raise MacCommandError(f"{' '.join(argv)}: exit {rc}: {excerpt(text) or 'no output'}")
    return out or ""


class NoteTaker:
    notes: List[str]

    def _take(self, parsed: Parsed, where: str = "") -> Any:
        if parsed.note:
            self.notes.append(f"{where}: {parsed.note}" if where else parsed.note)
        return parsed.value
