"""Relaying an allowed connection's bytes within the invocation's byte limit (asyncio I/O).

A CONNECT tunnel copies both ways until both ends are done; a plain-HTTP request is sent once
(its head, then its body as declared) and the response copied until the origin closes. Every
byte, up and down, over every connection of the invocation, is spent from one budget: the send
that would overdraw it is cut at the limit, and the connection ends there.
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

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
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
        await _until_done(
            self._pump(reader, upstream, attempt, up=True),
            self._pump(upstream_reader, writer, attempt, up=False),
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
        after the request (a pipelined second request, say) is never read, let alone sent."""
        if not await self._send(upstream, http.forward_head(request), attempt, up=True):
            return
        body = asyncio.ensure_future(self._body(request, attempt, reader, upstream))
        try:
            await self._pump(upstream_reader, writer, attempt, up=False)
        finally:
            body.cancel()
            await asyncio.gather(body, return_exceptions=True)

    async def _body(
        self,
        request: http.ProxyRequest,
        attempt: AttemptRecord,
        reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
    ) -> None:
        try:
            if request.chunked:
                complete = await self._chunked(reader, upstream, attempt)
            else:
                complete = await self._exactly(request.content_length, reader, upstream, attempt)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            attempt.error = f"request body: {describe_error(exc)}"
            complete = False
        except http.RequestError as exc:
            attempt.error = f"request body: {exc.reason}"
            complete = False
        if not complete:
            upstream.close()  # the origin must not act on part of a request

    async def _exactly(
        self,
        count: int,
        reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
        attempt: AttemptRecord,
    ) -> bool:
        while count > 0:
            chunk = await reader.read(min(count, _CHUNK))
            if not chunk:
                attempt.error = "request body ended early"
                return False
            if not await self._send(upstream, chunk, attempt, up=True):
                return False
            count -= len(chunk)
        return True

    async def _chunked(
        self, reader: asyncio.StreamReader, upstream: asyncio.StreamWriter, attempt: AttemptRecord
    ) -> bool:
        while True:
            line = await reader.readuntil(b"\r\n")
            size = http.chunk_size(line)
            if not await self._send(upstream, line, attempt, up=True):
                return False
            if size == 0:
                break
            if not await self._exactly(size + 2, reader, upstream, attempt):
                return False
        while True:  # trailers, up to the blank line
            line = await reader.readuntil(b"\r\n")
            if not await self._send(upstream, line, attempt, up=True):
                return False
            if line == b"\r\n":
                return True

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        attempt: AttemptRecord,
        *,
        up: bool,
    ) -> bool:
        """Copy until end of stream, then pass the end on; False when the byte limit cut it."""
        while chunk := await source.read(_CHUNK):
            if not await self._send(sink, chunk, attempt, up=up):
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
