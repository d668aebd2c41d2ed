"""The files AWX and ansible-builder read: credential types, collections/requirements.yml, the EE's pins.

The credential types are checked with AWX's own rules and rendered the way AWX injects them
(awx_credential_types.py).
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from ansible_collections.zoomrooms.remediation.plugins.plugin_utils.zoom_api import (
    DEFAULT_BASE_URL,
    DEFAULT_TOKEN_URL,
    ENV_VARS,
    settings_from,
)
from awx_credential_types import awx_problems, load, render_injectors

ROOT = Path(__file__).resolve().parents[2]
AWX_DOCS = ROOT / "docs" / "awx"
CREDENTIAL_TYPES = sorted(AWX_DOCS.glob("*-credential-type.yml"))
ZOOM_TYPE = AWX_DOCS / "zoom-oauth-credential-type.yml"
KNOWN_HOSTS_TYPE = AWX_DOCS / "ssh-known-hosts-credential-type.yml"

# --------------------------------------------------------------------------- credential types


def test_there_are_credential_types():
    assert [path.name for path in CREDENTIAL_TYPES] == [
        "ssh-known-hosts-credential-type.yml", "winrm-ca-credential-type.yml", "zoom-oauth-credential-type.yml"]


@pytest.mark.parametrize("path", CREDENTIAL_TYPES, ids=lambda path: path.name)
def test_awx_accepts_the_credential_type(path):
    assert awx_problems(load(path)) == []


def test_awx_rules_catch_a_bad_type():
    bad = {"name": "x", "kind": "ssh", "inputs": {"fields": [{"id": "tower", "type": "boolean", "secret": True}],
                                                  "required": ["nope"]},
           "injectors": {"env": {"ANSIBLE_HOST_KEY_CHECKING": "true", "PATH": "/x"}}}
    assert len(awx_problems(bad)) == 7


def test_zoom_credential_sets_what_the_plugin_and_playbooks_read():
    credential_type = load(ZOOM_TYPE)
    inputs = {"account_id": "acc-1", "client_id": "cid-1", "client_secret": "s3cret",
              "base_url": "https://api.zoomgov.com/v2", "token_url": "https://zoomgov.com/oauth/token"}
    env = render_injectors(credential_type, inputs)["env"]
    assert set(env) == set(ENV_VARS.values())
    settings = settings_from(environ=env)
    assert (settings.account_id, settings.client_id, settings.client_secret) == ("acc-1", "cid-1", "s3cret")
    assert (settings.base_url, settings.token_url) == ("https://api.zoomgov.com/v2", "https://zoomgov.com/oauth/token")


def test_zoom_credential_without_urls_uses_the_default_urls():
    env = render_injectors(load(ZOOM_TYPE), {"account_id": "a", "client_id": "c", "client_secret": "s"})["env"]
    settings = settings_from(environ=env)
    assert (settings.base_url, settings.token_url) == (DEFAULT_BASE_URL, DEFAULT_TOKEN_URL)


def test_zoom_credential_secret_is_secret_and_only_in_its_variable():
    credential_type = load(ZOOM_TYPE)
    secrets = [field["id"] for field in credential_type["inputs"]["fields"] if field.get("secret")]
    assert secrets == ["client_secret"]
    env = render_injectors(credential_type, {"account_id": "a", "client_id": "c", "client_secret": "s3cret"})["env"]
    assert [name for name, value in env.items() if "s3cret" in value] == ["ZOOM_CLIENT_SECRET"]


def test_inventory_plugin_reads_the_same_variables():
    source = (ROOT / "plugins" / "inventory" / "zoom_rooms.py").read_text()
    documentation = yaml.safe_load(re.search(r'DOCUMENTATION = r"""(.*?)"""', source, re.S).group(1))
    plugin_env = {name: option["env"][0]["name"] for name, option in documentation["options"].items()
                  if option.get("env")}
    assert plugin_env == ENV_VARS


def test_known_hosts_credential_turns_checking_on_and_points_ssh_at_its_file():
    injected = render_injectors(load(KNOWN_HOSTS_TYPE),
                                {"known_hosts": "10.0.0.5 ssh-ed25519 AAAAC3Nz", "ssh_common_args": ""},
                                filename="/runner/env/tmpkh")
    assert injected["files"] == {"template": "10.0.0.5 ssh-ed25519 AAAAC3Nz"}
    assert injected["extra_vars"]["ansible_host_key_checking"] == "true"
    args = injected["extra_vars"]["ansible_ssh_common_args"].split()
    assert args == ["-o", "UserKnownHostsFile=/runner/env/tmpkh", "-o", "StrictHostKeyChecking=yes"]


def test_winrm_ca_credential_keeps_certificate_validation_on():
    injected = render_injectors(load(AWX_DOCS / "winrm-ca-credential-type.yml"),
                                {"ca_bundle": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"},
                                filename="/runner/env/tmpca")
    assert injected["files"]["template"].startswith("-----BEGIN CERTIFICATE-----")
    assert injected["extra_vars"] == {"ansible_winrm_ca_trust_path": "/runner/env/tmpca",
                                      "ansible_winrm_server_cert_validation": "validate"}


# --------------------------------------------------------------------------- collections and the EE

def installed_collection_version(fqcn: str) -> str:
    import ansible_collections

    for base in ansible_collections.__path__:
        manifest = Path(base, *fqcn.split("."), "MANIFEST.json")
        if manifest.is_file():
            return json.loads(manifest.read_text())["collection_info"]["version"]
    raise AssertionError(f"{fqcn} is not installed")


REQUIRED_COLLECTIONS = load(ROOT / "collections" / "requirements.yml")["collections"]


@pytest.mark.parametrize("entry", REQUIRED_COLLECTIONS, ids=lambda entry: entry["name"])
def test_required_collection_is_pinned_to_the_installed_version(entry):
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(entry["version"])), "exact versions only"
    assert str(entry["version"]) == installed_collection_version(entry["name"])


def collections_called() -> set[str]:
    """Collections named by FQCN in the playbooks and roles (ansible.builtin and our own left out)."""
    names = set()
    for path in [*ROOT.glob("playbooks/*.yml"), *ROOT.glob("roles/*/tasks/*.yml")]:
        names |= set(re.findall(r"^\s*-?\s*([a-z_]+\.[a-z_]+)\.[a-z_]+:", path.read_text(), re.M))
    return names - {"ansible.builtin", "zoomrooms.remediation"}


def test_every_collection_the_roles_call_is_required():
    required = {entry["name"] for entry in REQUIRED_COLLECTIONS}
    called = collections_called()
    assert called, "found no collection calls: the scan is broken"
    assert called <= required


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_ee_python_requirements_are_pinned_as_in_the_lock():
    ee = pins(ROOT / "meta" / "ee-requirements.txt")
    lock = pins(ROOT / "requirements.txt")
    assert ee
    assert {name: lock.get(name) for name in ee} == ee


# import name -> distribution, for the third-party imports of the collection's plugins
IMPORT_DISTRIBUTIONS = {"yaml": "pyyaml", "jinja2": "jinja2", "winrm": "pywinrm", "paramiko": "paramiko"}


def third_party_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {name for name in names
            if name not in sys.stdlib_module_names and name not in ("ansible", "ansible_collections", "__future__")}


def test_ee_has_the_libraries_the_plugins_import_and_winrm():
    imported = set().union(*(third_party_imports(path) for path in ROOT.glob("plugins/*/*.py")))
    assert imported, "found no third-party import: the scan is broken"
    unknown = imported - set(IMPORT_DISTRIBUTIONS)
    assert not unknown, f"add these imports to IMPORT_DISTRIBUTIONS and meta/ee-requirements.txt: {unknown}"
    needed = {IMPORT_DISTRIBUTIONS[name] for name in imported} | {"pywinrm"}
    assert needed <= set(pins(ROOT / "meta" / "ee-requirements.txt"))


def test_ee_installs_the_pinned_ansible_core_and_runner():
    definition = load(ROOT / "execution-environment.yml")
    top_level = pins(ROOT / "requirements.in")
    dependencies = definition["dependencies"]
    assert definition["version"] == 3
    assert dependencies["ansible_core"]["package_pip"] == f"ansible-core=={top_level['ansible-core']}"
    assert dependencies["ansible_runner"]["package_pip"] == f"ansible-runner=={top_level['ansible-runner']}"
    assert dependencies["galaxy"] == "collections/requirements.yml"
    collection_meta = load(ROOT / "meta" / "execution-environment.yml")["dependencies"]
    assert (dependencies["python"], dependencies["system"]) == (collection_meta["python"], collection_meta["system"])
