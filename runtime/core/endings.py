"""How an invocation ends: its end recorded, audited and announced to whoever waits.

An end the database cannot take is retried in the background until it can, so no invocation
stays queued or running; an end the audit log cannot take is still announced (it is recorded)
and its caller hears why. A held result is released only once its end is audited.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import asdict

import structlog

from runtime.audit import events
from runtime.audit.background import BackgroundAudit
from runtime.core.invocation import EventSink, Finished
from runtime.core.live import LiveRuns
from runtime.core.records import InvocationRecord
from runtime.core.store import Store
from runtime.errors import StateUnwritable
from runtime.sandbox.result import SandboxResult
from runtime.util.clock import Clock

__all__ = ["Endings"]

log = structlog.get_logger("skillrt.invocations")

# How often an end the database could not take is tried again: first, then at most.
_END_RETRY_SECONDS = (0.2, 5.0)


class Endings:
    def __init__(
        self, *, store: Store, audit_log: BackgroundAudit | None, live: LiveRuns, clock: Clock
    ) -> None:
        self.store = store
        self._sql = store.db.call  # SQLite work runs off the event loop
        self._audit = audit_log
        self._live = live
        self._clock = clock
        self._finished: dict[str, asyncio.Event] = {}
        self._ending: set[asyncio.Task[None]] = set()  # ends waiting for the database

    def final(self, invocation_id: str) -> asyncio.Event:
        """Set once the invocation's final record is announced."""
        return self._finished.setdefault(invocation_id, asyncio.Event())

    async def finish(
        self, invocation_id: str, result: SandboxResult, output_json: str | None, sink: EventSink
    ) -> InvocationRecord:
        """Record how an invocation ended, audit it, and tell whoever waits.

        ``StateUnwritable`` when the database cannot take the end (it is retried until it can:
        no invocation stays queued or running) or the audit log cannot take its entry.
        """
        try:
            await self._sql(
                self.store.finish, invocation_id, result, output_json, self._clock.now_ms()
            )
        except StateUnwritable as exc:
            log.error(
                "invocation end not recorded yet", invocation_id=invocation_id, error=str(exc)
            )
            task = asyncio.create_task(self._end_later(invocation_id, result, output_json, sink))
            self._ending.add(task)
            task.add_done_callback(self._ending.discard)
            raise
        return await self._ended(invocation_id, result, sink)

    async def _end_later(
        self, invocation_id: str, result: SandboxResult, output_json: str | None, sink: EventSink
    ) -> None:
        delay, longest = _END_RETRY_SECONDS
        while True:
            await asyncio.sleep(delay)
            try:
                await self._sql(
                    self.store.finish, invocation_id, result, output_json, self._clock.now_ms()
                )
            except StateUnwritable:
                delay = min(delay * 2, longest)
                continue
            with contextlib.suppress(StateUnwritable):
                await self._ended(invocation_id, result, sink)
            return

    async def _ended(
        self, invocation_id: str, result: SandboxResult, sink: EventSink
    ) -> InvocationRecord:
        record = await self._sql(self.store.get, invocation_id)
        unaudited: StateUnwritable | None = None
        try:
            await self._audit_end(record, result)
        except StateUnwritable as exc:
            unaudited = exc  # the end is recorded: waiters still hear of it, the caller of why
        log.info(
            "invocation finished",
            invocation_id=invocation_id,
            status=result.status.value,
            **asdict(result.usage),
        )
        finished = await self.announce(invocation_id, sink, record)
        if unaudited is not None:
            raise unaudited
        return finished

    async def release(self, invocation_id: str, sink: EventSink) -> InvocationRecord:
        """Give an approved call its held result. Its end is audited first: an output no entry
        records is never released (``StateUnwritable`` leaves it held)."""
        record = await self._sql(self.store.get, invocation_id)
        if record.result is not None:
            await self._audit_end(record, record.result)
        await self._sql(self.store.release, invocation_id, self._clock.now_ms())
        return await self.announce(invocation_id, sink)

    async def _audit_end(self, record: InvocationRecord, result: SandboxResult) -> None:
        await self._audit_record(
            events.INVOCATION_FINISHED,
            record.principal,
            invocation_id=record.id,
            skill=record.skill,
            tool=record.tool,
            status=result.status.value,
            usage=asdict(result.usage),
            violations=list(result.violations),
        )

    async def announce(
        self, invocation_id: str, sink: EventSink, finished: InvocationRecord | None = None
    ) -> InvocationRecord:
        """Tell whoever waits that the invocation ended; ``finished``: its final record, when the
        caller has just read it."""
        if finished is None:
            finished = await self._sql(self.store.get, invocation_id)
        await sink(Finished(finished))
        self._finished.setdefault(invocation_id, asyncio.Event()).set()
        self._finished.pop(invocation_id, None)
        self._live.changed(invocation_id)
        return finished

    async def _audit_record(self, event: str, actor: str, **fields: object) -> None:
        if self._audit is not None:
            await self._audit.record(event, actor=actor, **fields)
