"""Group commit: entries queued together reach the disk together, in order, and still verify."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from runtime.audit import events
from runtime.audit.background import BackgroundAudit
from runtime.audit.verify import verify
from runtime.audit.writer import AuditLog
from runtime.errors import BadRequest
from tests.audit.conftest import lines


def test_entries_appended_together_keep_their_order_and_verify(log_path: Path) -> None:
    log = AuditLog(log_path)
    results = log.append_all(
        [(events.RPC_CALLED, "agent", {"method": f"/m/{i}"}) for i in range(5)]
    )
    assert [r.seq for r in results if not isinstance(r, Exception)] == [1, 2, 3, 4, 5]
    assert verify(log_path) is None
    log.append(events.RPC_CALLED, actor="agent", method="/m/after")
    assert [json.loads(line)["seq"] for line in lines(log_path)] == [1, 2, 3, 4, 5, 6]
    assert verify(log_path) is None


def test_an_entry_that_is_not_json_fails_alone(log_path: Path) -> None:
    log = AuditLog(log_path)
    results = log.append_all(
        [
            (events.RPC_CALLED, "agent", {"method": "/m/1"}),
            (events.RPC_CALLED, "agent", {"method": object()}),
            (events.RPC_CALLED, "agent", {"method": "/m/3"}),
        ]
    )
    assert isinstance(results[1], BadRequest)
    assert [json.loads(line)["method"] for line in lines(log_path)] == ["/m/1", "/m/3"]
    assert verify(log_path) is None


def test_records_from_many_callers_each_wait_for_their_own_entry(log_path: Path) -> None:
    async def go() -> None:
        audit = BackgroundAudit(AuditLog(log_path))
        audit.emit(events.RPC_CALLED, actor="agent", method="/m/emitted")
        await asyncio.gather(
            *(audit.record(events.RPC_CALLED, actor="agent", method=f"/m/{i}") for i in range(50))
        )
        # Each record returned only once its entry was on disk.
        assert len(lines(log_path)) == 51
        await audit.close()

    asyncio.run(go())
    assert verify(log_path) is None
