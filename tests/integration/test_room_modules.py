"""The room modules on real lab rooms: real nftables, iptables and ufw, real TCP from the probe."""

import json

import pytest


def module(lab, room, name, args, *flags, check=True):
    result = lab.ansible(room, "-m", f"zoomrooms.remediation.{name}", "-a", json.dumps(args), *flags, check=False)
    if check and "SUCCESS" not in result.stdout and "CHANGED" not in result.stdout:
        raise AssertionError(result.stdout + result.stderr)
    start = result.stdout.index(f"{room} | ")
    body = json.loads(result.stdout[result.stdout.index("=>", start) + 2:])
    body["failed"] = result.stdout[start:].split("=>")[0].strip().endswith("FAILED!")
    return body


def controller_subnets(lab):
    return [lab.state["networks"]["ctl"]["subnet"]]


def firewall(lab, room, *flags, **args):
    return module(lab, room, "zoom_room_firewall", {"sources": controller_subnets(lab), **args}, *flags)


def snapshot(lab, room):
    return {"ruleset": lab.ruleset(room), "nftables.conf": lab.file_bytes(room, "/etc/nftables.conf"),
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
    conf = healed.file_bytes(room, "/etc/nftables.conf")
    assert "zoom-rooms controller tcp/9090" in conf and "zr_lab_fault" in conf, "not persisted"
    assert healed.sh(room, "stat -c %a /etc/nftables.conf").strip() == "755"

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


def test_reachability_classifies_from_the_probe(healed):
    rooms = healed.rooms
    healed.labctl("fault", rooms[1], "not_listening")
    healed.labctl("fault", rooms[2], "firewall_block")
    healed.labctl("fault", rooms[3], "wrong_segment")
    targets = [{"name": r, "address": healed.state["rooms"][r]["address"]} for r in rooms]
    result = module(healed, healed.probe, "zoom_room_reachability", {"targets": targets, "timeout": 1.5})
    states = {name: entry["state"] for name, entry in result["reachability"].items()}
    assert states == {rooms[0]: "open", rooms[1]: "refused", rooms[2]: "timeout", rooms[3]: "no_route"}
    assert result["reachability"][rooms[3]]["in_connected_subnet"] is False
    assert result["elapsed_ms"] < 3000, "targets were not tried concurrently"
