"""The proxy on real lab rooms: we own only our keys, roll back only our edit, follow symlinks, keep private
backups, refuse bad values before a room is touched, and never let a credential out (issue 12: 2, 4, 5, 7, 12).

Assertions are on the world: the room's file bytes and links, the backup directory, every output of a run.
"""

import io
import json
import tarfile
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from labfixture import check_control_path_dir
from test_room_modules import controller_subnets, module

ENV = "/etc/environment"
BACKUPS = "/var/backups/zoom-rooms"
BASELINE = "/var/lib/zr-lab/baseline/environment"
SITE = "# site settings\nLANG=C.UTF-8\nhttps_proxy=http://ops:S3cret%2F6@proxy.lab.invalid:3128\nTZ=UTC\n"
SHOWN = "http://<redacted>@proxy.lab.invalid:3128"


def reset(lab, room):
    """The room's environment file back to the lab's baseline, no backups: all these tests change."""
    lab.sh(room, f"rm -rf {BACKUPS} && cp {BASELINE} {ENV}")


@pytest.fixture
def room(lab):
    """A room whose proxy state is the baseline; cheaper than healing the whole lab (nothing else is touched)."""
    room = lab.rooms[0]
    reset(lab, room)
    yield room
    reset(lab, room)


def keep(lab):
    return {"policy": "keep", "controller_subnets": controller_subnets(lab)}


def test_rollback_undoes_only_our_edit_and_keeps_a_line_added_meanwhile(lab, room):
    lab.write_file(room, ENV, SITE)
    applied = module(lab, room, "zoom_room_proxy", keep(lab))
    assert applied["changed"] and "no_proxy=" in lab.file_bytes(room, ENV)
    lab.sh(room, f"echo ADDED_DURING_RUN=1 >> {ENV}")
    module(lab, room, "zoom_room_proxy", {"restore": applied["backup"]})
    assert lab.file_bytes(room, ENV) == SITE + "ADDED_DURING_RUN=1\n"


def test_rollback_stops_on_a_conflict_and_changes_nothing(lab, room):
    lab.write_file(room, ENV, SITE)
    applied = module(lab, room, "zoom_room_proxy", keep(lab))
    lab.sh(room, f"sed -i 's/^no_proxy=\"/no_proxy=\"their.example,/' {ENV}")
    theirs = lab.file_bytes(room, ENV)
    result = module(lab, room, "zoom_room_proxy", {"restore": applied["backup"]}, check=False)
    assert result["failed"] and result["conflict"] is True
    assert result["msg"].startswith(f"rollback conflict: no_proxy in {ENV} changed after this run wrote them")
    assert lab.file_bytes(room, ENV) == theirs


def test_symlinked_environment_is_edited_at_its_target_and_stays_a_link(lab, room):
    target = "/etc/zr-site/environment"
    lab.sh(room, f"mkdir -p /etc/zr-site && rm -f {ENV} && ln -s {target} {ENV}")
    try:
        lab.write_file(room, target, SITE)
        applied = module(lab, room, "zoom_room_proxy", keep(lab))
        assert lab.sh(room, f"readlink {ENV}").strip() == target
        assert "no_proxy=" in lab.file_bytes(room, target)
        module(lab, room, "zoom_room_proxy", {"restore": applied["backup"]})
        assert lab.sh(room, f"readlink {ENV}").strip() == target
        assert lab.file_bytes(room, target) == SITE
    finally:
        lab.sh(room, f"rm -f {ENV} && rm -rf /etc/zr-site && cp {BASELINE} {ENV}")


def room_files(lab, rooms):
    return {room: (lab.file_bytes(room, ENV), lab.sh(room, f"ls -A {BACKUPS} 2>/dev/null", check=False))
            for room in rooms}


def test_bad_values_stop_the_run_before_any_room_is_touched(lab, room, tmp_path):
    """One run, every check: the inventory check names each bad value, then stops before any room is read."""
    lab.write_file(room, ENV, SITE)  # a proxy without bypass: the run would fix it
    before = room_files(lab, lab.rooms)
    bad = {"zoom_room_proxy_bypass": ["ok.example", "x.example\nEVIL=1"], "zoom_room_proxy_policy": "manual",
           "zoom_room_proxy_server": "http://p.example:3128/\nEVIL=1",
           "zoom_room_controller_subnets": ["0.0.0.0/1", "128.0.0.0/1"]}
    run = lab.playbook("playbooks/remediate.yml", "-e", json.dumps(bad), check=False,
                       extra_env={"ZOOM_ROOMS_REPORT_DIR": str(tmp_path)})
    assert run.returncode != 0
    for message in ("zoom_room_proxy_bypass[1]: holds control characters",
                    "zoom_room_proxy_server: holds control characters",
                    "zoom_room_controller_subnets: 0.0.0.0/1, 128.0.0.0/1 together admit any IPv4"):
        assert f"{room}: {message}" in run.stdout, run.stdout[-3000:]
    assert room_files(lab, lab.rooms) == before


def test_the_module_refuses_bad_values_itself_before_reading_the_room(lab, room):
    lab.write_file(room, ENV, SITE)
    before = room_files(lab, [room])
    for args, message in (({"bypass": ["x\nEVIL=1"], "policy": "manual", "server": "p.example:3128"},
                           "bypass[0]: holds control characters"),
                          ({"controller_subnets": ["::/1", "8000::/1"]}, "together admit any IPv6")):
        result = module(lab, room, "zoom_room_proxy", args, check=False)
        assert result["failed"] and message in result["msg"], result
    assert room_files(lab, [room]) == before


