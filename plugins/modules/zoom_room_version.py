#!/usr/bin/python
"""zoom_room_version: is the room app at the version it should be?"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: zoom_room_version
short_description: Compare the room app's version with a minimum, a target and the controllers' versions
description:
  - Reads the installed Zoom Rooms app version from the host (Linux package, macOS Info.plist), or takes it
    from I(installed). Compares it with I(minimum), I(target) and I(controller_versions).
  - Understands both spellings Zoom uses for one version, C(X.Y.Z (build)) from the API and C(X.Y.Z.build)
    from Info.plist and the Windows DisplayVersion.
  - Drift means the major.minor of room and controller differ. Zoom can update a room remotely but not a
    controller.
  - Read-only.
version_added: "1.0.0"
author: Zoom Rooms remediation toolkit maintainers (!UNKNOWN)
options:
  installed:
    description: The installed version, when already known (for example from zoom_room_facts or the Zoom API).
    type: str
  minimum:
    description: Lowest acceptable version.
    type: str
  target:
    description: The version the room should run.
    type: str
  controller_versions:
    description: App versions of the room's controllers.
    type: list
    elements: str
    default: []
  package_name:
    description: Linux. Package of the room app, when I(installed) is not given.
    type: str
    default: zoom-rooms
  app_path:
    description: macOS. The app bundle, when I(installed) is not given.
    type: path
    default: /Applications/ZoomPresence.app
extends_documentation_fragment:
  - zoomrooms.remediation.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Check the room against the fleet minimum and its controller
  zoomrooms.remediation.zoom_room_version:
    minimum: "{{ zoom_room_min_version }}"
    controller_versions: ["6.2.0 (4512)"]
  register: zoom_room_version_result
"""

RETURN = r"""
installed:
  description: The installed version as X.Y.Z.build, or null when the app is not installed.
  returned: always
  type: str
  sample: 6.2.0.4512
below_minimum:
  description: True when older than I(minimum); null when not installed.
  returned: always
  type: bool
differs_from_target:
  description: True when not equal to I(target).
  returned: always
  type: bool
upgrade_needed:
  description: True when older than I(target).
  returned: when installed
  type: bool
drift:
  description: Controller versions whose major.minor differ from the room's.
  returned: always
  type: list
  elements: str
drift_detected:
  description: True when I(drift) is not empty.
  returned: always
  type: bool
"""

import platform
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_command import command_runner
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_linux import read_app
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos import load_plist
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_macos import read_app as read_mac_app
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_net import InvalidValue
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_version import version_report


def installed_version(module: AnsibleModule) -> str | None:
    if module.params["installed"]:
        return module.params["installed"]
    if platform.system() == "Darwin":
        return read_mac_app(load_plist, module.params["app_path"])["version"]
    return read_app(command_runner(module), module.params["package_name"])["version"]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "installed": {"type": "str"},
            "minimum": {"type": "str"},
            "target": {"type": "str"},
            "controller_versions": {"type": "list", "elements": "str", "default": []},
            "package_name": {"type": "str", "default": "zoom-rooms"},
            "app_path": {"type": "path", "default": "/Applications/ZoomPresence.app"},
        },
        supports_check_mode=True,
    )
    params: dict[str, Any] = module.params
    try:
        report = version_report(installed_version(module), params["minimum"], params["target"],
                                params["controller_versions"])
    except InvalidValue as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, **report)


if __name__ == "__main__":
    main()
