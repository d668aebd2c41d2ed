#!/usr/bin/python
"""zoom_room_firewall: admit the controller port from the controller subnets only, on every layer that blocks it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: zoom_room_firewall
short_description: Make a room's host firewall admit TCP 9090 from the controller subnets, and only from them
description:
  - Computes where an admission is needed, diffs it against what the host has, applies only the
    difference, re-reads the host and verifies that every controller subnet is admitted. If the host
    does not show the desired state, the module puts back what it found and fails.
  - Linux. Every filtering layer that blocks the port gets the admission. For nftables, that is each base
    chain on the input hook that would not accept. An accept in one chain does not override a drop in
    another table's chain, so a rule in C(inet filter) alone is not enough. With iptables, the module
    inserts one ACCEPT per subnet at the top of INPUT. With ufw, it inserts C(allow proto tcp from SUBNET
    to any port PORT) at position 1.
  - With firewalld running, firewalld is the layer for its own rules (the nftables and iptables layers
    leave its tables alone). The module adds the rich rule
    C(rule family="ipv4" source address="SUBNET" port port="PORT" protocol="tcp" accept) to each zone that
    handles the subnet and does not already admit it. That is the zone bound to a source covering the
    subnet, else every zone bound to an interface and the default zone. Rich rules carry no comment, so
    a rule of exactly this form is treated as ours.
  - The admission persists across reboots, and only ours is persisted. nftables gets our rules in a file of
    our own, C(/etc/nftables.d/zoom-rooms.nft), as C(insert rule) commands for the
    chains that the boot configuration creates. C(/etc/nftables.conf) gains two lines, a comment and
    C(include) of that file, appended after its tables. When an include of the user's own already loads
    the file (for example C(include "/etc/nftables.d/*.nft")), nothing is added. The rest of
    C(/etc/nftables.conf) is never rewritten. Its comments and includes stay, and runtime-only tables (a
    fail2ban ban) stay runtime-only. After a change, C(nft -c -f /etc/nftables.conf) must accept the boot
    configuration, else the change is put back. iptables rules are saved the way iptables-persistent
    saves them, to C(/etc/iptables/rules.v4)/C(rules.v6) or C(/etc/sysconfig/iptables), when that
    directory exists. ufw saves its rules itself. firewalld gets each rich rule both with C(--permanent)
    and in the runtime configuration, so the rule survives a reboot and applies at once without a
    C(--reload).
  - Every file the module is about to change is first copied on the room into I(backup_dir) (0600 files in
    a 0700 directory); the newest I(backup_keep) copies of each file are kept, older ones are removed.
    The copies stay on the room; only their paths are returned (C(backup_files)).
  - A restore with I(expect) (the C(applied) of the run being undone) first checks that every layer is
    still what that run left. If something changed since (another run, a person), nothing is put back and
    the module fails naming the layers (C(conflict)).
  - A layer whose tool is missing or fails (no C(nft) binary) is not read as "no firewall". Its verdicts
    are C(unknown) with the reason, and a change fails before touching the host.
  - macOS. The Application Firewall (socketfilterfw) permits the Zoom Rooms app. It filters per
    application, not per address, so the scope to controller subnets cannot be expressed there.
    "Block all incoming connections" is only switched off when I(allow_disable_block_all=true). With it on
    and I(allow_disable_block_all=false), C(state=present) fails before changing anything (in check mode
    too) and names that option, since no app entry admits the controller then.
  - macOS. When the app's firewall entry cannot be read (C(socketfilterfw --listapps) lists it without a
    verdict, or its output is not understood), the module changes nothing and fails, in check mode too,
    because a rollback could not put back a state it never read. The same holds for a restore whose backup
    has no readable entry.
  - macOS. C(state=absent) runs C(socketfilterfw --remove) on the app, whoever added the entry. An entry an
    administrator added is removed too. Unless the firewall is off or "automatically allow downloaded signed
    software" is on, the app is then blocked and the controller can no longer reach the room.
  - Linux. Our rules carry the comment C(zoom-rooms controller tcp/PORT); for firewalld, ours are the rich
    rules of the form above. C(state=absent) removes them and nothing else.
  - Windows. The action plugin of the same name reads the room with the read-only collector, plans in
    Python and sets one inbound allow rule named I(rule_name) with M(community.windows.win_firewall_rule)
    (TCP I(port), remote addresses = I(sources), I(profiles)). It reads the rule back and, if Windows does
    not hold it, restores the saved rule and fails. Enabled block rules that override it are listed in
    C(notes), never deleted. I(backend), I(persist), I(allow_disable_block_all) and I(app_path) do not apply.
version_added: "1.0.0"
author: Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
options:
  sources:
    description:
      - Controller subnets (CIDR) to admit. Never "any". Required when I(state=present).
    type: list
    elements: str
    default: []
  port:
    description: The controller port on the room.
    type: int
    default: 9090
  state:
    description:
      - C(present) admits; C(absent) removes our admission rules.
      - On macOS C(absent) removes the app's firewall entry even if an administrator added it, which can
        block the controller.
    type: str
    choices: [present, absent]
    default: present
  backend:
    description:
      - C(auto) acts on every active layer (nftables native tables, then ufw or iptables, then firewalld
        when C(firewall-cmd --state) prints C(running)).
      - A named backend acts on that one only; verification still checks the whole host on Linux.
    type: str
    choices: [auto, nftables, iptables, ufw, firewalld, socketfilterfw]
    default: auto
  persist:
    description: >-
      Linux. Save the change in the backend's boot-time configuration (for firewalld, its permanent
      configuration).
    type: bool
    default: true
  restore:
    description:
      - A C(backup) returned by an earlier run of this module. The module puts that state back instead
        of computing one. The rollback of a failed verification uses it.
    type: dict
  expect:
    description:
      - With I(restore), the C(applied) result of the run being undone. Each layer must still be in that
        state, else nothing is put back and the module fails with C(conflict).
    type: dict
  backup_dir:
    description: Linux. Directory on the room for the copies of files taken before they change.
    type: path
    default: /var/backups/zoom-rooms
  backup_keep:
    description: Linux. How many copies of each file to keep in I(backup_dir) (newest first); at least 1.
    type: int
    default: 5
  allow_disable_block_all:
    description:
      - macOS. Allow switching off "Block all incoming connections", which otherwise wins over any app rule.
      - When it is false and block-all is on, C(state=present) fails before changing anything, in check
        mode too.
    type: bool
    default: false
  app_path:
    description: macOS. The Zoom Rooms application bundle.
    type: path
    default: /Applications/ZoomPresence.app
  rule_name:
    description: Windows. Name of the Defender Firewall rule the task owns; default C(Zoom Rooms controller (TCP PORT)).
    type: str
  description:
    description: Windows. The rule's description.
    type: str
    default: Zoom Rooms controllers to the room app; managed by zoom_room_firewall
  profiles:
    description: Windows. Firewall profiles the rule applies to.
    type: list
    elements: str
    choices: [domain, private, public]
    default: [domain, private]
extends_documentation_fragment:
  - zoomrooms.remediation.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Admit controllers to the room app
  zoomrooms.remediation.zoom_room_firewall:
    sources: "{{ zoom_room_controller_subnets }}"
    port: "{{ zoom_room_controller_port }}"
  register: zoom_room_firewall_result

- name: Put back what the room had, if it is still what we left
  zoomrooms.remediation.zoom_room_firewall:
    restore: "{{ zoom_room_firewall_result.backup }}"
    expect: "{{ zoom_room_firewall_result.applied }}"
  when: zoom_room_firewall_result.changed

- name: Remove the admission again
  zoomrooms.remediation.zoom_room_firewall:
    state: absent
"""

