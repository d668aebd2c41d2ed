"""The integration tests' lab handle: the ControlPath length rule (no lab needed)."""

import socket
from pathlib import Path

import pytest
from labfixture import CONTROL_PATH_DIR_MAX, check_control_path_dir, new_control_path_dir

# What ssh binds for a new master under a directory: Ansible's "<dir>/<10 hex>" plus ssh's ".<16 random>".
MASTER_SUFFIX = "/0123456789.ABCDEFGHIJKLMNOP"


def bind(path: str) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(path)


def test_the_longest_allowed_directory_still_binds_a_master_socket():
    directory = Path("/tmp") / ("d" * (CONTROL_PATH_DIR_MAX - len("/tmp/")))
    assert check_control_path_dir(directory) == directory
    directory.mkdir()
    try:
        bind(str(directory) + MASTER_SUFFIX)  # what ssh does; it must fit sun_path
    finally:
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()


def test_one_byte_more_does_not_fit_so_it_is_refused():
    directory = "/tmp/" + "d" * (CONTROL_PATH_DIR_MAX - len("/tmp/") + 1)
    with pytest.raises(OSError):
        bind(directory + MASTER_SUFFIX)  # no directory needed: the kernel refuses the length first
    with pytest.raises(AssertionError, match="CONTROL_PATH_DIR_MAX"):
        check_control_path_dir(directory)


def test_under_xdist_tmp_path_can_be_too_deep_and_new_directories_are_not():
    deep = "/tmp/pytest-of-root/pytest-12/popen-gw0/test_runner_diagnose_sliced_an0/slice1/cp"
    with pytest.raises(AssertionError):
        check_control_path_dir(deep)
    made = new_control_path_dir()
    try:
        assert made.is_dir() and not any(made.iterdir())
        assert len(str(made)) <= CONTROL_PATH_DIR_MAX
    finally:
        made.rmdir()
