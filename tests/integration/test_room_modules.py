"""The room modules on real lab rooms: real nftables, iptables and ufw, real TCP from the probe."""

import ipaddress
import json

import pytest
from labfixture import SITE_NFTABLES_CONF


def module(lab, room, name, args, *flags, check=True):
    return module_run(lab, room, name, args, *flags, check=check)[0]


def module_run(lab, room, name, args, *flags, check=True):
    """The module's result and the whole console output (with -vvv: the commands run on the host)."""
    result = lab.ansible(room, "-m", f"zoomrooms.remediation.{name}", "-a", json.dumps(args), *flags, check=False)
    if check and "SUCCESS" not in result.stdout and "CHANGED" not in result.stdout:
        raise AssertionError(result.stdout + result.stderr)
    start = result.stdout.index(f"{room} | ")
    body = json.loads(result.stdout[result.stdout.index("=>", start) + 2:])
    body["failed"] = result.stdout[start:].split("=>")[0].strip().endswith("FAILED!")
    return body, result.stdout + result.stderr


def controller_subnets(lab):
    return [lab.state["networks"]["ctl"]["subnet"]]


def firewall(lab, room, *flags, **args):
    return module(lab, room, "zoom_room_firewall", {"sources": controller_subnets(lab), **args}, *flags)


RULES_FILE = "/etc/nftables.d/zoom-rooms.nft"


def snapshot(lab, room):
    return {"ruleset": lab.ruleset(room), "nftables.conf": lab.file_bytes(room, "/etc/nftables.conf"),
            "rules file": lab.sh(room, f"cat {RULES_FILE} 2>/dev/null || echo absent"),
            "iptables": lab.sh(room, "iptables-save -t filter | grep -v '^#'"),
            "environment": lab.file_bytes(room, "/etc/environment")}


@pytest.fixture
def room(healed):
    return healed.rooms[0]


def test_facts_report_the_whole_state_in_one_call(healed, room):
    healed.labctl("fault", room, "firewall_block")
    healed.labctl("fault", room, "proxy_no_bypass")
    facts = module(healed, room, "zoom_room_facts", {"controller_subnets": controller_subnets(healed),
                                                     "package_name": "zoom-rooms-sim"})["facts"]
    assert facts["app"] == {"installed": True, "name": "zoom-rooms-sim", "version": "6.2.0.4512",
                            "raw_version": "6.2.0.4512", "version_source": "dpkg", "version_status": "ok"}
    assert facts["listener"]["listening"] is True
    [verdict] = facts["firewall"]["verdicts"]
    assert verdict["verdict"] == "blocked" and "zr_lab_fault" in verdict["decided_by"]
    assert facts["proxy"]["mode"] == "manual" and facts["proxy"]["bypass_covers_local"] is False
    assert healed.state["rooms"][room]["address"] in [a["address"] for a in facts["addresses"]]


def test_nftables_drop_in_another_table(healed, room):
    healed.labctl("fault", room, "firewall_block")
    before = snapshot(healed, room)
    assert healed.connect(room) == "timeout"

    planned = firewall(healed, room, "--check")
    assert planned["changed"] is True
    assert snapshot(healed, room) == before, "check mode changed the host"

    applied = firewall(healed, room)
    assert applied["changed"] is True and applied["verdicts"][0]["verdict"] == "admitted"
    assert healed.connect(room) == "open"
    # The blocking table is runtime-only (not in nftables.conf): it is not made permanent, and an
    # admission in it needs no boot copy, so the boot configuration stays as it was.
    assert snapshot(healed, room)["nftables.conf"] == before["nftables.conf"]
    assert snapshot(healed, room)["rules file"] == "absent\n"

    assert firewall(healed, room)["changed"] is False, "second run is not idempotent"

    restored = module(healed, room, "zoom_room_firewall", {"restore": applied["backup"]})
    assert restored["changed"] is True
    assert snapshot(healed, room) == before, "restore is not byte-identical"
    assert healed.connect(room) == "timeout"


