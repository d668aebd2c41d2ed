"""Open a run's report.html in headless Chromium and report what a person would see.

check_report_in_browser(report_dir, screenshot) drives /usr/bin/chromium over the Chrome
DevTools Protocol (https://chromedevtools.github.io/devtools-protocol/) on a loopback
--remote-debugging-port, with a minimal stdlib WebSocket client (RFC 6455). It returns the
status counts as rendered, the rows left after applying the status filter and a site filter
(the first six letters of the first site, upper-cased: matching is case-insensitive), any console
errors / uncaught exceptions / CSP violations, any alert()/confirm()/prompt() the page ran,
and saves a PNG screenshot.

Also a command: python tests/browser/report_check.py reports/latest tests/artifacts/report.png
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("ZOOM_ROOMS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--disable-extensions", "--mute-audio", "--window-size=1280,900",
)
TIMEOUT_S = 30.0
# Worst first: the filter test uses the first status that has rooms.
FILTER_PREFERENCE = ("needs_attention", "failed", "unreachable", "fixed", "healthy")

# Runs before any page script: records dialogs instead of blocking on them.
RECORD_DIALOGS_JS = """
window.__zrDialogs = [];
["alert", "confirm", "prompt"].forEach(function (name) {
  window[name] = function (message) { window.__zrDialogs.push(name + ":" + String(message)); return null; };
});
"""

READ_PAGE_JS = """
(function () {
  var counts = {};
  document.querySelectorAll("[data-status-count]").forEach(function (el) {
    counts[el.dataset.statusCount] = Number(el.textContent.trim());
  });
  var rows = Array.prototype.map.call(document.querySelectorAll("tr[data-room]"), function (tr) {
    return {room: tr.dataset.room, status: tr.dataset.status, site: tr.dataset.site,
            name_text: tr.querySelector(".room-name").textContent,
            site_text: tr.querySelector(".site").textContent,
            visible: tr.getClientRects().length > 0};
  });
  return {title: document.title, counts: counts, rows: rows,
          scripts: document.scripts.length, dialogs: window.__zrDialogs || [],
          run_id: (document.getElementById("run-id") || {}).textContent || null};
}())
"""

APPLY_FILTER_JS = """
(function (status) {
  var select = document.getElementById("status-filter");
  select.value = status;
  select.dispatchEvent(new Event("change", {bubbles: true}));
  var visible = Array.prototype.filter.call(document.querySelectorAll("tr[data-room]"), function (tr) {
    return tr.getClientRects().length > 0;
  });
  return {status: select.value,
          visible_rooms: visible.map(function (tr) { return tr.dataset.room; }),
          visible_statuses: visible.map(function (tr) { return tr.dataset.status; }),
          visible_count_label: document.getElementById("visible-count").textContent};
})(%s)
"""

APPLY_SITE_FILTER_JS = """
(function (site) {
  document.getElementById("status-filter").value = "all";
  var input = document.getElementById("site-filter");
  input.value = site;
  input.dispatchEvent(new Event("input", {bubbles: true}));
  var visible = Array.prototype.filter.call(document.querySelectorAll("tr[data-room]"), function (tr) {
    return tr.getClientRects().length > 0;
  }).map(function (tr) { return tr.dataset.room; });
  input.value = "";
  input.dispatchEvent(new Event("input", {bubbles: true}));
  return {site: site, visible_rooms: visible};
})(%s)
"""

# The page opens sorted worst first (status ascending): this click flips it to healthy first.
SORT_BY_STATUS_JS = """
(function () {
  document.querySelector('th[data-sort="status"] button').click();
  return Array.prototype.map.call(document.querySelectorAll("tr[data-room]"), function (tr) {
    return tr.dataset.status;
  });
}())
"""

# Back to the page's first view (all rooms, worst first) with the worst room opened.
SHOW_FIRST_PROBLEM_JS = """
(function () {
  var status = document.querySelector('th[data-sort="status"]');
  if (status && status.getAttribute("aria-sort") !== "ascending") { status.querySelector("button").click(); }
  var select = document.getElementById("status-filter");
  select.value = "all";
  select.dispatchEvent(new Event("change", {bubbles: true}));
  var row = document.querySelector('tr[data-room]:not([data-status="healthy"])');
  if (row) { row.querySelector("button.toggle").click(); }
  return row ? row.dataset.room : null;
}())
"""


# --------------------------------------------------------------------------- WebSocket (RFC 6455)


class WebSocket:
    """Just enough of a client for the DevTools socket: masked text frames out, frames in."""

    def __init__(self, url: str, timeout: float) -> None:
        if not url.startswith("ws://"):
            raise ValueError(f"only ws:// URLs are supported: {url}")
        hostport, _unused, path = url[len("ws://"):].partition("/")
        host, _unused, port = hostport.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self._buffer = b""
        self._handshake(hostport, "/" + path)

    def _handshake(self, hostport: str, path: str) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        while b"\r\n\r\n" not in self._buffer:
            self._fill()
        head, _unused, self._buffer = self._buffer.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"WebSocket handshake refused: {head[:200]!r}")

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("DevTools socket closed")
        self._buffer += chunk

    def _read(self, count: int) -> bytes:
        while len(self._buffer) < count:
            self._fill()
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_text(self, text: str) -> None:
        self._send_frame(0x1, text.encode())

    def recv_text(self) -> str:
        """The next complete text message (pings answered, fragments joined)."""
        parts: list[bytes] = []
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else b""
            payload = self._read(length)
            if mask:
                payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
            if opcode == 0x8:
                raise ConnectionError("DevTools socket closed by the browser")
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode in (0x0, 0x1, 0x2):
                parts.append(payload)
                if first & 0x80:
                    return b"".join(parts).decode()

    def close(self) -> None:
        with suppress(OSError):
            self._send_frame(0x8, b"")
        self.sock.close()


# --------------------------------------------------------------------------- DevTools session


class DevTools:
    """Commands and events on one flattened DevTools connection (browser + one page session)."""

    def __init__(self, ws: WebSocket, deadline: float) -> None:
        self.ws = ws
        self.deadline = deadline
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        self.session_id: str | None = None

    def _receive(self) -> dict[str, Any]:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the browser did not answer in time")
        self.ws.sock.settimeout(remaining)
        return json.loads(self.ws.recv_text())

    def call(self, method: str, params: dict[str, Any] | None = None, page: bool = True) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if page and self.session_id:
            message["sessionId"] = self.session_id
        self.ws.send_text(json.dumps(message))
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        for event in self.events:
            if event["method"] == method:
                self.events.remove(event)
                return event
        while True:
            event = self._receive()
            if event.get("method") == method:
                return event
            if "method" in event:
                self.events.append(event)

    def evaluate(self, expression: str) -> Any:
        reply = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise RuntimeError(f"page script failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def console_errors(self) -> list[str]:
        """Console error/assert calls, uncaught exceptions and browser log errors (CSP, loads)."""
        errors = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append("console: " + " ".join(str(arg.get("value", arg.get("description")))
                                                     for arg in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                errors.append("exception: " + str(details.get("exception", {}).get("description")
                                                  or details.get("text")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                errors.append("log: " + str(params["entry"].get("text")))
        return errors

    def dialogs(self) -> list[str]:
        return [str(event.get("params", {}).get("message")) for event in self.events
                if event["method"] == "Page.javascriptDialogOpening"]


# --------------------------------------------------------------------------- browser process


def _wait_for_devtools_port(user_data_dir: Path, process: subprocess.Popen, deadline: float) -> str:
    """ws:// URL of the browser endpoint, from the DevToolsActivePort file Chromium writes."""
    port_file = user_data_dir / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited early with code {process.returncode}")
        with suppress(OSError):
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    raise TimeoutError("chromium did not open its DevTools port")