RETURN = r"""
changed:
  description: Whether the host's firewall was (or in check mode would be) changed.
  returned: always
  type: bool
diff:
  description: Our admission rules per layer before and after, for a person to read (shown with --diff).
  returned: when changed
  type: dict
  sample: {before: "nftables:\n(no admission rules)\n", after: "nftables:\ninet fault input: ip saddr ... accept\n"}
backup:
  description: Machine-readable state of every layer before the change; pass it as I(restore) to undo.
  returned: always
  type: dict
  sample: {nftables: {managed: {}, rules_file: null, include: false}}
applied:
  description: Machine-readable state of every layer after the change; pass it as I(expect) to a restore.
  returned: when changed
  type: dict
  sample: {nftables: {managed: {"inet fault input": [{version: 4, subnets: [10.89.1.0/24]}]},
                      rules_file: "#!/usr/sbin/nft -f ...", include: true}}
backup_files:
  description: Copies of the files changed, taken on the room before the change (paths only).
  returned: always
  type: list
  elements: str
  sample: [/var/backups/zoom-rooms/_etc_nftables.conf.20261202T061500.123456Z.bak]
conflict:
  description: On a refused restore, the layers that changed since the run being undone.
  returned: failed
  type: list
  elements: str
layers:
  description: The layers acted on, outermost first.
  returned: always
  type: list
  elements: str
  sample: [nftables, ufw]
verdicts:
  description: Per controller subnet, the verdict after the run (admitted, blocked, unknown) and what decides it.
  returned: always
  type: list
  elements: dict
  sample: [{subnet: 10.89.1.0/24, verdict: admitted, decided_by: "inet fault input: ip saddr 10.89.1.0/24 accept"}]
"""

