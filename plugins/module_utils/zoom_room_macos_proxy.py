"""macOS rooms, the proxy backend: networksetup's web, secure web and auto proxy and bypass domains, per
network service; and the proxy the system actually uses (`scutil --proxy`), which a VPN client or a
configuration profile can set over them.

Parsers of networksetup's and scutil's output (sources in docs/macos.md), the shared proxy shape per service,
and `NetworkSetupProxyBackend` with the read -> desired (pure) -> apply surface the Linux backends share.
Stdlib only, Python 3.9 compatible.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Sequence, Tuple
from urllib.parse import urlsplit

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos_cli import (
    NETWORKSETUP,
    SCUTIL,
    MacCommandError,
    NoteTaker,
    Parsed,
    Runner,
    key_values,
    not_recognised,
    read_stdout,
    text_lines,
    write,
    yes_no,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue, Network
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_proxy_policy import (
    all_covered,
    coverage,
    desired_proxy,
    empty_proxy,
    redact_proxy,
    required_bypass,
    strongest_mode,
    validate_policy,
)

# ---------------------------------------------------------------------------------------------------------------------
# networksetup parsers


def parse_network_services(text: str) -> Parsed:
    """`-listallnetworkservices` -> [{"name", "enabled"}]; the first line is a notice, '*' marks a disabled service."""
    services = []
    for line in text_lines(text):
        if "asterisk" in line.lower() and "denotes" in line.lower():
            continue
        if line.startswith("**") or line.lower().startswith("error"):
            return not_recognised("networksetup -listallnetworkservices", text)
        enabled = not line.startswith("*")
        services.append({"name": line.lstrip("*").strip(), "enabled": enabled})
    return Parsed(services)


def parse_web_proxy(text: str) -> Parsed:
    """`-getwebproxy` / `-getsecurewebproxy` -> {"enabled", "server", "port", "authenticated"}."""
    fields = key_values(text)
    enabled = yes_no(fields.get("enabled"))
    if enabled is None:
        return not_recognised("networksetup -getwebproxy", text)
    server = fields.get("server") or None
    port_text = fields.get("port", "")
    port = int(port_text) if port_text.isdigit() and int(port_text) > 0 else None
    return Parsed({
        "enabled": enabled,
        "server": None if server in (None, "(null)") else server,
        "port": port,
        "authenticated": yes_no(fields.get("authenticated proxy enabled")),
    })


def parse_auto_proxy(text: str) -> Parsed:
    """`-getautoproxyurl` -> {"url", "enabled"}; an unset URL prints as '(null)'."""
    fields = key_values(text)
    enabled = yes_no(fields.get("enabled"))
    if enabled is None or "url" not in fields:
        return not_recognised("networksetup -getautoproxyurl", text)
    url = fields["url"]
    return Parsed({"url": None if url in ("", "(null)") else url, "enabled": enabled})


def parse_bypass_domains(text: str) -> Parsed:
    """`-getproxybypassdomains` -> [entry, ...]; 'There aren't any bypass domains set on X.' means none."""
    lines = text_lines(text)
    if any(line.lower().startswith(("there aren't any", "there are no")) for line in lines):
        return Parsed([])
    if any(line.startswith("**") or line.lower().startswith("error") for line in lines):
        return not_recognised("networksetup -getproxybypassdomains", text)
    return Parsed(lines)


# ---------------------------------------------------------------------------------------------------------------------
# scutil --proxy: the proxy configuration configd publishes, the one the system's networking uses

EFFECTIVE_SOURCE = "scutil --proxy"
_SCUTIL_ENTRY = re.compile(r"^(?P<key>[^:]+?)\s*:\s*(?P<value>.*)$")
_SCUTIL_OPEN = ("<dictionary> {", "<array> {")


