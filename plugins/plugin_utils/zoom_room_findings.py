"""Diagnosis: (room facts, probe result, Zoom API data, policy) -> findings, and the room's status.

The seed article's triage table as rules. Pure: no host, no network; the filter plugin
zoom_room_diagnosis exposes these to playbooks and the unit tests call them directly.
Finding codes and statuses are the contract of docs/design.md.
"""

from __future__ import annotations

import datetime
from typing import Any, Iterable

from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    address_in_any,
    as_address,
    is_loopback,
    parse_cidrs,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_version import (
    compare,
    normalise_version,
    parse_version,
)

ACTIVATION_CODE_DAYS = 10  # Zoom KB0064185: an activation code is valid for 10 days
FIXED_BY = {
    "host_firewall_blocks_controller_port": "firewall",
    "host_firewall_not_persisted": "firewall",
    "proxy_intercepts_local_traffic": "proxy",
    "room_reports_loopback_ip": "proxy",
}
SEVERITY = {
    "room_unreachable": "critical", "app_not_installed": "critical", "app_not_listening": "critical",
    "host_firewall_blocks_controller_port": "high", "controller_port_blocked": "high",
    "host_firewall_not_persisted": "high", "host_firewall_unreadable": "high",
    "controller_segment_unroutable": "high", "proxy_intercepts_local_traffic": "high",
    "room_reports_loopback_ip": "high", "app_version_below_minimum": "medium", "app_version_drift": "medium",
    "activation_code_expired": "medium", "room_offline": "high", "room_busy": "high", "api_data_missing": "medium",
    "csapi_not_answering": "low", "csapi_reports_other_room": "high",
}
NEXT_STEP = {
    "room_unreachable": "Check the room computer is powered on and reachable over SSH/WinRM from the control node.",
    "app_not_installed": "Install Zoom Rooms on the room computer, then pair the controller again.",
    "app_not_listening": "Start or restart the Zoom Rooms app (zoom_rooms_restart_unresponsive: true restarts it "
                         "through the Zoom API); if it keeps stopping, collect evidence for Zoom support.",
    "host_firewall_blocks_controller_port": "Run remediate.yml: it admits TCP {port} from the controller subnets "
                                            "in the room's firewall.",
    "host_firewall_not_persisted": "Run remediate.yml: it writes the admission into the room's boot-time firewall "
                                   "configuration, so the room stays reachable after a reboot.",
    "host_firewall_unreadable": "The room's firewall could not be read, so whether it admits TCP {port} is not "
                                "known: install or repair the tool named in the evidence (e.g. nftables' nft), "
                                "then run diagnose.yml again. Check network ACLs only once the room's own firewall "
                                "is known to admit the port.",
    "controller_port_blocked": "The room admits TCP {port} but the probe cannot reach it: check network "
                               "firewalls/ACLs between the controller segment and the room, and Wi-Fi client "
                               "isolation.",
    "controller_segment_unroutable": "Put the controller and the room on a routed path (same VLAN, or routing "
                                     "and ACLs that admit TCP {port}); on shared Wi-Fi, disable client isolation.",
    "proxy_intercepts_local_traffic": "Run remediate.yml: it adds local addresses and the controller subnets to "
                                      "the proxy bypass list (zoom_room_proxy_policy decides the rest).",
    "room_reports_loopback_ip": "The room reports 127.0.0.1 to Zoom: a web proxy swallows local traffic. "
                                "Run remediate.yml to fix the proxy bypass, then re-pair the controller.",
    "app_version_below_minimum": "Run update_versions.yml to upgrade the room app.",
    "app_version_drift": "Run update_versions.yml for the room; update the controller app from its app store "
                         "(controllers cannot be changed remotely or downgraded).",
    "activation_code_expired": "Generate a new activation code (update_versions.yml with "
                               "zoom_rooms_regenerate_activation_codes: true, or the Zoom web portal).",
    "room_offline": "The Zoom cloud sees the room offline: check the app is signed in and the room reaches Zoom "
                    "on TCP 443 and UDP 3478/3479/8801.",
    "room_busy": "Another run held the room's lock for the whole wait (see the evidence for which run and until "
                 "when): run remediate.yml again once it has finished, or raise zoom_rooms_lock_timeout.",
    "api_data_missing": "Run diagnose.yml again once the Zoom API answers: the cloud-side checks (offline, "
                        "127.0.0.1 address, version drift, activation code) were not made for this room.",
    "csapi_not_answering": "Check that ZR-CSAPI is enabled for the room (Zoom web portal) and that TCP 2244 is open "
                           "from the controller segment; the touch controller itself uses TCP {port}.",
    "csapi_reports_other_room": "The address the controllers use answers as another room: check zoom_room_address "
                                "(DHCP reservation, DNS) and which room the controller is paired with.",
}
SUMMARY = {
    "room_unreachable": "Ansible could not connect to the room computer",
    "app_not_installed": "No Zoom Rooms app found on the room computer",
    "app_not_listening": "Nothing listens on TCP {port} on the room computer",
    "host_firewall_blocks_controller_port": "The room's firewall does not admit TCP {port} from the controllers",
    "host_firewall_not_persisted": "The room's firewall admits TCP {port} from the controllers only until the "
                                   "next reboot: the boot configuration lacks the admission",
    "host_firewall_unreadable": "The room's firewall could not be read: its verdict for TCP {port} is unknown",
    "controller_port_blocked": "The room admits TCP {port}, but the controller segment cannot reach it",
    "controller_segment_unroutable": "The controller segment has no route to the room's address",
    "proxy_intercepts_local_traffic": "A proxy is set and its bypass list lacks local addresses or controller "
                                      "subnets",
    "room_reports_loopback_ip": "Zoom shows the room's IP as 127.0.0.1",
    "app_version_below_minimum": "The room app is older than the fleet minimum",
    "app_version_drift": "Room and controller app versions differ in major.minor",
    "activation_code_expired": "The room's activation code is older than 10 days",
    "room_offline": "The Zoom API shows the room offline",
    "room_busy": "Another run was working on the room; this run left it alone",
    "api_data_missing": "The Zoom API could not be read for this room: its cloud-side findings are missing",
    "csapi_not_answering": "TCP {port} is open, but the app's ZR-CSAPI (TCP 2244) does not answer",
    "csapi_reports_other_room": "The room's address answers ZR-CSAPI as another room",
}
# Findings read from the Zoom API: they lag the room by the app's next report.
API_CODES = frozenset({"room_reports_loopback_ip", "room_offline", "app_version_drift", "activation_code_expired",
                       "api_data_missing"})
