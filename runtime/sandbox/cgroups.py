"""Per-invocation cgroups on cgroup v1 and v2: create with limits, attach, measure, kill, remove.

Each invocation gets its own group (one directory per v1 hierarchy, one directory on v2) that
holds the limits. The launcher attaches nsjail itself before it starts the jail, so every process
of the invocation lives directly in that group: the OOM-kill counter, peak memory and CPU usage are
read from the group itself and nothing depends on counters rolling up from child groups.

On v1 the groups live at the top of each hierarchy; on v2 below the cgroup delegated to this
process (``cgroups_v2``). On v2 a group is killed whole through ``cgroup.kill``, OOM kills are
read from ``memory.events`` and peak memory from ``memory.peak``. Besides skillrt itself, moved
once into its supervisor leaf, the one task ever moved is the launcher's shell, once, before it
execs nsjail (``CLONE_INTO_CGROUP`` needs clone3, which neither Python's subprocess nor glibc's
posix_spawn offer here); no jailed process is ever moved.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import IsolationUnavailable, SandboxError
from runtime.sandbox.cgroups_v2 import claim, delegated_dir, own_cgroup

__all__ = [
    "V1_CONTROLLERS",
    "V2_CONTROLLERS",
    "CgroupLayout",
    "CgroupLimits",
    "CgroupUsage",
    "Cgroups",
    "InvocationCgroup",
    "detect_layout",
    "parse_mountinfo",
]

V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
V2_CONTROLLERS = ("memory", "pids", "cpu")
_CFS_PERIOD_US = 100_000


@dataclass(frozen=True, kw_only=True)
class CgroupLimits:
    memory_bytes: int
    pids: int
    cpus: float


@dataclass(frozen=True, kw_only=True)
class CgroupUsage:
    cpu_ns: int
    peak_memory_bytes: int
    oom_kills: int
    pids_limit_hits: int


@dataclass(frozen=True, kw_only=True)
class CgroupLayout:
    """Where the controllers this host offers are mounted (pure data, from mountinfo)."""

    version: int
    # controller -> the directory the groups are made below: each v1 hierarchy's mount point;
    # on v2 one path for all, the cgroup2 mount (parse_mountinfo) or the delegated cgroup in it
    # (detect_layout)
    mounts: dict[str, Path]
    mount_root: str = "/"  # v2: the cgroup the mount shows (mountinfo's root field)


def parse_mountinfo(text: str, v2_controllers: dict[Path, set[str]]) -> CgroupLayout | str:
    """The usable layout, or a reason why there is none.

    ``v2_controllers`` maps each cgroup2 mount point to the controllers it offers (read from its
    ``cgroup.controllers``); v2 wins when one offers every controller the runtime needs.
    """
    v1: dict[str, Path] = {}
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        parts, rparts = left.split(), right.split()
        if len(parts) < 5 or len(rparts) < 3:
            continue
        mount_point, fstype = Path(parts[4]), rparts[0]
        if fstype == "cgroup2" and set(V2_CONTROLLERS) <= v2_controllers.get(mount_point, set()):
            mounts = {c: mount_point for c in V2_CONTROLLERS}
            return CgroupLayout(version=2, mounts=mounts, mount_root=parts[3])
        if fstype == "cgroup":
            for option in rparts[2].split(","):
                if option in V1_CONTROLLERS:
                    v1.setdefault(option, mount_point)
    missing = [c for c in V1_CONTROLLERS if c not in v1]
    if not missing:
        return CgroupLayout(version=1, mounts=v1)
    return "no cgroup v2 mount offers memory, pids and cpu, and cgroup v1 lacks " + ", ".join(
        missing
    )


def detect_layout() -> CgroupLayout:
    """This host's cgroup layout (on v2, in the cgroup delegated to this process);
    IsolationUnavailable when limits cannot be enforced."""
    try:
        text = Path("/proc/self/mountinfo").read_text()
    except OSError as exc:
        raise IsolationUnavailable(f"cannot read /proc/self/mountinfo: {exc.strerror}") from exc
    v2: dict[Path, set[str]] = {}
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        if right.startswith("cgroup2 "):
            point = Path(left.split()[4])
            with contextlib.suppress(OSError):
                v2[point] = set((point / "cgroup.controllers").read_text().split())
    layout = parse_mountinfo(text, v2)
    if isinstance(layout, str):
        raise IsolationUnavailable(f"cgroups: {layout}")
    if layout.version == 1:
        return layout
    try:
        own = own_cgroup(Path("/proc/self/cgroup").read_text())
    except OSError as exc:
        raise IsolationUnavailable(f"cannot read /proc/self/cgroup: {exc.strerror}") from exc
    if own is None:
        raise IsolationUnavailable("cgroup v2: /proc/self/cgroup names no cgroup v2 group")
    base = delegated_dir(layout.mounts["memory"], layout.mount_root, own)
    if isinstance(base, str):
        raise IsolationUnavailable(f"cgroup v2: {base}")
    return CgroupLayout(version=2, mounts=dict.fromkeys(V2_CONTROLLERS, base))


class Cgroups:
    """Creates and finds the invocation groups below ``<hierarchy>/<root_name>/``."""

    def __init__(self, layout: CgroupLayout, root_name: str = "skillrt") -> None:
        self.layout = layout
        self.root_name = root_name
        self._roots = sorted({m / root_name for m in layout.mounts.values()})
        self._prepared = False

    @property
    def version(self) -> int:
        return self.layout.version

    def prepare(self) -> None:
        """Make the groups' root (claiming the delegated cgroup on v2) once, before any group;
        IsolationUnavailable says why this process cannot have its groups."""
        if self._prepared:
            return
        try:
            if self.version == 2:
                base = self.layout.mounts["memory"]
                claim(base, V2_CONTROLLERS, os.getpid())
                (base / self.root_name).mkdir(exist_ok=True)
                _enable_controllers(base / self.root_name)
            else:
                for root in self._roots:
                    root.mkdir(exist_ok=True)
        except OSError as exc:
            raise IsolationUnavailable(f"cgroups: cannot prepare {self.root_name}: {exc}") from exc
        self._prepared = True

    def create(self, name: str, limits: CgroupLimits) -> InvocationCgroup:
        self.prepare()
        group = InvocationCgroup(self, name)
        try:
            for directory in group.dirs:
                directory.mkdir()
            group.apply(limits)
        except (OSError, ValueError) as exc:
            group.remove()
            raise SandboxError(f"cgroups: cannot create {name}: {exc}") from exc
        return group

    def existing(self) -> list[InvocationCgroup]:
        """Groups present now, for instance left behind by a process that died."""
        names: set[str] = set()
        for root in self._roots:
            with contextlib.suppress(FileNotFoundError):
                names.update(p.name for p in root.iterdir() if p.is_dir())
        return [InvocationCgroup(self, n) for n in sorted(names)]

    def group_dirs(self, name: str) -> dict[str, Path]:
        return {c: m / self.root_name / name for c, m in self.layout.mounts.items()}


def _enable_controllers(directory: Path) -> None:
    enabled = set((directory / "cgroup.subtree_control").read_text().split())
    wanted = [c for c in V2_CONTROLLERS if c not in enabled]
    if wanted:
        (directory / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))


class InvocationCgroup:
    """The group(s) of one invocation."""

    def __init__(self, owner: Cgroups, name: str) -> None:
        self.name = name
        self.version = owner.version
        self._by_controller = owner.group_dirs(name)
        self.dirs = tuple(sorted(set(self._by_controller.values())))

    def _file(self, controller: str, name: str) -> Path:
        return self._by_controller[controller] / name

    @property
    def attach_files(self) -> tuple[str, ...]:
        """The ``cgroup.procs`` files a process writes its pid into to join this group."""
        return tuple(str(d / "cgroup.procs") for d in self.dirs)

    def apply(self, limits: CgroupLimits) -> None:
        quota = max(1000, int(limits.cpus * _CFS_PERIOD_US))
        if self.version == 2:
            self._file("memory", "memory.max").write_text(str(limits.memory_bytes))
            with contextlib.suppress(FileNotFoundError):
                self._file("memory", "memory.swap.max").write_text("0")
            self._file("pids", "pids.max").write_text(str(limits.pids))
            self._file("cpu", "cpu.max").write_text(f"{quota} {_CFS_PERIOD_US}")
            return
        self._file("memory", "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
        # Without swap accounting the file is absent; with it, swap must not extend the limit.
        with contextlib.suppress(FileNotFoundError):
            self._file("memory", "memory.memsw.limit_in_bytes").write_text(str(limits.memory_bytes))
        with contextlib.suppress(OSError):
            self._file("memory", "memory.swappiness").write_text("0")
        self._file("pids", "pids.max").write_text(str(limits.pids))
        self._file("cpu", "cpu.cfs_period_us").write_text(str(_CFS_PERIOD_US))
        self._file("cpu", "cpu.cfs_quota_us").write_text(str(quota))

    def procs(self) -> list[int]:
        pids: set[int] = set()
        for directory in self.dirs:
            with contextlib.suppress(FileNotFoundError):
                pids.update(int(p) for p in (directory / "cgroup.procs").read_text().split())
        return sorted(pids)

    def cpu_ns(self) -> int:
        if self.version == 2:
            return _keyed(self._file("cpu", "cpu.stat")).get("usage_usec", 0) * 1000
        return int(self._file("cpuacct", "cpuacct.usage").read_text())

    def memory_bytes(self) -> int:
        """The memory the group holds now."""
        if self.version == 2:
            return int(self._file("memory", "memory.current").read_text())
        return int(self._file("memory", "memory.usage_in_bytes").read_text())

    def peak_memory_bytes(self) -> int:
        """The most memory the group has held (0 on a v2 kernel too old to say)."""
        if self.version == 2:
            peak_file = self._file("memory", "memory.peak")
            return int(peak_file.read_text()) if peak_file.exists() else 0
        return int(self._file("memory", "memory.max_usage_in_bytes").read_text())

    def usage(self) -> CgroupUsage:
        if self.version == 2:
            events = _keyed(self._file("memory", "memory.events"))
        else:
            events = _keyed(self._file("memory", "memory.oom_control"))
        pids_events = _keyed(self._file("pids", "pids.events"))
        return CgroupUsage(
            cpu_ns=self.cpu_ns(),
            peak_memory_bytes=self.peak_memory_bytes(),
            oom_kills=events.get("oom_kill", 0),
            pids_limit_hits=pids_events.get("max", 0),
        )

    def kill(self) -> None:
        """SIGKILL every process in the group, including ones forked while this runs."""
        if self.version == 2:
            with contextlib.suppress(FileNotFoundError):
                self._file("pids", "cgroup.kill").write_text("1")
                return
        for _ in range(100):
            pids = self.procs()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.001)

    def remove(self) -> None:
        """Remove the group once its processes are gone (the kernel frees them asynchronously)."""
        for directory in self.dirs:
            for attempt in range(200):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or attempt == 199:
                        raise SandboxError(f"cgroups: cannot remove {directory}: {exc}") from exc
                    self.kill()
                    time.sleep(0.005)


def _keyed(file: Path) -> dict[str, int]:
    """A flat-keyed cgroup file ("key value" per line) as a dict."""
    result: dict[str, int] = {}
    with contextlib.suppress(FileNotFoundError):
        for line in file.read_text().splitlines():
            key, _, value = line.partition(" ")
            with contextlib.suppress(ValueError):
                result[key] = int(value)
    return result
