"""The audit log's key files: private files in a private directory, and the legacy checkpoint key.

A key that others can read, or that sits in a directory others can enter, is refused rather than
trusted: whoever reads the chain key can rewrite the log, and whoever reads the head key can sign
a false anchor. The checkpoint key beside the log is what skillrt used before it keyed the whole
chain; it is still read, never written, to check the checkpoints of logs pruned back then.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import threading
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
    "create_private",
    "default_key_path",
    "private_dir",
    "read_key",
    "read_private",
]

_KEY_BYTES = 32


def private_dir(directory: Path, *, create: bool) -> bool:
    """Whether ``directory`` exists (made 0700 when ``create``); refused if others may enter it."""
    try:
        if create:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = directory.stat().st_mode
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise IntegrityError(f"{directory}: cannot reach the audit keys: {exc.strerror}") from exc
    if not stat.S_ISDIR(mode):
        raise IntegrityError(f"{directory}: not a directory")
    if mode & 0o077:
        raise IntegrityError(
            f"{directory}: open to others (mode {mode & 0o777:04o}): the audit keys must be "
            "private; chmod 700 it"
        )
    return True


def read_private(path: Path) -> bytes | None:
    """The content of ``path``, or None when there is no such file; refused if others can read
    or write it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IntegrityError(f"{path}: cannot read the key: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if mode & 0o077:
            raise IntegrityError(
                f"{path}: readable by others (mode {mode & 0o777:04o}): whoever reads it can "
                "forge audit entries; chmod 600 it"
            )
        return file.read()


def create_private(path: Path, data: bytes) -> bool:
    """Write ``data`` to a new 0600 file, durably and whole; False when the file already exists.

    The data goes to a temporary file first, linked into place only once complete: a full disk
    or a crash leaves no half-written key that would lock the log for good.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
    finally:
        temporary.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True


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
    """The legacy checkpoint key in ``path``, or None when there is no such file."""
    data = read_private(path)
    if data is None:
        return None
    try:
        key = bytes.fromhex(data.decode("ascii").strip())
    except ValueError as exc:
        raise IntegrityError(f"{path}: not a hex key") from exc
    if len(key) != _KEY_BYTES:
        raise IntegrityError(f"{path}: expected a {_KEY_BYTES}-byte key")
    return key
