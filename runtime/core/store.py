"""SQLite state: every invocation the daemon accepted, from queued to finished.

Its methods are synchronous and short; the daemon runs them on the database's worker thread
(``Database.call``), and WAL keeps readers (``skillrt status``) from blocking it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from runtime.core.records import (
    InvocationQuery,
    InvocationRecord,
    State,
    result_from_json,
    result_to_json,
)
from runtime.errors import BadRequest, NoSuchEntity
from runtime.sandbox.result import SandboxResult
from runtime.state.db import Database

__all__ = ["Store"]

_COLUMNS = (
    "id, skill, tool, version, profile, principal, state, created_ms, finished_ms, result_json,"
    " output_json, approval_id"
)
# A listing's columns: each result without what the tool printed, nor its output (a page of
# 500 calls that printed 1 MiB each would be a GiB); GetInvocation reads those.
_LISTED = (
    "id, skill, tool, version, profile, principal, state, created_ms, finished_ms,"
    " json_set(result_json, '$.stdout', '', '$.stderr', ''), NULL, approval_id"
)
# What a run used, beside its result: the usage report reads these (and their index) alone.
_USAGE = "wall_ms = ?, cpu_ms = ?, peak_memory_bytes = ?"


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self, record: InvocationRecord, *, request_hash: str, idempotency_key: str | None
    ) -> None:
        try:
            self.db.execute(
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
        row = self.db.execute(
            f"SELECT {_COLUMNS}, request_hash FROM invocations WHERE idempotency_key = ?",
            (f"{principal}\0{key}",),
        ).one()
        return (_record(row[:-1]), row[-1]) if row else None

    def requeue(self, invocation_id: str) -> None:
        """An approved invocation waits for a sandbox slot: no longer for a person."""
        self.db.execute(
            "UPDATE invocations SET state = ? WHERE id = ? AND state = ?",
            (State.QUEUED.value, invocation_id, State.AWAITING_APPROVAL.value),
        )

    def mark_running(self, invocation_id: str, now_ms: int) -> None:
        self.db.execute(
            "UPDATE invocations SET state = ?, started_ms = ? WHERE id = ?",
            (State.RUNNING.value, now_ms, invocation_id),
        )

    def finish(
        self, invocation_id: str, result: SandboxResult, output_json: str | None, now_ms: int
    ) -> None:
        self.db.execute(
            "UPDATE invocations SET state = ?, finished_ms = ?, status = ?, result_json = ?,"
            f" output_json = ?, {_USAGE} WHERE id = ?",
            (
                State.FINISHED.value,
                now_ms,
                result.status.value,
                result_to_json(result),
                output_json,
                *_usage(result),
                invocation_id,
            ),
        )

    def discard_output(self, invocation_id: str) -> None:
        """Forget a held result, leaving no copy of it on disk (nor in the WAL)."""
        self.db.execute(
            "UPDATE invocations SET result_json = NULL, output_json = NULL WHERE id = ?",
            (invocation_id,),
        )
        self.db.scrub()

    def await_approval(self, invocation_id: str, approval_id: str) -> None:
        """The invocation waits for a person before it runs."""
        self.db.execute(
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
        self.db.execute(
            "UPDATE invocations SET state = ?, status = ?, result_json = ?, output_json = ?,"
            f" approval_id = ?, {_USAGE} WHERE id = ?",
            (
                State.AWAITING_APPROVAL.value,
                result.status.value,
                result_to_json(result),
                output_json,
                approval_id,
                *_usage(result),
                invocation_id,
            ),
        )

    def release(self, invocation_id: str, now_ms: int) -> None:
        """A held result is released to the agent."""
        self.db.execute(
            "UPDATE invocations SET state = ?, finished_ms = ? WHERE id = ?",
            (State.FINISHED.value, now_ms, invocation_id),
        )

    def get(self, invocation_id: str) -> InvocationRecord:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM invocations WHERE id = ?", (invocation_id,)
        ).one()
        if row is None:
            raise NoSuchEntity(f"unknown invocation {invocation_id!r}")
        return _record(row)

    def find(self, query: InvocationQuery) -> list[InvocationRecord]:
        """Up to ``query.limit`` + 1 matching invocations, newest first (the one more says
        whether another page follows), without what each printed or output."""
        where: list[str] = ["1 = 1"]
        values: list[object] = []
        if query.states:
            where.append(f"state IN ({', '.join('?' for _ in query.states)})")
            values += [state.value for state in query.states]
        if query.statuses:
            where.append(f"status IN ({', '.join('?' for _ in query.statuses)})")
            values += [status.value for status in query.statuses]
        for column in ("skill", "tool", "principal"):
            if (value := getattr(query, column)) is not None:
                where.append(f"{column} = ?")
                values.append(value)
        if query.since_ms is not None:
            where.append("created_ms >= ?")
            values.append(query.since_ms)
        if query.before is not None:
            where.append("(created_ms < ? OR (created_ms = ? AND id < ?))")
            values += [query.before[0], query.before[0], query.before[1]]
        rows = self.db.execute(
            f"SELECT {_LISTED} FROM invocations WHERE {' AND '.join(where)}"
            " ORDER BY created_ms DESC, id DESC LIMIT ?",
            (*values, query.limit + 1),
        ).rows
        return [_record(r) for r in rows]

    def interrupted(self) -> list[InvocationRecord]:
        """Invocations a stopped daemon left queued or running (those awaiting a person wait on)."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM invocations WHERE state IN (?, ?) ORDER BY created_ms",
            (State.QUEUED.value, State.RUNNING.value),
        ).rows
        return [_record(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """Finished invocations per status, plus the queued and running ones per state."""
        rows = self.db.execute(
            "SELECT COALESCE(status, state), COUNT(*) FROM invocations GROUP BY 1"
        ).rows
        return {str(name): int(count) for name, count in rows}

    def export_invocations(self, *, since_ms: int | None = None) -> Iterator[dict[str, Any]]:
        """Every invocation created at or after ``since_ms``, all columns, oldest first."""
        return self.db.execute(
            "SELECT * FROM invocations WHERE created_ms >= ? ORDER BY created_ms, id",
            (since_ms or 0,),
        ).dicts()

    def export_table(self, table: str) -> Iterator[dict[str, Any]] | None:
        """Every row of another table of this database (approvals, say); None if it is absent."""
        found = self.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).one()
        if found is None:
            return None
        quoted = '"' + table.replace('"', '""') + '"'
        return self.db.execute(f"SELECT * FROM {quoted} ORDER BY rowid").dicts()

    def delete_finished(self, *, before_ms: int | None = None, principal: str | None = None) -> int:
        """Delete the finished invocations created before ``before_ms``, or made by ``principal``.

        Queued and running ones stay: the daemon still owns them. Returns how many went.
        """
        if (before_ms is None) == (principal is None):
            raise BadRequest("delete: give exactly one of a date or a principal")
        where, value = (
            ("created_ms < ?", before_ms) if before_ms is not None else ("principal = ?", principal)
        )
        return self.db.execute(
            f"DELETE FROM invocations WHERE state = ? AND {where}", (State.FINISHED.value, value)
        ).rowcount


def _usage(result: SandboxResult) -> tuple[int, int, int]:
    usage = result.usage
    return usage.wall_ms, usage.cpu_ms, usage.peak_memory_bytes


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
