"""One invocation's egress proxy (asyncio I/O): decide, connect, relay and record.

The proxy listens on a Unix socket that only its sandbox reaches, so every request it sees is
that invocation's and its allowlist applies. Each request goes through the same steps: parse
(``http``), count it against the limits, match the allowlist, resolve on the host, check every
address (``policy``), connect to a checked address (never resolving again), then tunnel
(CONNECT) or forward one plain-HTTP request. Every attempt becomes an ``EgressAttempt``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import socket
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.sandbox.egress import http
from runtime.sandbox.egress.attempt import EgressAttempt
from runtime.sandbox.egress.policy import (
    EgressRule,
    EgressSettings,
    IPAddress,
    check_addresses,
    is_ip_literal,
    match_rule,
)
from runtime.util.units import format_size

AttemptCallback = Callable[[EgressAttempt], None]
_CHUNK = 65536
_Pump = Coroutine[Any, Any, bool]


@dataclass(frozen=True, kw_only=True)
class EgressLimits:
    bytes: int  # up and down, over every connection of the invocation
    connections: int  # every request counts, allowed or not


@dataclass(frozen=True, kw_only=True)
class EgressReport:
    attempts: tuple[EgressAttempt, ...]
    violations: tuple[str, ...]


class _Attempt:
    """An attempt while it is decided and relayed; frozen into an EgressAttempt at the end."""

    def __init__(self, method: str, host: str, port: int) -> None:
        self.method, self.host, self.port = method, host, port
        self.allowed = False
        self.reason = "undecided"
        self.address: str | None = None
        self.bytes_up = 0
        self.bytes_down = 0
        self.error: str | None = None
        self.cut = False
        self.recorded = False  # listed in the report (and so told to the hook)

    def freeze(self) -> EgressAttempt:
        return EgressAttempt(
            method=self.method,
            host=self.host,
            port=self.port,
            allowed=self.allowed,
            reason=self.reason,
            address=self.address,
            bytes_up=self.bytes_up,
            bytes_down=self.bytes_down,
            error=self.error,
        )


class _Refused(Exception):
    """The request gets the proxy's own response instead of a connection.

    ``denied`` refusals are the policy's; the others are failures after an allow.
    """

    def __init__(self, status: int, message: str, *, denied: bool) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.denied = denied


_STATUS_TEXT = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}


class EgressProxy:
    def __init__(
        self,
        *,
        rules: Sequence[EgressRule],
        limits: EgressLimits,
        settings: EgressSettings,
        host_addresses: frozenset[IPAddress],
        on_attempt: AttemptCallback | None = None,
    ) -> None:
        self.rules = tuple(rules)
        self.limits = limits
        self.settings = settings
        self.host_addresses = host_addresses
        self._on_attempt = on_attempt
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._attempts: list[_Attempt] = []
        self._requests = 0
        self._bytes_left = limits.bytes
        self._report: EgressReport | None = None

    async def start(self, path: str) -> None:
        self._server = await asyncio.start_unix_server(
            self._serve, path=path, limit=http.MAX_HEAD_BYTES
        )

    async def close(self) -> EgressReport:
        """Stop listening, cut every open connection, and report; safe to call again."""
        if self._report is None:
            if self._server is not None:
                self._server.close()
            for task in self._handlers:
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            self._report = EgressReport(
                attempts=tuple(a.freeze() for a in self._attempts), violations=self._violations()
            )
        return self._report

    def _violations(self) -> tuple[str, ...]:
        found = []
        for attempt in self._attempts:
            target = attempt.freeze().target
            if not attempt.allowed:
                found.append(f"egress denied: {target} ({attempt.reason})")
            elif attempt.cut:
                found.append(f"egress limit: {target} {attempt.error}")
        unrecorded = self._requests - len(self._attempts)
        if unrecorded:
            found.append(
                f"egress denied: {unrecorded} more request(s) past the egress_connections limit "
                f"of {self.limits.connections}"
            )
        return tuple(found)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        attempt: _Attempt | None = None
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await _read_head(reader)
            if head is None:
                return
            parsed = _parse(head)
            attempt = self._record(parsed)
            request = self._admit(parsed)
            upstream_reader, upstream = await self._open(request, attempt)
            if request.tunnel:
                await self._tunnel(attempt, reader, writer, upstream_reader, upstream)
            else:
                await self._forward(request, attempt, reader, writer, upstream_reader, upstream)
        except _Refused as refused:
            assert attempt is not None
            target = attempt.freeze().target
            if refused.denied:
                attempt.allowed, attempt.reason = False, refused.message
                message = f"egress denied: {target} ({refused.message})"
            else:
                attempt.error = refused.message
                message = f"egress failed: {target}: {refused.message}"
            reply = http.response(refused.status, _STATUS_TEXT[refused.status], message)
            with contextlib.suppress(OSError):
                writer.write(reply)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            # Either side went away mid-transfer: normal for a tunnel, noted for the record.
            if attempt is not None and attempt.error is None:
                attempt.error = f"connection ended: {_describe(exc)}"
        finally:
            if upstream is not None:
                upstream.close()
            writer.close()
            if task is not None:
                self._handlers.discard(task)
            if attempt is not None and attempt.recorded and self._on_attempt is not None:
                self._on_attempt(attempt.freeze())

    def _record(self, parsed: http.ProxyRequest | http.RequestError) -> _Attempt:
        """Start the request's record and count it."""
        if isinstance(parsed, http.RequestError):
            attempt = _Attempt("-", parsed.host, parsed.port)
        else:
            attempt = _Attempt(parsed.method, parsed.host, parsed.port)
        self._requests += 1
        # Only the first request past the limit is recorded; later ones are counted, so that a
        # looping tool cannot grow the record without bound.
        if self._requests <= self.limits.connections + 1:
            attempt.recorded = True
            self._attempts.append(attempt)
        return attempt

    def _admit(self, parsed: http.ProxyRequest | http.RequestError) -> http.ProxyRequest:
        """The request, unless it breaks a limit or could not be parsed (then _Refused)."""
        if self._requests > self.limits.connections:
            limit = f"egress_connections limit of {self.limits.connections} reached"
            raise _Refused(403, limit, denied=True)
        if self._bytes_left <= 0:
            limit = f"egress_bytes limit of {format_size(self.limits.bytes)} reached"
            raise _Refused(403, limit, denied=True)
        if isinstance(parsed, http.RequestError):
            raise _Refused(400, parsed.reason, denied=True)
        return parsed

    async def _open(
        self, request: http.ProxyRequest, attempt: _Attempt
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to a checked address of the request's host, or _Refused."""
        rule = match_rule(self.rules, request.host, request.port)
        if rule is None:
            raise _Refused(403, "not on the allowlist", denied=True)
        attempt.allowed, attempt.reason = True, f"matches {rule}"
        try:
            addresses = await self._resolve(request.host, request.port)
        except OSError as exc:
            reason = f"cannot resolve {request.host}: {_describe(exc)}"
            raise _Refused(502, reason, denied=False) from exc
        check = check_addresses(
            addresses, host_addresses=self.host_addresses, settings=self.settings
        )
        if check.refusal is not None:
            raise _Refused(403, check.refusal, denied=True)
        if check.test_only:
            listed = ", ".join(map(str, check.test_only))
            attempt.reason += f"; TEST-ONLY allowance for {listed}"
        failure: OSError | None = None
        for address in addresses:
            try:
                opened = await asyncio.open_connection(str(address), request.port)
            except OSError as exc:
                failure = exc
                continue
            attempt.address = str(address)
            return opened
        assert failure is not None
        raise _Refused(502, f"cannot connect: {_describe(failure)}", denied=False)

    async def _resolve(self, host: str, port: int) -> tuple[IPAddress, ...]:
        if is_ip_literal(host):
            return (ipaddress.ip_address(host),)
        mapped = self.settings.resolve(host)
        if mapped is not None:
            return mapped
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        return tuple(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))

    async def _tunnel(
        self,
        attempt: _Attempt,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
    ) -> None:
        writer.write(http.TUNNEL_ESTABLISHED)
        await writer.drain()
        await _until_done(
            self._pump(reader, upstream, attempt, up=True),
            self._pump(upstream_reader, writer, attempt, up=False),
        )

    async def _forward(
        self,
        request: http.ProxyRequest,
        attempt: _Attempt,
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
        attempt: _Attempt,
        reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
    ) -> None:
        try:
            if request.chunked:
                complete = await self._chunked(reader, upstream, attempt)
            else:
                complete = await self._exactly(request.content_length, reader, upstream, attempt)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            attempt.error = f"request body: {_describe(exc)}"
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
        attempt: _Attempt,
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
        self, reader: asyncio.StreamReader, upstream: asyncio.StreamWriter, attempt: _Attempt
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
        attempt: _Attempt,
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
        self, sink: asyncio.StreamWriter, data: bytes, attempt: _Attempt, *, up: bool
    ) -> bool:
        """Send as much of ``data`` as the byte limit leaves; False once the limit cut it."""
        allowed = min(len(data), self._bytes_left)
        self._bytes_left -= allowed
        if up:
            attempt.bytes_up += allowed
        else:
            attempt.bytes_down += allowed
        if allowed:
            sink.write(data[:allowed])
            await sink.drain()
        if allowed < len(data):
            attempt.cut = True
            attempt.error = f"cut at the egress_bytes limit of {format_size(self.limits.bytes)}"
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


def _parse(head: bytes | http.RequestError) -> http.ProxyRequest | http.RequestError:
    if isinstance(head, http.RequestError):
        return head
    try:
        return http.parse_request(head)
    except http.RequestError as exc:
        return exc


async def _read_head(reader: asyncio.StreamReader) -> bytes | http.RequestError | None:
    """The request head; None when the client sent nothing at all."""
    try:
        return await reader.readuntil(http.HEAD_END)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        return http.RequestError("the request head ended early")
    except asyncio.LimitOverrunError:
        return http.RequestError(f"request head larger than {http.MAX_HEAD_BYTES} bytes")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return exc.strerror or "name resolution failed"
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    return type(exc).__name__
