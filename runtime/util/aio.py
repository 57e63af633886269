"""asyncio helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["cancel_once_started", "to_the_end"]

_T = TypeVar("_T")


def cancel_once_started(task: asyncio.Task[Any]) -> None:
    """Cancel ``task``, but only after its first step.

    A task cancelled before it ever ran never enters its body: its ``try``/``finally`` (a slot
    given back, an end recorded) does not run either. A task's first step is scheduled when the
    task is made, and the loop runs callbacks in order, so a cancel scheduled now lands inside.
    """
    asyncio.get_running_loop().call_soon(task.cancel)


async def to_the_end(work: Coroutine[Any, Any, _T], *, then_cancel: bool = True) -> _T:
    """Await ``work`` to its end even if the awaiting task is cancelled meanwhile.

    For bookkeeping that must not stop half-way (recording how a run ended, filing a durable
    request, a decision and its consequences). A cancellation that arrives meanwhile is honoured
    once the work is done (``then_cancel``), or absorbed, for a task whose whole job is to end
    with a record.
    """
    inner = asyncio.ensure_future(work)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(inner)
        except asyncio.CancelledError:
            if inner.cancelled():
                raise
            cancelled = True
            continue
        if cancelled and then_cancel:
            raise asyncio.CancelledError
        return result
