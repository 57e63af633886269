"""asyncio helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["to_the_end"]

_T = TypeVar("_T")


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
