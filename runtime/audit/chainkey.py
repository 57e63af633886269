"""The chain key: what makes an entry's hash a link that only the holder of the key can forge.

An entry's ``hash`` is HMAC-SHA256, under the chain key, of the entry's canonical JSON without
``hash``; its ``prev`` is the hash of the entry before it. Without the key, an edited, removed or
renumbered entry cannot be given a hash that verifies, and neither can any entry after it.

The key lives apart from the log, in a 0700 directory of its own (``[audit] key_dir``; by default
``audit-keys`` beside the log), as ``chain.key``: a 0600 JSON file holding the key and
``legacy_until``, the last seq written before the log was keyed. Logs written before skillrt
keyed its chain carry unkeyed sha256 hashes: those are accepted up to ``legacy_until`` and never
after it, so a rewrite cannot pass keyed entries off as old ones, and the first keyed entry's
``prev`` pins the unkeyed entries before it. The first entry of a new log makes its key; an
older log is keyed only by ``skillrt audit adopt``, the operator's word that its unkeyed entries
are skillrt's own. A writer never keys a log that has entries: a chain key moved away looks
just like one never made, and keying on its own would bless whatever the log was rewritten to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from runtime.audit.entry import entry_hashes
from runtime.audit.keys import create_private, private_dir, read_private
from runtime.errors import IntegrityError
from runtime.util.canonical import canonical_bytes, strict_json

__all__ = [
    "ChainKey",
    "Link",
    "chain_key_for_append",
    "create_chain_key",
    "default_key_dir",
    "link_kind",
    "missing_key",
    "read_chain_key",
    "require_chain_key",
]

_KEY_FILE = "chain.key"
_KEY_BYTES = 32


class Link(Enum):
    KEYED = "keyed"
    UNKEYED = "unkeyed"  # written before skillrt keyed its chain


@dataclass(frozen=True, kw_only=True)
class ChainKey:
    path: Path
    material: bytes = field(repr=False)
    legacy_until: int  # the last seq written before the log was keyed; 0 when none was

    @property
    def log_id(self) -> str:
        """Names the log in anchors; a fingerprint, so it says nothing of the key."""
        return hashlib.sha256(b"skillrt audit log id\0" + self.material).hexdigest()[:32]

    def link(self, body: Mapping[str, Any]) -> str:
        unsigned = {k: v for k, v in body.items() if k != "hash"}
        return hmac.new(self.material, canonical_bytes(unsigned), hashlib.sha256).hexdigest()

    def holds(self, body: Mapping[str, Any]) -> bool:
        """Whether a line's hash is one this log may carry at the line's seq."""
        kind = link_kind(self, body)
        return kind is Link.KEYED or (kind is Link.UNKEYED and body["seq"] <= self.legacy_until)


def default_key_dir(log: Path) -> Path:
    return log.parent / "audit-keys"


def link_kind(key: ChainKey | None, body: Mapping[str, Any]) -> Link | None:
    """How a parsed line's hash was made, or None when it matches its content neither way.

    Raises ValueError for content nested too deeply to canonicalize.
    """
    given = str(body["hash"]).encode()
    if key is not None and hmac.compare_digest(key.link(body).encode(), given):
        return Link.KEYED
    if body["hash"] in entry_hashes(body):
        return Link.UNKEYED
    return None


def read_chain_key(directory: Path) -> ChainKey | None:
    """The chain key kept in ``directory``, or None when there is none yet."""
    if not private_dir(directory, create=False):
        return None
    path = directory / _KEY_FILE
    data = read_private(path)
    return None if data is None else _parse(path, data)


def create_chain_key(directory: Path, *, legacy_until: int) -> ChainKey:
    """A new chain key for a log whose last unkeyed seq is ``legacy_until``."""
    private_dir(directory, create=True)
    path = directory / _KEY_FILE
    document = {"key": os.urandom(_KEY_BYTES).hex(), "legacy_until": legacy_until}
    create_private(path, (json.dumps(document) + "\n").encode())
    data = read_private(path)  # another process may have made it first: theirs holds
    assert data is not None
    return _parse(path, data)


def chain_key_for_append(directory: Path, log: Path, last: Mapping[str, Any] | None) -> ChainKey:
    """The key that links the entry after ``last`` (the log's last line; None for an empty log).

    Never forks a chain: a key is made only for a log whose last line is unkeyed, and an
    existing key must be the one the last line was written with.
    """
    key = read_chain_key(directory)
    if last is None:
        return key or create_chain_key(directory, legacy_until=0)
    if key is None:
        raise IntegrityError(_unkeyed_log(log, directory))
    if not _may_follow(key, last):
        raise IntegrityError(
            f"{log}: the last entry was not written with the chain key {key.path}; "
            "run `skillrt audit verify`"
        )
    return key


def require_chain_key(directory: Path, log: Path) -> None:
    """Refuses a log that has entries but no chain key in ``directory`` (see ``missing_key``)."""
    if read_chain_key(directory) is None and _has_bytes(log):
        raise IntegrityError(_unkeyed_log(log, directory))


def missing_key(directory: Path) -> str:
    """That a log with entries has no chain key, and the two ways out."""
    return (
        f"no chain key in {directory}; if the key was moved, point [audit] key_dir (or "
        "SKILLRT_AUDIT_KEY_DIR) at it; if the log was written before skillrt keyed its chain, "
        "run `skillrt audit adopt`"
    )


def _unkeyed_log(log: Path, directory: Path) -> str:
    return f"{log}: has entries but {missing_key(directory)}"


def _has_bytes(log: Path) -> bool:
    try:
        return log.stat().st_size > 0
    except FileNotFoundError:
        return False


def _may_follow(key: ChainKey, last: Mapping[str, Any]) -> bool:
    try:
        return key.holds(last)
    except ValueError:  # nested too deeply: nothing skillrt writes
        return False


def _parse(path: Path, data: bytes) -> ChainKey:
    try:
        document = strict_json(data)
        material = bytes.fromhex(document["key"])
        legacy_until = document["legacy_until"]
    except (ValueError, TypeError, KeyError) as exc:
        raise IntegrityError(f"{path}: not a chain key file") from exc
    if len(material) != _KEY_BYTES:
        raise IntegrityError(f"{path}: expected a {_KEY_BYTES}-byte key")
    if not isinstance(legacy_until, int) or isinstance(legacy_until, bool) or legacy_until < 0:
        raise IntegrityError(f"{path}: legacy_until must be a seq")
    return ChainKey(path=path, material=material, legacy_until=legacy_until)
