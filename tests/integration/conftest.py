import os
import shutil
import tempfile
from pathlib import Path

import pytest
from labfixture import Lab, new_control_path_dir

LAB_ROOMS = int(os.environ.get("ZR_TEST_LAB_ROOMS", "4"))
# Separate names let several test sessions (or a developer's demo lab) run side by side.
LAB_NAME_BASE = os.environ.get("ZR_TEST_LAB_NAME", "zrt")


def lab_name(base: str, worker: str | None) -> str:
    """One lab per pytest-xdist worker: gw0 -> zrt0, gw1 -> zrt1; `zrt` itself without xdist.

    Each lab has its own containers, networks (podman picks each network a free subnet under its
    lock), state directory, SSH key, known_hosts and ControlPath directory (/tmp/zr-cp-<name>).
    """
    if not worker:
        return base
    if not worker.startswith("gw") or not worker[2:].isdigit():
        raise ValueError(f"PYTEST_XDIST_WORKER={worker!r}: expected gw<N>")
    return f"{base}{worker[2:]}"


LAB_NAME = lab_name(LAB_NAME_BASE, os.environ.get("PYTEST_XDIST_WORKER"))


@pytest.fixture(scope="session")
def lab():
    """One lab for the integration session; torn down even when tests fail."""
    state_dir = Path(tempfile.mkdtemp(prefix="zr-test-lab-"))
    handle = Lab(name=LAB_NAME, state_dir=state_dir)
    try:
        handle.labctl("up", "--rooms", str(LAB_ROOMS))
        yield handle
    finally:
        handle.labctl("down", check=False)


@pytest.fixture
def healed(lab):
    """A lab whose rooms are at baseline before and after the test."""
    lab.heal_all()
    yield lab
    lab.heal_all()


@pytest.fixture
def control_path_dir():
    """Makes fresh SSH ControlPath directories under /tmp (never under tmp_path: see
    labfixture.CONTROL_PATH_DIR_MAX), removed after the test."""
    made: list[Path] = []

    def make() -> Path:
        made.append(new_control_path_dir())
        return made[-1]

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)
