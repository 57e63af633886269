"""Accepting one proxy's connections (asyncio I/O): only its sandbox's, and only within caps.

Every accepted connection costs the process a descriptor, so accepting is where a proxy defends
the daemon. A connection from a process outside the invocation's sandbox (``peer``) is closed,
logged and never counted as the invocation's. Each of the sandbox's connections counts against
``egress_connections``: the first one past it is still served (the proxy refuses its request, so
that the record names it), and then the socket stops listening, so that further connects fail in
the kernel at no cost to the daemon. A connection past ``max_open`` at once, or while the process
has fewer free descriptors than its reserve, is closed at once; each such refusal is counted for
the report. Running out of descriptors in accept() itself is counted the same way, never raised.
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from runtime.sandbox.egress import peer
from runtime.sandbox.egress.guard import ConnectionCaps, free_descriptors

__all__ = ["Listener", "Serve"]

Serve = Callable[[socket.socket, int], Awaitable[None]]
"""Serves one admitted connection, given its number among the sandbox's connections."""

log = structlog.get_logger("skillrt.egress")

_BACKLOG = 128
# After accept() fails for want of descriptors the connection stays queued and the socket
# readable: pausing keeps the loop from spinning until descriptors free up.
_ACCEPT_RETRY_SECONDS = 0.1
# Refused outsiders are logged one line each up to this many, then counted: an outsider must not
# be able to flood the log.
_LOGGED_OUTSIDERS = 10
SHORT_OF_DESCRIPTORS = "refused: the runtime is short of file descriptors"


class Listener:
    def __init__(self, *, total: int, caps: ConnectionCaps, serve: Serve) -> None:
        self.total = total
        self.caps = caps
        self.members: peer.Members | None = None  # until known, every connection is refused
        self.refused: Counter[str] = Counter()  # the sandbox's connections refused, by reason
        self.outsiders = 0
        self._serve = serve
        self._accepted = 0
        self._socket: socket.socket | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    def start(self, path: str) -> None:
        listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listening.bind(path)
            listening.listen(_BACKLOG)
            listening.setblocking(False)
        except OSError:
            listening.close()
            raise
        self._socket = listening
        self._loop_task = asyncio.ensure_future(self._accept_loop())

    async def close(self) -> None:
        """Stop listening and cut every open connection; safe to call again."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        self._stop_listening()
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self.outsiders > _LOGGED_OUTSIDERS:
            log.warning("egress.outsiders_refused", count=self.outsiders)

    def _stop_listening(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self._socket is not None:
            try:
                connection, _ = await loop.sock_accept(self._socket)
            except OSError:  # EMFILE, ENFILE, ENOBUFS: the process is short of descriptors
                self.refused[SHORT_OF_DESCRIPTORS] += 1
                await asyncio.sleep(_ACCEPT_RETRY_SECONDS)
                continue
            number = self._admit(connection)
            if number is None:
                connection.close()
                continue
            task = asyncio.ensure_future(self._serve(connection, number))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
            if number > self.total:
                self._stop_listening()

    def _admit(self, connection: socket.socket) -> int | None:
        """The connection's number among the sandbox's, or None when it is refused."""
        try:
            who = peer.peer_of(connection)
        except OSError as exc:
            self._outsider(pid=0, uid=-1, reason=f"no peer credentials: {exc.strerror}")
            return None
        try:
            why = peer.refusal(who, self.members)
        finally:
            peer.close(who)
        if why is not None:
            self._outsider(pid=who.pid, uid=who.uid, reason=why)
            return None
        self._accepted += 1
        if self._accepted > self.total:
            return self._accepted
        if free_descriptors() < self.caps.descriptor_reserve:
            self.refused[SHORT_OF_DESCRIPTORS] += 1
            return None
        if len(self._handlers) >= self.caps.max_open:
            self.refused[f"refused: more than {self.caps.max_open} open at once"] += 1
            return None
        return self._accepted

    def _outsider(self, *, pid: int, uid: int, reason: str) -> None:
        self.outsiders += 1
        if self.outsiders <= _LOGGED_OUTSIDERS:
            log.warning("egress.outsider_refused", pid=pid, uid=uid, reason=reason)