def parse_scutil_dictionary(text: str) -> Parsed:
    """scutil's `<dictionary> { Key : value ... }` -> dict; `<array> {` blocks become lists (their `N : value`
    lines in order), nested `<dictionary> {` blocks (`__SCOPED__`) dicts."""
    root: Dict[str, Any] | None = None
    open_blocks: List[Any] = []
    for line in text_lines(text):
        if line == "}":
            if not open_blocks:
                return not_recognised("scutil --proxy", text)
            open_blocks.pop()
            continue
        if line == "<dictionary> {" and root is None:
            root = {}
            open_blocks.append(root)
            continue
        match = _SCUTIL_ENTRY.match(line)
        if match is None or not open_blocks:
            return not_recognised("scutil --proxy", text)
        value: Any = match.group("value").strip()
        if value in _SCUTIL_OPEN:
            value = {} if value.startswith("<dictionary>") else []
        block = open_blocks[-1]
        if isinstance(block, list):
            block.append(value)
        else:
            block[match.group("key").strip()] = value
        if isinstance(value, (dict, list)):
            open_blocks.append(value)
    if root is None or open_blocks:
        return not_recognised("scutil --proxy", text)
    return Parsed(root)


def scutil_proxy(settings: Dict[str, Any]) -> Dict[str, Any]:
    """The global part of `scutil --proxy` in the shared proxy shape, read as networksetup's answers are:
    web and secure web proxies when enabled with a server and port, the PAC URL when enabled."""
    servers = {}
    for kind, prefix in (("http", "HTTP"), ("https", "HTTPS")):
        port = str(settings.get(f"{prefix}Port") or "")
        if settings.get(f"{prefix}Enable") == "1" and settings.get(f"{prefix}Proxy") and port.isdigit():
            servers[kind] = _join_host_port(settings[f"{prefix}Proxy"], int(port))
    pac_url = settings.get("ProxyAutoConfigURLString") if settings.get("ProxyAutoConfigEnable") == "1" else None
    bypass = settings.get("ExceptionsList")
    return {"mode": "manual" if servers else ("pac" if pac_url else "none"), "servers": servers,
            "pac_url": pac_url or None, "bypass": [str(entry) for entry in bypass] if isinstance(bypass, list) else []}


def read_effective_proxy(run: Runner) -> Parsed:
    """`scutil --proxy`: what the system uses, whatever set it (network services, a VPN client, a profile)."""
    parsed = parse_scutil_dictionary(read_stdout(run, [SCUTIL, "--proxy"]))
    return parsed if parsed.value is None else Parsed(scutil_proxy(parsed.value))


# ---------------------------------------------------------------------------------------------------------------------
# proxy per network service


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _split_host_port(server: str) -> Tuple[str, str]:
    host, _unused, port = server.rpartition(":")
    return host.strip("[]"), port


def service_proxy(web: Dict[str, Any], secure: Dict[str, Any], auto: Dict[str, Any],
                  bypass: List[str]) -> Dict[str, Any]:
    """One service's networksetup answers in the shared proxy shape (zoom_room_proxy_policy).

    Only enabled proxies appear in `servers`; `pac_url` only when auto-proxy is on.
    """
    servers = {}
    for kind, proxy in (("http", web), ("https", secure)):
        if proxy["enabled"] and proxy["server"] and proxy["port"]:
            servers[kind] = _join_host_port(proxy["server"], proxy["port"])
    pac_url = auto["url"] if auto["enabled"] and auto["url"] else None
    return {"mode": "manual" if servers else ("pac" if pac_url else "none"), "servers": servers,
            "pac_url": pac_url, "bypass": list(bypass)}


def _networksetup_server(server: str | None) -> str | None:
    """`host:port` as networksetup takes it; a scheme is dropped, SOCKS is refused (credentials already were,
    by validate_policy for platform macos)."""
    if not server:
        return None
    parts = urlsplit(server if "://" in server else f"http://{server}")
    if parts.scheme not in ("http", "https"):
        raise InvalidValue(f"server: '{parts.scheme}://' proxies are not set through networksetup web proxies")
    return _join_host_port(parts.hostname or "", parts.port or 0)


def canonical_proxy(proxy: Dict[str, Any]) -> Dict[str, Any]:
    """The shape `read()` produces, so a desired state compares equal to the state that results from it."""
    servers = {kind: value for kind, value in (proxy.get("servers") or {}).items()
               if kind in ("http", "https") and value}
    pac_url = proxy.get("pac_url") or None
    return {"mode": "manual" if servers else ("pac" if pac_url else "none"), "servers": servers,
            "pac_url": pac_url, "bypass": list(proxy.get("bypass") or [])}