def test_nftables_input_policy_drop(healed, room):
    healed.sh(room, "nft add rule inet filter input ct state established,related accept && "
                    "nft add rule inet filter input tcp dport 22 accept && "
                    "nft chain inet filter input '{ policy drop; }'")
    assert healed.connect(room) == "timeout"
    firewall(healed, room)
    assert healed.connect(room) == "open"
    firewall(healed, room, state="absent")
    assert healed.connect(room) == "timeout"
    assert "zoom-rooms" not in healed.ruleset(room)


def test_admission_is_scoped_to_the_controller_subnet(healed, room):
    """Only the controller subnet is admitted: the rule names it, never any address."""
    healed.labctl("fault", room, "firewall_block")
    firewall(healed, room)
    rules = [line.strip() for line in healed.ruleset(room).splitlines() if "zoom-rooms" in line]
    assert rules == [f"ip saddr {controller_subnets(healed)[0]} tcp dport 9090 accept "
                     f'comment "zoom-rooms controller tcp/9090"']


def test_iptables_drop(healed, room):
    healed.sh(room, "mkdir -p /etc/iptables && iptables -A INPUT -p tcp --dport 9090 -j DROP")
    assert healed.connect(room) == "timeout"
    before = snapshot(healed, room)
    firewall(healed, room, "--check")
    assert snapshot(healed, room) == before
    result = firewall(healed, room)
    assert "iptables" in result["layers"]
    assert healed.connect(room) == "open"
    assert "zoom-rooms controller tcp/9090" in healed.file_bytes(room, "/etc/iptables/rules.v4")
    assert firewall(healed, room)["changed"] is False
    firewall(healed, room, state="absent")
    assert healed.connect(room) == "timeout"


def test_ufw_default_deny(healed, room):
    healed.sh(room, "ufw --force enable >/dev/null && ufw allow 22/tcp >/dev/null")
    assert healed.connect(room) == "timeout"
    before = healed.sh(room, "ufw status verbose")
    firewall(healed, room, "--check")
    assert healed.sh(room, "ufw status verbose") == before
    result = firewall(healed, room)
    assert "ufw" in result["layers"]
    assert healed.connect(room) == "open"
    assert "zoom-rooms controller tcp/9090" in healed.file_bytes(room, "/etc/ufw/user.rules") or \
        "9090" in healed.file_bytes(room, "/etc/ufw/user.rules"), "ufw did not save the rule"
    assert firewall(healed, room)["changed"] is False
    firewall(healed, room, state="absent")
    assert healed.connect(room) == "timeout"


def test_firewall_rejects_bad_input_before_touching_the_host(healed, room):
    before = snapshot(healed, room)
    for args, message in (({"sources": ["10.0.0.0/33"]}, "sources[0]: '10.0.0.0/33' is not a CIDR"),
                          ({"sources": ["0.0.0.0/0"]}, "admits any address"),
                          ({"sources": ["0.0.0.0/1", "128.0.0.0/1"]}, "admit any address"),
                          ({"sources": ["10.0.0.0/8"], "port": 70000}, "port: 70000 is out of range")):
        result = module(healed, room, "zoom_room_firewall", args, check=False)
        assert result["failed"] and message in result["msg"], result
    assert snapshot(healed, room) == before


