"""Adopting a log written before skillrt keyed its chain: the operator's act, never automatic.

An unkeyed log's hashes are plain sha256, which anyone who can write the log can recompute, so
nothing in the log itself tells an old log from one rewritten after its chain key was moved
away. Keying it therefore takes the operator's word: the unkeyed chain must hold link by link,
the new key's ``legacy_until`` is its last seq, and the log itself records the adoption, in the
first entry written under the new key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runtime.audit.chainkey import create_chain_key, default_key_dir
from runtime.audit.entry import Entry
from runtime.audit.events import AUDIT_ADOPTED
from runtime.audit.lock import ProcessLock
from runtime.audit.verify import check
from runtime.audit.writer import AuditLog
from runtime.errors import IntegrityError, WrongState

__all__ = ["Adoption", "adopt"]


@dataclass(frozen=True, kw_only=True)
class Adoption:
    key: Path
    legacy_until: int
    entry: Entry  # the audit.adopted entry, the first keyed one


def adopt(log: Path, *, actor: str, keys: Path | None = None) -> Adoption:
    """Key the unkeyed ``log`` (refused when it is keyed, empty, or its chain does not hold)."""
    directory = keys or default_key_dir(log)
    with ProcessLock(log):
        verdict = check(log, keys=directory, unkeyed=True)
        if verdict.key is not None:
            raise WrongState(f"{log}: already keyed by {verdict.key.path}")
        if verdict.broken is not None:
            raise IntegrityError(f"{log}: {verdict.broken}; refusing to adopt a broken chain")
        if verdict.last is None:
            raise WrongState(f"{log}: no entries to adopt; a new log is keyed by its first entry")
        key = create_chain_key(directory, legacy_until=verdict.last.seq)
    entry = AuditLog(log, keys=directory).append(
        AUDIT_ADOPTED, actor=actor, legacy_until=key.legacy_until
    )
    return Adoption(key=key.path, legacy_until=key.legacy_until, entry=entry)
