"""The usage report: calls, outcomes and usage per skill or principal over a window, from the
invocation records of a real SQLite database, through the index alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.core.records import InvocationRecord, State, result_to_json
from runtime.core.store import Store
from runtime.core.usage import Grouping, UsageQuery, usage_report
from runtime.sandbox.result import SandboxResult, Status, Usage, failed_result
from runtime.state.db import Database
from runtime.state.schema import MAIN, open_main


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_main(tmp_path / "skillrt.db") as db:
        yield Store(db)


def _call(
    store: Store, n: int, *, skill: str, who: str, at: int, status: Status | None, cpu: int = 0
) -> None:
    record = InvocationRecord(
        id=f"inv_{n}",
        skill=skill,
        tool="t",
        version="1",
        profile="default",
        principal=who,
        state=State.QUEUED,
        created_ms=at,
    )
    store.create(record, request_hash="h", idempotency_key=None)
    if status is not None:
        store.finish(
            record.id, _used(status, wall_ms=10 * cpu, cpu_ms=cpu, peak=1000 * cpu), None, at + 1
        )


def _used(status: Status, *, wall_ms: int, cpu_ms: int, peak: int) -> SandboxResult:
    usage = Usage(wall_ms=wall_ms, cpu_ms=cpu_ms, peak_memory_bytes=peak)
    return replace(failed_result(status, "x"), usage=usage)


def test_calls_outcomes_and_usage_per_skill_and_principal(store: Store) -> None:
    """Per skill: calls, counts per status (unfinished ones per state), CPU summed, peak max."""
    _call(store, 1, skill="a", who="p", at=100, status=Status.OK, cpu=5)
    _call(store, 2, skill="a", who="q", at=200, status=Status.NONZERO_EXIT, cpu=7)
    _call(store, 3, skill="b", who="p", at=300, status=None)
    _call(store, 4, skill="a", who="p", at=10, status=Status.OK, cpu=100)  # before the window
    report = usage_report(store.db, UsageQuery(since_ms=100))
    rows = {row.key: row for row in report.rows}
    assert rows["a"].calls == 2 and rows["a"].statuses == {"ok": 1, "nonzero_exit": 1}
    assert (rows["a"].cpu_ms, rows["a"].wall_ms, rows["a"].peak_memory_bytes) == (12, 120, 7000)
    assert rows["b"].statuses == {"queued": 1} and rows["b"].cpu_ms == 0
    assert [row.key for row in report.rows] == ["a", "b"]  # the most CPU first
    assert report.total.calls == 3 and report.total.cpu_ms == 12
    by_principal = usage_report(store.db, UsageQuery(since_ms=100, by=Grouping.PRINCIPAL))
    assert {row.key: row.calls for row in by_principal.rows} == {"p": 2, "q": 1}


def test_one_principal_sees_only_its_calls(store: Store) -> None:
    """Narrowed to a principal, others' calls are not counted."""
    _call(store, 1, skill="a", who="p", at=100, status=Status.OK, cpu=5)
    _call(store, 2, skill="a", who="q", at=100, status=Status.OK, cpu=9)
    report = usage_report(store.db, UsageQuery(principal="p"))
    assert [(row.key, row.calls, row.cpu_ms) for row in report.rows] == [("a", 1, 5)]


def test_a_held_result_counts_as_awaiting_approval(store: Store) -> None:
    """A run whose result waits for a person counts its usage, under awaiting_approval."""
    _call(store, 1, skill="a", who="p", at=100, status=None)
    held = replace(
        failed_result(Status.OK, "x"), usage=Usage(wall_ms=1, cpu_ms=3, peak_memory_bytes=9)
    )
    store.hold("inv_1", held, None, "apr_1")
    (row,) = usage_report(store.db, UsageQuery()).rows
    assert row.statuses == {"awaiting_approval": 1} and row.cpu_ms == 3


def test_the_report_reads_only_the_covering_index(store: Store) -> None:
    """The window is a range of the usage index, which holds every column the report reads."""
    plan = store.db.execute(
        "EXPLAIN QUERY PLAN SELECT skill, CASE WHEN state = 'finished' THEN status ELSE state END,"
        " COUNT(*), SUM(cpu_ms), SUM(wall_ms), MAX(peak_memory_bytes) FROM invocations"
        " WHERE created_ms >= 0 AND principal = 'p' GROUP BY 1, 2"
    ).rows
    assert any("COVERING INDEX invocations_usage" in str(step[-1]) for step in plan), plan


def test_usage_of_runs_recorded_before_the_columns_existed_is_filled_in(tmp_path: Path) -> None:
    """Opening a database of the first schema copies each result's usage into its columns."""
    path = tmp_path / "old.db"
    result = replace(
        failed_result(Status.OK, "x"), usage=Usage(wall_ms=4, cpu_ms=5, peak_memory_bytes=6)
    )
    with Database(path, MAIN[:1]) as old:
        old.execute(
            "INSERT INTO invocations (id, skill, tool, version, profile, principal, state,"
            " request_hash, created_ms, status, result_json) VALUES"
            " ('inv_1', 'a', 't', '1', 'default', 'p', 'finished', 'h', 1, 'ok', ?)",
            (result_to_json(result),),
        )
    with open_main(path) as db:
        (row,) = usage_report(db, UsageQuery()).rows
    assert (row.cpu_ms, row.wall_ms, row.peak_memory_bytes) == (5, 4, 6)
