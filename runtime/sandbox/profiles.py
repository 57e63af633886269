"""Sandbox profiles: ``sandbox_profiles/<name>.toml`` -> frozen ``SandboxProfile``.

A profile is the whole isolation policy of a sandbox: what it sees of the filesystem, whether it
has a network, its limits and its seccomp rules. Skills and callers may tighten a profile's limits
(``Limits.tighten``) but never loosen them. A profile with a ``[session]`` table can also serve
agent sessions (``session_policy``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from runtime.errors import BadRequest, ConfigError, NoSuchEntity
from runtime.sandbox import seccomp
from runtime.sandbox.egress import BRIDGE_INTERPRETER
from runtime.sandbox.filesystem import (
    Bind,
    FilesystemPolicy,
    Tmpfs,
    is_within,
    parse_filesystem,
)
from runtime.sandbox.session_policy import SESSION_MOUNTS, SessionPolicy, parse_session
from runtime.util.filecache import FileCache
from runtime.util.tomlfields import Table
from runtime.util.units import format_duration, format_size, parse_duration_ms, parse_size

# Bind, FilesystemPolicy, Tmpfs and SessionPolicy are parts of a profile: callers import them
# from here, with the profile.
__all__ = [
    "EGRESS_LIMIT_KEYS",
    "LIMIT_KEYS",
    "NETWORK_MODES",
    "Bind",
    "FilesystemPolicy",
    "LimitOverrides",
    "Limits",
    "NetworkPolicy",
    "ProfileStore",
    "SandboxProfile",
    "SessionPolicy",
    "Tmpfs",
    "check_limits",
    "load_profile",
    "parse_overrides",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_MIB = 1024 * 1024
# none: a network namespace of its own with only lo; allowlist: the same, plus the invocation's
# egress proxy (runtime/egress); host: the host's network, for elevated tools only.
NETWORK_MODES = ("none", "allowlist", "host")
EGRESS_LIMIT_KEYS = ("egress_bytes", "egress_connections")
# What the egress bridge needs inside an allowlist sandbox.
_BRIDGE_SOCKET_FAMILIES = ("AF_UNIX", "AF_INET")
_BRIDGE_SYSCALLS = ("socket", "bind", "listen", "accept4", "connect", "execve", "clone")


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Resource limits of one sandbox; every field is enforced by the launcher."""

    memory_bytes: int
    pids: int
    cpu_time_ms: int
    wall_time_ms: int
    output_bytes: int
    open_files: int
    file_size_bytes: int
    cpus: float
    # Only in network mode allowlist, where the egress proxy enforces them; None elsewhere.
    egress_bytes: int | None = None
    egress_connections: int | None = None

    def tighten(self, overrides: LimitOverrides, *, source: str) -> Limits:
        """These limits with ``overrides`` applied; an override above its limit is an error."""
        changes: dict[str, Any] = {}
        for field in fields(overrides):
            wanted = getattr(overrides, field.name)
            if wanted is None:
                continue
            current = getattr(self, field.name)
            if current is None:
                raise BadRequest(
                    f"{source}: {LIMIT_KEYS[field.name]} needs a profile with network mode "
                    "allowlist (only its egress proxy has such a limit)"
                )
            if not wanted <= current:  # NaN is no tighter than anything
                raise BadRequest(
                    f"{source}: {LIMIT_KEYS[field.name]} {_show(field.name, wanted)} exceeds the "
                    f"profile's {_show(field.name, current)}; limits may only be tightened"
                )
            changes[field.name] = wanted
        return replace(self, **changes)


@dataclass(frozen=True, kw_only=True)
class LimitOverrides:
    """Optional tighter limits, from a skill manifest, a CLI flag or a request."""

    memory_bytes: int | None = None
    pids: int | None = None
    cpu_time_ms: int | None = None
    wall_time_ms: int | None = None
    output_bytes: int | None = None
    open_files: int | None = None
    file_size_bytes: int | None = None
    cpus: float | None = None
    egress_bytes: int | None = None
    egress_connections: int | None = None


