"""A profile's [session] table: parsed into SessionPolicy, every mistake naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.errors import ConfigError
from runtime.sandbox.profiles import ProfileStore, load_profile
from runtime.util import paths

PROFILES = paths.PROJECT_ROOT / "sandbox_profiles"
WORKSPACE_TEXT = (PROFILES / "workspace.toml").read_text()
DEFAULT_TEXT = (PROFILES / "default.toml").read_text()


def _load(tmp_path: Path, text: str) -> None:
    file = tmp_path / "custom.toml"
    file.write_text(text)
    load_profile(file)


def test_workspace_profile_serves_sessions() -> None:
    """The workspace profile's session policy: PATH lookup in /usr/bin, quotas and timeouts."""
    profile = ProfileStore(PROFILES).get("workspace")
    assert profile.session is not None
    assert profile.session.path == ("/usr/bin",)
    assert "TERM" in profile.session.env_allowed
    assert (profile.session.workspace_size, profile.session.max_workspace_size) == (
        256 * 1024**2,
        512 * 1024**2,
    )
    assert (profile.session.idle_timeout, profile.session.max_idle_timeout) == (
        30 * 60_000,
        8 * 3_600_000,
    )
    assert profile.filesystem.work_dir == "/workspace"
    assert profile.filesystem.tmpfs == ()


def test_workspace_profile_limits() -> None:
    """Long wall time (OpenClaw's exec timeout), roomy output, no network."""
    profile = ProfileStore(PROFILES).get("workspace")
    limits = profile.limits
    assert (limits.wall_time_ms, limits.cpu_time_ms) == (1_800_000, 600_000)
    assert (limits.memory_bytes, limits.pids, limits.output_bytes) == (1024**3, 256, 16 * 1024**2)
    assert profile.network.mode == "none"
    assert profile.seccomp == ProfileStore(PROFILES).get("default").seccomp


@pytest.mark.parametrize("name", ["default", "minimal", "network"])
def test_profiles_without_the_table_have_no_session(name: str) -> None:
    """A profile without [session] cannot be used for sessions: its session is None."""
    assert ProfileStore(PROFILES).get(name).session is None


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        (
            'work_dir = "/workspace"',
            'work_dir = "/workspace"\ntmpfs = [{ path = "/tmp", size = "1MiB" }]',
            r"filesystem\.tmpfs: /tmp is inside /tmp, which sessions bind themselves",
        ),
        (
            '{ source = "/usr/share/git-core", optional = true },',
            '{ source = "/opt/x", target = "/workspace/x" },',
            r"filesystem\.readonly_binds: /workspace/x is inside /workspace",
        ),
        (
            'work_dir = "/workspace"',
            'work_dir = "/srv"',
            r"filesystem\.work_dir: /srv must be one of the tmpfs mounts or the session's",
        ),
        ('path = ["/usr/bin"]', 'path = ["/opt/bin"]', r"session\.path: /opt/bin is not inside"),
        ('path = ["/usr/bin"]', 'path = ["bin"]', r"session\.path: 'bin' must be an absolute"),
        ('"PATH", "HOME",', '"PATH", "NOT-A-NAME",', r"session\.env_allowed: 'NOT-A-NAME' is not"),
        ('"PATH", "HOME",', '"PATH", "PATH",', r"session\.env_allowed: PATH is listed twice"),
        (
            'workspace_size = "256MiB"',
            'workspace_size = "1GiB"',
            r"session\.workspace_size: exceeds max_workspace_size",
        ),
        (
            'workspace_size = "256MiB"',
            'workspace_size = "4KiB"',
            r"session\.workspace_size: must be at least 1MiB",
        ),
        ('idle_timeout = "30min"', 'idle_timeout = "9h"', r"session\.idle_timeout: exceeds max"),
        ('idle_timeout = "30min"', 'idle_timeout = "soon"', r"session\.idle_timeout: expected a"),
        ('max_idle_timeout = "8h"', "", r"session\.max_idle_timeout: missing"),
        ('idle_timeout = "30min"', 'idle_timeout = "30min"\nidle = 1', r"session\.idle: unknown"),
    ],
    ids=[
        "tmpfs-at-tmp",
        "bind-in-workspace",
        "work-dir",
        "path-not-mounted",
        "path-relative",
        "env-name",
        "env-twice",
        "size-over-max",
        "size-tiny",
        "idle-over-max",
        "idle-unparsable",
        "max-missing",
        "unknown-key",
    ],
)
def test_session_mistakes_name_file_and_key(tmp_path: Path, old: str, new: str, error: str) -> None:
    """Each mistake in a session profile is a ConfigError naming the file and the key."""
    assert old in WORKSPACE_TEXT
    with pytest.raises(ConfigError, match=rf"custom\.toml: {error}"):
        _load(tmp_path, WORKSPACE_TEXT.replace(old, new, 1))


def test_work_dir_outside_tmpfs_needs_a_session(tmp_path: Path) -> None:
    """Without [session], /workspace is no work dir: nothing would be mounted there."""
    text = DEFAULT_TEXT.replace('work_dir = "/tmp"', 'work_dir = "/workspace"')
    with pytest.raises(ConfigError, match=r"work_dir: /workspace must be one of the tmpfs mounts$"):
        _load(tmp_path, text)
