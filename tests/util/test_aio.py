"""A task cancelled the way the runner cancels runs its cleanup, even when it had not started."""

from __future__ import annotations

import asyncio
import contextlib

from runtime.util.aio import cancel_once_started


async def _cleaned_up(cancel: str) -> bool:
    cleaned = False

    async def body() -> None:
        nonlocal cleaned
        try:
            await asyncio.sleep(60)
        finally:
            cleaned = True

    task = asyncio.create_task(body())
    if cancel == "once started":
        cancel_once_started(task)
    else:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return cleaned


def test_a_task_cancelled_once_started_runs_its_finally() -> None:
    """Cancelled the moment it is made, the task still enters its body and cleans up."""
    assert asyncio.run(_cleaned_up("once started"))


def test_a_task_cancelled_before_it_ran_skips_its_body() -> None:
    """Why: a plain cancel of a task that never ran skips its try/finally altogether."""
    assert not asyncio.run(_cleaned_up("at once"))
