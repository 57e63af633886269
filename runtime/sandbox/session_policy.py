"""A profile's ``[session]`` table: what sessions of that profile may run and ask for.

A profile without the table cannot be used for sessions. A session's own directories are not
in the profile: its workspace and /tmp are writable binds of the session's size-capped
filesystem (``runtime.sandbox.workspace``), mounted at ``SESSION_MOUNTS`` in every command.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runtime.sandbox.filesystem import FilesystemPolicy, absolute_path, is_within
from runtime.util.tomlfields import Table
from runtime.util.units import format_duration, format_size, parse_duration_ms, parse_size

__all__ = ["SESSION_MOUNTS", "TMP_MOUNT", "WORKSPACE_MOUNT", "SessionPolicy", "parse_session"]

WORKSPACE_MOUNT = "/workspace"
TMP_MOUNT = "/tmp"
SESSION_MOUNTS = (WORKSPACE_MOUNT, TMP_MOUNT)

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MIN_WORKSPACE_BYTES = 1024 * 1024  # below this a tmpfs holds hardly a file; a typo, surely
_MIN_IDLE_MS = 1000


@dataclass(frozen=True, kw_only=True)
class SessionPolicy:
    """How sessions of one profile run commands. Sizes are bytes, timeouts milliseconds."""

    # Directories, in order, where a bare argv[0] is looked up; empty: argv[0] must be absolute.
    path: tuple[str, ...]
    env_allowed: tuple[str, ...]  # environment variables a command may set
    workspace_size: int  # the workspace quota when a session does not ask for one
    max_workspace_size: int
    idle_timeout: int  # how long a session may stay idle when it does not say
    max_idle_timeout: int


def parse_session(table: Table, filesystem: FilesystemPolicy) -> SessionPolicy:
    """The ``[session]`` table of a profile whose filesystem is ``filesystem``."""
    policy = SessionPolicy(
        path=_lookup_path(table, filesystem),
        env_allowed=_env_allowed(table),
        workspace_size=_required(table, "workspace_size", parse_size),
        max_workspace_size=_required(table, "max_workspace_size", parse_size),
        idle_timeout=_required(table, "idle_timeout", parse_duration_ms),
        max_idle_timeout=_required(table, "max_idle_timeout", parse_duration_ms),
    )
    for key, value in (
        ("workspace_size", policy.workspace_size),
        ("max_workspace_size", policy.max_workspace_size),
    ):
        if value < _MIN_WORKSPACE_BYTES:
            raise table.error(key, f"must be at least {format_size(_MIN_WORKSPACE_BYTES)}")
    for key, value in (
        ("idle_timeout", policy.idle_timeout),
        ("max_idle_timeout", policy.max_idle_timeout),
    ):
        if value < _MIN_IDLE_MS:
            raise table.error(key, f"must be at least {format_duration(_MIN_IDLE_MS)}")
    if policy.workspace_size > policy.max_workspace_size:
        raise table.error("workspace_size", "exceeds max_workspace_size")
    if policy.idle_timeout > policy.max_idle_timeout:
        raise table.error("idle_timeout", "exceeds max_idle_timeout")
    table.finish()
    return policy


def _required(table: Table, key: str, parse: Callable[[Any], int]) -> int:
    if not table.has(key):
        raise table.error(key, "missing")
    return table.parsed(key, parse)


def _lookup_path(table: Table, filesystem: FilesystemPolicy) -> tuple[str, ...]:
    # Only what the sandbox sees can hold a command: a directory elsewhere is a typo.
    visible = (*(b.target for b in filesystem.readonly_binds), *(s for s, _ in filesystem.symlinks))
    path = tuple(absolute_path(table, "path", p) for p in table.str_list("path"))
    for directory in path:
        if not any(is_within(directory, place) for place in visible):
            raise table.error("path", f"{directory} is not inside any read-only bind or symlink")
    _unique(table, "path", path)
    return path


def _env_allowed(table: Table) -> tuple[str, ...]:
    names = table.str_list("env_allowed")
    for name in names:
        if not _ENV_NAME.match(name):
            raise table.error("env_allowed", f"{name!r} is not an environment variable name")
    _unique(table, "env_allowed", names)
    return names


def _unique(table: Table, key: str, values: tuple[str, ...]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise table.error(key, f"{value} is listed twice")
        seen.add(value)
