"""nsjail command lines rendered from profiles (pure)."""

from __future__ import annotations

import itertools

from runtime.sandbox.nsjail import SandboxSpec, render_argv
from runtime.sandbox.profiles import Bind, ProfileStore
from runtime.util import paths

HOST_UID = 1_900_000_123


def _argv() -> list[str]:
    profile = ProfileStore(paths.PROJECT_ROOT / "sandbox_profiles").get("default")
    spec = SandboxSpec(argv=("/usr/bin/true",), profile=profile, limits=profile.limits)
    binds = tuple(b for b in profile.filesystem.readonly_binds if not b.optional)
    return render_argv(spec, nsjail="/x/nsjail", binds=binds, host_uid=HOST_UID)


def _pairs(argv: list[str]) -> list[tuple[str, str]]:
    return list(itertools.pairwise(argv))


def test_never_chroots_host_root() -> None:
    """The rootfs is built from explicit binds; --chroot is never used."""
    argv = _argv()
    assert "--chroot" not in argv and "-c" not in argv


def test_uid_and_gid_are_mapped() -> None:
    """The jail user is nobody, mapped one-to-one to the sandbox's own host uid and gid."""
    pairs = _pairs(_argv())
    assert ("--user", f"65534:{HOST_UID}:1") in pairs
    assert ("--group", f"65534:{HOST_UID}:1") in pairs


def test_proc_shows_only_the_jails_processes() -> None:
    """nsjail's own /proc is replaced by a read-only procfs of the jail's pids alone."""
    argv = _argv()
    assert "--disable_proc" in argv
    assert ("--mount", "none:/proc:proc:ro,subset=pid") in _pairs(argv)


def test_rlimits_are_set_deliberately() -> None:
    """nsjail's defaults (1 MB fsize, 32 files, 600 s CPU) are replaced by the profile's."""
    pairs = _pairs(_argv())
    assert ("--rlimit_fsize", "16") in pairs
    assert ("--rlimit_nofile", "256") in pairs
    assert ("--rlimit_cpu", "11") in pairs  # a backstop, one second behind the cgroup watcher
    assert ("--rlimit_as", "inf") in pairs


def test_readonly_binds_and_tmpfs() -> None:
    """Binds are read-only and /tmp is a sized tmpfs."""
    pairs = _pairs(_argv())
    assert ("--bindmount_ro", "/usr/bin:/usr/bin") in pairs
    assert ("--mount", f"none:/tmp:tmpfs:size={64 * 1024**2},mode=1777") in pairs
    assert not any(flag in ("--bindmount", "-B", "--rw") for flag, _ in pairs)


def test_environment_is_only_the_profiles() -> None:
    """Only the profile's variables are passed; nsjail's --keep_env is never used."""
    argv = _argv()
    envs = [value for flag, value in _pairs(argv) if flag == "--env"]
    assert envs == ["HOME=/tmp", "LANG=C.UTF-8", "PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1"]
    assert "--keep_env" not in argv


def test_command_follows_separator() -> None:
    """The jailed command comes after '--' so it can never be read as an nsjail flag."""
    argv = _argv()
    assert argv[-2:] == ["--", "/usr/bin/true"]


def test_extra_binds_are_read_only() -> None:
    """A skill folder bind is rendered read-only at its target."""
    profile = ProfileStore(paths.PROJECT_ROOT / "sandbox_profiles").get("default")
    spec = SandboxSpec(argv=("/usr/bin/true",), profile=profile, limits=profile.limits)
    argv = render_argv(
        spec, nsjail="n", binds=(Bind(source="/opt/s", target="/skill"),), host_uid=HOST_UID
    )
    assert ("--bindmount_ro", "/opt/s:/skill") in _pairs(argv)


def test_writable_binds_are_read_write() -> None:
    """A writable bind (a session's workspace) is rendered read-write; the others stay read-only."""
    profile = ProfileStore(paths.PROJECT_ROOT / "sandbox_profiles").get("default")
    spec = SandboxSpec(argv=("/usr/bin/true",), profile=profile, limits=profile.limits)
    binds = (
        Bind(source="/w/ws", target="/workspace", writable=True),
        Bind(source="/w/etc/passwd", target="/etc/passwd"),
    )
    pairs = _pairs(render_argv(spec, nsjail="n", binds=binds, host_uid=HOST_UID))
    assert ("--bindmount", "/w/ws:/workspace") in pairs
    assert ("--bindmount_ro", "/w/etc/passwd:/etc/passwd") in pairs


def test_cwd_is_rendered() -> None:
    """A spec's cwd is nsjail's --cwd; without one, the profile's work dir."""
    profile = ProfileStore(paths.PROJECT_ROOT / "sandbox_profiles").get("default")
    spec = SandboxSpec(argv=("/usr/bin/true",), profile=profile, limits=profile.limits)
    assert ("--cwd", "/tmp") in _pairs(render_argv(spec, nsjail="n", binds=(), host_uid=HOST_UID))
    elsewhere = SandboxSpec(
        argv=("/usr/bin/true",), profile=profile, limits=profile.limits, cwd="/usr/bin"
    )
    assert ("--cwd", "/usr/bin") in _pairs(
        render_argv(elsewhere, nsjail="n", binds=(), host_uid=HOST_UID)
    )
