"""What calls used over a window, per skill or per principal, from the invocation records.

One grouped query over the usage columns: the index on (created_ms, skill, principal, state,
status, usage) covers it, so a report reads a range of that index and never a row's output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from runtime.core.records import State
from runtime.state.db import Database

__all__ = [
    "Grouping",
    "UsageBucket",
    "UsageQuery",
    "UsageReport",
    "UsageRow",
    "usage_over_time",
    "usage_report",
]


class Grouping(StrEnum):
    SKILL = "skill"
    PRINCIPAL = "principal"


@dataclass(frozen=True, kw_only=True)
class UsageQuery:
    since_ms: int = 0  # calls created at or after
    by: Grouping = Grouping.SKILL
    principal: str | None = None  # only this principal's calls


@dataclass(frozen=True, kw_only=True)
class UsageRow:
    key: str  # the skill's or principal's name; "" in a total
    calls: int = 0
    # Finished calls per status; the others per state (queued, running, awaiting_approval).
    statuses: dict[str, int] = field(default_factory=dict)
    cpu_ms: int = 0
    wall_ms: int = 0
    peak_memory_bytes: int = 0  # the most one call's sandbox held

    def plus(self, other: UsageRow) -> UsageRow:
        statuses = dict(self.statuses)
        for status, count in other.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
        return UsageRow(
            key=self.key,
            calls=self.calls + other.calls,
            statuses=statuses,
            cpu_ms=self.cpu_ms + other.cpu_ms,
            wall_ms=self.wall_ms + other.wall_ms,
            peak_memory_bytes=max(self.peak_memory_bytes, other.peak_memory_bytes),
        )


@dataclass(frozen=True, kw_only=True)
class UsageReport:
    rows: tuple[UsageRow, ...]  # the most CPU first
    total: UsageRow


def usage_report(db: Database, query: UsageQuery) -> UsageReport:
    """Calls, outcomes and usage per skill or principal since ``query.since_ms``."""
    column = {Grouping.SKILL: "skill", Grouping.PRINCIPAL: "principal"}[query.by]
    where = "created_ms >= ?"
    values: list[object] = [query.since_ms]
    if query.principal is not None:
        where += " AND principal = ?"
        values.append(query.principal)
    # A result held for approval has a status already: it counts as awaiting until released.
    outcome = "CASE WHEN state = ? THEN status ELSE state END"
    rows = db.execute(
        f"SELECT {column}, {outcome}, COUNT(*), COALESCE(SUM(cpu_ms), 0),"
        " COALESCE(SUM(wall_ms), 0), COALESCE(MAX(peak_memory_bytes), 0)"
        f" FROM invocations WHERE {where} GROUP BY 1, 2",
        (State.FINISHED.value, *values),
    ).rows
    grouped: dict[str, UsageRow] = {}
    for key, status, calls, cpu_ms, wall_ms, peak in rows:
        part = UsageRow(
            key=str(key),
            calls=int(calls),
            statuses={str(status): int(calls)},
            cpu_ms=int(cpu_ms),
            wall_ms=int(wall_ms),
            peak_memory_bytes=int(peak),
        )
        grouped[part.key] = grouped.get(part.key, UsageRow(key=part.key)).plus(part)
    ordered = tuple(sorted(grouped.values(), key=lambda row: (-row.cpu_ms, row.key)))
    total = UsageRow(key="")
    for row in ordered:
        total = total.plus(row)
    return UsageReport(rows=ordered, total=total)


@dataclass(frozen=True, kw_only=True)
class UsageBucket:
    """One skill's calls created within one span of time."""

    start_ms: int  # the span's start, a multiple of its length
    skill: str
    calls: int
    failures: int  # finished other than ok
    cpu_ms: int
    peak_memory_bytes: int  # the most one call's sandbox held


def usage_over_time(db: Database, query: UsageQuery, bucket_ms: int) -> list[UsageBucket]:
    """Per skill and per ``bucket_ms`` of creation time, since ``query.since_ms``, oldest
    first (``query.by`` is not used: the series are per skill)."""
    where = "created_ms >= ?"
    values: list[object] = [query.since_ms]
    if query.principal is not None:
        where += " AND principal = ?"
        values.append(query.principal)
    rows = db.execute(
        "SELECT (created_ms / ?) * ?, skill, COUNT(*),"
        " SUM(CASE WHEN state = ? AND status != ? THEN 1 ELSE 0 END),"
        " COALESCE(SUM(cpu_ms), 0), COALESCE(MAX(peak_memory_bytes), 0)"
        f" FROM invocations WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2",
        (bucket_ms, bucket_ms, State.FINISHED.value, "ok", *values),
    ).rows
    return [
        UsageBucket(
            start_ms=int(start),
            skill=str(skill),
            calls=int(calls),
            failures=int(failures),
            cpu_ms=int(cpu_ms),
            peak_memory_bytes=int(peak),
        )
        for start, skill, calls, failures, cpu_ms, peak in rows
    ]
