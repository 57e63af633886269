"""Claiming the cgroup v2 group delegated to skillrt, on a tree shaped like cgroupfs (any host).

The kernel's own refusals (EBUSY for internal processes, controllers a parent withholds) are
proven on a real v2 kernel by tests/sandbox/test_cgroup2_kernel.py under `make test-cgroup2`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.errors import IsolationUnavailable
from runtime.sandbox.cgroups import V2_CONTROLLERS
from runtime.sandbox.cgroups_v2 import SUPERVISOR, claim, delegated_dir, own_cgroup

MOUNT = Path("/sys/fs/cgroup")


def _unit(tmp_path: Path, *, controllers: str = "cpu io memory pids", procs: str = "") -> Path:
    """A delegated, non-root cgroup like a systemd service's (it has a cgroup.type)."""
    unit = tmp_path / "skillrt.service"
    unit.mkdir()
    (unit / "cgroup.type").write_text("domain\n")
    (unit / "cgroup.controllers").write_text(controllers + "\n")
    (unit / "cgroup.subtree_control").write_text("\n")
    (unit / "cgroup.procs").write_text(procs)
    return unit


def test_own_cgroup_is_the_v2_line() -> None:
    """The v2 entry of /proc/self/cgroup names the process's cgroup; v1 entries are ignored."""
    text = "12:pids:/user.slice\n0::/system.slice/skillrt.service\n"
    assert own_cgroup(text) == "/system.slice/skillrt.service"
    assert own_cgroup("4:memory:/x\n") is None


def test_delegated_dir_is_the_own_cgroup_below_the_mount() -> None:
    """The delegated directory is the process's cgroup under the mount, or its supervisor leaf's
    parent; a mount of a subtree is taken into account."""
    assert delegated_dir(MOUNT, "/", "/a.slice/b.service") == MOUNT / "a.slice/b.service"
    assert delegated_dir(MOUNT, "/", f"/b.service/{SUPERVISOR}") == MOUNT / "b.service"
    assert delegated_dir(MOUNT, "/", "/") == MOUNT
    assert delegated_dir(MOUNT, "/docker/c1", "/docker/c1/sub") == MOUNT / "sub"


def test_delegated_dir_outside_the_mount_is_refused() -> None:
    """A process whose cgroup the mount does not show cannot use it, and is told why."""
    reason = delegated_dir(MOUNT, "/docker/c1", "/user.slice")
    assert isinstance(reason, str)
    assert "not below the cgroup2 mount" in reason


def test_missing_controller_names_delegation(tmp_path: Path) -> None:
    """A cgroup whose parent withholds cpu is refused, naming the controller and Delegate=yes."""
    unit = _unit(tmp_path, controllers="memory pids")
    with pytest.raises(IsolationUnavailable) as caught:
        claim(unit, V2_CONTROLLERS, os.getpid())
    assert "lacks the cpu controller(s)" in str(caught.value)
    assert "Delegate=yes" in str(caught.value)
    assert (unit / "cgroup.subtree_control").read_text() == "\n"


def test_another_process_in_the_cgroup_is_refused(tmp_path: Path) -> None:
    """Another process in the delegated cgroup is left alone and named: the no internal
    processes rule forbids child groups with controllers there."""
    unit = _unit(tmp_path, procs=f"{os.getpid()}\n1\n")
    with pytest.raises(IsolationUnavailable) as caught:
        claim(unit, V2_CONTROLLERS, os.getpid())
    assert "holds other processes (pids 1)" in str(caught.value)
    assert "no internal processes" in str(caught.value)
    assert not (unit / SUPERVISOR).exists()


def test_alone_it_moves_into_the_supervisor_leaf(tmp_path: Path) -> None:
    """Alone in its cgroup, the process moves itself into the supervisor leaf, then enables the
    controllers for child groups."""
    unit = _unit(tmp_path, procs=f"{os.getpid()}\n")
    claim(unit, V2_CONTROLLERS, os.getpid())
    assert (unit / SUPERVISOR / "cgroup.procs").read_text() == str(os.getpid())
    assert (unit / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"


def test_the_root_cgroup_keeps_its_processes(tmp_path: Path) -> None:
    """The root cgroup (no cgroup.type) may hold processes: nothing moves, controllers enable."""
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("\n")
    (tmp_path / "cgroup.procs").write_text("1\n")
    claim(tmp_path, V2_CONTROLLERS, os.getpid())
    assert not (tmp_path / SUPERVISOR).exists()
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"


def test_a_claimed_cgroup_is_left_as_it_is(tmp_path: Path) -> None:
    """Controllers already enabled (by an earlier claim) mean nothing more to do."""
    unit = _unit(tmp_path)
    (unit / "cgroup.subtree_control").write_text("cpu memory pids\n")
    claim(unit, V2_CONTROLLERS, os.getpid())
    assert (unit / "cgroup.subtree_control").read_text() == "cpu memory pids\n"