def proxy_section(sources: Sequence[Dict[str, Any]], controller_subnets: Sequence[Network]) -> Dict[str, Any]:
    """The facts `proxy` section from per-source proxies (already redacted).

    mode/servers/pac_url/bypass come from the first source with the strongest mode; coverage holds only
    when it holds for every source that has a proxy.
    """
    mode = strongest_mode([source["mode"] for source in sources])
    primary = next((source for source in sources if source["mode"] == mode), None)
    covers = [coverage(source, controller_subnets, "macos") for source in sources]
    return {
        "mode": mode,
        "servers": dict(primary["servers"]) if primary else {},
        "pac_url": primary["pac_url"] if primary else None,
        "bypass": list(primary["bypass"]) if primary else [],
        "bypass_covers_local": all_covered([cover["bypass_covers_local"] for cover in covers]),
        "bypass_covers_subnets": {str(subnet): all_covered([cover["bypass_covers_subnets"][str(subnet)]
                                                            for cover in covers])
                                  for subnet in controller_subnets},
        "sources": list(sources),
    }


def known_services(requested: Sequence[str], listed: Sequence[str]) -> List[str]:
    """The requested service names, once each is known to exist; else InvalidValue naming them.

    Checked against -listallnetworkservices before the first per-service command: networksetup answers a
    name it does not know with 'NAME is not a recognized network service.' and exit 4 (docs/macos.md).
    """
    unknown = [name for name in requested if name not in listed]
    if unknown:
        raise InvalidValue(f"services: {', '.join(repr(name) for name in unknown)} not among this Mac's network "
                           f"services ({', '.join(listed) or 'none listed'})")
    return list(requested)


