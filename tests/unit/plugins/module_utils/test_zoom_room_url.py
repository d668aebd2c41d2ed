"""Proxy URL parsing, value checks and credential redaction (zoom_room_url), with generated passwords."""

import re

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    parse_cidrs,
    refuse_any_address,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_proxy_policy import redact_proxy
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_url import (
    ProxyURL,
    check_list_entry,
    parse_proxy_url,
    redact_url,
    redact_urls_in_text,
    split_userinfo,
)
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_room_inputs import input_errors
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_rooms_report import redact, redact_text
from hypothesis import example, given, settings
from hypothesis import strategies as st

# What can sit inside one line of a room's file: anything but control and line-separator characters.
LINE_TEXT = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))
PASSWORDS = st.text(LINE_TEXT, min_size=1, max_size=40)
USERS = st.text(st.characters(whitelist_categories=("L", "N"), whitelist_characters="._-"), min_size=1, max_size=12)


@pytest.mark.parametrize("url, expected", [
    pytest.param("http://user:S3cret/6@proxy:3128", ("http://", "user:S3cret/6", "proxy:3128"), id="raw slash"),
    pytest.param("http://u:p@ss@proxy:3128", ("http://", "u:p@ss", "proxy:3128"), id="at in password: last @"),
    pytest.param("http://proxy:3128", ("http://", None, "proxy:3128"), id="no userinfo"),
    pytest.param("u:p@proxy:3128", ("", "u:p", "proxy:3128"), id="no scheme"),
])
def test_split_userinfo_takes_everything_to_the_last_at(url, expected):
    assert split_userinfo(url) == expected


@pytest.mark.parametrize("value, expected", [
    pytest.param("proxy.example.com:3128", ProxyURL("http", None, "proxy.example.com", 3128), id="host:port"),
    pytest.param("https://ops:S3cret%2F6@10.0.0.1:8080/", ProxyURL("https", "ops:S3cret%2F6", "10.0.0.1", 8080),
                 id="encoded password, trailing slash"),
    pytest.param("socks5h://[fd00::1]:1080", ProxyURL("socks5h", None, "[fd00::1]", 1080), id="IPv6"),
])
def test_parse_proxy_url_accepts(value, expected):
    assert parse_proxy_url(value, "server") == expected


@pytest.mark.parametrize("value, message", [
    pytest.param("http://p:3128/\nEVIL=1", "server: holds control characters (\\n)", id="newline after the port"),
    pytest.param("http://p\n:3128", "server: holds control characters (\\n)", id="newline in the host"),
    pytest.param("http://p:3128/path", "is not host:port", id="path"),
    pytest.param("http://p:3128?x=1", "is not host:port", id="query"),
    pytest.param("http://p", "is not host:port", id="no port"),
    pytest.param("http://p:70000", "port '70000'", id="port out of range"),
    pytest.param("ftp://p:21", "scheme 'ftp'", id="scheme"),
    pytest.param("http://user:S3cret/6@proxy:3128", "percent-encode them", id="raw slash in the password"),
    pytest.param("http://user:two words@proxy:3128", "holds whitespace", id="space in the password"),
    pytest.param("http://bad_host:3128", "is not host:port", id="underscore host"),
])
def test_parse_proxy_url_refuses_without_showing_the_password(value, message):
    with pytest.raises(InvalidValue, match=re.escape(message)) as error:
        parse_proxy_url(value, "server")
    assert "S3cret" not in str(error.value) and "words" not in str(error.value)


@pytest.mark.parametrize("entry, message", [
    pytest.param("a.example\nEVIL=1", "holds control characters", id="newline"),
    pytest.param("a .example", "holds whitespace", id="space"),
    pytest.param("a,b", "holds ,", id="list separator"),
    pytest.param('a"b', 'holds "', id="quote"),
    pytest.param("", "is not a host", id="empty"),
])
def test_bypass_entries_are_one_token(entry, message):
    with pytest.raises(InvalidValue, match=re.escape(message)):
        check_list_entry(entry, "bypass[0]")


@pytest.mark.parametrize("subnets", [
    pytest.param(["0.0.0.0/1", "128.0.0.0/1"], id="two IPv4 halves"),
    pytest.param(["10.0.0.0/8", "0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"], id="IPv4 quarters and a subnet"),
    pytest.param(["10.89.1.0/24", "::/1", "8000::/1"], id="two IPv6 halves"),
])
def test_subnets_that_together_mean_any_are_refused(subnets):
    with pytest.raises(InvalidValue, match="together admit any IPv"):
        refuse_any_address(parse_cidrs(subnets, "controller_subnets"), "controller_subnets")


def test_adjacent_subnets_short_of_any_are_kept():
    refuse_any_address(parse_cidrs(["10.0.0.0/9", "10.128.0.0/9", "::/2"], "s"), "s")


