"""Quarantines in SQLite: every one imposed, and its release, kept as history.

A row is active until it is released; at most one active row exists per skill name and content
hash (a partial unique index), so the same content cannot be quarantined twice at once. Released
rows stay: who quarantined what, why, and who let it go again.
"""

from __future__ import annotations

import json
from typing import Any

from runtime.core.quarantine import Quarantine
from runtime.state.db import Database

__all__ = ["QuarantineStore"]

_COLUMNS = (
    "skill, content_hash, kind, reason, counts_json, since_ms, quarantined_by, released_by,"
    " released_ms"
)


class QuarantineStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, quarantine: Quarantine) -> bool:
        """Store a new quarantine; False when the content is quarantined already."""
        cursor = self.db.execute(
            f"INSERT OR IGNORE INTO quarantines ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                quarantine.skill,
                quarantine.content_hash,
                quarantine.kind,
                quarantine.reason,
                json.dumps(quarantine.counts),
                quarantine.since_ms,
                quarantine.by,
                None,
                None,
            ),
        )
        return cursor.rowcount == 1

    def active(self) -> list[Quarantine]:
        """Every quarantine not yet released, oldest first."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM quarantines WHERE released_ms IS NULL ORDER BY since_ms, id"
        ).rows
        return [_quarantine(row) for row in rows]

    def release(self, skill: str, by: str, now_ms: int) -> list[Quarantine]:
        """Release every active quarantine of ``skill``, whatever its content; the released."""
        with self.db.transaction():
            rows = self.db.execute(
                f"SELECT {_COLUMNS} FROM quarantines WHERE skill = ? AND released_ms IS NULL"
                " ORDER BY since_ms, id",
                (skill,),
            ).rows
            self.db.execute(
                "UPDATE quarantines SET released_by = ?, released_ms = ?"
                " WHERE skill = ? AND released_ms IS NULL",
                (by, now_ms, skill),
            )
        return [_quarantine((*row[:7], by, now_ms)) for row in rows]


def _quarantine(row: tuple[Any, ...]) -> Quarantine:
    skill, content_hash, kind, reason, counts, since, by, released_by, released_ms = row
    return Quarantine(
        skill=skill,
        content_hash=content_hash,
        kind=kind,
        reason=reason,
        counts={str(k): int(v) for k, v in json.loads(counts).items()},
        since_ms=int(since),
        by=by,
        released_by=released_by,
        released_ms=released_ms,
    )