# controller_segment_unroutable's second trigger: the Zoom API shows a controller outside the controller subnets.
CONTROLLER_OUTSIDE_SUMMARY = "A controller the Zoom API shows online is outside every controller subnet"
CONTROLLER_OUTSIDE_NEXT_STEP = ("The room's firewall admits TCP {port} only from zoom_room_controller_subnets and the "
                                "probe tests from there: move the controller onto the controllers' network, or add "
                                "its subnet to zoom_room_controller_subnets and run remediate.yml.")
# A probe that cannot connect is explained by these, so the network is not blamed for it.
# An unreadable firewall may be the cause too: the network is not blamed while the host is unknown.
EXPLAINS_PROBE_FAILURE = ("app_not_installed", "app_not_listening", "host_firewall_blocks_controller_port",
                          "host_firewall_unreadable", "controller_segment_unroutable")


def finding(code: str, evidence: dict[str, Any], port: int = 9090, summary: str | None = None,
            next_step: str | None = None) -> dict[str, Any]:
    """One finding; `summary` / `next_step` replace the code's texts where one code has two triggers."""
    return {"code": code, "severity": SEVERITY[code], "summary": (summary or SUMMARY[code]).format(port=port),
            "evidence": evidence, "next_step": (next_step or NEXT_STEP[code]).format(port=port),
            "fixed_by": FIXED_BY.get(code)}