# Field name -> the key that spells it in TOML, flags and messages.
LIMIT_KEYS = {
    "memory_bytes": "memory",
    "pids": "pids",
    "cpu_time_ms": "cpu_time",
    "wall_time_ms": "wall_time",
    "output_bytes": "output",
    "open_files": "open_files",
    "file_size_bytes": "file_size",
    "cpus": "cpus",
    "egress_bytes": "egress_bytes",
    "egress_connections": "egress_connections",
}


def _show(field_name: str, value: float) -> str:
    if field_name.endswith("_bytes"):
        return format_size(int(value))
    if field_name.endswith("_ms"):
        return format_duration(int(value))
    return f"{value:g}"


@dataclass(frozen=True, kw_only=True)
class NetworkPolicy:
    mode: str


@dataclass(frozen=True, kw_only=True)
class SandboxProfile:
    name: str
    description: str
    source: str
    filesystem: FilesystemPolicy
    network: NetworkPolicy
    limits: Limits
    seccomp: seccomp.SeccompPolicy
    env: tuple[tuple[str, str], ...]
    nice: int
    session: SessionPolicy | None = None  # None: the profile cannot be used for sessions


def load_profile(file: Path) -> SandboxProfile:
    """Parse and validate one profile file; every problem is a ConfigError naming file and key."""
    name = file.stem
    if not _NAME.match(name):
        raise ConfigError(f"{file}: profile name {name!r} must match {_NAME.pattern}")
    doc = Table.load(file)
    network = _network(doc.table("network"))
    for_sessions = doc.has("session")
    filesystem = parse_filesystem(
        doc.table("filesystem", required=True),
        session_mounts=SESSION_MOUNTS if for_sessions else (),
    )
    profile = SandboxProfile(
        name=name,
        description=doc.string("description", ""),
        source=str(file),
        filesystem=filesystem,
        network=network,
        limits=_limits(doc.table("limits", required=True), network.mode),
        seccomp=_seccomp(doc.table("seccomp", required=True)),
        env=tuple(sorted(doc.str_map("env").items())),
        nice=doc.integer("nice", 0),
        session=parse_session(doc.table("session"), filesystem) if for_sessions else None,
    )
    if not -20 <= profile.nice <= 19:
        raise doc.error("nice", "must be between -20 and 19")
    if network.mode == "allowlist":
        _check_bridge_fits(doc, profile)
    doc.finish()
    return profile


def _check_bridge_fits(doc: Table, profile: SandboxProfile) -> None:
    """An allowlist sandbox starts the egress bridge: it must find and be allowed what it uses."""
    policy = profile.seccomp
    for family in _BRIDGE_SOCKET_FAMILIES:
        if family in policy.deny_socket_families:
            raise doc.error(
                "seccomp.deny_socket_families",
                f"network mode allowlist needs {family} sockets for the egress bridge",
            )
    for name in _BRIDGE_SYSCALLS:
        if name in policy.kill or name in policy.enosys:
            key = "seccomp.kill" if name in policy.kill else "seccomp.enosys"
            raise doc.error(key, f"network mode allowlist needs {name} for the egress bridge")
    if "/dev/null" not in profile.filesystem.devices:
        raise doc.error("filesystem.devices", "network mode allowlist needs /dev/null")
    targets = [b.target for b in profile.filesystem.readonly_binds if not b.optional]
    if not any(is_within(BRIDGE_INTERPRETER, t) for t in targets):
        raise doc.error(
            "filesystem.readonly_binds",
            f"network mode allowlist needs {BRIDGE_INTERPRETER} (the egress bridge runs on it)",
        )


