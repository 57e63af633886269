"""The daemon's trusted signers: the public keys whose signatures it accepts, by name.

Kept in the main database and changed only through this store, which keeps the trusted set in
memory, replaced whole on every change: the catalog asks for it on every call, from the event
loop, and a change takes effect on the next call. A name is one signer and a key is trusted
once: a second name for the same key would make the name a signature is shown under a matter
of chance.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from runtime.core.signing import SIGNER_NAME, TrustedKey, key_id, load_public_key, public_pem
from runtime.errors import BadRequest, NoSuchEntity, WrongState
from runtime.state.db import Database

__all__ = ["Signer", "SignerStore", "TrustedSet"]

_COLUMNS = "key_id, name, public_key_pem, trusted_by, trusted_ms"
_GENERATIONS = itertools.count(1)


@dataclass(frozen=True, kw_only=True)
class Signer:
    name: str
    key_id: str
    public_key_pem: str
    trusted_by: str
    trusted_ms: int

    def trusted_key(self) -> TrustedKey:
        key = load_public_key(self.public_key_pem, f"signer {self.name}")
        return TrustedKey(name=self.name, key_id=self.key_id, public_key=key)


@dataclass(frozen=True, kw_only=True)
class TrustedSet:
    """The keys trusted at one moment; ``generation`` differs whenever the set does."""

    generation: int
    keys: Mapping[str, TrustedKey]  # by key id


class SignerStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._trusted = self._read()

    def trusted(self) -> TrustedSet:
        """The trusted keys as of the last change; no database read."""
        return self._trusted

    def list(self) -> list[Signer]:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM signers ORDER BY name").rows
        return [_signer(row) for row in rows]

    def get(self, name: str) -> Signer:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM signers WHERE name = ?", (name,)).one()
        if row is None:
            raise NoSuchEntity(f"no trusted signer named {name!r}")
        return _signer(row)

    def new(self, *, name: str, public_key_pem: str, trusted_by: str, now_ms: int) -> Signer:
        """A signer to trust, not yet stored (see ``add``): whoever trusts it can audit it
        first. The same name or the same key a second time is refused."""
        if not SIGNER_NAME.match(name):
            raise BadRequest(f"name: {name!r} must match {SIGNER_NAME.pattern}")
        key = load_public_key(public_key_pem, "public_key_pem")
        signer = Signer(
            name=name,
            key_id=key_id(key),
            public_key_pem=public_pem(key),
            trusted_by=trusted_by,
            trusted_ms=now_ms,
        )
        for known in self.list():
            if known.name == name:
                raise WrongState(f"name: {name!r} already names key {known.key_id}")
            if known.key_id == signer.key_id:
                raise WrongState(f"key {signer.key_id} is already trusted, as {known.name!r}")
        return signer

    def add(self, signer: Signer) -> Signer:
        self.db.execute(
            f"INSERT INTO signers ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            (
                signer.key_id,
                signer.name,
                signer.public_key_pem,
                signer.trusted_by,
                signer.trusted_ms,
            ),
        )
        self._trusted = self._read()
        return signer

    def remove(self, name: str) -> Signer:
        signer = self.get(name)
        self.db.execute("DELETE FROM signers WHERE key_id = ?", (signer.key_id,))
        self._trusted = self._read()
        return signer

    def _read(self) -> TrustedSet:
        keys = {signer.key_id: signer.trusted_key() for signer in self.list()}
        return TrustedSet(generation=next(_GENERATIONS), keys=MappingProxyType(keys))


def _signer(row: tuple[Any, ...]) -> Signer:
    key, name, pem, trusted_by, trusted_ms = row
    return Signer(
        name=name, key_id=key, public_key_pem=pem, trusted_by=trusted_by, trusted_ms=trusted_ms
    )
