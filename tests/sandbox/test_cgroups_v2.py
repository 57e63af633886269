"""The cgroup v2 paths, on a directory tree shaped like cgroupfs (any host).

They pin down what the code writes and how it reads the v2 interface files; the real kernel's
behaviour (controllers, kill, OOM) is proven by the same sandbox tests under `make test-cgroup2`.
"""

from __future__ import annotations

from pathlib import Path

from runtime.sandbox.cgroups import (
    V2_CONTROLLERS,
    CgroupLayout,
    CgroupLimits,
    Cgroups,
    CgroupUsage,
)


def _v2(root: Path) -> Cgroups:
    # The root cgroup: it alone has no cgroup.type, and may hold processes.
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids")
    (root / "cgroup.subtree_control").write_text("io")
    (root / "skillrt").mkdir()
    (root / "skillrt" / "cgroup.subtree_control").write_text("")
    return Cgroups(CgroupLayout(version=2, mounts={c: root for c in V2_CONTROLLERS}), "skillrt")


def test_v2_enables_controllers_and_writes_limits(tmp_path: Path) -> None:
    """Creating a group enables memory, pids and cpu below the root and writes v2 limit files."""
    group = _v2(tmp_path).create("g1", CgroupLimits(memory_bytes=64 << 20, pids=9, cpus=0.5))
    directory = tmp_path / "skillrt" / "g1"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert (tmp_path / "skillrt" / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert (directory / "memory.max").read_text() == str(64 << 20)
    assert (directory / "memory.swap.max").read_text() == "0"
    assert (directory / "pids.max").read_text() == "9"
    assert (directory / "cpu.max").read_text() == "50000 100000"
    assert group.attach_files == (str(directory / "cgroup.procs"),)


def test_v2_usage_is_read_from_v2_files(tmp_path: Path) -> None:
    """CPU, peak memory, OOM kills and refused forks are read from the v2 interface files."""
    group = _v2(tmp_path).create("g2", CgroupLimits(memory_bytes=64 << 20, pids=9, cpus=1.0))
    directory = tmp_path / "skillrt" / "g2"
    (directory / "cpu.stat").write_text("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n")
    (directory / "memory.peak").write_text("4096\n")
    (directory / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (directory / "pids.events").write_text("max 2\n")
    assert group.usage() == CgroupUsage(
        cpu_ns=1_500_000, peak_memory_bytes=4096, oom_kills=1, pids_limit_hits=2
    )


def test_v2_kill_uses_cgroup_kill(tmp_path: Path) -> None:
    """On v2 the whole group is killed at once through cgroup.kill."""
    group = _v2(tmp_path).create("g3", CgroupLimits(memory_bytes=64 << 20, pids=9, cpus=1.0))
    (tmp_path / "skillrt" / "g3" / "cgroup.kill").write_text("")
    group.kill()
    assert (tmp_path / "skillrt" / "g3" / "cgroup.kill").read_text() == "1"