class ProfileStore:
    """The profiles of one directory, loaded on demand by name."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: FileCache[SandboxProfile] = FileCache()

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.directory.glob("*.toml"))

    def get(self, name: str) -> SandboxProfile:
        if not _NAME.match(name):
            raise BadRequest(f"profile name {name!r} is not valid")
        file = self.directory / f"{name}.toml"
        if not file.is_file():
            known = ", ".join(self.names()) or "none"
            raise NoSuchEntity(f"unknown profile {name!r} (known: {known})")
        return self._cache.get(file, (file,), lambda: load_profile(file))


def _network(table: Table) -> NetworkPolicy:
    mode = table.string("mode", "none")
    if mode not in NETWORK_MODES:
        supported = ", ".join(NETWORK_MODES)
        raise table.error("mode", f"unsupported network mode {mode!r} (supported: {supported})")
    table.finish()
    return NetworkPolicy(mode=mode)


def _positive(table: Table, key: str, value: int) -> int:
    if value <= 0:
        raise table.error(key, "must be greater than zero")
    return value


def _limits(table: Table, network_mode: str) -> Limits:
    egress: dict[str, int] = {}
    for key in EGRESS_LIMIT_KEYS:
        if network_mode != "allowlist":
            if table.has(key):
                raise table.error(key, "only meaningful with network mode allowlist")
        elif not table.has(key):
            raise table.error(key, "missing (network mode allowlist needs it)")
        elif key == "egress_bytes":
            egress[key] = _positive(table, key, table.parsed(key, parse_size))
        else:
            egress[key] = _positive(table, key, table.integer(key))
    limits = Limits(
        memory_bytes=_positive(table, "memory", table.parsed("memory", parse_size)),
        pids=_positive(table, "pids", table.integer("pids")),
        cpu_time_ms=_positive(table, "cpu_time", table.parsed("cpu_time", parse_duration_ms)),
        wall_time_ms=_positive(table, "wall_time", table.parsed("wall_time", parse_duration_ms)),
        output_bytes=_positive(table, "output", table.parsed("output", parse_size)),
        open_files=_positive(table, "open_files", table.integer("open_files")),
        file_size_bytes=table.parsed("file_size", parse_size),
        cpus=table.number("cpus"),
        **egress,
    )
    check_limits(limits, lambda key, reason: table.error(key, reason))
    table.finish()
    return limits


def check_limits(limits: Limits | LimitOverrides, error: Any) -> None:
    """Limits the kernel cannot express exactly are refused rather than rounded looser."""
    if limits.file_size_bytes is not None and (
        limits.file_size_bytes < _MIB or limits.file_size_bytes % _MIB
    ):
        raise error("file_size", "must be a whole number of MiB (at least 1MiB)")
    if limits.cpus is not None and not (0.01 <= limits.cpus <= 1024):
        raise error("cpus", "must be between 0.01 and 1024")
    if limits.memory_bytes is not None and limits.memory_bytes < 4 * _MIB:
        raise error("memory", "must be at least 4MiB")
    if limits.cpu_time_ms is not None and limits.cpu_time_ms < 10:
        raise error("cpu_time", "must be at least 10ms")
    if limits.wall_time_ms is not None and limits.wall_time_ms < 10:
        raise error("wall_time", "must be at least 10ms")


def parse_overrides(table: Table) -> LimitOverrides:
    """Limit overrides from a manifest's ``[limits]`` table (every key optional)."""
    values: dict[str, Any] = {}
    parsers: dict[str, Any] = {
        "memory": parse_size,
        "output": parse_size,
        "file_size": parse_size,
        "cpu_time": parse_duration_ms,
        "wall_time": parse_duration_ms,
        "egress_bytes": parse_size,
    }
    for field_name, key in LIMIT_KEYS.items():
        if not table.has(key):
            continue
        if key in parsers:
            values[field_name] = _positive(table, key, table.parsed(key, parsers[key]))
        elif key == "cpus":
            values[field_name] = table.number(key)
        else:
            values[field_name] = _positive(table, key, table.integer(key))
    overrides = LimitOverrides(**values)
    check_limits(overrides, lambda key, reason: table.error(key, reason))
    table.finish()
    return overrides


def _seccomp(table: Table) -> seccomp.SeccompPolicy:
    policy = seccomp.SeccompPolicy(
        kill=table.str_list("kill"),
        enosys=table.str_list("enosys"),
        deny_socket_families=table.str_list("deny_socket_families"),
        deny_clone_flags=table.str_list("deny_clone_flags"),
    )
    problem = seccomp.validate(policy)
    if problem is not None:
        key, reason = problem
        raise table.error(key, reason)
    table.finish()
    return policy