def test_proxy_keep_fixes_the_bypass_and_keeps_every_other_line(healed, room):
    healed.sh(room, "printf '# site settings\\nLANG=C.UTF-8\\n' > /etc/environment")
    healed.labctl("fault", room, "proxy_no_bypass")
    before = snapshot(healed, room)
    args = {"policy": "keep", "controller_subnets": controller_subnets(healed)}
    assert module(healed, room, "zoom_room_proxy", args, "--check")["changed"] is True
    assert snapshot(healed, room) == before
    result = module(healed, room, "zoom_room_proxy", args)
    assert result["proxy"]["bypass_covers_local"] is True
    text = healed.file_bytes(room, "/etc/environment")
    assert text.startswith("# site settings\nLANG=C.UTF-8\n" + before["environment"].split("LANG=C.UTF-8\n")[1][:10])
    assert f'no_proxy="localhost,127.0.0.1,::1,{controller_subnets(healed)[0]}"' in text
    assert f'NO_PROXY="localhost,127.0.0.1,::1,{controller_subnets(healed)[0]}"' in text
    assert module(healed, room, "zoom_room_proxy", args)["changed"] is False
    module(healed, room, "zoom_room_proxy", {"restore": result["backup"]})
    assert healed.file_bytes(room, "/etc/environment") == before["environment"]


def test_proxy_direct_removes_servers(healed, room):
    healed.labctl("fault", room, "proxy_no_bypass")
    module(healed, room, "zoom_room_proxy", {"policy": "direct"})
    text = healed.file_bytes(room, "/etc/environment")
    assert "proxy.lab.invalid" not in text


def test_proxy_credentials_never_leave_the_host(healed, room):
    healed.sh(room, "echo 'https_proxy=http://ops:s3cr3t@proxy.lab.invalid:3128' >> /etc/environment")
    result = healed.ansible(room, "-m", "zoomrooms.remediation.zoom_room_proxy", "-a",
                            json.dumps({"policy": "keep", "controller_subnets": controller_subnets(healed)}),
                            "-vvv", "--diff")
    assert "s3cr3t" not in result.stdout + result.stderr


# The action runs the probe as a lean payload; the module runs with lean=false and where Ansible would not
# pipeline a module (pipelining off). A Python still to be discovered is discovered by Ansible's own discovery
# first, and the result says so (ansible_facts). All of them classify alike.
@pytest.mark.parametrize("args, flags, runs_module, discovers", [
    ({}, (), False, False),
    ({"lean": False}, (), True, False),
    ({}, ("-e", "ansible_pipelining=false"), True, False),
    ({}, ("-e", "ansible_python_interpreter=auto_silent"), False, True),
], ids=["lean payload", "module", "pipelining off: the module", "lean payload after interpreter discovery"])
def test_reachability_classifies_from_the_probe(healed, args, flags, runs_module, discovers):
    rooms = healed.rooms
    healed.labctl("fault", rooms[1], "not_listening")
    healed.labctl("fault", rooms[2], "firewall_block")
    healed.labctl("fault", rooms[3], "wrong_segment")
    targets = [{"name": r, "address": healed.state["rooms"][r]["address"]} for r in rooms]
    result, console = module_run(healed, healed.probe, "zoom_room_reachability",
                                 {"targets": targets, "timeout": 1.5, **args}, "-vvv", *flags)
    states = {name: entry["state"] for name, entry in result["reachability"].items()}
    assert states == {rooms[0]: "open", rooms[1]: "refused", rooms[2]: "timeout", rooms[3]: "no_route"}
    assert result["reachability"][rooms[3]]["in_connected_subnet"] is False
    assert result["reachability"][rooms[0]]["in_connected_subnet"] is True
    assert result["elapsed_ms"] < 3000, "targets were not tried concurrently"
    # -vvv shows what ran on the probe: the module (ansible names its file), or the lean bootstrap.
    assert ("modules/zoom_room_reachability.py" in console) is runs_module
    assert ("import base64,importlib" in console) is not runs_module
    assert ("discovered_interpreter_python" in result.get("ansible_facts", {})) is discovers


