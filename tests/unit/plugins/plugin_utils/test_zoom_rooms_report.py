"""The run report: redaction, statuses, HTML escaping, JUnit shape, run ids, latest link, pruning."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_report import (
    REDACTED,
    STATUSES,
    build_report,
    change_view,
    create_run_dir,
    is_secret_key,
    make_run_id,
    mark_unreachable,
    merge_room_report,
    normalize_room,
    playbook_short_name,
    point_latest,
    prune_runs,
    redact,
    render_html,
    render_junit,
    resolve_mode,
    summarize,
    terminal_summary,
    write_atomic,
    write_report,
)
from fixture_files import PROJECT as ROOT

SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text())
STARTED = datetime(2026, 3, 1, 9, 30, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"


def finding(code: str, severity: str = "high", evidence: object = "seen") -> dict:
    return {"code": code, "severity": severity, "summary": f"{code} summary", "evidence": evidence,
            "next_step": f"fix {code}"}


def room(status: str, *codes: str, **extra: object) -> dict:
    return {"platform": "linux", "status": status, "findings": [finding(code) for code in codes],
            "planned": [], "changed": [], "verify": {"passed": None, "findings": []}, "rolled_back": False,
            **extra}


def report_of(rooms: dict, **kwargs: object) -> dict:
    return build_report(run_id=make_run_id(STARTED, "playbooks/remediate.yml"), playbook="remediate",
                        started=STARTED, finished=STARTED + timedelta(seconds=75), rooms=rooms, **kwargs)


FLEET = {
    "room-01": room("healthy"),
    "room-02": room("fixed", "host_firewall_blocks_controller_port",
                    changed=[{"summary": "nftables: admit 9090 from 10.89.90.0/24",
                              "diff": {"before": "drop\n", "after": "accept\n"}}],
                    verify={"passed": True, "findings": []}),
    "room-03": room("needs_attention", "controller_port_blocked", site="HQ-3"),
    "room-04": room("failed", "proxy_intercepts_local_traffic", rolled_back=True,
                    verify={"passed": False, "findings": [finding("proxy_intercepts_local_traffic")]}),
    "room-10": room("unreachable", "room_unreachable", platform="windows"),
}


# --------------------------------------------------------------------------- redaction

REDACTION_CASES = [
    pytest.param({"evidence": {"password": "hunter2"}}, {"evidence": {"password": REDACTED}},
                 id="password key in evidence"),
    pytest.param({"evidence": "ansible_password=hunter2 port=22"},
                 {"evidence": f"ansible_password={REDACTED} port=22"}, id="password=value in evidence text"),
    pytest.param({"servers": {"http": "http://bob:hunter2@proxy.example:3128"}},
                 {"servers": {"http": f"http://{REDACTED}@proxy.example:3128"}}, id="user:pass@ in proxy URL"),
    pytest.param(["HTTPS_PROXY=https://bob:s3cr%40t@proxy:8080/ NO_PROXY=localhost"],
                 [f"HTTPS_PROXY=https://{REDACTED}@proxy:8080/ NO_PROXY=localhost"], id="proxy URL in an env line"),
    pytest.param("ProxyServer http=bob:hunter2@proxy:3128;https=proxy:3128",
                 f"ProxyServer http={REDACTED}@proxy:3128;https=proxy:3128", id="WinINet user:pass@ without scheme"),
    pytest.param("Authorization: Bearer eyJhbGciOi.abc.def", f"Authorization: Bearer {REDACTED}",
                 id="authorization header"),
    pytest.param('{"token": "abc 123", "user": "bob"}', f'{{"token": {REDACTED}, "user": "bob"}}',
                 id="quoted token in JSON text"),
    pytest.param({"apiKey": "k-123", "client_secret": "s", "X-Auth-Token": "t"},
                 {"apiKey": REDACTED, "client_secret": REDACTED, "X-Auth-Token": REDACTED}, id="key spellings"),
    pytest.param({"credentials": {"user": "bob", "list": ["a", 1]}},
                 {"credentials": {"user": REDACTED, "list": [REDACTED, REDACTED]}}, id="everything under a secret key"),
    pytest.param({"activation_code": "1234-5678", "activation_code_age_days": 12},
                 {"activation_code": REDACTED, "activation_code_age_days": 12}, id="activation code, not its age"),
    pytest.param({"bypass": ["localhost"], "passed": True, "password_set": True, "token_expiry": "2026-01-01",
                  "token": None, "secret": False},
                 {"bypass": ["localhost"], "passed": True, "password_set": True, "token_expiry": "2026-01-01",
                  "token": None, "secret": False}, id="not secrets: bypass, passed, metadata, empty values"),
    pytest.param("joining https://example.zoom.us/j/602226123?pwd=UzlBbktJMjZib255L1huQlhkLzBvQT09&uname=x",
                 f"joining https://example.zoom.us/j/602226123?pwd={REDACTED}&uname=x",
                 id="a join link's pwd (the passcode, encoded: devforum.zoom.us/t/3363)"),
    pytest.param("meeting_passcode=483920 activation_code: 5821-1234 activation_code_age_days=12",
                 f"meeting_passcode={REDACTED} activation_code: {REDACTED} activation_code_age_days=12",
                 id="passcode and activation code in text, not the code's age"),
    # MSI verbose log lines, as real logs print them (public install logs: "PROPERTY CHANGE: Modifying
    # ZITI_ENABLE_FIPS property. Its current value is '0'. Its new value: '1'.", "Adding OLDPRODUCTS property.
    # Its value is '{...}'.", "Deleting SECONDSEQUENCE property. Its current value is '1'.")
    pytest.param("MSI (s) (F0:34) [19:00:21:599]: PROPERTY CHANGE: Modifying ZR_API_TOKEN property. Its current value "
                 "is 'a1b2'. Its new value: 'c3d4'.",
                 "MSI (s) (F0:34) [19:00:21:599]: PROPERTY CHANGE: Modifying ZR_API_TOKEN property. Its current value "
                 f"is '{REDACTED}'. Its new value: '{REDACTED}'.", id="MSI log: a secret property's values"),
    pytest.param("MSI (s) (C4:C8) [23:43:52:562]: PROPERTY CHANGE: Adding INSTALLDIR property. Its value is 'C:\\ZR'.",
                 "MSI (s) (C4:C8) [23:43:52:562]: PROPERTY CHANGE: Adding INSTALLDIR property. Its value is 'C:\\ZR'.",
                 id="MSI log: other properties unchanged"),
    pytest.param("Failed to connect to the host via ssh: root@127.0.0.1: Permission denied (publickey,password).",
                 "Failed to connect to the host via ssh: root@127.0.0.1: Permission denied (publickey,password).",
                 id="ssh error without credentials unchanged"),
]


@pytest.mark.parametrize(("given", "expected"), REDACTION_CASES)
def test_redact(given, expected):
    assert redact(given) == expected


@pytest.mark.parametrize(("given", "expected"), REDACTION_CASES)
def test_redact_is_idempotent(given, expected):
    assert redact(redact(given)) == expected


@pytest.mark.parametrize(("key", "secret"), [
    ("password", True), ("ansible_become_pass", False), ("ansible_password", True), ("passphrase", True),
    ("bypass", False), ("passed", False), ("apiKey", True), ("api_key_file", False), ("tokens", False),
    ("Authorization", True), ("proxy_authorization", True), ("activation_code", True), ("code", False),
])
def test_is_secret_key(key, secret):
    assert is_secret_key(key) is secret


def test_report_never_carries_a_secret_anywhere():
    rooms = {"room-01": room("needs_attention", site="HQ", facts_before={
        "proxy": {"servers": {"http": "http://bob:hunter2@proxy:3128"}}, "winrm_password": "hunter2"},
        findings=[finding("proxy_intercepts_local_traffic", evidence="http_proxy=http://bob:hunter2@p:3128")],
        errors=["vault password=hunter2 rejected"])}
    report = report_of(rooms, run_data={"notes": "token=hunter2"})
    for text in (json.dumps(report), render_html(report), render_junit(report)):
        assert "hunter2" not in text


def test_unreachable_message_is_redacted():
    marked = mark_unreachable(None, "winrm: https://admin:hunter2@10.0.0.5:5986/wsman refused")
    assert "hunter2" not in json.dumps(marked)


# --------------------------------------------------------------------------- room data and status

@pytest.mark.parametrize(("before", "update", "expected"), [
    pytest.param(None, {"platform": "linux"}, {"platform": "linux"}, id="first set_fact"),
    pytest.param({"platform": "linux", "status": "needs_attention", "findings": [1]}, {"status": "fixed"},
                 {"platform": "linux", "status": "fixed", "findings": [1]}, id="later call carries some keys"),
    pytest.param({"findings": [1, 2]}, {"findings": []}, {"findings": []}, id="shallow: a list is replaced"),
])
def test_merge_room_report(before, update, expected):
    assert merge_room_report(before, update) == expected


# A room whose SSH dies mid-run is unreachable, whatever an earlier step said (issue 12, case 10): before,
# a room diagnosed needs_attention kept that status and its stale findings, and the summary said unreachable=0.
@pytest.mark.parametrize(("before", "earlier_codes", "error_kinds"), [
    pytest.param(None, [], [], id="no report yet"),
    pytest.param({"platform": "macos"}, [], [], id="report without status"),
    pytest.param({"status": "running", "findings": [finding("app_not_listening")]}, ["app_not_listening"], [],
                 id="status not final"),
    pytest.param({"status": "needs_attention", "findings": [finding("host_firewall_blocks_controller_port")],
                  "changed": [{"summary": "firewall"}]},
                 ["host_firewall_blocks_controller_port"], ["unreachable"], id="diagnosed, then SSH died mid-run"),
    pytest.param({"status": "fixed", "findings": []}, [], ["unreachable"], id="even a settled status"),
])
def test_mark_unreachable(before, earlier_codes, error_kinds):
    marked = mark_unreachable(before, "ssh: connect to host 10.0.0.9 port 22: Connection timed out", "facts")
    assert marked["status"] == "unreachable"
    assert [f["code"] for f in marked["findings"]] == ["room_unreachable"]  # no stale findings
    assert [f["code"] for f in marked.get("findings_before_unreachable", [])] == earlier_codes
    assert [e["kind"] for e in marked.get("errors", [])] == error_kinds
    assert marked.get("changed") == (before or {}).get("changed")  # what was changed stays listed


def test_a_room_unreachable_mid_run_counts_as_unreachable():
    room = {"status": "needs_attention", "findings": [finding("host_firewall_blocks_controller_port")]}
    report = build_report(run_id="20260101T000000Z-remediate", playbook="remediate", started=datetime(2026, 1, 1),
                          finished=datetime(2026, 1, 1), rooms={"room-1": mark_unreachable(room, "timed out", "t")})
    assert summarize(report)["unreachable"] == 1 and summarize(report)["needs_attention"] == 0
    jsonschema.validate(report, SCHEMA)


# The run itself in junit.xml (issue 12, cases 11 and 13): a whole-API failure, an interrupted run and a
# run stopped by the input checks are failing testcases, so CI never sees all-pass.
@pytest.mark.parametrize(("run_data", "interrupted", "outcome", "failure_type"), [
    pytest.param({"api_error": "Zoom API: 503 after 5 attempts"}, False, "completed", "api_error", id="API down"),
    pytest.param({}, True, "interrupted", "interrupted", id="interrupted"),
    pytest.param({"input_errors": ["zr-1: zoom_room_controller_subnets[0]: 'x' is not a CIDR"]}, False,
                 "stopped_by_input_checks", "stopped_by_input_checks", id="input checks"),
])
def test_run_problems_fail_a_junit_testcase(run_data, interrupted, outcome, failure_type):
    report = build_report(run_id="20260101T000000Z-diagnose", playbook="diagnose", started=datetime(2026, 1, 1),
                          finished=datetime(2026, 1, 1), rooms={"room-1": {"status": "healthy"}},
                          run_data=run_data, interrupted=interrupted)
    jsonschema.validate(report, SCHEMA)
    assert report["run"]["outcome"] == outcome
    suite = ET.fromstring(render_junit(report)).find("testsuite")
    assert (suite.attrib["tests"], suite.attrib["failures"]) == ("2", "1")
    run_case = suite.find("testcase[@name='run']")
    assert run_case.find("failure").attrib["type"] == failure_type


def test_a_clean_run_has_no_run_testcase():
    report = build_report(run_id="20260101T000000Z-diagnose", playbook="diagnose", started=datetime(2026, 1, 1),
                          finished=datetime(2026, 1, 1), rooms={"room-1": {"status": "healthy"}})
    assert report["run"]["outcome"] == "completed"
    assert ET.fromstring(render_junit(report)).find("testsuite/testcase[@name='run']") is None


@pytest.mark.parametrize(("raw", "status", "error_kinds"), [
    pytest.param({"status": "fixed"}, "fixed", [], id="status given"),
    pytest.param({}, "needs_attention", ["no_status"], id="no status at all"),
    pytest.param({"errors": [{"kind": "task_failed", "task": "t", "msg": "m"}]}, "needs_attention",
                 ["task_failed"], id="failed task, no status"),
    pytest.param({"status": "healthy", "errors": [{"kind": "task_failed", "task": "t", "msg": "m"}]}, "healthy",
                 ["task_failed"], id="failed task keeps the playbook's status"),
    pytest.param({"status": "broken"}, "needs_attention", ["invalid_status"], id="unknown status"),
])
def test_normalize_room_status(raw, status, error_kinds):
    normal = normalize_room(raw)
    assert normal["status"] == status
    assert [e["kind"] for e in normal["errors"]] == error_kinds


@pytest.mark.parametrize(("value", "expected"), [
    (True, True), (False, False), ("False", False), ("true", True), ("yes", True), ("", False), (None, False),
    (1, True),
])
def test_flags_from_templates(value, expected):
    normal = normalize_room({"status": "failed", "rolled_back": value, "verify": {"passed": value}})
    assert normal["rolled_back"] is expected
    assert normal["verify"]["passed"] is (None if value in (None, "") else expected)


@pytest.mark.parametrize(("raw", "hint", "expected"), [
    pytest.param({"verify": True}, None, {"passed": True, "findings": []}, id="verify as a bool"),
    pytest.param({}, None, {"passed": None, "findings": []}, id="verify not run"),
    pytest.param({"verify": {"passed": False, "findings": ["app_not_listening"]}}, None,
                 {"passed": False, "findings": [{"code": "app_not_listening", "severity": "unknown", "summary": "",
                                                 "evidence": None, "next_step": ""}]}, id="bare code in verify"),
])
def test_normalize_room_verify(raw, hint, expected):
    assert normalize_room(raw, hint)["verify"] == expected


@pytest.mark.parametrize(("raw", "hint", "platform"), [
    ({"platform": "windows"}, "linux", "windows"),
    ({}, "macos", "macos"),
    ({}, None, "unknown"),
])
def test_normalize_room_platform(raw, hint, platform):
    assert normalize_room(raw, hint)["platform"] == platform


@pytest.mark.parametrize(("rooms", "counts"), [
    pytest.param({}, dict.fromkeys(STATUSES, 0), id="no rooms"),
    pytest.param(FLEET, {"healthy": 1, "fixed": 1, "needs_attention": 1, "failed": 1, "unreachable": 1},
                 id="one of each"),
    pytest.param({"a": room("healthy"), "b": room("healthy"), "c": {"findings": []}},
                 {"healthy": 2, "fixed": 0, "needs_attention": 1, "failed": 0, "unreachable": 0},
                 id="missing status counts as needs_attention"),
])
def test_summarize(rooms, counts):
    assert summarize(report_of(rooms)) == counts


@pytest.mark.parametrize(("run_data", "check", "mode"), [
    pytest.param({}, False, "apply", id="default"),
    pytest.param({}, True, "plan", id="--check"),
    pytest.param({"mode": "apply"}, True, "plan", id="apply under --check is a plan"),
    pytest.param({"mode": "diagnose"}, True, "diagnose", id="read-only mode unchanged by --check"),
    pytest.param({"mode": "update"}, False, "update", id="from zoom_rooms_run"),
    pytest.param({"mode": "bogus"}, False, "apply", id="unknown mode"),
])
def test_resolve_mode(run_data, check, mode):
    assert resolve_mode(run_data, check) == mode


def test_report_matches_schema_and_contract():
    report = report_of(FLEET, run_data={"mode": "apply", "controllers_to_update": ["room-03-ctl"]},
                       platform_hints={"room-01": "macos"},
                       run_errors=[{"host": "probe-1", "kind": "task_failed", "task": "probe", "msg": "x"}])
    jsonschema.validate(report, SCHEMA)
    assert list(report["run"])[:5] == ["id", "playbook", "mode", "started", "finished"]
    assert report["run"]["started"] == "2026-03-01T09:30:00Z"
    assert report["run"]["controllers_to_update"] == ["room-03-ctl"]
    assert list(report["rooms"]) == ["room-01", "room-02", "room-03", "room-04", "room-10"]


@pytest.mark.parametrize("damage", [
    pytest.param(lambda r: r["rooms"]["room-01"].update(status="broken"), id="unknown status"),
    pytest.param(lambda r: r["rooms"]["room-03"]["findings"][0].update(code="port_blocked"), id="unknown code"),
    pytest.param(lambda r: r["run"].update(mode="fix"), id="unknown mode"),
    pytest.param(lambda r: r["rooms"]["room-02"].pop("verify"), id="verify missing"),
])
def test_schema_rejects_contract_breaks(damage):
    report = report_of(FLEET)
    damage(report)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, SCHEMA)


def test_terminal_summary_lists_rooms_not_healthy():
    lines = terminal_summary(report_of(FLEET), "reports/x/report.html")
    assert "healthy=1  fixed=1  needs_attention=1  failed=1  unreachable=1" in lines[1]
    body = "\n".join(lines[2:])
    assert "room-01" not in body
    for name, code in [("room-04", "proxy_intercepts_local_traffic"), ("room-10", "room_unreachable"),
                       ("room-03", "controller_port_blocked"), ("room-02", "host_firewall_blocks_controller_port")]:
        assert re.search(rf"{name}\s+\w+\s+.*{code}", body)
    assert lines[-1].endswith("reports/x/report.html")
    assert [line.split()[0] for line in lines[2:6]] == ["room-04", "room-10", "room-03", "room-02"]


# --------------------------------------------------------------------------- HTML


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse_html(text: str) -> list[tuple[str, dict]]:
    collector = _Collector()
    collector.feed(text)
    return collector.tags


@pytest.mark.parametrize(("name", "site"), [
    pytest.param(HOSTILE, "HQ", id="script tag as room name"),
    pytest.param("room-1", '"><img src=x onerror=alert(1)>', id="attribute break-out in site"),
    pytest.param("room-1", "</script><script>alert(1)</script>", id="script close in site"),
])
def test_html_escapes_hostile_values(name, site):
    rooms = {name: room("needs_attention", "app_not_listening", site=site,
                        changed=[{"summary": HOSTILE, "diff": {"before": HOSTILE, "after": ""}}])}
    html = render_html(report_of(rooms), nonce="n0nce")
    tags = parse_html(html)
    assert [tag for tag, _unused in tags].count("script") == 1
    assert not [tag for tag, _unused in tags if tag == "img"]
    assert all(not key.startswith("on") for _unused, attrs in tags for key in attrs)
    rows = [attrs for tag, attrs in tags if tag == "tr" and "data-room" in attrs]
    assert rows == [{"class": "main", "data-room": name, "data-status": "needs_attention", "data-site": site}]


def test_html_is_self_contained():
    html = render_html(report_of(FLEET), nonce="n0nce")
    tags = parse_html(html)
    references = [attrs.get(key) for _unused, attrs in tags for key in ("src", "href") if attrs.get(key)]
    assert references == ["data:,"]
    csp = next(attrs["content"] for tag, attrs in tags if attrs.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "script-src 'nonce-n0nce'" in csp
    assert all(attrs.get("nonce") == "n0nce" for tag, attrs in tags if tag in ("script", "style"))


def test_html_shows_counts_rows_and_filters():
    report = report_of(FLEET)
    html = render_html(report)
    shown = dict(re.findall(r'data-status-count="(\w+)">(\d+)<', html))
    assert {status: int(shown[status]) for status in STATUSES} == summarize(report)
    assert shown["total"] == "5"
    assert 'id="status-filter"' in html and 'id="site-filter"' in html
    statuses = re.findall(r'<tr class="main" data-room="[^"]+" data-status="(\w+)"', html)
    assert statuses == ["failed", "unreachable", "needs_attention", "fixed", "healthy"]  # worst first
    assert 'data-site="HQ-3"' in html


def test_html_shows_changes_as_diffs():
    html = render_html(report_of(FLEET))
    assert '<span class="del">-drop</span>' in html
    assert '<span class="add">+accept</span>' in html


@pytest.mark.parametrize(("item", "title", "diff_lines", "details"), [
    pytest.param({"summary": "bypass", "diff": {"before": "a\n", "after": "b\n"}}, "bypass", ["-a", "+b"], None,
                 id="ansible diff"),
    pytest.param({"task": "firewall", "diff": [{"prepared": "+rule"}]}, "firewall", ["+rule"], None,
                 id="prepared diff list"),
    pytest.param({"name": "proxy", "before": {"mode": "manual"}, "after": {"mode": "none"}, "source": "env"},
                 "proxy", ['-  "mode": "manual"', '+  "mode": "none"'], '{\n  "source": "env"\n}',
                 id="before/after keys"),
    pytest.param("restart app", "restart app", [], None, id="plain string"),
])
def test_change_view(item, title, diff_lines, details):
    view = change_view(item)
    assert view["title"] == title
    lines = "\n".join(view["diffs"]).splitlines()
    assert all(line in lines for line in diff_lines)
    assert view["details"] == details


# --------------------------------------------------------------------------- JUnit

# Structural rules of the Jenkins xunit-plugin JUnit schema, junit-10.xsd (MIT):
# https://github.com/jenkinsci/xunit-plugin/blob/031e285ef3b60dee7aaf36e9096d7dcd95ffae83/src/main/resources/org/jenkinsci/plugins/xunit/types/model/xsd/junit-10.xsd
# element -> (allowed child elements, required attributes, allowed attributes, may hold text)
_RESULT = (set(), set(), {"type", "message"}, True)
JUNIT_XSD_RULES: dict[str, tuple[set, set, set, bool]] = {
    "testsuites": ({"testsuite"}, set(), {"name", "time", "tests", "failures", "errors"}, False),
    "testsuite": ({"testsuite", "properties", "testcase", "system-out", "system-err"},
                  {"name", "tests", "failures", "errors"},
                  {"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp", "hostname",
                   "id", "package", "file", "log", "url"}, False),
    "properties": ({"property"}, set(), set(), False),
    "property": (set(), {"name", "value"}, {"name", "value"}, False),
    "testcase": ({"skipped", "error", "failure", "rerunFailure", "rerunError", "flakyFailure", "flakyError",
                  "system-out", "system-err"}, {"name"}, {"name", "time", "classname", "group"}, False),
    "failure": _RESULT, "error": _RESULT, "skipped": _RESULT,
    "system-out": (set(), set(), set(), True), "system-err": (set(), set(), set(), True),
}
SUREFIRE_TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?")


def junit_xsd_violations(element: ET.Element, path: str = "") -> list[str]:
    """What in the tree breaks JUNIT_XSD_RULES (empty when valid)."""
    where = f"{path}/{element.tag}"
    if element.tag not in JUNIT_XSD_RULES:
        return [f"{where}: element not in the schema"]
    children, required, allowed, text = JUNIT_XSD_RULES[element.tag]
    problems = [f"{where}: missing @{name}" for name in sorted(required - set(element.attrib))]
    problems += [f"{where}: unknown @{name}" for name in sorted(set(element.attrib) - allowed)]
    time_value = element.attrib.get("time") if element.tag in ("testsuite", "testsuites") else None
    if time_value is not None and not SUREFIRE_TIME.fullmatch(time_value):
        problems.append(f"{where}: @time {time_value!r} is not SUREFIRE_TIME")
    if not text and (element.text or "").strip():
        problems.append(f"{where}: text not allowed")
    for child in element:
        if child.tag not in children:
            problems.append(f"{where}: <{child.tag}> not allowed here")
        problems += junit_xsd_violations(child, where)
    return problems


def test_junit_checker_can_fail():
    bad = ET.fromstring('<testsuites><testsuite name="x" tests="1"><testcase/><bogus/></testsuite></testsuites>')
    assert len(junit_xsd_violations(bad)) == 5  # @failures, @errors, testcase @name, <bogus> twice


def test_junit_is_valid_and_counts_right():
    root = ET.fromstring(render_junit(report_of(FLEET)))
    assert junit_xsd_violations(root) == []
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert suite.attrib["name"] == "zoom-rooms.remediate"
    assert {k: suite.attrib[k] for k in ("tests", "failures", "errors", "skipped", "time")} == {
        "tests": "5", "failures": "3", "errors": "0", "skipped": "0", "time": "75.000"}
    assert suite.attrib["timestamp"] == "2026-03-01T09:30:00"
    assert len(suite.findall("testcase")) == int(suite.attrib["tests"])
    assert len(suite.findall("testcase/failure")) == int(suite.attrib["failures"])


@pytest.mark.parametrize(("name", "classname", "failure_type", "message", "text_has"), [
    ("room-01", "zoom_rooms.linux", None, None, None),
    ("room-02", "zoom_rooms.linux", None, None, None),
    ("room-03", "zoom_rooms.linux", "needs_attention", "controller_port_blocked", "next step: fix controller"),
    ("room-04", "zoom_rooms.linux", "failed", "proxy_intercepts_local_traffic", "rolled back"),
    ("room-10", "zoom_rooms.windows", "unreachable", "room_unreachable", "[high] room_unreachable"),
])
def test_junit_testcase(name, classname, failure_type, message, text_has):
    root = ET.fromstring(render_junit(report_of(FLEET)))
    case = root.find(f"testsuite/testcase[@name='{name}']")
    assert case is not None and case.attrib["classname"] == classname
    failure = case.find("failure")
    if failure_type is None:
        assert failure is None
        return
    assert failure.attrib == {"type": failure_type, "message": message}
    assert text_has in failure.text


def test_junit_survives_hostile_and_control_characters():
    rooms = {HOSTILE: room("needs_attention", "app_not_listening", errors=["bad\x1b[31m byte\x00"])}
    root = ET.fromstring(render_junit(report_of(rooms)))
    assert root.find("testsuite/testcase").attrib["name"] == HOSTILE
    assert junit_xsd_violations(root) == []


# --------------------------------------------------------------------------- run ids and files

@pytest.mark.parametrize(("path", "short"), [
    ("playbooks/remediate.yml", "remediate"),
    ("/abs/collect_evidence.yaml", "collect_evidence"),
    ("my play book!.yml", "my-play-book"),
    ("", "run"),
])
def test_playbook_short_name(path, short):
    assert playbook_short_name(path) == short


def test_run_ids_sort_by_time():
    ids = [make_run_id(STARTED + timedelta(seconds=s), name) for s, name in [(0, "z.yml"), (1, "a.yml"), (60, "m")]]
    assert ids[0] == "20260301T093000Z-z"
    assert sorted(ids) == ids


def test_run_dir_is_unique_on_collision(tmp_path):
    made = [create_run_dir(tmp_path, "20260301T093000Z-remediate").name for _unused in range(3)]
    assert made == ["20260301T093000Z-remediate", "20260301T093000Z-remediate-2", "20260301T093000Z-remediate-3"]


def test_write_report_twice_same_second(tmp_path):
    report = report_of(FLEET)
    first, second = write_report(tmp_path, report, keep=20), write_report(tmp_path, report, keep=20)
    assert first != second
    for run_dir in (first, second):
        assert sorted(p.name for p in run_dir.iterdir()) == ["junit.xml", "report.html", "report.json"]
        assert json.loads((run_dir / "report.json").read_text())["run"]["id"] == run_dir.name
    assert os.readlink(tmp_path / "latest") == second.name


def test_latest_is_a_relative_symlink(tmp_path):
    older, newer = (create_run_dir(tmp_path, f"2026030{day}T000000Z-x") for day in (1, 2))
    point_latest(tmp_path, older)
    point_latest(tmp_path, newer)
    link = tmp_path / "latest"
    assert link.is_symlink() and os.readlink(link) == newer.name
    assert link.resolve() == newer.resolve()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def make_runs(base: Path, count: int, month: str = "202603") -> list[str]:
    names = []
    for day in range(1, count + 1):
        run_dir = create_run_dir(base, f"{month}{day:02d}T000000Z-remediate")
        (run_dir / "report.json").write_text("{}")
        names.append(run_dir.name)
    return names


@pytest.mark.parametrize(("count", "keep", "kept"), [
    pytest.param(5, 3, [2, 3, 4], id="keeps newest 3"),
    pytest.param(2, 3, [0, 1], id="fewer than keep"),
    pytest.param(4, 0, [0, 1, 2, 3], id="keep 0 keeps all"),
    pytest.param(4, 1, [3], id="keep 1"),
])
def test_prune_keeps_newest(tmp_path, count, keep, kept):
    names = make_runs(tmp_path, count)
    prune_runs(tmp_path, keep)
    assert sorted(p.name for p in tmp_path.iterdir()) == [names[i] for i in kept]


def test_prune_leaves_other_things_and_the_latest_target(tmp_path):
    names = make_runs(tmp_path, 4)
    (tmp_path / "notes").mkdir()
    (tmp_path / "20260101T000000Z-not-a-report").mkdir()  # looks like a run, has no report.json
    point_latest(tmp_path, tmp_path / names[0])
    removed = prune_runs(tmp_path, 2)
    assert sorted(p.name for p in removed) == [names[1]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["20260101T000000Z-not-a-report", "latest", "notes", names[0], names[2], names[3]])


def test_write_report_prunes(tmp_path):
    older = make_runs(tmp_path, 3, month="202602")
    run_dir = write_report(tmp_path, report_of(FLEET), keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([older[-1], run_dir.name, "latest"])


def test_write_atomic_leaves_no_temp_files(tmp_path):
    target = tmp_path / "report.json"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_write_report_redacts_a_report_built_elsewhere(tmp_path):
    report = {"run": {"id": "20260301T093000Z-x", "playbook": "x", "mode": "apply", "started": "2026-03-01T09:30:00Z",
                      "finished": "2026-03-01T09:30:00Z"},
              "rooms": {"room-1": normalize_room({"status": "healthy", "winrm_password": "hunter2"})}}
    run_dir = write_report(tmp_path, report, keep=20)
    for name in ("report.json", "report.html", "junit.xml"):
        assert "hunter2" not in (run_dir / name).read_text()


def test_each_layers_rollback_is_shown_on_the_page_and_in_junit():
    room = {"status": "failed", "changed": [{"layer": "firewall", "summary": "firewall"}],
            "rollback": [{"layer": "proxy", "restored": False, "msg": "file is read-only"},
                         {"layer": "firewall", "restored": True}], "rolled_back": False}
    report = build_report(run_id="20260101T000000Z-remediate", playbook="remediate", started=datetime(2026, 1, 1),
                          finished=datetime(2026, 1, 1), rooms={"room-1": room})
    jsonschema.validate(report, SCHEMA)
    html = render_html(report)
    assert "Rollback of the firewall change:" in html and "file is read-only" in html
    junit = render_junit(report)
    assert "rollback proxy: NOT restored (file is read-only)" in junit and "rollback firewall: restored" in junit
