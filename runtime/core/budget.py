"""A rate-limit permit, held for a call until its run takes it over or nothing will run."""

from __future__ import annotations

import asyncio

from runtime.auth.ratelimit import Permit
from runtime.core.records import InvocationRecord
from runtime.core.runner import cpu_ms
from runtime.util.clock import Clock

__all__ = ["Budget"]


class Budget:
    """A rate-limit permit until a run takes it over, or until nothing will run."""

    def __init__(self, permit: Permit | None, clock: Clock) -> None:
        self._permit = permit
        self._clock = clock

    def hand_to(self, task: asyncio.Task[InvocationRecord]) -> None:
        permit, clock = self._permit, self._clock
        self._permit = None
        if permit is not None:
            task.add_done_callback(lambda t: permit.finish(cpu_ms(t), clock.now_ms()))

    def close(self) -> None:
        if self._permit is not None:
            self._permit.finish(0, self._clock.now_ms())
            self._permit = None