def diagnose(facts: dict[str, Any] | None, probe: dict[str, Any] | None = None, api: dict[str, Any] | None = None,
             policy: dict[str, Any] | None = None, csapi: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every finding for one room. Missing inputs (no probe, no API, no ZR-CSAPI read) give no findings
    of their kind."""
    policy = policy or {}
    port = int(policy.get("controller_port", 9090))
    findings: list[dict[str, Any]] = []
    if facts is None:
        if api:
            findings += api_findings(api, None, policy, port)
        return findings or [finding("room_unreachable", {"reason": policy.get("unreachable_reason", "no facts")},
                                    port)]
    findings += host_findings(facts, port)
    findings += path_findings(facts, probe, policy, port, [f["code"] for f in findings])
    findings += version_findings(facts, policy, port, csapi)
    if api:
        findings += api_findings(api, facts, policy, port)
    if csapi:
        findings += csapi_findings(csapi, facts, probe, port)
    return dedupe(findings)


def host_findings(facts: dict[str, Any], port: int) -> list[dict[str, Any]]:
    found = []
    app = facts.get("app") or {}
    if app.get("installed") is False:
        found.append(finding("app_not_installed", {"app": app}, port))
    elif (facts.get("listener") or {}).get("listening") is False:
        found.append(finding("app_not_listening", {"listener": facts["listener"], "app": app}, port))
    firewall = facts.get("firewall") or {}
    blocked = [v for v in firewall.get("verdicts", []) if v.get("verdict") == "blocked"]
    if blocked:
        found.append(finding("host_firewall_blocks_controller_port",
                             {"backend": firewall.get("backend"), "blocked": blocked,
                              "block_all": firewall.get("block_all")}, port))
    if firewall.get("unreadable"):
        found.append(finding("host_firewall_unreadable",
                             {"unreadable": firewall["unreadable"], "verdicts": firewall.get("verdicts", [])}, port))
    if firewall.get("boot_differences"):
        found.append(finding("host_firewall_not_persisted",
                             {"backend": firewall.get("backend"), "differences": firewall["boot_differences"]}, port))
    proxy = facts.get("proxy") or {}
    uncovered = [subnet for subnet, covered in (proxy.get("bypass_covers_subnets") or {}).items() if covered is False]
    if proxy.get("mode") not in (None, "none") and (proxy.get("bypass_covers_local") is False or uncovered):
        found.append(finding("proxy_intercepts_local_traffic",
                             {"mode": proxy.get("mode"), "servers": proxy.get("servers"), "bypass": proxy.get("bypass"),
                              "covers_local": proxy.get("bypass_covers_local"), "uncovered_subnets": uncovered,
                              "sources": [s.get("source") for s in proxy.get("sources", [])]}, port))
    return found


def path_findings(facts: dict[str, Any], probe: dict[str, Any] | None, policy: dict[str, Any], port: int,
                  host_codes: list[str]) -> list[dict[str, Any]]:
    """What the probe on the controller segment saw, blamed on the network only when the host explains nothing.

    Without a probe result nothing is said of the path: a room outside the controller subnets is a routed
    path, which works when it admits the port (Zoom asks for no shared subnet). A refused connection proves
    a route. A room given by host name is judged by the address the probe resolved."""
    address = policy.get("address")
    subnets = controller_networks(policy)
    state = (probe or {}).get("state")
    if state == "no_route" or (state == "timeout" and off_every_subnet(probed_address(address, probe), subnets)):
        return [finding("controller_segment_unroutable",
                        {"address": address, "controller_subnets": [str(s) for s in subnets], "probe": probe}, port)]
    if state in ("timeout", "refused", "error") and not any(c in EXPLAINS_PROBE_FAILURE for c in host_codes):
        verdicts = (facts.get("firewall") or {}).get("verdicts", [])
        return [finding("controller_port_blocked", {"address": address, "probe": probe,
                                                    "host_firewall_verdicts": verdicts}, port)]
    return []


def controller_networks(policy: dict[str, Any]) -> list[Any]:
    """The controller subnets as every reader parses them (a list, or text separated by commas or spaces)."""
    return parse_cidrs(policy.get("controller_subnets") or [], "controller_subnets", required=False)


def probed_address(address: str | None, probe: dict[str, Any] | None) -> str | None:
    """The IP address the probe tried: the name's lookup where the room is given by host name."""
    return (probe or {}).get("resolved_address") or address


def off_every_subnet(address: str | None, subnets: list[Any]) -> bool:
    """True only for an IP address outside every controller subnet (a name or no subnets: not known)."""
    return bool(subnets) and as_address(address) is not None and not address_in_any(address, subnets)


def version_findings(facts: dict[str, Any], policy: dict[str, Any], port: int,
                     csapi: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The installed version against the minimum; the app's own word (ZR-CSAPI) where the host gave none.

    A version text no known form fits means the minimum cannot be shown to hold: the text the room gave
    is then the evidence (never dropped)."""
    app = facts.get("app") or {}
    version, source = app.get("version"), None
    said = csapi_version(csapi)
    if not version and said:
        version, source = said, "zr_csapi"
    minimum = policy.get("min_version")
    if not minimum:
        return []
    if version and compare(version, minimum) < 0:
        evidence = {"installed": normalise_version(version) if source else version,
                    "minimum": normalise_version(minimum)}
        return [finding("app_version_below_minimum", {**evidence, "source": source} if source else evidence, port)]
    if not version and app.get("version_status") == "unreadable":
        return [finding("app_version_below_minimum", {"installed": "unreadable", "raw_version": app.get("raw_version"),
                                                      "version_source": app.get("version_source"),
                                                      "minimum": normalise_version(minimum)}, port)]
    return []


# States in which ZR-CSAPI did not answer at all (busy, auth or host key refusals mean it did). Not
# host_key_unsupported either: an SSH server answered on 2244 but offers only host key algorithms the toolkit
# refuses (ssh-rsa / ssh-dss of a room app before 5.17.0); its message says so and to update the app.
CSAPI_SILENT = ("down", "timeout", "no_answer", "not_ssh")


def csapi_version(csapi: dict[str, Any] | None) -> str | None:
    """The version the app said over ZR-CSAPI, when it parses (else None: evidence only)."""
    said = (csapi or {}).get("app_version")
    try:
        return normalise_version(said) if said else None
    except ValueError:
        return None


def csapi_findings(csapi: dict[str, Any], facts: dict[str, Any], probe: dict[str, Any] | None,
                   port: int) -> list[dict[str, Any]]:
    """What the app's own interface said (docs/zoom-csapi.md). Busy, refusals and the like stay evidence."""
    listening = (facts.get("listener") or {}).get("listening") is True or (probe or {}).get("state") == "open"
    evidence = {key: csapi.get(key) for key in ("state", "message", "address", "port", "room_name",
                                                "expected_room_name", "app_version", "host_key")}
    if listening and csapi.get("state") in CSAPI_SILENT:
        return [finding("csapi_not_answering", evidence, port)]
    if csapi.get("state") == "answered" and csapi.get("room_matches") is False:
        return [finding("csapi_reports_other_room", evidence, port)]
    return []


def api_findings(api: dict[str, Any], facts: dict[str, Any] | None, policy: dict[str, Any],
                 port: int) -> list[dict[str, Any]]:
    """Cloud-side findings from the Zoom API data of the room (see docs/zoom-api.md for the shape)."""
    found = []
    if api.get("read_error"):  # what the API did say still counts; the rest is marked missing, never "healthy"
        found.append(finding("api_data_missing", {"error": api["read_error"]}, port))
    status = (api.get("room") or {}).get("status") or api.get("status")
    if status == "Offline":
        found.append(finding("room_offline", {"api_status": status}, port))
    reported = api.get("reported_ip")
    if reported and is_loopback(reported):
        found.append(finding("room_reports_loopback_ip", {"reported_ip": reported}, port))
    room_version = api.get("room_computer_version") or ((facts or {}).get("app") or {}).get("version")
    minimum = policy.get("min_version")
    if facts is None and room_version and minimum and compare(room_version, minimum) < 0:
        found.append(finding("app_version_below_minimum", {"installed": normalise_version(room_version),
                                                           "minimum": normalise_version(minimum),
                                                           "source": "zoom_api"}, port))
    found += controller_segment_findings(list(api.get("controllers") or []), policy, port)
    found += drift_findings(room_version, list(api.get("controller_versions") or []), port)
    expired = activation_expired(api, policy)
    if expired:
        found.append(finding("activation_code_expired", expired, port))
    return found


def controllers_off_subnets(controllers: list[dict[str, Any]], subnets: list[Any]) -> list[dict[str, Any]]:
    """Online controllers whose private address (as the device reported it to Zoom) lies outside every
    controller subnet. A public address may be a NAT's, and an offline controller's a stale one: neither
    says where the controller is now, so both are left out."""
    outside = []
    for controller in controllers:
        address = as_address(controller.get("address"))
        if (controller.get("status") == "Online" and address is not None and address.is_private
                and not (address.is_loopback or address.is_link_local or address.is_unspecified)
                and off_every_subnet(str(address), subnets)):
            outside.append(controller)
    return outside


def controller_segment_findings(controllers: list[dict[str, Any]], policy: dict[str, Any],
                                port: int) -> list[dict[str, Any]]:
    """A controller on another segment than the controller subnets: the room's firewall admits only those
    subnets and the probe tests from them, so the room can look healthy while that controller gets Error 2002."""
    subnets = controller_networks(policy)
    outside = controllers_off_subnets(controllers, subnets) if subnets else []
    if not outside:
        return []
    evidence = {"controllers_outside_subnets": outside, "controller_subnets": [str(s) for s in subnets]}
    return [finding("controller_segment_unroutable", evidence, port,
                    summary=CONTROLLER_OUTSIDE_SUMMARY, next_step=CONTROLLER_OUTSIDE_NEXT_STEP)]


def drift_findings(room_version: Any, controller_versions: list[Any], port: int) -> list[dict[str, Any]]:
    """Controllers whose major.minor differs from the room's. A controller without a readable version is
    not compared (app_version is optional in the Zoom Rooms OpenAPI); it is kept in the evidence."""
    room = major_minor(room_version)
    drifting = [v for v in controller_versions if room and major_minor(v) not in (None, room)]
    if not drifting:
        return []
    evidence = {"room": normalise_version(room_version), "controllers": [normalise_version(v) for v in drifting]}
    unreadable = [v for v in controller_versions if major_minor(v) is None]
    return [finding("app_version_drift", {**evidence, "unreadable_controllers": unreadable} if unreadable
                    else evidence, port)]


def major_minor(version: Any) -> tuple[int, ...] | None:
    """(major, minor) of a version text; None when it is absent or no known form fits: such a version is
    left out of every comparison (the drift finding here, update_versions' plan)."""
    if not version or not isinstance(version, str):
        return None
    try:
        return parse_version(version)[:2]
    except InvalidValue:
        return None


def activation_expired(api: dict[str, Any], policy: dict[str, Any]) -> dict[str, Any] | None:
    """Only a room that is not activated has a code that matters, and only a known issue date dates it."""
    if api.get("activated", True) and (api.get("room") or {}).get("status") != "UnderConstruction":
        return None
    issued = api.get("activation_code_issued_at") or policy.get("activation_code_issued_at")
    if not issued:
        return None
    now = _parse_time(policy.get("now")) or datetime.datetime.now(datetime.UTC)
    age = now - _parse_time(issued)
    max_days = int(policy.get("activation_code_days", ACTIVATION_CODE_DAYS))
    if age.days >= max_days:
        return {"issued_at": str(issued), "age_days": age.days, "valid_days": max_days}
    return None


def _parse_time(value: Any) -> datetime.datetime | None:
    if not value:
        return None
    parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def dedupe(findings: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One finding per code, the first; a later one of the same code adds the evidence keys it alone has
    (the probe's no route and the API's controller outside the subnets are one finding, both shown)."""
    first: dict[str, dict[str, Any]] = {}
    for item in findings:
        kept = first.setdefault(item["code"], item)
        if kept is not item:
            kept["evidence"] = {**item["evidence"], **kept["evidence"]}
    return list(first.values())


def fixes(findings: list[dict[str, Any]]) -> list[str]:
    """The remediation roles the findings call for, in order."""
    return sorted({f["fixed_by"] for f in findings if f.get("fixed_by")}, key=["firewall", "proxy"].index)


def verify(before: list[dict[str, Any]], after: list[dict[str, Any]], applied: list[str],
           targeted: Iterable[str] | None = None, include_api: bool = False) -> dict[str, Any]:
    """A change is good when every finding it targeted is gone and it brought no new finding.

    Host changes (remediate): the targeted findings are those the applied roles fix, and only what the
    room and the probe show counts, since the Zoom cloud learns of a fix when the app next reports.
    Changes made through the Zoom API (update_versions) name their targeted codes and re-read the
    API, so its findings count too (include_api).
    """
    ignored = frozenset() if include_api else API_CODES
    targeted = (set(targeted) if targeted is not None
                else {f["code"] for f in before if f.get("fixed_by") in applied}) - ignored
    before_codes = {f["code"] for f in before} - ignored
    after_codes = {f["code"] for f in after} - ignored
    remaining = sorted(targeted & after_codes)
    new = sorted(after_codes - before_codes)
    return {"passed": not remaining and not new, "remaining_targeted": remaining, "new": new,
            "findings": after}


def room_status(findings: list[dict[str, Any]], mode: str, applied: list[str] | None = None,
                verified: dict[str, Any] | None = None, apply_failed: bool = False) -> str:
    """healthy | fixed | needs_attention | failed (docs/reports.md); unreachable is the callback's to set.

    apply_failed: a change step failed (the layers applied before it were rolled back): failed.
    """
    if apply_failed or (verified is not None and not verified["passed"]):
        return "failed"
    if not findings:
        return "healthy"
    if mode != "apply" or not applied or verified is None:
        return "needs_attention"
    # A cloud-side finding the applied fix addresses clears when the app next reports: not left for a person.
    left = [f for f in verified["findings"]
            if not (isinstance(f, dict) and f.get("code") in API_CODES and f.get("fixed_by") in applied)]
    return "needs_attention" if left else "fixed"
