"""Choosing cgroup v1 or v2 from /proc/self/mountinfo (pure)."""

from __future__ import annotations

from pathlib import Path

from runtime.sandbox.cgroups import CgroupLayout, Cgroups, parse_mountinfo

V1 = """\
30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct
33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
35 30 0:31 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
"""
V2 = "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
COMOUNTED = "31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"


def test_v1_hybrid_without_v2_controllers() -> None:
    """A hybrid host whose cgroup2 mount has no controllers uses v1."""
    layout = parse_mountinfo(V1, {Path("/sys/fs/cgroup/unified"): set()})
    assert isinstance(layout, CgroupLayout)
    assert layout.version == 1
    assert layout.mounts["cpuacct"] == Path("/sys/fs/cgroup/cpuacct")


def test_v2_with_controllers_wins() -> None:
    """A cgroup2 mount offering memory, pids and cpu is used as v2."""
    layout = parse_mountinfo(V2, {Path("/sys/fs/cgroup"): {"cpu", "memory", "pids", "io"}})
    assert isinstance(layout, CgroupLayout)
    assert (layout.version, layout.mounts["pids"]) == (2, Path("/sys/fs/cgroup"))


def test_v2_missing_controller_and_no_v1_is_refused() -> None:
    """Without every needed controller the host is refused, naming what is missing."""
    reason = parse_mountinfo(V2, {Path("/sys/fs/cgroup"): {"cpu", "pids"}})
    assert reason == (
        "no cgroup v2 mount offers memory, pids and cpu, and cgroup v1 lacks "
        "memory, pids, cpu, cpuacct"
    )


def test_comounted_v1_controllers_share_a_directory() -> None:
    """Co-mounted v1 controllers give one group directory, not two."""
    text = V1.replace(
        "31 30 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
        "32 30 0:28 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n",
        COMOUNTED,
    )
    layout = parse_mountinfo(text, {})
    assert isinstance(layout, CgroupLayout)
    dirs = Cgroups(layout, "skillrt").group_dirs("x")
    assert dirs["cpu"] == dirs["cpuacct"] == Path("/sys/fs/cgroup/cpu,cpuacct/skillrt/x")
    assert len(set(dirs.values())) == 3
