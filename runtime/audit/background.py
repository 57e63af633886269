"""Audit entries from the daemon's event loop, written in order by one writer task.

``record`` waits until its entry is on disk and raises ``StateUnwritable`` when it cannot be:
whatever an entry authorizes (a sandbox launch, a decision) waits for it. ``emit`` does not
wait, for what is said after the fact. After a failed write, and at start, the writer first
repairs the log's torn tail, so the log verifies again as soon as the disk has room.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from runtime.audit.entry import check_entry
from runtime.audit.writer import AuditLog
from runtime.errors import StateUnwritable

__all__ = ["AuditObserver", "BackgroundAudit"]

_log = structlog.get_logger("skillrt.audit")

_AT_START = "torn tail found at start"
# Dropped entries logged one by one before the rest are only counted: a disk that stays full
# must not flood the daemon's own log.
_LOGGED_DROPS = 5
_AFTER_FAILURE = "torn tail left by a write that failed"
_BATCH = 256  # entries written with one fsync, at most


class AuditObserver(Protocol):
    """Hears of every entry as it is queued, and of every one the log could not take.

    Security-relevant events already pass here, each once: what counts them (the daemon's
    metrics) follows the log instead of being called from every place that makes an entry.
    """

    def audited(self, event: str, fields: Mapping[str, Any]) -> None: ...

    def unwritten(self, event: str) -> None: ...


@dataclass(frozen=True, kw_only=True)
class _Job:
    event: str | None  # None: only repair the tail
    actor: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    done: asyncio.Future[None] | None = None  # for whoever waits for the disk


class BackgroundAudit:
    """Appends for the daemon's event loop, in the order entries were emitted or recorded.

    One writer task appends in a thread, so the event loop never waits on the disk; ``close``
    writes out everything emitted before returning, so a clean stop loses nothing.
    """

    def __init__(self, log: AuditLog, observer: AuditObserver | None = None) -> None:
        self.log = log
        self._observer = observer
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Why the tail may be torn, until a repair succeeds: first whatever a start finds.
        self._repair_reason: str | None = _AT_START
        self._dropped = 0  # fire-and-forget entries lost since the last one written

    def emit(self, event: str, *, actor: str, **fields: Any) -> None:
        """Queue an entry; callable from the event loop and from its worker threads alike."""
        check_entry(event, actor, fields)
        job = _Job(event=event, actor=actor, fields=fields)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:  # a worker thread (SQLite work): hand over to the loop
            running = None
        if running is None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._enqueue, job)
            return
        self._loop = self._loop or running
        self._enqueue(job)

    async def record(self, event: str, *, actor: str, **fields: Any) -> None:
        """Write an entry and return once it is on disk; ``StateUnwritable`` if it cannot be."""
        check_entry(event, actor, fields)
        await self._wait(_Job(event=event, actor=actor, fields=fields))

    async def repair(self) -> None:
        """Cut a torn tail now (at start), in turn with the entries queued before."""
        await self._wait(_Job(event=None))

    async def _wait(self, job: _Job) -> None:
        loop = asyncio.get_running_loop()
        self._loop = self._loop or loop
        done = loop.create_future()
        self._enqueue(_Job(event=job.event, actor=job.actor, fields=job.fields, done=done))
        try:
            # Shielded: a caller that leaves does not unqueue what may already be on disk.
            await asyncio.shield(done)
        except asyncio.CancelledError:
            # Nobody is left to hear how it went; the writer logs nothing more for it either.
            done.add_done_callback(lambda f: f.cancelled() or f.exception())
            raise

    def _enqueue(self, job: _Job) -> None:
        event = job.event
        if event is not None:
            # Heard when queued, not when written: a disk that stays full hides nothing.
            self._observe(lambda observer: observer.audited(event, job.fields))
        self._queue.put_nowait(job)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())

    def _observe(self, tell: Callable[[AuditObserver], None]) -> None:
        if self._observer is None:
            return
        try:
            tell(self._observer)
        except Exception:
            # Counting is never a reason to refuse or lose an entry.
            _log.exception("audit observer failed")

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop that owns the queue, for entries emitted from other threads before any
        from the loop itself."""
        self._loop = loop

    async def _write(self) -> None:
        while True:
            # Everything queued meanwhile goes to disk together, with one fsync (group commit):
            # a call's entry does not wait for one fsync per entry queued before it.
            jobs = [await self._queue.get()]
            while len(jobs) < _BATCH and not self._queue.empty():
                jobs.append(self._queue.get_nowait())
            try:
                results = await asyncio.to_thread(self._write_batch, jobs)
            except Exception as exc:  # the repair before them failed (or a bug)
                results = [exc for _ in jobs]
            for job, result in zip(jobs, results, strict=True):
                self._settle(job, result)
                self._queue.task_done()

    def _settle(self, job: _Job, result: Exception | None) -> None:
        if result is None:
            self._report_dropped()
            if job.done is not None and not job.done.done():
                job.done.set_result(None)
            return
        # One unwritable entry must not silence every later one.
        self._repair_reason = _AFTER_FAILURE
        event = job.event
        if event is not None:
            self._observe(lambda observer: observer.unwritten(event))
        if job.done is None:
            self._drop(job, result)
        elif not job.done.done():
            job.done.set_exception(result)

    def _drop(self, job: _Job, exc: Exception) -> None:
        self._dropped += 1
        if self._dropped <= _LOGGED_DROPS:
            # One line; a traceback only for what is not the disk's fault (a bug).
            _log.error(
                "audit entry not written",
                audit_event=job.event,
                error=str(exc),
                exc_info=not isinstance(exc, StateUnwritable),
            )
        if self._dropped == _LOGGED_DROPS:
            _log.error("audit entries not written: counting the rest until one is")

    def _report_dropped(self) -> None:
        """Say how many went unlogged, once an entry is written again or at close."""
        if self._dropped > _LOGGED_DROPS:
            _log.error("audit entries not written", count=self._dropped)
        self._dropped = 0

    def _write_batch(self, jobs: list[_Job]) -> list[Exception | None]:
        """Each job's outcome: None once its entry is on disk (or, for a repair, the tail is
        whole), else why not."""
        if self._repair_reason is not None:
            repaired = self.log.repair(reason=self._repair_reason)
            self._repair_reason = None
            if repaired is not None:
                _log.warning("audit log repaired", **repaired.fields)
        pending = [(job.event, job.actor, job.fields) for job in jobs if job.event is not None]
        written = iter(self.log.append_all(pending) if pending else [])
        outcomes: list[Exception | None] = []
        for job in jobs:
            result = next(written) if job.event is not None else None
            outcomes.append(result if isinstance(result, Exception) else None)
        return outcomes

    async def close(self) -> None:
        await self._queue.join()
        self._report_dropped()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