def test_backups_are_private_and_only_the_last_n_are_kept(lab, room):
    copies = []
    for run in range(3):
        lab.write_file(room, ENV, f"{SITE}RUN={run}\n")
        result = module(lab, room, "zoom_room_proxy", {**keep(lab), "backup_keep": 2})
        copies.append(result["backup"]["environment_file"]["copy"])
        assert "S3cret" not in json.dumps(result)
    listing = lab.sh(room, f"stat -c '%n %a %U:%G' {BACKUPS} {BACKUPS}/* {BACKUPS}/.[!.]*").splitlines()
    assert listing[0] == f"{BACKUPS} 700 root:root"
    assert sorted(line.split()[0] for line in listing[1:] if line.endswith(".bak 600 root:root")) == sorted(copies[1:])
    assert all(line.endswith(" 600 root:root") for line in listing[1:]), listing
    assert len([line for line in listing if ".bak " in line]) == 2, listing
    assert lab.file_bytes(room, copies[-1]) == f"{SITE}RUN=2\n", "the copy holds the bytes from before the change"


def test_credentials_in_the_servers_argument_stay_out_of_the_console(lab, room):
    server = "http://ops:S3cret%2F6@proxy.lab.invalid:3128"
    result = lab.ansible(room, "-m", "zoomrooms.remediation.zoom_room_proxy", "-vvv", "--diff", "-a",
                         json.dumps({**keep(lab), "policy": "manual", "server": server}))
    assert "CHANGED" in result.stdout and "S3cret" not in result.stdout + result.stderr
    assert server in lab.file_bytes(room, ENV), "the room itself holds the credentials"


# ----------------------------------------------------------------------------- every output channel

def channel_texts(runs, folders):
    """Console output of every run, every file the runs wrote, the evidence archives unpacked."""
    texts = {f"console {index}": run.stdout + run.stderr for index, run in enumerate(runs)}
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and path.name.endswith(".tar.gz"):
                with tarfile.open(fileobj=io.BytesIO(path.read_bytes()), mode="r:gz") as tar:
                    texts.update({f"{path.name}:{m.name}": tar.extractfile(m).read().decode(errors="replace")
                                  for m in tar.getmembers() if m.isfile()})
            elif path.is_file():
                texts[str(path)] = path.read_text(errors="replace")
    return texts


PASSWORD = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=16)


# The forms issue 12 found leaking, on two rooms; the other two get generated passwords (one run of the
# three playbooks takes minutes, so the many generated cases run against the functions in tests/unit).
ISSUE_PASSWORDS = ["S3cret/6", "a#b?c@d e://f"]


@given(generated=st.lists(PASSWORD, min_size=2, max_size=2))
@settings(max_examples=1, deadline=None, database=None, phases=[Phase.generate],  # minutes a run: no shrinking
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_no_password_reaches_any_output_channel(healed, tmp_path_factory, generated):
    """Passwords, as a room may hold them, through diagnose, remediate (manual policy from the inventory, --diff)
    and collect_evidence at -vvv: console, report.json/html, junit.xml and the evidence pack hold none of them."""
    rooms = healed.rooms[:4]
    # Distinct ends make a leak of any part of a password findable, even a password like "a".
    passwords = [f"Qz{index}k{text}Wv{index}j" for index, text in enumerate(ISSUE_PASSWORDS + generated)]
    for room, password in zip(rooms, passwords, strict=False):
        healed.write_file(room, ENV, f"LANG=C.UTF-8\nhttps_proxy=http://ops:{password}@proxy.lab.invalid:3128\n")
    server = f"http://ops:{quote(passwords[0], safe='')}@proxy.lab.invalid:3128"
    work = tmp_path_factory.mktemp("channels")
    reports, evidence = work / "reports", work / "evidence"
    # Fresh SSH sessions: a persisted one keeps the environment pam_env gave it from an older file.
    env = {"ZOOM_ROOMS_REPORT_DIR": str(reports),
           "ANSIBLE_SSH_CONTROL_PATH_DIR": str(check_control_path_dir(work / "cp"))}
    runs = [healed.playbook("playbooks/diagnose.yml", "-vvv", check=False, extra_env=env)]
    diagnosed = json.loads((reports / "latest" / "report.json").read_text())
    runs.append(healed.playbook("playbooks/remediate.yml", "-vvv", "--diff", "-e", json.dumps(
        {"zoom_room_proxy_policy": "manual", "zoom_room_proxy_server": server}), check=False, extra_env=env))
    assert server in healed.file_bytes(rooms[1], ENV), "the run must have written the server with its password"
    runs.append(healed.playbook("playbooks/collect_evidence.yml", "-vvv", "-e", f"zoom_rooms_evidence_dir={evidence}",
                                check=False, extra_env=env))
    texts = channel_texts(runs, [reports, evidence])
    assert {"report.json", "report.html", "junit.xml"} <= {name.rsplit("/", 1)[-1] for name in texts}
    assert any(name.endswith("evidence.json") for name in texts), sorted(texts)
    secrets = {*passwords, quote(passwords[0], safe=""), *(f"Qz{i}k" for i in range(4)), *(f"Wv{i}j" for i in range(4))}
    leaks = sorted((secret, name) for name, text in texts.items() for secret in secrets if secret in text)
    assert leaks == []
    for room in rooms:  # what the reader sees instead: the proxy, its userinfo redacted
        entry = diagnosed["rooms"][room]
        assert entry.get("facts_before", {}).get("proxy", {}).get("servers", {}).get("https") == SHOWN, entry
        healed.sh(room, f"rm -rf {BACKUPS}")