def test_reachability_probes_a_room_named_by_dns_name(healed):
    """Inventories often give rooms by DNS name: the probe looks the name up on its own host (here its
    /etc/hosts, so no resolver traffic leaves the lab) and connects to that address."""
    room = healed.rooms[0]
    address = healed.state["rooms"][room]["address"]
    hosts = healed.sh(healed.probe, "cat /etc/hosts")
    healed.sh(healed.probe, f"echo '{address} zr-by-name.lab.example' >> /etc/hosts")
    try:
        result = module(healed, healed.probe, "zoom_room_reachability",
                        {"targets": [{"name": room, "address": "zr-by-name.lab.example"}], "timeout": 1.5})
    finally:
        healed.run(["podman", "exec", "-i", healed.probe, "sh", "-c", "cat > /etc/hosts"], input=hosts)
    entry = result["reachability"][room]
    assert (entry["state"], entry["address"], entry["resolved_address"]) == ("open", "zr-by-name.lab.example", address)
    assert entry["in_connected_subnet"] is True


def test_reachability_rejects_a_bad_port_before_the_probe_runs(healed):
    result = module(healed, healed.probe, "zoom_room_reachability",
                    {"targets": [{"name": "x", "address": "10.0.0.1", "port": 70000}]}, check=False)
    assert result["failed"] is True
    assert "targets[0].port: 70000 is out of range 1-65535" in result["msg"]


# ---------------------------------------------------------------- issue 12: own only our rules, boot vs live

SITE_CONF = SITE_NFTABLES_CONF
GLOB_INCLUDE = 'include "/etc/nftables.d/*.nft"\n'
# A runtime-only table, as fail2ban adds one: it must not become part of the boot configuration.
BAN_TABLE = ("nft add table inet f2b && nft add chain inet f2b input '{ type filter hook input priority -1; }' && "
             "nft add rule inet f2b input ip saddr 192.0.2.7 drop")


def install_boot_config(lab, room, conf):
    lab.install_nftables_conf(room, conf)
    lab.sh(room, BAN_TABLE)


def backups(lab, room):
    out = lab.sh(room, "stat -c '%a %U %n' /var/backups/zoom-rooms/* 2>/dev/null || true")
    return [line.split(" ", 2) for line in out.splitlines()]


@pytest.mark.parametrize("conf", [SITE_CONF, SITE_CONF + GLOB_INCLUDE],
                         ids=["our include appended", "the site's own include loads our file"])
def test_nftables_persists_only_our_rules(healed, room, conf):
    install_boot_config(healed, room, conf)
    assert healed.connect(room) == "timeout"

    applied = firewall(healed, room)
    assert applied["changed"] is True and healed.connect(room) == "open"
    now = healed.file_bytes(room, "/etc/nftables.conf")
    ours = ('# zoom-rooms: the controller admission rules of zoom_room_firewall (remove both lines to drop them)\n'
            f'include "{RULES_FILE}"\n')
    assert now == (conf if GLOB_INCLUDE in conf else conf + "\n" + ours), "nftables.conf was rewritten"
    assert healed.sh(room, "stat -c %a /etc/nftables.conf").strip() == "755"
    rules = healed.file_bytes(room, RULES_FILE)
    subnet = controller_subnets(healed)[0]
    assert f'insert rule inet filter input ip saddr {{ {subnet} }} tcp dport 9090 accept' in rules
    assert "f2b" not in now + rules and "192.0.2.7" not in now + rules, "a runtime-only table was persisted"
    if GLOB_INCLUDE not in conf:  # nftables.conf was changed: its previous bytes are on the room, private
        [[mode, owner, path]] = backups(healed, room)
        assert (mode, owner) == ("600", "root") and healed.file_bytes(room, path) == conf
        assert path in applied["backup_files"]
    assert firewall(healed, room)["changed"] is False, "second run is not idempotent"

    healed.reboot_firewall(room)
    assert healed.connect(room) == "open", "the admission did not survive a reboot"
    assert "f2b" not in healed.ruleset(room)

    restored = module(healed, room, "zoom_room_firewall", {"restore": applied["backup"], "expect": applied["applied"],
                                                           "backup_keep": 1})
    assert restored["changed"] is True
    assert healed.file_bytes(room, "/etc/nftables.conf") == conf, "rollback did not give back the site's bytes"
    assert healed.sh(room, f"test -e {RULES_FILE} && echo present || echo absent").strip() == "absent"
    assert "zoom-rooms" not in healed.ruleset(room) and healed.connect(room) == "timeout"
    # Retention: nftables.conf was written twice (apply, rollback) and our file once (rollback): one copy each.
    names = sorted(path.rsplit("/", 1)[1].split(".20")[0] for _unused, _unused, path in backups(healed, room))
    assert names == (["_etc_nftables.conf", "_etc_nftables.d_zoom-rooms.nft"] if GLOB_INCLUDE not in conf else
                     ["_etc_nftables.d_zoom-rooms.nft"])


