"""Proxy URLs: the strict parse a value must pass before it reaches a room, and credential redaction.

Pure functions; they run on rooms (the proxy module, the facts) and on the control node (inventory
checks, the run report), so both sides read a URL's credentials the same way.

Redaction parses the userinfo instead of matching a set of allowed characters: everything between
`scheme://` and the last `@` before the host is the userinfo, whatever it holds (`/`, `#`, `?`, `@`,
spaces). Taking the last `@` can hide more than the userinfo (an `@` later in a path); hiding too much
is the safe side.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue

SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
# RFC 3986 userinfo: unreserved, sub-delims, ":" and %XX. Anything else (`/ ? # @`, quotes, spaces) means
# different things to different URL parsers (curl ends the host at the first `/`, Python at the last `@`).
_USERINFO = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=:-]|%[0-9A-Fa-f]{2})*")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                   r"|\[[0-9A-Fa-f:.]+\]")
# A host right after an `@`: where a userinfo can end in free text.
_HOST_START = re.compile(r"[A-Za-z0-9\[]")
# Characters str.splitlines() breaks lines at, beyond the control characters.
_LINE_SEPARATORS = frozenset("\u2028\u2029")


class ProxyURL(NamedTuple):
    scheme: str
    userinfo: str | None
    host: str
    port: int


def split_userinfo(url: str) -> tuple[str, str | None, str]:
    """(`scheme://` or "", userinfo or None, the rest from the host on). The userinfo ends at the last `@`."""
    match = SCHEME.match(url)
    prefix = match.group(0) if match else ""
    rest = url[len(prefix):]
    userinfo, at, host_part = rest.rpartition("@")
    if not at:
        return prefix, None, rest
    return prefix, userinfo, host_part


def redact_url(url: str | None, marker: str = "***") -> str | None:
    """`http://user:pw@host:3128` -> `http://***@host:3128`; a value without `@` is returned as it is."""
    if not url:
        return url
    prefix, userinfo, rest = split_userinfo(url)
    return url if userinfo is None else f"{prefix}{marker}@{rest}"


def redact_urls_in_text(text: str, marker: str) -> str:
    """Hide the userinfo of every `scheme://...@host` in free text, line by line.

    From the first `scheme://` of a line to the last `@` on that line followed by a host, all is
    userinfo: a password may hold spaces, `@` and even `://`, so no shorter span is known to be safe.
    """
    return "".join(_redact_line(line, marker) for line in text.splitlines(keepends=True))


def _redact_line(line: str, marker: str) -> str:
    scheme = SCHEME.search(line)
    if not scheme:
        return line
    start = scheme.end()
    at = len(line)
    while True:
        at = line.rfind("@", start, at)
        if at < 0:
            return line
        if _HOST_START.match(line, at + 1):
            return f"{line[:start]}{marker}{line[at:]}"


def control_characters(value: str) -> list[str]:
    """The control and line-separator characters in `value`, as `\\n`-style escapes."""
    found = [char for char in value if unicodedata.category(char) == "Cc" or char in _LINE_SEPARATORS]
    return sorted({repr(char)[1:-1] for char in found})


def check_text(value: str, name: str) -> None:
    """A value that ends up in a room file or command: no control characters (a newline starts a new line)."""
    found = control_characters(value)
    if found:
        raise InvalidValue(f"{name}: holds control characters ({', '.join(found)}); they would end a line "
                           "in the room's files")


def check_list_entry(value: object, name: str) -> str:
    """One entry of a list the room keeps in one line (a bypass list): no whitespace, no separators."""
    if not isinstance(value, str) or not value:
        raise InvalidValue(f"{name}: {value!r} is not a host, domain or address")
    check_text(value, name)
    if any(char.isspace() for char in value):
        raise InvalidValue(f"{name}: '{value}' holds whitespace; give one host, domain or address per entry")
    separators = sorted(set(value) & set(",;\"'\\"))
    if separators:
        raise InvalidValue(f"{name}: '{value}' holds {' '.join(separators)}, which separate or quote entries "
                           "in the room's bypass list; give one host, domain or address per entry")
    return value


def parse_proxy_url(value: str, name: str) -> ProxyURL:
    """`host:port` or `scheme://[user:password@]host:port[/]`, exactly; anything more is refused.

    The error never shows the credentials. They must be percent-encoded (`/` as %2F, `@` as %40).
    """
    shown = redact_url(value)
    check_text(value, name)
    if any(char.isspace() for char in value):
        raise InvalidValue(f"{name}: '{shown}' holds whitespace; percent-encode it (%20) in a password")
    prefix, userinfo, rest = split_userinfo(value if SCHEME.match(value) else f"http://{value}")
    scheme = prefix[:-3].lower()
    if scheme not in PROXY_SCHEMES:
        raise InvalidValue(f"{name}: '{shown}' has scheme '{scheme}'; use one of {', '.join(PROXY_SCHEMES)}")
    if userinfo is not None and not _USERINFO.fullmatch(userinfo):
        raise InvalidValue(f"{name}: the user or password in '{shown}' holds characters a URL cannot carry as "
                           "they are (such as / ? # @ or quotes); percent-encode them (/ as %2F, @ as %40)")
    host, port = _host_port(rest.removesuffix("/"), name, shown)
    return ProxyURL(scheme, userinfo, host, port)


def _host_port(text: str, name: str, shown: str | None) -> tuple[str, int]:
    host, colon, port = text.rpartition(":")
    if not colon or not _HOST.fullmatch(host) or not port.isdigit():
        raise InvalidValue(f"{name}: '{shown}' is not host:port or scheme://host:port (nothing may follow the port)")
    if not 1 <= int(port) <= 65535:
        raise InvalidValue(f"{name}: '{shown}' has port '{port}'; give a number 1-65535")
    return host, int(port)