def _stop(process: subprocess.Popen) -> None:
    """Stop the browser we started (its own process group, by its id)."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@contextmanager
def chromium_devtools(timeout: float = TIMEOUT_S) -> Iterator[DevTools]:
    """A headless Chromium with one blank page attached; cleaned up on exit."""
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium")
    deadline = time.monotonic() + timeout
    user_data_dir = Path(tempfile.mkdtemp(prefix="zr-chromium-"))
    command = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "--remote-debugging-port=0",
               "about:blank"]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    ws = None
    try:
        ws = WebSocket(_wait_for_devtools_port(user_data_dir, process, deadline), timeout)
        devtools = DevTools(ws, deadline)
        target = devtools.call("Target.createTarget", {"url": "about:blank"}, page=False)
        attached = devtools.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                                 page=False)
        devtools.session_id = attached["sessionId"]
        yield devtools
        with suppress(Exception):
            devtools.call("Browser.close", page=False)
    finally:
        if ws is not None:
            ws.close()
        _stop(process)
        shutil.rmtree(user_data_dir, ignore_errors=True)


# --------------------------------------------------------------------------- the check


def _open(devtools: DevTools, page: Path) -> None:
    for domain in ("Page", "Runtime", "Log"):
        devtools.call(f"{domain}.enable")
    devtools.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    devtools.call("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_DIALOGS_JS})
    devtools.call("Page.navigate", {"url": page.resolve().as_uri()})
    devtools.wait_for("Page.loadEventFired")


def _screenshot(devtools: DevTools, path: Path) -> None:
    size = devtools.call("Page.getLayoutMetrics")["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": max(size["width"], 1), "height": min(max(size["height"], 1), 6000),
            "scale": 1}
    shot = devtools.call("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def _pick_filter_status(counts: dict[str, int]) -> str:
    return next((status for status in FILTER_PREFERENCE if counts.get(status)), "healthy")


def check_report_in_browser(report_dir: Path, screenshot: Path, filter_status: str | None = None) -> dict:
    """Render report_dir/report.html in headless Chromium; return what it showed (see module doc)."""
    page = Path(report_dir) / "report.html"
    if not page.is_file():
        raise FileNotFoundError(page)
    with chromium_devtools() as devtools:
        _open(devtools, page)
        shown = devtools.evaluate(READ_PAGE_JS)
        status = filter_status or _pick_filter_status(shown["counts"])
        filtered = devtools.evaluate(APPLY_FILTER_JS % json.dumps(status))
        site = next((row["site"] for row in shown["rows"] if row["site"]), "")
        site_filtered = devtools.evaluate(APPLY_SITE_FILTER_JS % json.dumps(site[:6].upper()))
        sorted_statuses = devtools.evaluate(SORT_BY_STATUS_JS)
        expanded = devtools.evaluate(SHOW_FIRST_PROBLEM_JS)
        _screenshot(devtools, Path(screenshot))
        dialogs = devtools.evaluate("window.__zrDialogs || []") + devtools.dialogs()
        return {
            "title": shown["title"],
            "run_id": shown["run_id"],
            "counts": shown["counts"],
            "rows": shown["rows"],
            "filter": filtered,
            "site_filter": site_filtered,
            "sorted_by_status": sorted_statuses,
            "expanded_room": expanded,
            "script_elements": shown["scripts"],
            "dialogs": dialogs,
            "console_errors": devtools.console_errors(),
            "screenshot": str(screenshot),
        }


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(f"usage: {argv[0]} REPORT_DIR SCREENSHOT.png [STATUS]", file=sys.stderr)
        return 2
    result = check_report_in_browser(Path(argv[1]), Path(argv[2]), argv[3] if len(argv) == 4 else None)
    print(json.dumps(result, indent=2))
    return 1 if result["console_errors"] or result["dialogs"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
