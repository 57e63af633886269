"""One invocation's egress proxy (asyncio I/O): decide, connect, relay and record.

The proxy listens on a Unix socket that only its sandbox reaches, so every request it sees is
that invocation's and its allowlist applies. Each request goes through the same steps: parse
(``http``), count it against the limits, match the allowlist, resolve on the host, check every
address (``policy``), connect to a checked address (never resolving again), then tunnel
(CONNECT) or forward one plain-HTTP request (``relay``). Every attempt becomes an
``EgressAttempt``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.sandbox.egress import http
from runtime.sandbox.egress.attempt import AttemptRecord, EgressAttempt
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
    connections: int  # every request counts, allowed or not


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
        self._attempts: list[AttemptRecord] = []
        self._requests = 0
        self._relay = Relay(limits.bytes)
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
        attempt: AttemptRecord | None = None
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
            reply = http.response(refused.status, _STATUS_TEXT[refused.status], message)
            with contextlib.suppress(OSError):
                writer.write(reply)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            # Either side went away mid-transfer: normal for a tunnel, noted for the record.
            if attempt is not None and attempt.error is None:
                attempt.error = f"connection ended: {describe_error(exc)}"
        finally:
            if upstream is not None:
                upstream.close()
            writer.close()
            if task is not None:
                self._handlers.discard(task)
            if attempt is not None and attempt.recorded and self._on_attempt is not None:
                self._on_attempt(attempt.freeze())

    def _record(self, parsed: http.ProxyRequest | http.RequestError) -> AttemptRecord:
        """Start the request's record and count it."""
        if isinstance(parsed, http.RequestError):
            attempt = AttemptRecord("-", parsed.host, parsed.port)
        else:
            attempt = AttemptRecord(parsed.method, parsed.host, parsed.port)
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
