"""What the Windows PowerShell scripts must say, checked on their tree-sitter parse (no PowerShell runs here).

The scripts: the read-only facts collector (roles/zoom_room_diagnose/files/windows_facts.ps1) and the log tail
(roles/zoom_room_evidence/files/log_tail.ps1). tests/lint/powershell_lint.py checks that they parse and use only
Windows PowerShell 5.1 syntax; these tests check calls whose outcome depends on the room (its culture, its
accounts, its firewall policy stores).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from typing import Iterator

import tree_sitter
from fixture_files import PROJECT

LINT_PATH = PROJECT / "tests" / "lint" / "powershell_lint.py"
_spec = importlib.util.spec_from_file_location("powershell_lint", LINT_PATH)
lint = sys.modules.setdefault("powershell_lint", importlib.util.module_from_spec(_spec))
if not hasattr(lint, "PARSER"):
    _spec.loader.exec_module(lint)

FACTS_SCRIPT = "roles/zoom_room_diagnose/files/windows_facts.ps1"
SCRIPTS = [FACTS_SCRIPT, "roles/zoom_room_evidence/files/log_tail.ps1"]
# Custom date/time format characters a culture replaces: ':' its TimeSeparator, '/' its DateSeparator
# (learn.microsoft.com, DateTimeFormatInfo.TimeSeparator / DateSeparator).
CULTURE_SEPARATORS = re.compile(r"[:/]")


def nodes(path: str, kind: str) -> Iterator[tuple[tree_sitter.Node, bytes]]:
    source = (PROJECT / path).read_bytes()
    for node in lint._nodes(lint.PARSER.parse(source).root_node):
        if node.type == kind:
            yield node, source


def node_text(node: tree_sitter.Node, source: bytes) -> str:
    return source[node.start_byte:node.end_byte].decode()


def to_string_calls(path: str) -> Iterator[tuple[str, list[str]]]:
    """Each `.ToString(...)` call: the call's text and its arguments' texts."""
    for node, source in nodes(path, "invokation_expression"):
        member = next((c for c in node.children if c.type == "member_name"), None)
        arguments = next((c for c in node.children if c.type == "argument_list"), None)
        if member is None or arguments is None or node_text(member, source).lower() != "tostring":
            continue
        listed = next((c for c in arguments.children if c.type == "argument_expression_list"), None)
        values = [] if listed is None else [node_text(c, source) for c in listed.children
                                            if c.type == "argument_expression"]
        yield node_text(node, source), values


def test_time_stamps_are_formatted_in_the_invariant_culture():
    """A format with ':' or '/' gives '.' or '-' on a room whose culture says so, unless the culture is fixed."""
    checked = []
    for path in SCRIPTS:
        for call, arguments in to_string_calls(path):
            if arguments and arguments[0][:1] in "'\"" and CULTURE_SEPARATORS.search(arguments[0]):
                checked.append((path, call, arguments[1:] == ["[Globalization.CultureInfo]::InvariantCulture"]))
    assert checked, "no formatted time stamp found: the test no longer sees the scripts' calls"
    assert [(path, call) for path, call, invariant in checked if not invariant] == []


def firewall_rule_reads() -> list[list[str]]:
    reads = []
    for node, source in nodes(FACTS_SCRIPT, "command"):
        name = next((c for c in node.children if c.type == "command_name"), None)
        elements = next((c for c in node.children if c.type == "command_elements"), None)
        if name is not None and node_text(name, source).lower() == "get-netfirewallrule" and elements is not None:
            reads.append([node_text(c, source).lower() for c in elements.children
                          if c.type in ("command_parameter", "generic_token")])
    return reads


def test_active_store_rule_reads_trace_their_policy_store():
    """PolicyStoreSourceType (the rule's `source`: Local or GroupPolicy) is filled for ActiveStore reads made with
    -TracePolicyStore (Get-NetFirewallRule, learn.microsoft.com); the reader needs it where Group Policy sets
    AllowLocalFirewallRules False."""
    reads = firewall_rule_reads()
    assert reads, "no Get-NetFirewallRule call found in the collector"
    active = [arguments for arguments in reads if "activestore" in arguments]
    assert active and all("-tracepolicystore" in arguments for arguments in active)


def sid_filter() -> str:
    """The pattern the collector matches user hive names (HKEY_USERS\\<SID>) with."""
    for node, source in nodes(FACTS_SCRIPT, "comparison_expression"):
        operator = next((c for c in node.children if c.type == "comparison_operator"), None)
        if operator is not None and node_text(operator, source).lower() in ("-match", "-notmatch") \
                and node_text(node.children[0], source) == "$sid":
            return node_text(node.children[-1], source).strip("'\"")
    raise AssertionError("the collector no longer filters hive names by SID")


def test_signed_in_user_hives_include_entra_id_accounts():
    """Local and AD accounts are S-1-5-21-*, Entra ID accounts S-1-12-1-* ("S-1-12-1-" and the object ID's
    four 32-bit words: okieselbach/Intune Convert-AzureAdObjectIdToSid.ps1, whose example this is)."""
    pattern = re.compile(sid_filter(), re.IGNORECASE)  # -match is case-insensitive
    users = ["S-1-5-21-3623811015-3361044348-30300820-1001", "S-1-12-1-1943430372-1249052806-2496021943-3034400218"]
    others = ["S-1-5-18", "S-1-5-19", "S-1-5-20", ".DEFAULT", "S-1-5-21-3623811015-3361044348-30300820-1001_Classes",
              "S-1-12-1-1943430372-1249052806-2496021943-3034400218_Classes"]
    assert [sid for sid in users if not pattern.search(sid)] == []
    assert [sid for sid in others if pattern.search(sid)] == []


LOG_TAIL = "roles/zoom_room_evidence/files/log_tail.ps1"


def test_each_log_path_is_read_in_its_own_try():
    """Test-Path writes an access error and returns $false (microsoft/PowerShellForGitHub#48): under the script's
    ErrorActionPreference Stop that throws, and outside a try it ended the script, every path of the room unread.
    Each requested path is read inside a try whose catch records that path as unreadable; a folder that cannot
    be listed throws there too (-ErrorAction Stop) instead of reading as empty."""
    loops = [(node, source) for node, source in nodes(LOG_TAIL, "foreach_statement")
             if node_text(node, source).startswith("foreach ($requested in $Paths)")]
    assert len(loops) == 1, "the loop over the requested paths is gone"
    loop, source = loops[0]
    body = next(c for c in loop.children if c.type == "statement_block")
    statements = next(c for c in body.children if c.type == "statement_list").children
    reads = [s for s in statements if s.type != "comment" and "Test-Path" in node_text(s, source)]
    assert reads and all(s.type == "try_statement" for s in reads)
    catch = node_text(next(c for c in reads[0].children if c.type == "catch_clauses"), source)
    assert "'unreadable'" in catch
    listings = [node_text(n, text) for n, text in nodes(LOG_TAIL, "command") if "Get-ChildItem" in node_text(n, text)]
    assert listings and all("-ErrorAction Stop" in text for text in listings)
