"""Admission control: a fixed number of sandboxes at once and a bounded queue behind them.

When both are full the caller is told at once (RESOURCE_EXHAUSTED) instead of waiting forever.
"""

from __future__ import annotations

import asyncio

from runtime.errors import OverLimit

__all__ = ["Admission", "Ticket"]


class Admission:
    def __init__(self, *, max_running: int, max_queued: int) -> None:
        self.max_running = max_running
        self.max_queued = max_queued
        self._slots = asyncio.Semaphore(max_running)
        self.running = 0
        self.waiting = 0

    def enter(self, *, bypass_queue_limit: bool = False) -> Ticket:
        """A place in line, or OverLimit at once when every slot and place is taken."""
        # A request a person already approved is not turned away for a full queue: it waits.
        full = self.running + self.waiting >= self.max_running + self.max_queued
        if full and not bypass_queue_limit:
            raise OverLimit(
                f"busy: {self.running} invocations running and {self.waiting} waiting "
                f"(limits: {self.max_running} running, {self.max_queued} queued); retry later"
            )
        self.waiting += 1
        return Ticket(self)


class Ticket:
    """One admitted invocation: waits for a slot, holds it, and gives everything back once."""

    def __init__(self, admission: Admission) -> None:
        self._admission = admission
        self._state = "waiting"

    async def acquire(self) -> None:
        await self._admission._slots.acquire()
        self._admission.waiting -= 1
        self._admission.running += 1
        self._state = "running"

    def release(self) -> None:
        if self._state == "waiting":
            self._admission.waiting -= 1
        elif self._state == "running":
            self._admission.running -= 1
            self._admission._slots.release()
        self._state = "released"
