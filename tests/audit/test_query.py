"""Reading the log: filters by event, actor and time; tail; follow across a prune."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from runtime.audit.entry import Entry
from runtime.audit.events import (
    AUTH_FAILED,
    CONFIG_RELOADED,
    DATA_EXPORTED,
    INVOCATION_FINISHED,
    RPC_CALLED,
    TOKEN_CREATED,
    TOKEN_REVOKED,
)
from runtime.audit.query import Query, entries, tail
from runtime.audit.retention import prune
from runtime.audit.writer import AuditLog
from tests.audit.conftest import DAY, START, Clock


def _mixed_log(log_path: Path, clock: Clock) -> AuditLog:
    log = AuditLog(log_path, clock=clock)
    events = [
        (TOKEN_CREATED, "owner"),
        (RPC_CALLED, "agent-1"),
        (TOKEN_REVOKED, "owner"),
        (INVOCATION_FINISHED, "agent-1"),
        (AUTH_FAILED, "unknown"),
    ]
    for day, (event, actor) in enumerate(events):
        clock.now = START + day * DAY
        log.append(event, actor=actor)
    return log


def _events(found: Iterable[Entry]) -> list[str]:
    return [e.event for e in found]


def test_filter_by_event_and_family(log_path: Path, clock: Clock) -> None:
    """An exact event name or a family like token.* selects entries."""
    _mixed_log(log_path, clock)
    assert _events(entries(log_path, Query(events=["token.*"]))) == [
        TOKEN_CREATED,
        TOKEN_REVOKED,
    ]
    only = Query(events=[AUTH_FAILED, RPC_CALLED])
    assert _events(entries(log_path, only)) == [RPC_CALLED, AUTH_FAILED]


def test_filter_by_actor_and_time(log_path: Path, clock: Clock) -> None:
    """since is inclusive, until exclusive, actor exact."""
    _mixed_log(log_path, clock)
    since = datetime.fromtimestamp(START + 1 * DAY, UTC)
    until = datetime.fromtimestamp(START + 3 * DAY, UTC)
    window = Query(since=since, until=until)
    assert _events(entries(log_path, window)) == [RPC_CALLED, TOKEN_REVOKED]
    mine = Query(actor="agent-1")
    assert _events(entries(log_path, mine)) == [
        RPC_CALLED,
        INVOCATION_FINISHED,
    ]


def test_tail_gives_the_last_matching_entries(log_path: Path, clock: Clock) -> None:
    """tail(n) is the n newest entries that match."""
    _mixed_log(log_path, clock)
    assert [e.seq for e in tail(log_path, 2)] == [4, 5]
    assert _events(tail(log_path, 1, Query(events=["token.*"]))) == [TOKEN_REVOKED]


def test_follow_sees_new_entries_across_a_prune(log_path: Path, clock: Clock) -> None:
    """Following yields new entries, also after a prune replaced the file."""
    log = _mixed_log(log_path, clock)
    done = threading.Event()
    seen: list[int] = []

    def write_more() -> None:
        clock.now = START + 40 * DAY
        log.append(CONFIG_RELOADED, actor="skillrt")
        prune(log_path, older_than_ms=86_400_000, now=clock.now)
        log.append(DATA_EXPORTED, actor="owner")

    following = tail(log_path, 1, follow=True, poll_seconds=0.01, stop=done.is_set)
    assert next(following).seq == 5  # the backlog is read: what comes next is new
    writer = threading.Thread(target=write_more)
    writer.start()
    for entry in following:
        seen.append(entry.seq)
        if entry.event == DATA_EXPORTED:
            done.set()
            break
    writer.join()
    assert seen == [6, 7]
