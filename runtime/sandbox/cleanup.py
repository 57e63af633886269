"""Cleanup that runs to its end, whatever cancels the task that started it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

__all__ = ["to_completion"]


async def to_completion(cleanup: Coroutine[Any, Any, None]) -> None:
    """Run ``cleanup`` to its end even if the caller is cancelled (again) meanwhile.

    Cancellation often arrives twice (a client's deadline, then shutdown); a cleanup cut short
    would leave processes and cgroups behind. The cancellation is re-raised once it is done.
    """
    task = asyncio.ensure_future(cleanup)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    task.result()
    if cancelled:
        raise asyncio.CancelledError
