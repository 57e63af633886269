"""Audit entries from the daemon's event loop, written in order without waiting for the disk."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any

import structlog

from runtime.audit.entry import check_entry
from runtime.audit.writer import AuditLog

__all__ = ["BackgroundAudit"]

_log = structlog.get_logger("skillrt.audit")


class BackgroundAudit:
    """Appends for the daemon's event loop without making a request wait for the fsync.

    One writer task takes entries in the order they were emitted and appends them in a thread;
    ``close`` writes out everything emitted before returning, so a clean stop loses nothing.
    """

    def __init__(self, log: AuditLog) -> None:
        self.log = log
        self._queue: asyncio.Queue[tuple[str, str, dict[str, Any]]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def emit(self, event: str, *, actor: str, **fields: Any) -> None:
        """Queue an entry; callable from the event loop and from its worker threads alike."""
        check_entry(event, actor, fields)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:  # a worker thread (SQLite work): hand over to the loop
            running = None
        if running is None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._enqueue, event, actor, fields)
            return
        self._loop = self._loop or running
        self._enqueue(event, actor, fields)

    def _enqueue(self, event: str, actor: str, fields: dict[str, Any]) -> None:
        self._queue.put_nowait((event, actor, fields))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop that owns the queue, for entries emitted from other threads before any
        from the loop itself."""
        self._loop = loop

    async def _write(self) -> None:
        while True:
            event, actor, fields = await self._queue.get()
            try:
                await asyncio.to_thread(
                    functools.partial(self.log.append, event, actor=actor, **fields)
                )
            except Exception:
                # One unwritable entry must not silence every later one.
                _log.exception("audit entry not written", audit_event=event)
            finally:
                self._queue.task_done()

    async def close(self) -> None:
        await self._queue.join()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
