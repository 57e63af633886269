"""Sweeping egress directories left by a process that died, without touching live ones."""

from __future__ import annotations

import asyncio
import os
import tempfile

import pytest

from runtime.sandbox.egress.policy import EgressSettings
from runtime.sandbox.egress.proxy import EgressLimits
from runtime.sandbox.egress.session import EgressSession, remove_stale_sessions
from runtime.sandbox.nsjail import SANDBOX_GID, SANDBOX_UID


def test_the_sweep_keeps_live_sessions_and_removes_dead_ones(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A live session's directory (even once hidden) survives; one nobody holds is removed; and
    the sweep never connects to a proxy (a connection would count as an outsider's)."""

    async def go() -> tuple[bool, bool, bool, int]:
        live = await EgressSession.open(
            rules=(),
            limits=EgressLimits(bytes=1024, connections=1),
            settings=EgressSettings(),
            owner_uid=SANDBOX_UID,
            owner_gid=SANDBOX_GID,
        )
        live.hide()
        dead = tempfile.mkdtemp(prefix="s-", dir=os.path.dirname(live.directory))
        try:
            await asyncio.to_thread(remove_stale_sessions)
            await asyncio.sleep(0.2)  # a connection the sweep made would be refused meanwhile
            kept, swept = os.path.isdir(live.directory), not os.path.exists(dead)
        finally:
            report = await live.close()
        return kept, swept, not os.path.exists(live.directory), len(report.attempts)

    kept, swept, closed, attempts = asyncio.run(go())
    assert kept and swept and closed
    assert attempts == 0
    printed = capfd.readouterr()
    assert "outsider_refused" not in printed.out + printed.err
