"""The audit log's observer: it hears of every entry once, and of each the log could not take,
and nothing it does can cost an entry."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runtime.audit import events
from runtime.audit.background import BackgroundAudit
from runtime.audit.writer import AuditLog
from tests.audit.conftest import lines


class Observer:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.heard: list[tuple[str, dict[str, Any]]] = []
        self.lost: list[str] = []

    def audited(self, event: str, fields: Mapping[str, Any]) -> None:
        self.heard.append((event, dict(fields)))
        if self.fail:
            raise RuntimeError("a bug in the observer")

    def unwritten(self, event: str) -> None:
        self.lost.append(event)


def write(log_path: Path, observer: Observer) -> None:
    async def go() -> None:
        audit = BackgroundAudit(AuditLog(log_path), observer)
        audit.emit(events.AUTH_FAILED, actor="anonymous", peer="uid:1")
        await asyncio.gather(
            audit.record(events.RPC_CALLED, actor="agent", method="/m"), return_exceptions=True
        )
        await audit.close()

    asyncio.run(go())


def test_the_observer_hears_each_entry_once_with_its_fields(log_path: Path) -> None:
    """Emitted and recorded entries alike reach the observer, once each."""
    observer = Observer()
    write(log_path, observer)
    assert observer.heard == [
        (events.AUTH_FAILED, {"peer": "uid:1"}),
        (events.RPC_CALLED, {"method": "/m"}),
    ]
    assert observer.lost == []


def test_entries_the_log_cannot_take_are_reported_unwritten(log_path: Path) -> None:
    """A log that cannot be written (here a directory in its place) reports each entry lost."""
    log_path.mkdir(parents=True)
    observer = Observer()
    write(log_path, observer)
    assert observer.lost == [events.AUTH_FAILED, events.RPC_CALLED]


def test_an_observer_that_fails_costs_no_entry(log_path: Path) -> None:
    """An observer raising is logged; the entries are still written."""
    write(log_path, Observer(fail=True))
    assert len(lines(log_path)) == 2
