"""macOS rooms, the firewall backend: the Application Firewall (socketfilterfw), per application.

Parsers of socketfilterfw's wordings across macOS releases (sources in docs/macos.md), the verdict for the
Zoom Rooms app, and `AppFirewallBackend` with the read -> desired (pure) -> apply surface the Linux
backends share. Stdlib only, Python 3.9 compatible.
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, List, Sequence, Tuple

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos_cli import (
    DEFAULT_APP_PATH,
    SOCKETFILTERFW,
    NoteTaker,
    Parsed,
    Runner,
    not_recognised,
    read_stdout,
    text_lines,
    write,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue, Network

PER_APP_NOTE = (
    "the macOS application firewall filters per application, not per source address or port: "
    "the verdict is the same for every controller subnet"
)


# ---------------------------------------------------------------------------------------------------------------------
# socketfilterfw parsers

_STATE_RE = re.compile(r"\(\s*state\s*=\s*(\d+)\s*\)", re.IGNORECASE)
_BLOCK_ALL_OFF = ("block all disabled", "block all state set to disabled")
_BLOCK_ALL_ON = (
    "block all enabled",
    "block all state set to enabled",
    "is blocking all non-essential",
    "set to block all non-essential",
)
_STEALTH_RE = re.compile(r"stealth mode (?:is )?(on|off|enabled|disabled)\b", re.IGNORECASE)
_SIGNED_APP_RE = re.compile(r"allow downloaded signed software (enabled|disabled)", re.IGNORECASE)


def parse_global_state(text: str) -> Parsed:
    """`--getglobalstate`: 0 off, 1 on, 2 on for essential services only (older 'block all' state).

    Also reads the line out of a combined `--getglobalstate --getblockall ...` call.
    """
    for line in text_lines(text):
        match = _STATE_RE.search(line)
        if match and line.lower().startswith("firewall is") and int(match.group(1)) in (0, 1, 2):
            return Parsed(int(match.group(1)))
    for line in text_lines(text):
        bare = line.lower().rstrip(". ")
        if bare == "firewall is enabled":
            return Parsed(1)
        if bare == "firewall is disabled":
            return Parsed(0)
    return not_recognised("socketfilterfw --getglobalstate", text)


def state_line_blocks_all(text: str) -> bool:
    """The state line of Sequoia and later says so: 'Firewall is blocking all non-essential ... (State = 2)'."""
    return any(_STATE_RE.search(line) and "blocking all non-essential" in line.lower() for line in text_lines(text))


def parse_block_all(text: str) -> Parsed:
    """`--getblockall` in its old ('Block all DISABLED!') and new ('... block all state set to ...') wordings."""
    for line in text_lines(text):
        low = line.lower()
        if "state =" in low:  # the --getglobalstate line of a combined call ("blocking all ... (State = 2)")
            continue
        if any(phrase in low for phrase in _BLOCK_ALL_OFF):
            return Parsed(False)
        if any(phrase in low for phrase in _BLOCK_ALL_ON):
            return Parsed(True)
    return not_recognised("socketfilterfw --getblockall", text)


def parse_stealth(text: str) -> Parsed:
    """`--getstealthmode`: 'Stealth mode enabled' (older) or 'Firewall stealth mode is on' (newer)."""
    for line in text_lines(text):
        match = _STEALTH_RE.search(line)
        if match:
            return Parsed(match.group(1).lower() in ("on", "enabled"))
    return not_recognised("socketfilterfw --getstealthmode", text)


def parse_allow_signed_app(text: str) -> Parsed:
    """`--getallowsigned`: whether downloaded signed software is allowed incoming connections automatically."""
    for line in text_lines(text):
        match = _SIGNED_APP_RE.search(line)
        if match:
            return Parsed(match.group(1).lower() == "enabled")
    return not_recognised("socketfilterfw --getallowsigned", text)


def parse_app_blocked(text: str) -> Parsed:
    """`--getappblocked PATH` -> 'permitted' | 'blocked' | 'absent'.

    Some releases answer 'permitted' for a path the firewall does not list, so `read()` asks
    `--listapps` first and uses this only as a fallback.
    """
    low = " ".join(text_lines(text)).lower()
    if "not part of the firewall" in low:
        return Parsed("absent")
    match = re.search(r"\bis\s+(blocked|permitted|allowed)\b", low)
    if match:
        return Parsed("blocked" if match.group(1) == "blocked" else "permitted")
    return not_recognised("socketfilterfw --getappblocked", text)


_APP_ROW = re.compile(r"^\d+\s*:\s*(.+?)\s*$")
_APP_VERDICT = re.compile(r"^\(\s*(allow|block) incoming connections\s*\)$", re.IGNORECASE)
_APP_STATE_ROW = re.compile(r"^(.+?)\s*\(state:\s*(\d+)\)$", re.IGNORECASE)
_LEGACY_APP_STATE = {"1": True, "4": False}  # 1 allow, 4 block (kolide/launcher's --listapps test data)


def parse_listapps(text: str) -> Parsed:
    """`--listapps` -> [{"path", "allowed"}]; `allowed` None when the verdict line is missing.

    Two layouts: 'N : /path' followed by '(Allow|Block incoming connections)' (macOS 10.x-26), and
    'name (state: N)' rows.
    """
    lines = text_lines(text)
    header = next((line for line in lines if re.search(r"total number of apps\s*=\s*\d+", line, re.I)), None)
    if header is None:
        return not_recognised("socketfilterfw --listapps", text)
    entries: List[Dict[str, Any]] = []
    waiting: Dict[str, Any] | None = None
    for line in lines:
        row, verdict, legacy = _APP_ROW.match(line), _APP_VERDICT.match(line), _APP_STATE_ROW.match(line)
        if row:
            waiting = {"path": row.group(1), "allowed": None}
            entries.append(waiting)
        elif verdict and waiting is not None:
            waiting["allowed"] = verdict.group(1).lower() == "allow"
            waiting = None
        elif legacy:
            entries.append({"path": legacy.group(1), "allowed": _LEGACY_APP_STATE.get(legacy.group(2))})
    expected = int(re.search(r"=\s*(\d+)", header).group(1))
    if expected != len(entries):
        return Parsed(entries, f"socketfilterfw --listapps: header says {expected} apps, parsed {len(entries)}")
    return Parsed(entries)


def _same_app(listed: str, app_path: str) -> bool:
    bundle = app_path.rstrip("/")
    if listed in (bundle, bundle + "/") or listed.startswith(bundle + "/"):
        return True
    # the 'name (state: N)' layout lists names, not paths
    name = os.path.basename(bundle)
    return "/" not in listed and listed in (name, name[: -len(".app")] if name.endswith(".app") else name)


def app_state_from_listapps(entries: Sequence[Dict[str, Any]], app_path: str) -> str | None:
    """'permitted' | 'blocked' | 'absent' for the app among the listed entries (None: a verdict is unreadable)."""
    mine = [entry for entry in entries if _same_app(entry["path"], app_path)]
    if not mine:
        return "absent"
    if any(entry["allowed"] is None for entry in mine):
        return None
    return "permitted" if all(entry["allowed"] for entry in mine) else "blocked"


# ---------------------------------------------------------------------------------------------------------------------
# application firewall


def app_firewall_verdict(state: Dict[str, Any]) -> Tuple[str, str]:
    """(verdict, decided_by) for inbound connections to the app; one answer for every source address."""
    app = os.path.basename(str(state.get("app_path") or DEFAULT_APP_PATH))
    if state.get("enabled") is False:
        return "admitted", "application firewall off"
    if state.get("enabled") is None:
        return "unknown", "application firewall state unreadable"
    if state.get("block_all"):
        return "blocked", "block all incoming connections is on"
    if state.get("block_all") is None:
        return "unknown", "block-all setting unreadable"
    app_state = state.get("app_state")
    if app_state == "permitted":
        return "admitted", f"{app}: allow incoming connections"
    if app_state == "blocked":
        return "blocked", f"{app}: block incoming connections"
    if app_state == "absent":
        if state.get("allow_signed_app"):
            return "admitted", f"{app} not listed; downloaded signed software is allowed automatically"
        if state.get("allow_signed_app") is False:
            # macOS asks on screen the first time; on an unattended room nobody answers
            return "blocked", f"{app} not listed and signed software is not allowed automatically"
        return "unknown", f"{app} not listed; automatic allowing of signed software unreadable"
    return "unknown", f"{app}: firewall entry unreadable"


def refuse_block_all(before: Dict[str, Any], params: Dict[str, Any]) -> None:
    """'Block all incoming connections' wins over any app entry: without permission to switch it off the app
    cannot be admitted, so fail before writing (check mode too) rather than add an entry and then fail."""
    if before.get("block_all") and not params.get("allow_disable_block_all"):
        raise InvalidValue("allow_disable_block_all: 'Block all incoming connections' is on and admits no app, "
                           "so the controller cannot reach the Zoom Rooms app; set allow_disable_block_all=true "
                           "to switch it off, or switch it off on the Mac")


class AppFirewallBackend(NoteTaker):
    """The macOS Application Firewall (socketfilterfw): per-application allow/block, plus 'block all'."""

    name = "socketfilterfw"

    def __init__(self, run: Runner, app_path: str = DEFAULT_APP_PATH) -> None:
        self.run = run
        self.app_path = app_path
        self.notes = []  # what read() could not parse; kept out of the state so states compare cleanly

    def read(self) -> Dict[str, Any]:
        """Plain data: enabled, block_all, stealth, allow_signed_app, app_path, app_state (None: unreadable)."""
        self.notes = []
        # one call answers several getters (documented by Kolide's check); each parser picks its line
        status = read_stdout(self.run, [SOCKETFILTERFW, "--getglobalstate", "--getblockall", "--getstealthmode",
                                        "--getallowsigned"])
        state_code = self._take(parse_global_state(status))
        block_all = self._take(parse_block_all(status))
        if block_all is None:
            block_all = self._block_all_from_state_line(status, state_code)
        return {
            "enabled": None if state_code is None else state_code >= 1,
            "block_all": block_all,
            "stealth": self._take(parse_stealth(status)),
            "allow_signed_app": self._take(parse_allow_signed_app(status)),
            "app_path": self.app_path,
            "app_state": self._read_app_state(),
        }

    def _block_all_from_state_line(self, status: str, state_code: int | None) -> bool | None:
        """Without a block-all answer, only the 'blocking all non-essential' wording of the state line tells.

        A bare '(State = 2)' does not: real Macs print 'Firewall is enabled. (State = 2)' with block all on
        (m-cli#160) and with block all off and stealth mode on (kolide/launcher test data, #1842).
        """
        if state_line_blocks_all(status):
            self.notes.append("block_all inferred from the state line ('blocking all non-essential')")
            return True
        if state_code == 2:
            self.notes.append("block_all unknown: '(State = 2)' means block all or stealth mode, and no "
                              "block-all answer was read")
        return None

    def _read_app_state(self) -> str | None:
        entries = self._take(parse_listapps(read_stdout(self.run, [SOCKETFILTERFW, "--listapps"])))
        if entries is not None:
            return app_state_from_listapps(entries, self.app_path)
        app_state = self._take(parse_app_blocked(read_stdout(self.run, [SOCKETFILTERFW, "--getappblocked",
                                                                        self.app_path])))
        if app_state == "permitted":
            self.notes.append("app state from --getappblocked, which can say 'permitted' for an unlisted app")
        return app_state

    def desired(self, before: Dict[str, Any], params: Dict[str, Any]) -> Dict[str, Any]:
        """Pure. present: app listed and permitted; block-all off only with allow_disable_block_all; a firewall
        that is off stays off (nothing to do). absent: the app's entry removed (--remove).

        Raises InvalidValue, before anything is written, when the plan cannot admit the app (block-all on
        without permission) or would change an entry whose state was not read (`check_plan`).
        """
        after = dict(before)
        state = params.get("state", "present")
        if state == "absent":
            after["app_state"] = "absent"
            self.check_plan(before, after)
            return after
        if state != "present":
            raise InvalidValue(f"state: '{state}' is not one of present, absent")
        if before.get("enabled") is False:
            return after
        refuse_block_all(before, params)
        after["app_state"] = "permitted"
        if before.get("block_all") and params.get("allow_disable_block_all"):
            after["block_all"] = False
        self.check_plan(before, after)
        return after

    def check_plan(self, before: Dict[str, Any], after: Dict[str, Any]) -> None:
        """Refuse to change the app's entry when either side of the change is an unread state (app_state None).

        A rollback puts `before` back by planning from it; from an entry nobody read it would plan nothing and
        leave our change in place. A restore to an unread state has the same hole, so both are refused.
        """
        have, want = before.get("app_state"), after.get("app_state")
        if have == want or None not in (have, want):
            return
        path = after.get("app_path") or before.get("app_path") or self.app_path
        if have is None:
            read_notes = f" ({'; '.join(self.notes)})" if self.notes else ""
            raise InvalidValue(f"socketfilterfw: the firewall entry of {path} could not be read{read_notes}, so it "
                               "is not changed: a failed change could not be put back")
        raise InvalidValue(f"restore: the backup holds no readable firewall entry of {path}, so there is "
                           "nothing to put back")

    def commands(self, before: Dict[str, Any], after: Dict[str, Any]) -> List[List[str]]:
        """Pure plan: the socketfilterfw calls that turn `before` into `after` (app entry, then block-all).

        Stealth, global state and signed-software settings are reported, never written. An unread `before`
        entry is planned from (a rollback after an unreadable re-read still writes the known state); an unread
        `after` entry is refused, rather than planning nothing and reporting it put back.
        """
        path = after.get("app_path") or self.app_path
        have, want = before.get("app_state"), after.get("app_state")
        if want is None and have is not None:
            raise InvalidValue(f"socketfilterfw: cannot set the firewall entry of {path} to a state that was "
                               "never read")
        plan: List[List[str]] = []
        if want != have and want in ("permitted", "blocked"):
            if have in ("absent", None):
                plan.append([SOCKETFILTERFW, "--add", path])
            plan.append([SOCKETFILTERFW, "--unblockapp" if want == "permitted" else "--blockapp", path])
        elif want != have and want == "absent":
            plan.append([SOCKETFILTERFW, "--remove", path])
        if after.get("block_all") is not None and after.get("block_all") != before.get("block_all"):
            plan.append([SOCKETFILTERFW, "--setblockall", "on" if after["block_all"] else "off"])
        return plan

    def apply(self, before: Dict[str, Any], after: Dict[str, Any]) -> None:
        """The only method that writes (needs root: run the task with become)."""
        for argv in self.commands(before, after):
            write(self.run, argv)

    def render(self, state: Dict[str, Any]) -> str:
        def word(value: Any) -> str:
            return "unknown" if value is None else ("on" if value else "off")

        app_state = {"absent": "not listed", None: "unknown"}.get(state.get("app_state"), state.get("app_state"))
        return (
            f"application firewall: {word(state.get('enabled'))}\n"
            f"block all incoming connections: {word(state.get('block_all'))}\n"
            f"stealth mode: {word(state.get('stealth'))}\n"
            f"{state.get('app_path') or self.app_path}: {app_state}\n"
        )

    def firewall_facts(self, state: Dict[str, Any], controller_subnets: Sequence[Network], port: int) -> Dict[str, Any]:
        """The facts `firewall` section; `port` is the controller port ZoomPresence listens on."""
        verdict, decided_by = app_firewall_verdict(state)
        notes = [f"{PER_APP_NOTE} (TCP {port} is admitted if the app listening on it is)", *self.notes]
        if state.get("enabled") is None:
            notes.append("firewall state unreadable: reported active")
        return {
            "backend": self.name,
            "active": state.get("enabled") is not False,
            "verdicts": [{"subnet": str(subnet), "verdict": verdict, "decided_by": decided_by}
                         for subnet in controller_subnets],
            "block_all": state.get("block_all"),
            "notes": notes,
        }