import ipaddress
import platform
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_backup import save_backup
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_change import (
    BeforeAfterLayer,
    apply_with_rollback,
    planned_change,
    restore_target,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_command import command_runner
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_host import (
    all_admitted,
    firewall_facts,
    linux_layers,
)
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos_firewall import AppFirewallBackend
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import (
    InvalidValue,
    Network,
    parse_cidrs,
    parse_port,
)


class MacAppFirewallLayer(BeforeAfterLayer):
    """The macOS Application Firewall behind the same surface as the Linux layers."""

    def __init__(self, module: AnsibleModule, port: int):
        super().__init__(AppFirewallBackend(command_runner(module), module.params["app_path"]))
        self.port = port
        self.allow_disable_block_all = module.params["allow_disable_block_all"]

    def desired(self, before: dict[str, Any], subnets: list[Network], present: bool) -> dict[str, Any]:
        return self.backend.desired(before, {"state": "present" if present else "absent",
                                             "allow_disable_block_all": self.allow_disable_block_all})

    def check_plan(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        """A restore's target is not computed by desired(), so its plan is checked here (unread app entry)."""
        self.backend.check_plan(before, after)

    def verdicts(self, subnets: list[Network]) -> list[dict[str, str]]:
        return self.backend.firewall_facts(self.backend.read(), subnets, self.port)["verdicts"]


def pick_layers(module: AnsibleModule, port: int) -> list[Any]:
    if platform.system() == "Darwin" or module.params["backend"] == "socketfilterfw":
        return [MacAppFirewallLayer(module, port)]
    params = module.params
    return linux_layers(command_runner(module), port, params["backend"], params["persist"],
                        backup=lambda path: save_backup(path, params["backup_dir"], params["backup_keep"]))


def validated(module: AnsibleModule) -> tuple[int, list[Network], bool]:
    """Every parameter checked before the host is touched; errors name the parameter."""
    params = module.params
    try:
        port = parse_port(params["port"], "port")
        present = params["state"] == "present"
        subnets = parse_cidrs(params["sources"], "sources", required=present and not params["restore"])
    except InvalidValue as error:
        module.fail_json(msg=str(error))
    for index, subnet in enumerate(subnets):
        if subnet.prefixlen == 0:
            module.fail_json(msg=f"sources[{index}]: '{subnet}' admits any address; give the controller subnets")
    for version in (4, 6):
        together = list(ipaddress.collapse_addresses(s for s in subnets if s.version == version))
        if any(net.prefixlen == 0 for net in together):
            module.fail_json(msg=f"sources: together {', '.join(str(s) for s in subnets if s.version == version)} "
                                 "admit any address; give the controller subnets")
    if params["backup_keep"] < 1:
        module.fail_json(msg=f"backup_keep: {params['backup_keep']} must be at least 1")
    return port, subnets, present


def run_module(module: AnsibleModule) -> dict[str, Any]:
    port, subnets, present = validated(module)
    layers = pick_layers(module, port)
    restore = module.params["restore"]
    try:
        before = {layer.name: layer.read() for layer in layers}
        after = (restore_target(before, restore) if restore is not None else
                 {layer.name: layer.desired(before[layer.name], subnets, present) for layer in layers})
        for layer in layers:
            if hasattr(layer, "check_plan"):  # macOS: a plan whose rollback could not work is refused
                layer.check_plan(before[layer.name], after[layer.name])
    except (RuntimeError, ValueError) as error:
        module.fail_json(msg=f"{error}; nothing was changed")
    conflict = changed_since(layers, before, module.params["expect"]) if restore is not None else []
    if conflict:
        module.fail_json(msg=f"not rolled back: {', '.join(conflict)} changed since the run being undone "
                             "(another run or a person); the room's firewall was left as it is", conflict=conflict)
    result = {**planned_change(layers, before, after), "layers": [layer.name for layer in layers], "backup_files": []}
    if result["changed"]:
        result["applied"] = after
    if result["changed"] and not module.check_mode:
        must_admit = present and restore is None
        problem = apply_with_rollback(layers, before, after, lambda: still_blocked(layers, subnets, must_admit))
        result["backup_files"] = [path for layer in layers for path in getattr(layer, "backups", [])]
        if problem:
            module.fail_json(msg=f"{problem}; the previous firewall state was put back", **result)
    result["verdicts"] = firewall_facts(layers, subnets)["verdicts"] if subnets else []
    return result


def changed_since(layers: list[Any], now: dict[str, Any], expect: dict[str, Any] | None) -> list[str]:
    """The layers no longer in the state the run being undone left (undo only while it is still ours)."""
    if not expect:
        return []
    return [layer.name for layer in layers if layer.name in expect and not layer.matches(now[layer.name],
                                                                                         expect[layer.name])]


def still_blocked(layers: list[Any], subnets: list[Network], must_admit: bool) -> str | None:
    """After the change, every controller subnet must be admitted by the whole host."""
    if not must_admit or not subnets:
        return None
    facts = firewall_facts(layers, subnets)
    if all_admitted(facts):
        return None
    return "still not admitted: " + "; ".join(f"{v['subnet']} {v['verdict']} by {v['decided_by']}"
                                              for v in facts["verdicts"] if v["verdict"] != "admitted")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "sources": {"type": "list", "elements": "str", "default": []},
            "port": {"type": "int", "default": 9090},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "backend": {"type": "str",
                        "choices": ["auto", "nftables", "iptables", "ufw", "firewalld", "socketfilterfw"],
                        "default": "auto"},
            "persist": {"type": "bool", "default": True},
            "restore": {"type": "dict"},
            "expect": {"type": "dict"},
            "backup_dir": {"type": "path", "default": "/var/backups/zoom-rooms"},
            "backup_keep": {"type": "int", "default": 5},
            "allow_disable_block_all": {"type": "bool", "default": False},
            "app_path": {"type": "path", "default": "/Applications/ZoomPresence.app"},
            # Windows only: the action plugin of the same name takes these and never passes them here.
            "rule_name": {"type": "str"},
            "description": {"type": "str",
                            "default": "Zoom Rooms controllers to the room app; managed by zoom_room_firewall"},
            "profiles": {"type": "list", "elements": "str", "choices": ["domain", "private", "public"],
                         "default": ["domain", "private"]},
        },
        supports_check_mode=True,
    )
    module.exit_json(**run_module(module))


if __name__ == "__main__":
    main()
