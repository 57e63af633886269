"""Where the secrets key comes from, and how a rotation stages, commits or aborts the next one.

A ``KeySource`` gives the 256-bit key: a 0600 key file created on first use (``KeyFile``),
``$SKILLRT_SECRETS_KEY`` in base64 (``EnvKey``), or a command that prints it, such as a KMS
client (``CommandKey``). A key is known by its fingerprint (``Key.id``), never by its material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from runtime.errors import BadRequest, ConfigError, UpstreamError
from runtime.util.fsio import fsync_dir

__all__ = [
    "ENV_KEY",
    "KEY_BYTES",
    "CommandKey",
    "EnvKey",
    "Key",
    "KeyFile",
    "KeySource",
    "decode_key",
    "encode_key",
    "key_from",
    "key_source",
]

ENV_KEY = "SKILLRT_SECRETS_KEY"
KEY_BYTES = 32


@dataclass(frozen=True, kw_only=True)
class Key:
    id: str  # a fingerprint: safe to store and show
    material: bytes = field(repr=False)


def key_from(material: bytes, source: str) -> Key:
    if len(material) != KEY_BYTES:
        raise ConfigError(f"{source}: expected a {KEY_BYTES}-byte key, got {len(material)} bytes")
    digest = hashlib.sha256(b"skillrt secrets key id\0" + material).hexdigest()
    return Key(id=digest[:16], material=material)


def decode_key(text: str | bytes, source: str) -> Key:
    """A key written as base64 (how key files, the environment and key commands give it)."""
    try:
        material = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{source}: not a base64-encoded key") from exc
    return key_from(material, source)


def encode_key(key: Key) -> str:
    return base64.b64encode(key.material).decode()


class KeySource(Protocol):
    """Where the key comes from. A rotation stages the next key, then commits or aborts it."""

    def describe(self) -> str: ...

    def load(self) -> Key: ...

    def stage(self, material: bytes | None) -> Key: ...

    def staged(self) -> Key | None: ...

    def commit(self, key: Key) -> None: ...

    def abort(self) -> None: ...


class KeyFile:
    """A 0600 key file, created on first use; a rotation writes ``<file>.new`` beside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._next = path.with_name(path.name + ".new")

    def describe(self) -> str:
        return f"key file {self.path}"

    def load(self) -> Key:
        try:
            return _read_key_file(self.path)
        except FileNotFoundError:
            pass
        key = key_from(os.urandom(KEY_BYTES), self.describe())
        try:
            _write_key_file(self.path, key)
        except FileExistsError:
            return _read_key_file(self.path)  # another process created it first
        return key

    def stage(self, material: bytes | None) -> Key:
        key = key_from(material or os.urandom(KEY_BYTES), "the new key")
        try:
            _write_key_file(self._next, key)
        except FileExistsError as exc:
            raise BadRequest(f"{self._next} exists: another key rotation is running") from exc
        return key

    def staged(self) -> Key | None:
        try:
            return _read_key_file(self._next)
        except FileNotFoundError:
            return None

    def commit(self, key: Key) -> None:
        # Only now is the old key file replaced: until the rows are committed it still
        # decrypts everything.
        try:
            os.replace(self._next, self.path)
        except FileNotFoundError:
            # Another process opening the store finished this rotation first.
            if _read_key_file(self.path).id != key.id:
                raise
        fsync_dir(self.path.parent)

    def abort(self) -> None:
        self._next.unlink(missing_ok=True)


class _ExternalKey:
    """A key kept outside skillrt: a rotation needs the new key given and the source updated."""

    def __init__(self, description: str) -> None:
        self._description = description

    def describe(self) -> str:
        return self._description

    def stage(self, material: bytes | None) -> Key:
        if material is None:
            raise BadRequest(
                f"the key comes from {self.describe()}: give the new key to rotate to, "
                "then put it there"
            )
        return key_from(material, "the new key")

    def staged(self) -> Key | None:
        return None

    def commit(self, key: Key) -> None:
        return None

    def abort(self) -> None:
        return None


class EnvKey(_ExternalKey):
    def __init__(self, value: str) -> None:
        super().__init__(f"${ENV_KEY}")
        self._value = value

    def __repr__(self) -> str:
        return "EnvKey()"

    def load(self) -> Key:
        return decode_key(self._value, self.describe())


class CommandKey(_ExternalKey):
    """A command (a KMS client) that prints the base64 key on stdout."""

    def __init__(self, argv: Sequence[str], *, timeout_seconds: float = 10.0) -> None:
        if not argv:
            raise ConfigError("key command: empty")
        super().__init__(f"key command {argv[0]}")
        self.argv = tuple(argv)
        self.timeout_seconds = timeout_seconds

    def load(self) -> Key:
        try:
            done = subprocess.run(
                self.argv,
                capture_output=True,
                timeout=self.timeout_seconds,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UpstreamError(f"{self.describe()}: cannot run: {exc}") from exc
        # Its stderr is not shown: a failing key command may well print key material there.
        if done.returncode != 0:
            raise UpstreamError(f"{self.describe()}: exited with status {done.returncode}")
        return decode_key(done.stdout, self.describe())


def key_source(
    key_file: Path,
    *,
    command: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> KeySource:
    """A key command if configured, else ``$SKILLRT_SECRETS_KEY`` if set, else the key file."""
    if command:
        return CommandKey(command)
    value = (os.environ if environ is None else environ).get(ENV_KEY)
    if value:
        return EnvKey(value)
    return KeyFile(key_file)


def _read_key_file(path: Path) -> Key:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if mode & 0o077:
            raise ConfigError(f"{path}: readable by others (mode {mode & 0o777:04o}); chmod 600 it")
        return decode_key(file.read(), str(path))


def _write_key_file(path: Path, key: Key) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(encode_key(key).encode() + b"\n")
        file.flush()
        os.fsync(file.fileno())
    fsync_dir(path.parent)
