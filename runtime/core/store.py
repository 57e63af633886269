"""SQLite state: every invocation the daemon accepted, from queued to finished.

The daemon is a single process and each statement is short, so the store is synchronous and
shared by the event loop; WAL keeps readers (``skillrt status``) from blocking it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runtime.core.records import InvocationRecord, State, result_from_json, result_to_json
from runtime.errors import BadRequest, NoSuchEntity
from runtime.sandbox.result import SandboxResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS invocations (
    id TEXT PRIMARY KEY,
    skill TEXT NOT NULL,
    tool TEXT NOT NULL,
    version TEXT NOT NULL,
    profile TEXT NOT NULL,
    principal TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    created_ms INTEGER NOT NULL,
    started_ms INTEGER,
    finished_ms INTEGER,
    status TEXT,
    result_json TEXT,
    output_json TEXT,
    approval_id TEXT
);
CREATE INDEX IF NOT EXISTS invocations_state ON invocations (state);
"""
_COLUMNS = (
    "id, skill, tool, version, profile, principal, state, created_ms, finished_ms, result_json,"
    " output_json, approval_id"
)


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        path.chmod(0o600)

    def close(self) -> None:
        self._db.close()

    def create(
        self, record: InvocationRecord, *, request_hash: str, idempotency_key: str | None
    ) -> None:
        try:
            self._db.execute(
                "INSERT INTO invocations (id, skill, tool, version, profile, principal, state,"
                " request_hash, idempotency_key, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.skill,
                    record.tool,
                    record.version,
                    record.profile,
                    record.principal,
                    record.state.value,
                    request_hash,
                    f"{record.principal}\0{idempotency_key}" if idempotency_key else None,
                    record.created_ms,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise BadRequest("idempotency_key: already used by another invocation") from exc

    def by_idempotency_key(self, principal: str, key: str) -> tuple[InvocationRecord, str] | None:
        """The invocation ``principal`` recorded under ``key`` and its request hash, if any."""
        row = self._db.execute(
            f"SELECT {_COLUMNS}, request_hash FROM invocations WHERE idempotency_key = ?",
            (f"{principal}\0{key}",),
        ).fetchone()
        return (_record(row[:-1]), row[-1]) if row else None

    def mark_running(self, invocation_id: str, now_ms: int) -> None:
        self._db.execute(
            "UPDATE invocations SET state = ?, started_ms = ? WHERE id = ?",
            (State.RUNNING.value, now_ms, invocation_id),
        )

    def finish(
        self, invocation_id: str, result: SandboxResult, output_json: str | None, now_ms: int
    ) -> None:
        self._db.execute(
            "UPDATE invocations SET state = ?, finished_ms = ?, status = ?, result_json = ?,"
            " output_json = ? WHERE id = ?",
            (
                State.FINISHED.value,
                now_ms,
                result.status.value,
                result_to_json(result),
                output_json,
                invocation_id,
            ),
        )

    def await_approval(self, invocation_id: str, approval_id: str) -> None:
        """The invocation waits for a person before it runs."""
        self._db.execute(
            "UPDATE invocations SET state = ?, approval_id = ? WHERE id = ?",
            (State.AWAITING_APPROVAL.value, approval_id, invocation_id),
        )

    def hold(
        self,
        invocation_id: str,
        result: SandboxResult,
        output_json: str | None,
        approval_id: str,
    ) -> None:
        """The invocation ran; its result is kept back until a person releases it."""
        self._db.execute(
            "UPDATE invocations SET state = ?, status = ?, result_json = ?, output_json = ?,"
            " approval_id = ? WHERE id = ?",
            (
                State.AWAITING_APPROVAL.value,
                result.status.value,
                result_to_json(result),
                output_json,
                approval_id,
                invocation_id,
            ),
        )

    def release(self, invocation_id: str, now_ms: int) -> None:
        """A held result is released to the agent."""
        self._db.execute(
            "UPDATE invocations SET state = ?, finished_ms = ? WHERE id = ?",
            (State.FINISHED.value, now_ms, invocation_id),
        )

    def get(self, invocation_id: str) -> InvocationRecord:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM invocations WHERE id = ?", (invocation_id,)
        ).fetchone()
        if row is None:
            raise NoSuchEntity(f"unknown invocation {invocation_id!r}")
        return _record(row)

    def interrupted(self) -> list[InvocationRecord]:
        """Invocations a stopped daemon left queued or running (those awaiting a person wait on)."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM invocations WHERE state IN (?, ?) ORDER BY created_ms",
            (State.QUEUED.value, State.RUNNING.value),
        ).fetchall()
        return [_record(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """Finished invocations per status, plus the queued and running ones per state."""
        rows = self._db.execute(
            "SELECT COALESCE(status, state), COUNT(*) FROM invocations GROUP BY 1"
        ).fetchall()
        return {str(name): int(count) for name, count in rows}

    def export_invocations(self, *, since_ms: int | None = None) -> Iterator[dict[str, Any]]:
        """Every invocation created at or after ``since_ms``, all columns, oldest first."""
        cursor = self._db.execute(
            "SELECT * FROM invocations WHERE created_ms >= ? ORDER BY created_ms, id",
            (since_ms or 0,),
        )
        return _dicts(cursor)

    def export_table(self, table: str) -> Iterator[dict[str, Any]] | None:
        """Every row of another table of this database (approvals, say); None if it is absent."""
        found = self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        if found is None:
            return None
        quoted = '"' + table.replace('"', '""') + '"'
        return _dicts(self._db.execute(f"SELECT * FROM {quoted} ORDER BY rowid"))

    def delete_finished(self, *, before_ms: int | None = None, principal: str | None = None) -> int:
        """Delete the finished invocations created before ``before_ms``, or made by ``principal``.

        Queued and running ones stay: the daemon still owns them. Returns how many went.
        """
        if (before_ms is None) == (principal is None):
            raise BadRequest("delete: give exactly one of a date or a principal")
        where, value = (
            ("created_ms < ?", before_ms) if before_ms is not None else ("principal = ?", principal)
        )
        cursor = self._db.execute(
            f"DELETE FROM invocations WHERE state = ? AND {where}", (State.FINISHED.value, value)
        )
        return cursor.rowcount


def _dicts(cursor: sqlite3.Cursor) -> Iterator[dict[str, Any]]:
    names = [column[0] for column in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


def _record(row: tuple[object, ...]) -> InvocationRecord:
    (
        id_,
        skill,
        tool,
        version,
        profile,
        who,
        state,
        created,
        finished,
        result_json,
        output_json,
        approval_id,
    ) = row
    return InvocationRecord(
        id=str(id_),
        skill=str(skill),
        tool=str(tool),
        version=str(version),
        profile=str(profile),
        principal=str(who),
        state=State(str(state)),
        created_ms=int(str(created)),
        finished_ms=int(str(finished)) if finished is not None else None,
        result=result_from_json(str(result_json)) if result_json is not None else None,
        output_json=str(output_json) if output_json is not None else None,
        approval_id=str(approval_id) if approval_id is not None else None,
    )
