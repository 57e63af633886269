"""asyncio helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["to_the_end"]

_T = TypeVar("_T")


async def to_the_end(work: Coroutine[Any, Any, _T]) -> _T:
    """Await ``work`` to its end even if the awaiting task is cancelled meanwhile.

    For bookkeeping that must not stop half-way (recording how a run ended, filing a durable
    request): the caller's cancellation is absorbed until the work is done.
    """
    inner = asyncio.ensure_future(work)
    while True:
        try:
            return await asyncio.shield(inner)
        except asyncio.CancelledError:
            if inner.cancelled():
                raise
