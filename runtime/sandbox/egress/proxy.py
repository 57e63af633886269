"""One invocation's egress proxy (asyncio I/O): decide, connect, relay and record.

The proxy listens on a Unix socket (``listener``) that serves only its sandbox's processes, so
every request it sees is that invocation's and its allowlist applies. Each connection carries
one request, which goes through the same steps: read its head within the head timeout, parse it
(``http``), check the limits, match the allowlist, resolve on the host, check every address
(``policy``), connect to a checked address (never resolving again), then tunnel (CONNECT) or
forward one plain-HTTP request (``relay``). Every attempt becomes an ``EgressAttempt``; every
connection refused before it named a request is counted, and both end up as violations.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from runtime.sandbox.egress import http
from runtime.sandbox.egress.attempt import AttemptRecord, EgressAttempt
from runtime.sandbox.egress.guard import CAPS, ConnectionCaps
from runtime.sandbox.egress.listener import Listener
from runtime.sandbox.egress.peer import Members
from runtime.sandbox.egress.policy import (
    EgressRule,
    EgressSettings,
    IPAddress,
    check_addresses,
    is_ip_literal,
    match_rule,
)
from runtime.sandbox.egress.relay import Relay, describe_error
from runtime.util.units import format_size

__all__ = ["AttemptCallback", "EgressLimits", "EgressProxy", "EgressReport"]

AttemptCallback = Callable[[EgressAttempt], None]


@dataclass(frozen=True, kw_only=True)
class EgressLimits:
    bytes: int  # up and down, over every connection of the invocation
    connections: int  # every connection of the sandbox counts, whatever became of it


@dataclass(frozen=True, kw_only=True)
class EgressReport:
    attempts: tuple[EgressAttempt, ...]
    violations: tuple[str, ...]


class _Refused(Exception):
    """The request gets the proxy's own response instead of a connection.

    ``denied`` refusals are the policy's; the others are failures after an allow.
    """

    def __init__(self, status: int, message: str, *, denied: bool) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.denied = denied


_STATUS_TEXT = {400: "Bad Request", 403: "Forbidden", 408: "Request Timeout", 502: "Bad Gateway"}


class EgressProxy:
    def __init__(
        self,
        *,
        rules: Sequence[EgressRule],
        limits: EgressLimits,
        settings: EgressSettings,
        host_addresses: frozenset[IPAddress],
        on_attempt: AttemptCallback | None = None,
        caps: ConnectionCaps = CAPS,
    ) -> None:
        self.rules = tuple(rules)
        self.limits = limits
        self.settings = settings
        self.host_addresses = host_addresses
        self.caps = caps
        self._on_attempt = on_attempt
        self._listener = Listener(total=limits.connections, caps=caps, serve=self._serve)
        self._attempts: list[AttemptRecord] = []
        self._relay = Relay(limits.bytes, idle_seconds=caps.idle_timeout_seconds)
        self._report: EgressReport | None = None

    def start(self, path: str) -> None:
        self._listener.start(path)

    def admit(self, members: Members) -> None:
        """Serve the processes ``members`` lists (the sandbox's); until then, nobody."""
        self._listener.members = members

    async def close(self) -> EgressReport:
        """Stop listening, cut every open connection, and report; safe to call again."""
        if self._report is None:
            await self._listener.close()
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
        for reason, count in self._listener.refused.items():
            found.append(f"egress denied: {count} connection(s) {reason}")
        return tuple(found)

    async def _serve(self, connection: socket.socket, number: int) -> None:
        try:
            reader, writer = await asyncio.open_unix_connection(
                sock=connection, limit=http.MAX_HEAD_BYTES
            )
        except OSError:
            connection.close()
            return
        attempt: AttemptRecord | None = None
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await self._head(reader, writer)
            if head is None:
                if number > self.limits.connections:
                    limit = (
                        f"refused: past the egress_connections limit of {self.limits.connections}"
                    )
                    self._listener.refused[limit] += 1
                return
            parsed = _parse(head)
            attempt = self._record(parsed)
            request = self._admit(parsed, number)
            upstream_reader, upstream = await self._open(request, attempt)
            if request.tunnel:
                await self._relay.tunnel(attempt, reader, writer, upstream_reader, upstream)
            else:
                await self._relay.forward(
                    request, attempt, reader, writer, upstream_reader, upstream
                )
        except _Refused as refused:
            assert attempt is not None
            target = attempt.freeze().target
            if refused.denied:
                attempt.allowed, attempt.reason = False, refused.message
                message = f"egress denied: {target} ({refused.message})"
            else:
                attempt.error = refused.message
                message = f"egress failed: {target}: {refused.message}"
            await _reply(writer, refused.status, message)
        except http.RequestError as refused:
            # A body refused part way: the origin never got the request's end, and drops it.
            assert attempt is not None
            attempt.allowed, attempt.reason = False, refused.reason
            if not attempt.bytes_down:
                target = attempt.freeze().target
                await _reply(writer, 400, f"egress denied: {target} ({refused.reason})")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            # Either side went away mid-transfer: normal for a tunnel, noted for the record.
            if attempt is not None and attempt.error is None:
                attempt.error = f"connection ended: {describe_error(exc)}"
        finally:
            if upstream is not None:
                upstream.close()
            writer.close()
            if attempt is not None and self._on_attempt is not None:
                self._on_attempt(attempt.freeze())

    async def _head(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bytes | http.RequestError | None:
        """The request head, or None when there is none to serve (counted if it timed out)."""
        try:
            async with asyncio.timeout(self.caps.head_timeout_seconds):
                return await _read_head(reader)
        except TimeoutError:
            timeout = f"{self.caps.head_timeout_seconds:g}s"
            self._listener.refused[f"sent no request head within {timeout}"] += 1
            await _reply(writer, 408, f"egress denied: no request head within {timeout}")
            return None

    def _record(self, parsed: http.ProxyRequest | http.RequestError) -> AttemptRecord:
        """Start the request's record (the listener has bounded how many there can be)."""
        if isinstance(parsed, http.RequestError):
            attempt = AttemptRecord("-", parsed.host, parsed.port)
        else:
            attempt = AttemptRecord(parsed.method, parsed.host, parsed.port)
        self._attempts.append(attempt)
        return attempt

    def _admit(
        self, parsed: http.ProxyRequest | http.RequestError, number: int
    ) -> http.ProxyRequest:
        """The request, unless it breaks a limit or could not be parsed (then _Refused)."""
        if number > self.limits.connections:
            limit = f"egress_connections limit of {self.limits.connections} reached"
            raise _Refused(403, limit, denied=True)
        if self._relay.exhausted:
            limit = f"egress_bytes limit of {format_size(self.limits.bytes)} reached"
            raise _Refused(403, limit, denied=True)
        if isinstance(parsed, http.RequestError):
            raise _Refused(400, parsed.reason, denied=True)
        return parsed

    async def _open(
        self, request: http.ProxyRequest, attempt: AttemptRecord
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to a checked address of the request's host, or _Refused."""
        rule = match_rule(self.rules, request.host, request.port)
        if rule is None:
            raise _Refused(403, "not on the allowlist", denied=True)
        attempt.allowed, attempt.reason = True, f"matches {rule}"
        try:
            addresses = await self._resolve(request.host, request.port)
        except OSError as exc:
            reason = f"cannot resolve {request.host}: {describe_error(exc)}"
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
        raise _Refused(502, f"cannot connect: {describe_error(failure)}", denied=False)

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


async def _reply(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    """The proxy's own response; the client may be gone already."""
    with contextlib.suppress(OSError, RuntimeError):
        writer.write(http.response(status, _STATUS_TEXT[status], message))
        await writer.drain()


def _parse(head: bytes | http.RequestError) -> http.ProxyRequest | http.RequestError:
    if isinstance(head, http.RequestError):
        return head
    try:
        return http.parse_request(head)
    except http.RequestError as exc:
        return exc


async def _read_head(reader: asyncio.StreamReader) -> bytes | http.RequestError | None:
    """The request head, read a line at a time up to its blank line, or up to a line that does
    not end in CRLF (for the parser to refuse); None when the client sent nothing at all."""
    head = bytearray()
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if not (head + exc.partial).strip():
                return None
            return http.RequestError("the request head ended early")
        except asyncio.LimitOverrunError:
            line = b""
        head += line
        if not line or len(head) > http.MAX_HEAD_BYTES:
            return http.RequestError(f"request head larger than {http.MAX_HEAD_BYTES} bytes")
        if line == b"\r\n" or not line.endswith(b"\r\n"):
            return bytes(head)