def services_to_restore(saved: Any, now: Dict[str, Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """`after` for a restore: every service the backup holds gets its saved proxy back; a service the backup
    lacks (added or enabled since) stays as it is now. A saved service no longer read here is refused: its
    proxy could be neither written back nor checked."""
    if not isinstance(saved, dict) or not all(isinstance(proxy, dict) for proxy in saved.values()):
        raise InvalidValue("restore: not a networksetup backup ({service: proxy}) of this module")
    gone = [name for name in saved if name not in now]
    if gone:
        raise InvalidValue(f"restore: the backup's network services {', '.join(repr(name) for name in gone)} are "
                           "not read on this Mac now (removed, renamed or disabled since); name a disabled "
                           "service in services to restore it")
    return {name: canonical_proxy(saved[name]) if name in saved else proxy for name, proxy in now.items()}


class NetworkSetupProxyBackend(NoteTaker):
    """Web, secure-web and auto-proxy (PAC) settings and bypass domains, per network service."""

    name = "networksetup"

    def __init__(self, run: Runner, services: List[str] | None = None) -> None:
        self.run = run
        self.services = services  # None: every enabled network service
        self.notes = []

    def read(self) -> Dict[str, Dict[str, Any]]:
        """{service: proxy dict}; a service whose output does not parse raises MacCommandError."""
        self.notes = []
        return {name: self._read_service(name) for name in self._service_names()}

    def _service_names(self) -> List[str]:
        listed = self._listed_services()
        if self.services is not None:
            return known_services(self.services, [service["name"] for service in listed])
        skipped = [service["name"] for service in listed if not service["enabled"]]
        if skipped:
            self.notes.append(f"disabled network services skipped: {', '.join(skipped)}")
        return [service["name"] for service in listed if service["enabled"]]

    def _listed_services(self) -> List[Dict[str, Any]]:
        """Every network service, enabled or not; asked also when services are named, to check the names."""
        parsed = parse_network_services(read_stdout(self.run, [NETWORKSETUP, "-listallnetworkservices"]))
        if parsed.value is None:
            raise MacCommandError(parsed.note)
        return parsed.value

    def _ask(self, parser: Callable[[str], Parsed], flag: str, service: str) -> Any:
        parsed = parser(read_stdout(self.run, [NETWORKSETUP, flag, service]))
        if parsed.value is None:
            raise MacCommandError(f"networksetup:{service}: {parsed.note}")
        return parsed.value

    def _read_service(self, service: str) -> Dict[str, Any]:
        return service_proxy(
            self._ask(parse_web_proxy, "-getwebproxy", service),
            self._ask(parse_web_proxy, "-getsecurewebproxy", service),
            self._ask(parse_auto_proxy, "-getautoproxyurl", service),
            self._ask(parse_bypass_domains, "-getproxybypassdomains", service),
        )

    def desired(self, before: Dict[str, Dict[str, Any]], params: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
        """Pure. params: policy, server, bypass, pac_url, controller_subnets (ipaddress networks).

        Every service gets the shared policy result with loopback and the controller subnets in its bypass.
        """
        policy, pac_url = params.get("policy", "keep"), params.get("pac_url")
        validate_policy(policy, params.get("server"), pac_url, "macos")
        server = _networksetup_server(params.get("server")) if policy == "manual" else None
        required = required_bypass("macos", params.get("controller_subnets") or [])
        extra = list(params.get("bypass") or [])
        return {
            service: canonical_proxy(desired_proxy(current, policy, required, server=server, extra_bypass=extra,
                                                   pac_url=pac_url))
            for service, current in before.items()
        }

    def commands(self, before: Dict[str, Dict[str, Any]], after: Dict[str, Dict[str, Any]]) -> List[List[str]]:
        """Pure plan: only the services and fields that differ. Bypass first, so that a proxy never comes
        on before the controller subnets bypass it."""
        plan: List[List[str]] = []
        for service, want in after.items():
            plan.extend(_service_commands(service, before.get(service) or empty_proxy(), want))
        return plan

    def apply(self, before: Dict[str, Dict[str, Any]], after: Dict[str, Dict[str, Any]]) -> None:
        """The only method that writes (needs admin rights: run the task with become)."""
        for argv in self.commands(before, after):
            write(self.run, argv)

    def render(self, state: Dict[str, Dict[str, Any]]) -> str:
        lines = []
        for service, proxy in state.items():
            shown = redact_proxy(proxy)
            detail = " ".join(f"{kind}={value}" for kind, value in sorted(shown["servers"].items()))
            if shown.get("pac_url"):
                detail = f"{detail} pac={shown['pac_url']}".strip()
            lines.append(f"{service}: {shown['mode']}{' ' + detail if detail else ''}")
            lines.append(f"  bypass: {', '.join(shown['bypass']) or '(none)'}")
        return "\n".join(lines) + "\n"

    def proxy_facts(self, state: Dict[str, Dict[str, Any]], controller_subnets: Sequence[Network],
                    effective: Dict[str, Any] | None = None) -> Dict[str, Any]:
        """The facts section; `effective` (scutil --proxy), when read, is one more source, so that a proxy a VPN
        client or a profile sets (or a bypass list configd refused) is judged as well."""
        sources = [{"source": f"networksetup:{service}", **redact_proxy(proxy)} for service, proxy in state.items()]
        if effective is not None:
            sources.append({"source": EFFECTIVE_SOURCE, **redact_proxy(effective)})
        return proxy_section(sources, controller_subnets)


_PROXY_COMMANDS = (("http", "-setwebproxy", "-setwebproxystate"), ("https", "-setsecurewebproxy",
                                                                   "-setsecurewebproxystate"))


def _service_commands(service: str, have: Dict[str, Any], want: Dict[str, Any]) -> List[List[str]]:
    plan: List[List[str]] = []
    if list(want.get("bypass") or []) != list(have.get("bypass") or []):
        plan.append([NETWORKSETUP, "-setproxybypassdomains", service, *(want.get("bypass") or ["Empty"])])
    for kind, set_flag, state_flag in _PROXY_COMMANDS:
        wanted, had = (want.get("servers") or {}).get(kind), (have.get("servers") or {}).get(kind)
        if wanted and wanted != had:
            plan.append([NETWORKSETUP, set_flag, service, *_split_host_port(wanted)])  # also turns it on
        elif had and not wanted:
            plan.append([NETWORKSETUP, state_flag, service, "off"])
    wanted_pac, had_pac = want.get("pac_url"), have.get("pac_url")
    if wanted_pac and wanted_pac != had_pac:
        plan.append([NETWORKSETUP, "-setautoproxyurl", service, wanted_pac])
        plan.append([NETWORKSETUP, "-setautoproxystate", service, "on"])
    elif had_pac and not wanted_pac:
        plan.append([NETWORKSETUP, "-setautoproxystate", service, "off"])
    return plan
