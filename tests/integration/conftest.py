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

# Seconds each file took in `make test` (3 workers beside lint and molecule on 2 CPUs, junit times,
# 2026-12-02). `make integration` hands whole files to workers in collection order (--dist loadfile
# --no-loadscope-reorder), so sorting the slowest first lets the long files start at once and the short
# ones fill in at the end. Only the order matters; a file not listed runs after these.
FILE_SECONDS = {
    "test_pipeline.py": 880, "test_room_modules.py": 567, "test_bench_smoke.py": 443,
    "test_csapi_diagnose.py": 352, "test_api_findings.py": 333, "test_awx.py": 328, "test_csapi_lab.py": 302,
    "test_proxy_ownership.py": 284, "test_lab.py": 237, "test_evidence.py": 201, "test_update_versions.py": 119,
    "test_collection.py": 59, "test_report_lab_browser.py": 58, "test_update_restart.py": 42,
    "test_report_callback.py": 36, "test_report_browser.py": 5,
}


def pytest_collection_modifyitems(config, items):
    """The integration files slowest first (FILE_SECONDS); the tests of a file keep their order."""
    here = Path(__file__).parent
    items.sort(key=lambda item: -FILE_SECONDS.get(item.path.name, 0) if item.path.parent == here else 0)


@pytest.fixture(scope="session")
def lab():
    """One lab for the integration session; torn down even when tests fail."""
    state_dir = Path(tempfile.mkdtemp(prefix="zr-test-lab-"))
    handle = Lab(name=LAB_NAME, state_dir=state_dir)
    try:
        handle.labctl("up", "--rooms", str(LAB_ROOMS))
        handle.at_baseline = True  # fresh rooms, no fault yet: the first `healed` test need not heal them
        yield handle
    finally:
        handle.labctl("down", check=False)


@pytest.fixture
def healed(lab):
    """A lab whose rooms are at baseline before and after the test. The heal before is skipped when the last
    thing done to the lab was a successful heal (the previous test's own teardown): healing twice between
    two tests was about a fifth of the integration tests' time (docs/lab.md)."""
    if not lab.at_baseline:
        lab.heal_all()
    lab.at_baseline = False
    yield lab
    lab.heal_all()


@pytest.fixture(autouse=True)
def _lab_touched(request):
    """A test on the bare `lab` fixture may change rooms: the next `healed` test heals before it starts."""
    bare = "lab" in request.fixturenames and "healed" not in request.fixturenames
    lab = request.getfixturevalue("lab") if bare else None
    yield
    if lab is not None:
        lab.at_baseline = False


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
