"""The collection as a user gets it: built with ansible-galaxy, installed into an empty path, used from a
directory with no ansible.cfg and no checkout in sight (ansible-doc for every plugin, diagnose on the lab).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from labfixture import ROOT, VENV_BIN

FQCN = "zoomrooms.remediation"
# What the checkout holds that must never ship: the venv, lab state, reports, evidence packs, caches,
# test output and the link that makes the checkout a collection.
FORBIDDEN_PARTS = {".venv", ".lab", ".ansible", "reports", "evidence", "__pycache__", ".pytest_cache",
                   ".ruff_cache", ".molecule", ".git", "artifacts", "output"}
FORBIDDEN_SUFFIXES = (".pyc", ".retry", ".tar.gz")
# Plugin type -> the directory whose files ansible-doc documents under that type.
DOCUMENTED_TYPES = {"module": "modules", "inventory": "inventory", "callback": "callback"}


def user_env(collections: Path, **extra: str) -> dict[str, str]:
    """A user's environment: no ANSIBLE_* settings of the checkout, only the installed collection."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "ZOOM_"))}
    env.update(PATH=f"{VENV_BIN}:{env['PATH']}", ANSIBLE_COLLECTIONS_PATH=str(collections),
               ANSIBLE_FORCE_COLOR="0", **extra)
    return env


def filter_names() -> list[str]:
    """Every filter the collection's filter plugin files register."""
    return sorted(name for path in (ROOT / "plugins" / "filter").glob("*.py")
                  for name in importlib.import_module(f"ansible_collections.{FQCN}.plugins.filter.{path.stem}")
                  .FilterModule().filters())


def documented_plugins() -> list[tuple[str, str]]:
    """(type, FQCN) of every plugin the checkout holds, so a new plugin is checked without editing this test."""
    files = [(kind, f"{FQCN}.{path.stem}")
             for kind, folder in DOCUMENTED_TYPES.items()
             for path in sorted((ROOT / "plugins" / folder).glob("*.py")) if not path.name.startswith("_")]
    return files + [("filter", f"{FQCN}.{name}") for name in filter_names()]


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build")
    subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out)],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    (built,) = out.glob("zoomrooms-remediation-*.tar.gz")
    return built


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory) -> Path:
    """The collection installed with ansible-galaxy into an empty path. --no-deps: the dependencies come with
    the ansible package in the venv, and the test must not reach Galaxy."""
    collections = tmp_path_factory.mktemp("collections")
    subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p", str(collections),
                    str(tarball)], cwd=tmp_path_factory.mktemp("empty"), check=True, capture_output=True, text=True,
                   env=user_env(collections))
    assert (collections / "ansible_collections" / "zoomrooms" / "remediation" / "MANIFEST.json").is_file()
    return collections


def test_the_tarball_holds_no_local_state(tarball):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    leaked = [name for name in names
              if FORBIDDEN_PARTS & set(Path(name).parts) or name.endswith(FORBIDDEN_SUFFIXES)]
    assert leaked == []
    for needed in ("MANIFEST.json", "meta/runtime.yml", "LICENSE", "playbooks/diagnose.yml",
                   "plugins/plugin_utils/zoom_rooms_report.html.j2", "roles/zoom_room_diagnose/tasks/main.yml"):
        assert needed in names, needed


def test_the_checkout_lists_plugins_of_every_type():
    kinds = {kind for kind, _unused in documented_plugins()}
    assert kinds == {*DOCUMENTED_TYPES, "filter"}


@pytest.mark.parametrize("kind", [*DOCUMENTED_TYPES, "filter"])
def test_ansible_doc_renders_every_plugin_of_the_installed_collection(installed, tmp_path, kind):
    """One ansible-doc call per plugin type (each call costs seconds), every plugin of the type named in it."""
    names = [name for plugin_kind, name in documented_plugins() if plugin_kind == kind]
    result = subprocess.run([str(VENV_BIN / "ansible-doc"), "-t", kind, "--json", *names], cwd=tmp_path,
                            env=user_env(installed), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    docs = json.loads(result.stdout)
    assert sorted(docs) == sorted(names), result.stderr
    for name in names:
        doc = docs[name]["doc"]
        assert doc["short_description"], name
        assert docs[name]["examples"], name
        assert str(installed) in doc["filename"], f"{name}: ansible-doc read the checkout, not the installed collection"


def test_diagnose_playbook_of_the_installed_collection_writes_its_report(lab, installed, tmp_path):
    """A user's run: `ansible-playbook zoomrooms.remediation.diagnose` with only the callback enabled."""
    workdir = tmp_path / "empty"
    workdir.mkdir()
    reports = tmp_path / "reports"
    env = user_env(installed, ANSIBLE_CALLBACKS_ENABLED=f"{FQCN}.zoom_rooms_report",
                   ZOOM_ROOMS_REPORT_DIR=str(reports), ANSIBLE_SSH_CONTROL_PATH_DIR=f"/tmp/zr-cp-{lab.name}")
    result = subprocess.run([str(VENV_BIN / "ansible-playbook"), f"{FQCN}.diagnose", "-i", str(lab.inventory)],
                            cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "ansible.cfg" not in "".join(os.listdir(workdir))
    report = json.loads((reports / "latest" / "report.json").read_text())
    assert report["run"]["mode"] == "diagnose"
    assert sorted(report["rooms"]) == lab.rooms
    assert all(room["status"] and room["platform"] == "linux" for room in report["rooms"].values())
