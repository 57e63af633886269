"""Bearer tokens: issued once, stored only as keyed hashes, revocable, rotatable.

A token reads ``skrt_<id>_<secret>``. The id is public (it names the token in lists, logs and
lockouts); the secret is 256 random bits. The store keeps HMAC-SHA256(server key, token) only, so
a stolen database does not yield usable tokens without the server key, which lives in a separate
0600 file.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from runtime.auth.roles import Role
from runtime.errors import BadRequest, NoSuchEntity, WrongState
from runtime.state.db import Database

__all__ = ["PREFIX", "TokenRecord", "TokenStore", "load_server_key", "token_id"]

PREFIX = "skrt_"
_TOKEN = re.compile(r"^skrt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass(frozen=True, kw_only=True)
class TokenRecord:
    id: str
    name: str
    role: Role
    created_ms: int
    expires_ms: int | None
    revoked_ms: int | None
    replaced_by: str | None

    def valid_at(self, now_ms: int) -> bool:
        if self.revoked_ms is not None and self.revoked_ms <= now_ms:
            return False
        return self.expires_ms is None or now_ms < self.expires_ms


def token_id(token: str) -> str | None:
    """The public id of a well-formed token, else None."""
    match = _TOKEN.match(token)
    return match.group(1) if match else None


def load_server_key(path: Path) -> bytes:
    """The HMAC key, created on first use with mode 0600."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
    if len(key) < 32:
        raise BadRequest(f"{path}: server key is too short")
    return key


class TokenStore:
    def __init__(self, db: Database, server_key: bytes) -> None:
        self._key = server_key
        self.db = db

    def _hash(self, token: str) -> bytes:
        return hmac.new(self._key, token.encode(), hashlib.sha256).digest()

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM tokens").rows[0][0])

    def mint(
        self,
        *,
        name: str,
        role: Role,
        now_ms: int,
        ttl_ms: int | None = None,
        _rotating: bool = False,
    ) -> tuple[TokenRecord, str]:
        """A new token, not yet stored (see ``insert``): whoever makes it can audit it first.
        A name is one identity (ownership, rate limits, approvals are by name), so it cannot be
        given to a second live token except by rotating the first."""
        if not _NAME.match(name):
            raise BadRequest(f"name: {name!r} must match {_NAME.pattern}")
        live = [r for r in self.list() if r.name == name and r.valid_at(now_ms)]
        if live and not _rotating:
            raise WrongState(
                f"name: {name!r} is already used by token {live[0].id}; rotate or revoke it"
            )
        new_id = secrets.token_hex(6)
        record = TokenRecord(
            id=new_id,
            name=name,
            role=role,
            created_ms=now_ms,
            expires_ms=now_ms + ttl_ms if ttl_ms else None,
            revoked_ms=None,
            replaced_by=None,
        )
        return record, f"{PREFIX}{new_id}_{secrets.token_urlsafe(32)}"

    def insert(self, record: TokenRecord, token: str) -> TokenRecord:
        """Store a minted token: from now on it authenticates."""
        self.db.execute(
            "INSERT INTO tokens (id, name, role, hash, created_ms, expires_ms)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.name,
                record.role.value,
                self._hash(token),
                record.created_ms,
                record.expires_ms,
            ),
        )
        return self.get(record.id)

    def verify(self, token: str, now_ms: int) -> TokenRecord | None:
        """The token's record when it is genuine and currently valid, else None.

        The work done is the same whether the id exists or not, so timing tells nothing.
        """
        presented = self._hash(token)
        found = token_id(token)
        row = None
        if found is not None:
            row = self.db.execute("SELECT hash FROM tokens WHERE id = ?", (found,)).one()
        stored = bytes(row[0]) if row else hashlib.sha256(b"no such token").digest()
        if not hmac.compare_digest(presented, stored) or row is None or found is None:
            return None
        record = self.get(found)
        return record if record.valid_at(now_ms) else None

    def get(self, id_: str) -> TokenRecord:
        row = self.db.execute(
            "SELECT id, name, role, created_ms, expires_ms, revoked_ms, replaced_by FROM tokens"
            " WHERE id = ?",
            (id_,),
        ).one()
        if row is None:
            raise NoSuchEntity(f"unknown token {id_!r}")
        return _record(row)

    def list(self) -> list[TokenRecord]:
        rows = self.db.execute(
            "SELECT id, name, role, created_ms, expires_ms, revoked_ms, replaced_by FROM tokens"
            " ORDER BY created_ms"
        ).rows
        return [_record(r) for r in rows]

    def revoke(self, id_: str, now_ms: int) -> TokenRecord:
        self.get(id_)
        self.db.execute(
            "UPDATE tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL", (now_ms, id_)
        )
        return self.get(id_)

    def successor(self, id_: str, *, now_ms: int) -> tuple[TokenRecord, str]:
        """The token that would replace ``id_`` (same name and role), not yet stored."""
        old = self.get(id_)
        if not old.valid_at(now_ms):
            raise BadRequest(f"id: token {id_!r} is revoked or expired")
        ttl = old.expires_ms - now_ms if old.expires_ms is not None else None
        return self.mint(name=old.name, role=old.role, now_ms=now_ms, ttl_ms=ttl, _rotating=True)

    def replace(
        self, id_: str, new: TokenRecord, token: str, *, overlap_ms: int, now_ms: int
    ) -> TokenRecord:
        """Store ``new`` in place of ``id_``, which stops after ``overlap_ms``; both or neither."""
        ends = now_ms + overlap_ms
        with self.db.transaction():
            stored = self.insert(new, token)
            self.db.execute(
                "UPDATE tokens SET replaced_by = ?, expires_ms = MIN(COALESCE(expires_ms, ?), ?)"
                " WHERE id = ?",
                (new.id, ends, ends, id_),
            )
        return stored


def _record(row: tuple[object, ...]) -> TokenRecord:
    id_, name, role, created, expires, revoked, replaced = row
    return TokenRecord(
        id=str(id_),
        name=str(name),
        role=Role(str(role)),
        created_ms=int(str(created)),
        expires_ms=int(str(expires)) if expires is not None else None,
        revoked_ms=int(str(revoked)) if revoked is not None else None,
        replaced_by=str(replaced) if replaced is not None else None,
    )
