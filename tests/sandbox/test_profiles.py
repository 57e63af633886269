"""Profile parsing and validation: every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.errors import BadRequest, ConfigError, NoSuchEntity
from runtime.sandbox.profiles import LimitOverrides, ProfileStore, load_profile
from runtime.util import paths

BUNDLED = sorted((paths.PROJECT_ROOT / "sandbox_profiles").glob("*.toml"))
DEFAULT_TEXT = (paths.PROJECT_ROOT / "sandbox_profiles" / "default.toml").read_text()


def _write(tmp_path: Path, text: str, name: str = "custom") -> Path:
    file = tmp_path / f"{name}.toml"
    file.write_text(text)
    return file


@pytest.mark.parametrize("file", BUNDLED, ids=lambda f: f.stem)
def test_bundled_profile_parses(file: Path) -> None:
    """Every bundled profile parses, validates, and names itself after its file."""
    profile = load_profile(file)
    assert profile.name == file.stem
    assert profile.network.mode != "host"  # no bundled profile shares the host's network


def test_bundled_profiles_include_default_and_minimal() -> None:
    """The two profiles the docs promise exist."""
    assert {"default", "minimal"} <= {f.stem for f in BUNDLED}


def test_default_profile_limits() -> None:
    """The default profile has the documented limits."""
    limits = ProfileStore(paths.PROJECT_ROOT / "sandbox_profiles").get("default").limits
    assert (limits.memory_bytes, limits.pids, limits.cpu_time_ms, limits.wall_time_ms) == (
        256 * 1024**2,
        64,
        10_000,
        30_000,
    )
    assert (limits.output_bytes, limits.open_files) == (1024**2, 256)


def test_minimal_is_stricter_than_default() -> None:
    """Every limit of minimal is at most default's."""
    store = ProfileStore(paths.PROJECT_ROOT / "sandbox_profiles")
    default, minimal = store.get("default").limits, store.get("minimal").limits
    for field, value in vars(default).items():
        if value is not None:  # the egress limits exist only in allowlist profiles
            assert getattr(minimal, field) <= value, field


def test_malformed_toml_names_file(tmp_path: Path) -> None:
    """A TOML syntax error names the file."""
    file = _write(tmp_path, "[limits\nmemory = 1")
    with pytest.raises(ConfigError, match=r"custom\.toml: invalid TOML"):
        load_profile(file)


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    """A misspelled limit is reported with its full key, not ignored."""
    file = _write(tmp_path, DEFAULT_TEXT.replace("pids = 64", "pids = 64\nmemroy = 1"))
    with pytest.raises(ConfigError, match=r"custom\.toml: limits\.memroy: unknown key"):
        load_profile(file)


def test_bad_size_names_key(tmp_path: Path) -> None:
    """An unparsable size names the key and quotes the value."""
    file = _write(tmp_path, DEFAULT_TEXT.replace('memory = "256MiB"', 'memory = "lots"'))
    with pytest.raises(ConfigError, match=r"limits\.memory: expected a size.*'lots'"):
        load_profile(file)


def test_unknown_syscall_is_an_error(tmp_path: Path) -> None:
    """A syscall name this architecture does not have is refused."""
    file = _write(tmp_path, DEFAULT_TEXT.replace('"ptrace",', '"ptrace", "no_such_call",'))
    with pytest.raises(ConfigError, match=r"seccomp\.kill: unknown syscall 'no_such_call'"):
        load_profile(file)


def test_unknown_network_mode_is_an_error(tmp_path: Path) -> None:
    """Network modes that are not implemented are refused, never treated as none or host."""
    file = _write(tmp_path, DEFAULT_TEXT.replace('mode = "none"', 'mode = "bridge"'))
    with pytest.raises(ConfigError, match=r"network\.mode: unsupported network mode 'bridge'"):
        load_profile(file)


def test_dangerous_device_is_refused(tmp_path: Path) -> None:
    """Only harmless devices may be exposed."""
    file = _write(tmp_path, DEFAULT_TEXT.replace('"/dev/null",', '"/dev/null", "/dev/sda",'))
    with pytest.raises(ConfigError, match=r"filesystem\.devices: /dev/sda is not an allowed"):
        load_profile(file)


def test_relative_bind_is_refused(tmp_path: Path) -> None:
    """Binds must be absolute paths without '..'."""
    file = _write(tmp_path, DEFAULT_TEXT.replace('"/usr/bin",', '"/usr/../etc",'))
    with pytest.raises(ConfigError, match=r"binds\[0\]: '/usr/../etc' must be an absolute"):
        load_profile(file)


def test_file_size_must_be_whole_mib(tmp_path: Path) -> None:
    """A file size RLIMIT_FSIZE cannot express exactly is refused, not rounded up."""
    file = _write(tmp_path, DEFAULT_TEXT.replace('file_size = "16MiB"', 'file_size = "1500KiB"'))
    with pytest.raises(ConfigError, match=r"limits\.file_size: must be a whole number of MiB"):
        load_profile(file)


def test_unknown_profile_is_not_found(tmp_path: Path) -> None:
    """Asking for a profile that does not exist lists the ones that do."""
    known = r"unknown profile 'nope' \(known: default, minimal, net"
    with pytest.raises(NoSuchEntity, match=known):
        ProfileStore(paths.PROJECT_ROOT / "sandbox_profiles").get("nope")


def test_tighten_lowers_limits() -> None:
    """Overrides below the profile's limits replace them."""
    limits = ProfileStore(paths.PROJECT_ROOT / "sandbox_profiles").get("default").limits
    tighter = limits.tighten(LimitOverrides(memory_bytes=64 * 1024**2, pids=8), source="t")
    assert (tighter.memory_bytes, tighter.pids, tighter.cpu_time_ms) == (64 * 1024**2, 8, 10_000)


def test_tighten_refuses_to_loosen() -> None:
    """An override above the profile's limit is an error that names both values."""
    limits = ProfileStore(paths.PROJECT_ROOT / "sandbox_profiles").get("default").limits
    with pytest.raises(BadRequest, match=r"flags: memory 1GiB exceeds the profile's 256MiB"):
        limits.tighten(LimitOverrides(memory_bytes=1024**3), source="flags")
