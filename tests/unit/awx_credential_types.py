"""AWX's handling of custom credential types, for the tests: its validation rules and its injection.

Rules: ansible/awx awx/main/fields.py (CredentialTypeInputField, CredentialTypeInjectorField,
validate_env_var_allowed) and awx/main/constants.py (ENV_BLOCKLIST). Injection:
awx/main/models/credential.py inject_credential: a Jinja ImmutableSandboxedEnvironment over the
inputs (empty ones left out) plus `tower.filename` for a file injector.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

# awx/main/constants.py ENV_BLOCKLIST: variables a credential may not set.
AWX_ENV_BLOCKLIST = frozenset({
    "VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID", "INVENTORY_UPDATE_ID",
    "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN", "MAX_EVENT_RES", "CALLBACK_QUEUE",
    "CALLBACK_CONNECTION", "CACHE", "JOB_CALLBACK_DEBUG", "INVENTORY_HOSTVARS", "AWX_HOST", "PROJECT_REVISION",
    "SUPERVISOR_CONFIG_PATH",
})
AWX_ENV_NAME = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")
AWX_FILE_KEY = re.compile(r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$")
AWX_EXTRA_VAR_KEY = re.compile(r"^[a-zA-Z_\{\}]+[a-zA-Z0-9_\{\}]*$")
STRING_ONLY_KEYS = ("choices", "multiline", "format", "secret")


def awx_problems(credential_type: dict) -> list[str]:
    """What AWX would refuse in a custom credential type (an empty list when it would accept it)."""
    problems = [f"missing {key}" for key in ("name", "kind", "inputs", "injectors") if key not in credential_type]
    if credential_type.get("kind") not in ("cloud", "net"):
        problems.append(f"kind {credential_type.get('kind')!r}: custom types are cloud or net")
    fields = credential_type.get("inputs", {}).get("fields", [])
    ids = [field.get("id") for field in fields]
    problems += [f"duplicate field id {i}" for i in {i for i in ids if ids.count(i) > 1}]
    problems += ["'tower' is reserved" for i in ids if i == "tower"]
    for field in fields:
        kind = field.get("type", "string")
        if kind not in ("string", "boolean"):
            problems.append(f"{field['id']}: type {kind}")
        if kind != "string":
            problems += [f"{field['id']}: {key} on a {kind}" for key in STRING_ONLY_KEYS if key in field]
        if "label" not in field:
            problems.append(f"{field['id']}: no label")
    problems += [f"required {r} is not a field" for r in credential_type["inputs"].get("required", []) if r not in ids]
    injectors = credential_type.get("injectors", {})
    problems += [f"injector {key}" for key in injectors if key not in ("env", "file", "extra_vars")]
    for name, value in injectors.get("env", {}).items():
        if not AWX_ENV_NAME.match(name) or name.startswith("ANSIBLE_") or name in AWX_ENV_BLOCKLIST:
            problems.append(f"env {name} is not allowed")
        if not isinstance(value, str) or not value.isascii():
            problems.append(f"env {name}: value must be an ASCII string")
    problems += [f"file {key}" for key in injectors.get("file", {}) if not AWX_FILE_KEY.match(key)]
    problems += [f"extra_vars {key}" for key in injectors.get("extra_vars", {}) if not AWX_EXTRA_VAR_KEY.match(key)]
    return problems


def render_injectors(credential_type: dict, inputs: dict, filename: str = "/runner/env/tmpabc") -> dict:
    """env and extra_vars as AWX injects them for a credential with these inputs."""
    sandbox = ImmutableSandboxedEnvironment()
    namespace = {"tower": SimpleNamespace(filename=filename),
                 **{key: value for key, value in inputs.items() if value != ""}}
    injectors = credential_type["injectors"]

    def render(node):
        if isinstance(node, dict):
            return {key: render(value) for key, value in node.items()}
        if isinstance(node, list):
            return [render(item) for item in node]
        return sandbox.from_string(node).render(**namespace)

    files = {label: render(template) for label, template in injectors.get("file", {}).items()}
    return {"env": render(injectors.get("env", {})), "extra_vars": render(injectors.get("extra_vars", {})),
            "files": files}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())
