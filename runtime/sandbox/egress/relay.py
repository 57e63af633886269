"""Relaying an allowed connection's bytes within the invocation's byte limit (asyncio I/O).

A CONNECT tunnel copies both ways until both ends are done; a plain-HTTP request is sent once,
written anew from what was parsed (its head, then its body as h11 decodes it), and the response
copied until the origin closes. Every byte, up and down, over every connection of the
invocation, is spent from one budget: the send that would overdraw it is cut at the limit, and
the connection ends there. A connection on which no byte moves either way for the idle timeout
is ended too.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Coroutine
from typing import Any

from runtime.sandbox.egress import http
from runtime.sandbox.egress.attempt import AttemptRecord
from runtime.util.units import format_size

__all__ = ["Relay", "describe_error"]

_CHUNK = 65536
_Pump = Coroutine[Any, Any, bool]


class Relay:
    """One invocation's ``egress_bytes`` budget, and the copying that spends it."""

    def __init__(self, limit_bytes: int, *, idle_seconds: float) -> None:
        self.limit_bytes = limit_bytes
        self.idle_seconds = idle_seconds
        self._left = limit_bytes

    @property
    def exhausted(self) -> bool:
        return self._left <= 0

    async def tunnel(
        self,
        attempt: AttemptRecord,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
    ) -> None:
        """Confirm the tunnel, then copy both ways until both ends are done or one is cut."""
        writer.write(http.TUNNEL_ESTABLISHED)
        await writer.drain()
        idle = _Idle(self.idle_seconds, attempt)
        await _until_done(
            self._pump(reader, upstream, attempt, idle, up=True),
            self._pump(upstream_reader, writer, attempt, idle, up=False),
        )

    async def forward(
        self,
        request: http.ProxyRequest,
        attempt: AttemptRecord,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
    ) -> None:
        """One request, then the response until the origin closes; anything the client sends
        after the request (a pipelined second request, say) is never sent on. Raises
        RequestError when the body's framing is refused (the origin never gets its end)."""
        origin = http.OriginRequest(request)
        if not await self._send(upstream, origin.head(), attempt, up=True):
            return
        idle = _Idle(self.idle_seconds, attempt)
        body = asyncio.ensure_future(self._body(origin, attempt, reader, upstream, idle))
        response = asyncio.ensure_future(
            self._pump(upstream_reader, writer, attempt, idle, up=False)
        )
        try:
            await asyncio.wait((body, response), return_when=asyncio.FIRST_COMPLETED)
            if body.done() and not body.result():
                upstream.close()  # the origin must not act on part of a request
            await response
        finally:
            for task in (body, response):
                task.cancel()
            await asyncio.gather(body, response, return_exceptions=True)

    async def _body(
        self,
        origin: http.OriginRequest,
        attempt: AttemptRecord,
        reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
        idle: _Idle,
    ) -> bool:
        """Send the body and the request's end; False if it ended early or was cut."""
        body = http.RequestBody(origin.request)
        try:
            while not body.done:
                data = await idle.read(reader)
                if not data:
                    if not idle.expired:
                        attempt.error = "request body ended early"
                    return False
                for piece in body.feed(data):
                    if not await self._send(upstream, origin.data(piece), attempt, up=True):
                        return False
            return await self._send(upstream, origin.end(), attempt, up=True)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            attempt.error = f"request body: {describe_error(exc)}"
            return False

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        attempt: AttemptRecord,
        idle: _Idle,
        *,
        up: bool,
    ) -> bool:
        """Copy until end of stream, then pass the end on; False when cut (limit or idle)."""
        while chunk := await idle.read(source):
            if not await self._send(sink, chunk, attempt, up=up):
                return False
        if idle.expired:
            return False
        if sink.can_write_eof():
            with contextlib.suppress(OSError):
                sink.write_eof()
        return True

    async def _send(
        self, sink: asyncio.StreamWriter, data: bytes, attempt: AttemptRecord, *, up: bool
    ) -> bool:
        """Send as much of ``data`` as the byte limit leaves; False once the limit cut it."""
        allowed = min(len(data), self._left)
        self._left -= allowed
        if up:
            attempt.bytes_up += allowed
        else:
            attempt.bytes_down += allowed
        if allowed:
            sink.write(data[:allowed])
            await sink.drain()
        if allowed < len(data):
            attempt.cut = True
            attempt.error = f"cut at the egress_bytes limit of {format_size(self.limit_bytes)}"
            return False
        return True


class _Idle:
    """One connection's idle timer: reads on either side wait until no byte has moved either
    way for ``seconds``, then return b"" as if the stream had ended (``expired`` tells)."""

    def __init__(self, seconds: float, attempt: AttemptRecord) -> None:
        self.seconds = seconds
        self.attempt = attempt
        self.expired = False
        self._loop = asyncio.get_running_loop()
        self._last = self._loop.time()

    async def read(self, source: asyncio.StreamReader) -> bytes:
        while not self.expired:
            left = self._last + self.seconds - self._loop.time()
            if left <= 0:
                self.expired = True
                self.attempt.error = f"idle for {self.seconds:g}s, ended"
                break
            try:
                async with asyncio.timeout(left):
                    data = await source.read(_CHUNK)
            except TimeoutError:
                continue  # the other side may have moved bytes meanwhile
            self._last = self._loop.time()
            return data
        return b""


async def _until_done(*pumps: _Pump) -> None:
    """Run the pumps together until all finish, or one is cut (which stops the others)."""
    tasks = [asyncio.ensure_future(pump) for pump in pumps]
    try:
        for finished in asyncio.as_completed(tasks):
            if not await finished:
                return
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def describe_error(exc: BaseException) -> str:
    """A short, stable name for what went wrong with a connection, for the attempt's record."""
    if isinstance(exc, socket.gaierror):
        return exc.strerror or "name resolution failed"
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    return type(exc).__name__
