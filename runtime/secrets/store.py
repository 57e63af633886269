"""Secrets at rest: AES-256-GCM values in SQLite, the key kept apart from the data.

Each value is encrypted with a fresh random 96-bit nonce, its name and kind bound as associated
data (a row copied under another name, or a credential relabelled as a plain value, fails to
decrypt). The key comes from a ``KeySource`` (``keys``). Every row records the id of its key, so
a key rotation that was interrupted is finished or undone on the next open.

Values never appear in exceptions, reprs or logs: messages name secrets, never their values.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from runtime.errors import BadRequest, IntegrityError, NoSuchEntity, NotAllowed
from runtime.secrets.keys import Key, KeySource
from runtime.secrets.names import check_secret_name
from runtime.state.schema import open_secrets
from runtime.util.clock import SYSTEM_CLOCK, Clock

__all__ = ["NONCE_BYTES", "Kind", "SecretInfo", "SecretStore"]

NONCE_BYTES = 12
# The kernel refuses an execve whose single environment string ("NAME=value\0") exceeds this
# (MAX_ARG_STRLEN), and every value must be able to reach a sandbox's environment.
_MAX_ENV_STRING = 131072


class Kind(StrEnum):
    VALUE = "value"  # given to a skill as it is
    OAUTH = "oauth"  # an OAuth credential: a skill gets an access token minted from it


@dataclass(frozen=True, kw_only=True)
class SecretInfo:
    """A secret's metadata; never its value."""

    name: str
    kind: Kind
    key_id: str
    created_ms: int
    rotated_ms: int  # when the value was last replaced (equal to created_ms until then)
    revoked_ms: int | None
    used_by: tuple[str, ...]  # skills whose manifest declares it