def test_rollback_stops_on_a_conflict_and_changes_nothing(healed, room):
    install_boot_config(healed, room, SITE_CONF)
    applied = firewall(healed, room)
    healed.sh(room, f"echo '# a person was here' >> {RULES_FILE}")
    before = snapshot(healed, room)
    result = module(healed, room, "zoom_room_firewall", {"restore": applied["backup"], "expect": applied["applied"]},
                    check=False)
    assert result["failed"] and result["conflict"] == ["nftables"] and "not rolled back" in result["msg"], result
    assert snapshot(healed, room) == before, "a conflicting rollback touched the room"
    assert healed.connect(room) == "open"


def test_a_change_never_persisted_is_caught_and_fixed(healed, room):
    """A run that died after the live change and before the boot file: facts compare live with boot."""
    install_boot_config(healed, room, SITE_CONF)
    firewall(healed, room, persist=False)
    assert healed.connect(room) == "open"
    facts = module(healed, room, "zoom_room_facts", {"controller_subnets": controller_subnets(healed)})["facts"]
    [difference] = facts["firewall"]["boot_differences"]
    assert difference["backend"] == "nftables" and "live, not in the boot configuration" in difference["difference"]

    fixed = firewall(healed, room)
    assert fixed["changed"] is True
    facts = module(healed, room, "zoom_room_facts", {"controller_subnets": controller_subnets(healed)})["facts"]
    assert facts["firewall"]["boot_differences"] == []
    healed.reboot_firewall(room)
    assert healed.connect(room) == "open"


def test_adjacent_controller_subnets_verify_although_nft_merges_them(healed, room):
    healed.labctl("fault", room, "firewall_block")
    network = ipaddress.ip_network(controller_subnets(healed)[0])
    halves = [str(half) for half in network.subnets(prefixlen_diff=1)]
    result = module(healed, room, "zoom_room_firewall", {"sources": halves})
    assert result["changed"] is True and not result["failed"]
    assert healed.connect(room) == "open"
    assert module(healed, room, "zoom_room_firewall", {"sources": halves})["changed"] is False


def test_without_nft_the_verdict_is_unknown_and_nothing_changes(healed, room):
    healed.labctl("fault", room, "firewall_block")
    before = snapshot(healed, room)
    healed.sh(room, "mv /usr/sbin/nft /usr/sbin/nft.hidden")
    try:
        facts = module(healed, room, "zoom_room_facts", {"controller_subnets": controller_subnets(healed)})["facts"]
        [verdict] = facts["firewall"]["verdicts"]
        assert verdict["verdict"] == "unknown" and "nftables could not be read" in verdict["decided_by"]
        assert facts["firewall"]["unreadable"][0]["backend"] == "nftables"
        result = module(healed, room, "zoom_room_firewall", {"sources": controller_subnets(healed)}, check=False)
        assert result["failed"] and "could not be read" in result["msg"] and "nothing was changed" in result["msg"]
    finally:
        healed.sh(room, "mv /usr/sbin/nft.hidden /usr/sbin/nft")
    assert snapshot(healed, room) == before
    assert healed.connect(room) == "timeout"
