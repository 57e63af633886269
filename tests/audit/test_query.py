"""Reading the log: filters by event, actor and time; tail; follow across a prune."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from runtime.audit import log as audit
from tests.audit.conftest import DAY, START, Clock


def _mixed_log(log_path: Path, clock: Clock) -> audit.AuditLog:
    log = audit.AuditLog(log_path, clock=clock)
    events = [
        (audit.TOKEN_CREATED, "owner"),
        (audit.RPC_CALLED, "agent-1"),
        (audit.TOKEN_REVOKED, "owner"),
        (audit.INVOCATION_FINISHED, "agent-1"),
        (audit.AUTH_FAILED, "unknown"),
    ]
    for day, (event, actor) in enumerate(events):
        clock.now = START + day * DAY
        log.append(event, actor=actor)
    return log


def _events(found: Iterable[audit.Entry]) -> list[str]:
    return [e.event for e in found]


def test_filter_by_event_and_family(log_path: Path, clock: Clock) -> None:
    """An exact event name or a family like token.* selects entries."""
    _mixed_log(log_path, clock)
    assert _events(audit.entries(log_path, audit.Query(events=["token.*"]))) == [
        audit.TOKEN_CREATED,
        audit.TOKEN_REVOKED,
    ]
    only = audit.Query(events=[audit.AUTH_FAILED, audit.RPC_CALLED])
    assert _events(audit.entries(log_path, only)) == [audit.RPC_CALLED, audit.AUTH_FAILED]


def test_filter_by_actor_and_time(log_path: Path, clock: Clock) -> None:
    """since is inclusive, until exclusive, actor exact."""
    _mixed_log(log_path, clock)
    since = datetime.fromtimestamp(START + 1 * DAY, UTC)
    until = datetime.fromtimestamp(START + 3 * DAY, UTC)
    window = audit.Query(since=since, until=until)
    assert _events(audit.entries(log_path, window)) == [audit.RPC_CALLED, audit.TOKEN_REVOKED]
    mine = audit.Query(actor="agent-1")
    assert _events(audit.entries(log_path, mine)) == [
        audit.RPC_CALLED,
        audit.INVOCATION_FINISHED,
    ]


def test_tail_gives_the_last_matching_entries(log_path: Path, clock: Clock) -> None:
    """tail(n) is the n newest entries that match."""
    _mixed_log(log_path, clock)
    assert [e.seq for e in audit.tail(log_path, 2)] == [4, 5]
    assert _events(audit.tail(log_path, 1, audit.Query(events=["token.*"]))) == [
        audit.TOKEN_REVOKED
    ]


def test_follow_sees_new_entries_across_a_prune(log_path: Path, clock: Clock) -> None:
    """Following yields new entries, also after a prune replaced the file."""
    log = _mixed_log(log_path, clock)
    done = threading.Event()
    seen: list[int] = []

    def write_more() -> None:
        clock.now = START + 40 * DAY
        log.append(audit.CONFIG_RELOADED, actor="skillrt")
        audit.prune(log_path, older_than_ms=86_400_000, now=clock.now)
        log.append(audit.DATA_EXPORTED, actor="owner")

    following = audit.tail(log_path, 1, follow=True, poll_seconds=0.01, stop=done.is_set)
    assert next(following).seq == 5  # the backlog is read: what comes next is new
    writer = threading.Thread(target=write_more)
    writer.start()
    for entry in following:
        seen.append(entry.seq)
        if entry.event == audit.DATA_EXPORTED:
            done.set()
            break
    writer.join()
    assert seen == [6, 7]
