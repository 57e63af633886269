"""The checkpoint key: a 0600 file beside the log, and the HMAC it puts on a checkpoint.

Whoever can delete lines of the log cannot forge the checkpoint that would account for them
without this key, so a key that others can read is refused rather than trusted.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runtime.audit.entry import legacy_bytes
from runtime.errors import IntegrityError
from runtime.util.canonical import canonical_bytes
from runtime.util.fsio import fsync_dir

__all__ = [
    "checkpoint_mac",
    "checkpoint_macs",
    "default_key_path",
    "key_for_writing",
    "read_key",
]

_KEY_BYTES = 32


def default_key_path(log: Path) -> Path:
    return log.with_suffix(".key")


def checkpoint_mac(key: bytes, body: Mapping[str, Any]) -> str:
    unsigned = {k: v for k, v in body.items() if k not in ("hash", "mac")}
    return hmac.new(key, canonical_bytes(unsigned), hashlib.sha256).hexdigest()


def checkpoint_macs(key: bytes, body: Mapping[str, Any]) -> tuple[str, ...]:
    """The MAC over RFC 8785, and over the canonical form of logs written before it."""
    unsigned = {k: v for k, v in body.items() if k not in ("hash", "mac")}
    legacy = legacy_bytes(unsigned)
    old = (hmac.new(key, legacy, hashlib.sha256).hexdigest(),) if legacy is not None else ()
    return (checkpoint_mac(key, body), *old)


def read_key(path: Path) -> bytes | None:
    """The key in ``path``, or None when there is no such file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if mode & 0o077:
            raise IntegrityError(
                f"{path}: readable by others (mode {mode & 0o777:04o}): whoever reads it can "
                "forge checkpoints; chmod 600 it"
            )
        try:
            key = bytes.fromhex(file.read().decode("ascii").strip())
        except ValueError as exc:
            raise IntegrityError(f"{path}: not a hex key") from exc
    if len(key) != _KEY_BYTES:
        raise IntegrityError(f"{path}: expected a {_KEY_BYTES}-byte key")
    return key


def key_for_writing(path: Path) -> bytes:
    """The checkpoint key, created (0600) the first time a log is pruned."""
    existing = read_key(path)
    if existing is not None:
        return existing
    key = os.urandom(_KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return read_key(path) or key
    with os.fdopen(fd, "wb") as file:
        file.write(key.hex().encode() + b"\n")
        file.flush()
        os.fsync(file.fileno())
    fsync_dir(path.parent)
    return key