@pytest.mark.parametrize("host_vars, message", [
    pytest.param({"zoom_room_proxy_bypass": ["ok.example", "x\nEVIL=1"]}, "room-1: zoom_room_proxy_bypass[1]: holds",
                 id="bypass entry with a newline"),
    pytest.param({"zoom_room_proxy_bypass": ["a b"]}, "room-1: zoom_room_proxy_bypass[0]: 'a b' holds whitespace",
                 id="bypass entry with a space"),
    pytest.param({"zoom_room_proxy_policy": "manual", "zoom_room_proxy_server": "http://p:3128/\nEVIL=1"},
                 "room-1: zoom_room_proxy_server: holds control characters", id="server with a newline"),
    pytest.param({"zoom_room_proxy_policy": "manual", "zoom_room_proxy_server": "http://u:S3cret/6@p:3128"},
                 "room-1: zoom_room_proxy_server: the user or password in 'http://***@p:3128'", id="raw slash"),
    pytest.param({"zoom_room_proxy_policy": "pac", "zoom_room_proxy_pac_url": "ftp://u:S3cret@h/p.pac"},
                 "room-1: zoom_room_proxy_pac_url: 'ftp://***@h/p.pac' is not", id="pac url with credentials"),
    pytest.param({"zoom_room_controller_subnets": ["0.0.0.0/1", "128.0.0.0/1"]},
                 "room-1: zoom_room_controller_subnets: 0.0.0.0/1, 128.0.0.0/1 together admit any IPv4",
                 id="subnets that mean any"),
    pytest.param({"zoom_room_package_name": "zoom\n-rooms"}, "room-1: zoom_room_package_name: holds control",
                 id="package name with a newline"),
    pytest.param({"zoom_room_proxy_services": ["Wi-Fi", "Ether\tnet"]}, "room-1: zoom_room_proxy_services[1]: holds",
                 id="service name with a tab"),
])
def test_inventory_values_are_checked_before_any_room_is_touched(host_vars, message):
    errors = input_errors({"room-1": {"zoom_room_controller_subnets": ["10.89.1.0/24"], **host_vars}}, True)
    assert len(errors) == 1 and errors[0].startswith(message), errors
    assert "S3cret" not in errors[0]


def test_a_service_name_may_hold_spaces():
    assert input_errors({"room-1": {"zoom_room_proxy_services": ["USB 10/100 LAN"]}}, False) == []


# ----------------------------------------------------------------------------- redaction, generated passwords

@given(user=USERS, password=PASSWORDS)
@example(user="user", password="S3cret/6")
@settings(max_examples=300, deadline=None)
def test_redact_url_hides_any_password(user, password):
    url = f"http://{user}:{password}@proxy.example:3128"
    assert redact_url(url) == "http://***@proxy.example:3128"
    assert redact_proxy({"servers": {"https": url}, "pac_url": None})["servers"]["https"] == redact_url(url)


@given(user=USERS, password=PASSWORDS, before=st.text(LINE_TEXT, max_size=20).filter(lambda t: "://" not in t),
       after=st.text(LINE_TEXT, max_size=20).filter(lambda t: "@" not in t))
@example(user="user", password="S3cret/6", before="https_proxy=", after="")
@example(user="u", password="x://y", before="via ", after=" then GET /a")
@settings(max_examples=300, deadline=None)
def test_redact_text_hides_any_password_in_a_line(user, password, before, after):
    """A line of a log, an error or an evidence note: the userinfo goes, the host and the rest of the line stay."""
    line = f"{before}http://{user}:{password}@proxy.example:3128{after}"
    expected = f"{before}http://<redacted>@proxy.example:3128{after}"
    assert redact_text(line) == expected
    assert redact_text(f"first\n{line}\nlast") == f"first\n{expected}\nlast"


@given(password=PASSWORDS)
@example(password="S3cret/6")
@settings(max_examples=200, deadline=None)
def test_report_redaction_hides_any_password_in_every_field(password):
    """report.json and the HTML/JUnit rendered from it: proxy servers, diffs, messages."""
    url = f"http://ops:{password}@proxy.example:3128"
    shown = "http://<redacted>@proxy.example:3128"
    room = {"facts_before": {"proxy": {"servers": {"https": url}}}, "errors": [{"msg": f"could not use {url}"}],
            "changed": [{"diff": {"before": f"https: {url}\n"}}]}
    assert redact(room) == {"facts_before": {"proxy": {"servers": {"https": shown}}},
                            "errors": [{"msg": f"could not use {shown}"}],
                            "changed": [{"diff": {"before": f"https: {shown}\n"}}]}


@pytest.mark.parametrize("text, expected", [
    pytest.param("proxy http://p:3128 set by ops@corp.example", "proxy http://<redacted>@corp.example",
                 id="an @ later on the line: hidden too (the safe side)"),
    pytest.param("two http://a:b@h1 and http://c:d@h2", "two http://<redacted>@h2", id="two URLs on a line"),
    pytest.param("no credentials http://p:3128/x", "no credentials http://p:3128/x", id="no userinfo"),
    pytest.param("mail a@b.example", "mail a@b.example", id="no URL"),
])
def test_redact_urls_in_text_edges(text, expected):
    assert redact_urls_in_text(text, "<redacted>") == expected
