"""What a sandbox sees of the filesystem: a profile's ``[filesystem]`` table and its binds.

The sandbox's root is empty; everything in it is listed here (binds, devices, symlinks, tmpfs),
so that nothing of the host appears by default.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.util.tomlfields import Table
from runtime.util.units import parse_size

__all__ = [
    "ALLOWED_DEVICES",
    "Bind",
    "FilesystemPolicy",
    "Tmpfs",
    "absolute_path",
    "is_within",
    "parse_filesystem",
]

# Devices harmless to share with untrusted code; anything else (a disk, /dev/mem, a tty) is not.
ALLOWED_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


@dataclass(frozen=True, kw_only=True)
class Bind:
    """A host path mounted at ``target`` (the same path unless given), read-only unless
    ``writable`` (a session's workspace; profiles only ever bind read-only)."""

    source: str
    target: str
    optional: bool = False
    writable: bool = False


@dataclass(frozen=True, kw_only=True)
class Tmpfs:
    path: str
    size_bytes: int


@dataclass(frozen=True, kw_only=True)
class FilesystemPolicy:
    readonly_binds: tuple[Bind, ...]
    devices: tuple[str, ...]
    symlinks: tuple[tuple[str, str], ...]  # (link path, target)
    tmpfs: tuple[Tmpfs, ...]
    work_dir: str


def absolute_path(table: Table, key: str, value: str) -> str:
    """``value``, which must be an absolute path without '..'; else an error naming ``key``."""
    if not value.startswith("/") or "/../" in f"{value}/" or "\x00" in value:
        raise table.error(key, f"{value!r} must be an absolute path without '..'")
    return value


def is_within(path: str, base: str) -> bool:
    """``path`` is ``base`` or lies under it (both absolute and normalised)."""
    return path == base or path.startswith(base.rstrip("/") + "/")


def parse_filesystem(table: Table, *, session_mounts: tuple[str, ...] = ()) -> FilesystemPolicy:
    """The ``[filesystem]`` table; ``session_mounts`` are the writable directories a session
    binds over it (a profile with a ``[session]`` table), which may serve as its work dir."""
    binds = _binds(table)
    tmpfs = _tmpfs(table)
    links = table.str_map("symlinks")
    policy = FilesystemPolicy(
        readonly_binds=binds,
        devices=tuple(absolute_path(table, "devices", d) for d in table.str_list("devices")),
        symlinks=tuple(sorted((absolute_path(table, "symlinks", k), v) for k, v in links.items())),
        tmpfs=tmpfs,
        work_dir=absolute_path(table, "work_dir", table.string("work_dir", "/tmp")),
    )
    for device in policy.devices:
        if device not in ALLOWED_DEVICES:
            allowed = ", ".join(ALLOWED_DEVICES)
            raise table.error("devices", f"{device} is not an allowed device ({allowed})")
    if policy.work_dir not in (*(t.path for t in policy.tmpfs), *session_mounts):
        places = "the tmpfs mounts"
        if session_mounts:
            places += f" or the session's {', '.join(session_mounts)}"
        raise table.error("work_dir", f"{policy.work_dir} must be one of {places}")
    _check_session_mounts(table, policy, session_mounts)
    table.finish()
    return policy


def _binds(table: Table) -> tuple[Bind, ...]:
    binds = []
    entries = table.raw("readonly_binds") if table.has("readonly_binds") else []
    for index, entry in enumerate(entries):
        key = f"readonly_binds[{index}]"
        if isinstance(entry, str):
            path = absolute_path(table, key, entry)
            binds.append(Bind(source=path, target=path))
        elif isinstance(entry, dict):
            sub = table.child(key, entry)
            source = absolute_path(sub, "source", sub.string("source"))
            target = absolute_path(sub, "target", sub.string("target", source))
            optional = sub.boolean("optional", False)
            binds.append(Bind(source=source, target=target, optional=optional))
            sub.finish()
        else:
            raise table.error(key, "expected a path or a table with source/target/optional")
    return tuple(binds)


def _tmpfs(table: Table) -> tuple[Tmpfs, ...]:
    tmpfs = []
    for sub in table.tables("tmpfs"):
        path = absolute_path(sub, "path", sub.string("path"))
        size = sub.parsed("size", parse_size)
        if size < 4096:
            raise sub.error("size", "must be at least 4KiB")
        tmpfs.append(Tmpfs(path=path, size_bytes=size))
        sub.finish()
    return tuple(tmpfs)


def _check_session_mounts(
    table: Table, policy: FilesystemPolicy, session_mounts: tuple[str, ...]
) -> None:
    """Nothing of the profile may sit at or under a session's mount: nsjail mounts in order of
    depth, so a profile tmpfs at /tmp would hide the session's /tmp, or be hidden by it."""
    placed = [
        *(("readonly_binds", b.target) for b in policy.readonly_binds),
        *(("devices", d) for d in policy.devices),
        *(("symlinks", link) for link, _ in policy.symlinks),
        *(("tmpfs", t.path) for t in policy.tmpfs),
    ]
    for key, path in placed:
        for mount in session_mounts:
            if is_within(path, mount):
                raise table.error(key, f"{path} is inside {mount}, which sessions bind themselves")