class SecretStore:
    """Encrypted secrets in their own SQLite database; safe to share between threads."""

    def __init__(self, path: Path, keys: KeySource, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.path = path
        self._keys = keys
        self._clock = clock
        self._lock = threading.RLock()
        self._key: Key | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600 before SQLite opens it; SQLite gives its journal the same mode.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        self._db = open_secrets(path)
        self._finish_interrupted_rotation()

    def __repr__(self) -> str:
        return f"SecretStore({self.path})"

    def close(self) -> None:
        self._db.close()

    def set(self, name: str, value: bytes, *, kind: Kind = Kind.VALUE) -> None:
        """Store ``value`` under ``name``, replacing (and un-revoking) any earlier value."""
        _check_name(name)
        _check_value(name, value)
        now = self._clock.now_ms()
        with self._lock, self._db.transaction():
            key = self._key_for_writing()
            nonce, ciphertext = _encrypt(key, name, kind, value)
            self._db.execute(
                "INSERT INTO secrets (name, kind, key_id, nonce, ciphertext, created_ms,"
                " rotated_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                " kind = excluded.kind, key_id = excluded.key_id, nonce = excluded.nonce,"
                " ciphertext = excluded.ciphertext, rotated_ms = excluded.rotated_ms,"
                " revoked_ms = NULL",
                (name, kind.value, key.id, nonce, ciphertext, now, now),
            )

    def replace(self, name: str, value: bytes) -> None:
        """A new value for an existing, unrevoked secret of the same kind (a refreshed token).

        Unlike ``set`` this never un-revokes: a revocation made meanwhile wins.
        """
        _check_value(name, value)
        now = self._clock.now_ms()
        with self._lock, self._db.transaction():
            kind, _, _, _, revoked_ms = self._row(name)
            _refuse_revoked(name, revoked_ms)
            key = self._key_for_writing()
            nonce, ciphertext = _encrypt(key, name, kind, value)
            self._db.execute(
                "UPDATE secrets SET key_id = ?, nonce = ?, ciphertext = ?, rotated_ms = ?"
                " WHERE name = ?",
                (key.id, nonce, ciphertext, now, name),
            )

    def get(self, name: str) -> bytes:
        _check_name(name)
        with self._lock:
            kind, key_id, nonce, ciphertext, revoked_ms = self._row(name)
            _refuse_revoked(name, revoked_ms)
            return _decrypt(self._key_for(name, key_id), name, kind, nonce, ciphertext)

    def kind(self, name: str) -> Kind:
        _check_name(name)
        with self._lock:
            return self._row(name)[0]

    def names(self, users: Mapping[str, tuple[str, ...]] | None = None) -> list[SecretInfo]:
        """Every secret, each with the skills ``users`` says may receive it."""
        users = users or {}
        with self._lock:
            rows = self._db.execute(
                "SELECT name, kind, key_id, created_ms, rotated_ms, revoked_ms FROM secrets"
                " ORDER BY name"
            ).rows
        return [
            SecretInfo(
                name=name,
                kind=Kind(kind),
                key_id=key_id,
                created_ms=created_ms,
                rotated_ms=rotated_ms,
                revoked_ms=revoked_ms,
                used_by=users.get(name, ()),
            )
            for name, kind, key_id, created_ms, rotated_ms, revoked_ms in rows
        ]

    def remove(self, name: str) -> None:
        _check_name(name)
        with self._lock:
            if self._db.execute("DELETE FROM secrets WHERE name = ?", (name,)).rowcount == 0:
                raise NoSuchEntity(f"secret {name} is not set")

    def revoke(self, name: str) -> None:
        """Stop every further use of ``name`` until a new value is set."""
        _check_name(name)
        with self._lock:
            updated = self._db.execute(
                "UPDATE secrets SET revoked_ms = COALESCE(revoked_ms, ?) WHERE name = ?",
                (self._clock.now_ms(), name),
            ).rowcount
        if updated == 0:
            raise NoSuchEntity(f"secret {name} is not set")

    def rotate_key(self, new_key: bytes | None = None) -> Key:
        """Re-encrypt every secret under a new key, in one transaction; returns the new key.

        With a key file the new key is generated and the file replaced once the rows are
        committed; with an external source the caller gives ``new_key`` and updates the source.
        """
        # The new key is staged inside the write transaction, so that a store opening in
        # another process (which finishes or undoes interrupted rotations under the same lock)
        # never sees a rotation half-way.
        with self._lock, self._db.transaction():
            current = self._reload_key()
            fresh = self._keys.stage(new_key)
            try:
                if fresh.id == current.id:
                    raise BadRequest("the new key is the current key")
                self._reencrypt(current, fresh)
            except BaseException:
                self._keys.abort()
                raise
        self._keys.commit(fresh)
        self._key = fresh
        return fresh

    def _reencrypt(self, current: Key, fresh: Key) -> None:
        rows = self._db.execute("SELECT name, kind, key_id, nonce, ciphertext FROM secrets").rows
        for name, kind, key_id, nonce, ciphertext in rows:
            if key_id != current.id:
                raise _wrong_key(name, key_id, current, self._keys)
            value = _decrypt(current, name, Kind(kind), nonce, ciphertext)
            new_nonce, new_ciphertext = _encrypt(fresh, name, Kind(kind), value)
            self._db.execute(
                "UPDATE secrets SET key_id = ?, nonce = ?, ciphertext = ? WHERE name = ?",
                (fresh.id, new_nonce, new_ciphertext, name),
            )

    def _row(self, name: str) -> tuple[Kind, str, bytes, bytes, int | None]:
        row = self._db.execute(
            "SELECT kind, key_id, nonce, ciphertext, revoked_ms FROM secrets WHERE name = ?",
            (name,),
        ).one()
        if row is None:
            raise NoSuchEntity(f"secret {name} is not set (skillrt secrets set {name})")
        kind, key_id, nonce, ciphertext, revoked_ms = row
        return Kind(kind), key_id, nonce, ciphertext, revoked_ms

    def _current_key(self) -> Key:
        if self._key is None:
            self._key = self._keys.load()
        return self._key

    def _reload_key(self) -> Key:
        self._key = self._keys.load()
        return self._key

    def _key_for(self, name: str, key_id: str) -> Key:
        """The key a row was encrypted with; another process may have rotated it meanwhile."""
        current = self._current_key()
        if current.id == key_id:
            return current
        current = self._reload_key()
        if current.id == key_id:
            return current
        staged = self._keys.staged()  # rows committed, key file not renamed yet
        if staged is not None and staged.id == key_id:
            return staged
        raise _wrong_key(name, key_id, current, self._keys)

    def _key_for_writing(self) -> Key:
        """The key new rows must use; called inside a write transaction.

        Another process may have rotated the key since it was cached: a row written under the
        old key after that rotation committed would become unreadable once the old key file is
        replaced. The transaction holds SQLite's write lock, so no rotation can commit meanwhile.
        """
        staged = self._keys.staged()
        if staged is not None and self._uses(staged):
            return staged  # a rotation committed; its key file is not renamed yet
        return self._reload_key()

    def _uses(self, key: Key) -> bool:
        found = self._db.execute("SELECT 1 FROM secrets WHERE key_id = ? LIMIT 1", (key.id,))
        return found.one() is not None

    def _finish_interrupted_rotation(self) -> None:
        """Rows already under a staged key: rename it into place; else the rotation failed."""
        if self._keys.staged() is None:
            return
        with self._db.transaction():
            staged = self._keys.staged()
            if staged is not None and self._uses(staged):
                self._keys.commit(staged)
            elif staged is not None:
                self._keys.abort()


def _check_name(name: str) -> None:
    try:
        check_secret_name(name)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc


def _check_value(name: str, value: bytes) -> None:
    # Every value must be able to become an environment variable of a sandbox.
    if not value:
        raise BadRequest(f"secret {name}: the value is empty")
    if b"\0" in value:
        raise BadRequest(f"secret {name}: the value contains a NUL byte")
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"secret {name}: the value is not UTF-8 text") from exc
    if len(name) + 1 + len(value) + 1 > _MAX_ENV_STRING:
        raise BadRequest(f"secret {name}: the value is too long for an environment variable")


def _refuse_revoked(name: str, revoked_ms: int | None) -> None:
    if revoked_ms is not None:
        raise NotAllowed(f"secret {name} was revoked")


def _aad(name: str, kind: Kind) -> bytes:
    return f"skillrt secret\0{name}\0{kind.value}".encode()


def _encrypt(key: Key, name: str, kind: Kind, value: bytes) -> tuple[bytes, bytes]:
    nonce = os.urandom(NONCE_BYTES)
    return nonce, AESGCM(key.material).encrypt(nonce, value, _aad(name, kind))


def _decrypt(key: Key, name: str, kind: Kind, nonce: bytes, ciphertext: bytes) -> bytes:
    try:
        return AESGCM(key.material).decrypt(nonce, ciphertext, _aad(name, kind))
    except InvalidTag as exc:
        raise IntegrityError(
            f"secret {name}: cannot decrypt: the stored row was altered or moved"
        ) from exc


def _wrong_key(name: str, key_id: str, current: Key, keys: KeySource) -> IntegrityError:
    return IntegrityError(
        f"secret {name} is encrypted under key {key_id}, but {keys.describe()} holds key "
        f"{current.id}"
    )
