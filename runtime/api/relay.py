"""The daemon's listeners: every accepted connection is relayed to gRPC on a private socket.

gRPC's Python server tells a call only its peer's address, which is the same ("unix:") for every
Unix-socket client and says nothing of who a local TCP client is; nor can it set a minimum TLS
version. So the daemon accepts connections itself: it asks the kernel who is calling (Peer),
terminates TLS where configured, and relays the bytes to a gRPC listener on a private Unix socket.
The upstream end of each relayed connection is bound to an abstract name of its own, which gRPC
reports as the call's peer and which maps back to what the listener learnt (Transport). A
connection that did not come through a listener maps to nothing, and is refused.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import structlog

from runtime.api.relayguard import (
    CALLER_UNKNOWN,
    CAPS,
    SHORT_OF_DESCRIPTORS,
    Refusals,
    RelayCaps,
)
from runtime.auth.authenticate import Transport
from runtime.auth.peers import tcp_peer, unix_peer
from runtime.auth.roles import Principal
from runtime.sandbox.egress.guard import free_descriptors

__all__ = ["Certify", "Relay"]

log = structlog.get_logger("skillrt.relay")

Certify = Callable[[Any], "Principal | None"]  # a verified client certificate -> its principal
_BACKLOG = 128
# After accept() fails for want of descriptors the connection stays queued and the socket
# readable: pausing keeps the loop from spinning until descriptors free up.
_ACCEPT_RETRY_SECONDS = 0.1
# What a listener learns of an accepted connection; None: the kernel cannot name the caller.
_Identify = Callable[[asyncio.BaseTransport], Awaitable["Transport | None"]]


class Relay:
    def __init__(self, upstream: Path, caps: RelayCaps = CAPS) -> None:
        self._upstream = str(upstream)
        self._caps = caps
        self._transports: dict[str, Transport] = {}  # gRPC peer string -> its connection's
        self._listening: list[tuple[socket.socket, asyncio.Task[None]]] = []
        self._ends: set[_End] = set()
        self._downstreams = 0  # callers' connections open
        self._callers: Counter[str] = Counter()  # open connections by caller identity
        # TCP connections not yet identified (in their TLS handshake or the kernel's tables), by
        # remote address. A Unix-socket caller is named at once, so silent TCP connections can
        # never keep the Unix socket's callers out.
        self._waiting: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.refusals = Refusals()

    @property
    def head_timeout_seconds(self) -> float:
        return self._caps.head_timeout_seconds

    def transport(self, peer: str) -> Transport | None:
        return self._transports.get(peer)

    async def listen_unix(self, path: Path) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # the socket is created 0600: only the daemon's user connects
        try:
            listener.bind(str(path))
        except OSError:
            listener.close()
            raise
        finally:
            os.umask(old_umask)
        self._listen(listener, _unix_transport, tls=None)

    async def listen_tcp(
        self, address: str, *, tls: ssl.SSLContext | None = None, certify: Certify | None = None
    ) -> None:
        async def identify(connection: asyncio.BaseTransport) -> Transport | None:
            ends = (connection.get_extra_info("sockname"), connection.get_extra_info("peername"))
            # The kernel's socket tables are files: read them off the event loop.
            peer = await asyncio.to_thread(tcp_peer, ends[0][:2], ends[1][:2])
            if peer is None:
                return None
            certified = certify(connection.get_extra_info("peercert")) if certify else None
            return Transport(peer=peer, certified=certified)

        host, _, port = address.rpartition(":")
        loop = asyncio.get_running_loop()
        found = await loop.getaddrinfo(
            host.strip("[]"), int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        # Every address the host name has, as asyncio's create_server would listen on.
        for family, *_, sockaddr in dict.fromkeys(found):
            listener = socket.create_server(sockaddr, family=family, backlog=_BACKLOG)
            self._listen(listener, identify, tls=tls)

    def stop_listening(self) -> None:
        """No new connections; those open go on, so that callers receive their final answers."""
        for listener, accepting in self._listening:
            accepting.cancel()
            listener.close()
        self._listening.clear()

    def close(self) -> None:
        for end in list(self._ends):
            end.close()
        self.refusals.flush()

    def _listen(
        self, listener: socket.socket, identify: _Identify, *, tls: ssl.SSLContext | None
    ) -> None:
        if listener.family == socket.AF_UNIX:
            listener.listen(_BACKLOG)
        listener.setblocking(False)
        accepting = asyncio.get_running_loop().create_task(self._accept(listener, identify, tls))
        self._listening.append((listener, accepting))

    async def _accept(
        self, listener: socket.socket, identify: _Identify, tls: ssl.SSLContext | None
    ) -> None:
        """Accept, and close at once what the caps refuse: our own loop rather than asyncio's
        create_server, which logs a traceback per failed accept() and offers no place to refuse
        a connection before its TLS handshake."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                connection, address = await loop.sock_accept(listener)
            except OSError:  # EMFILE, ENFILE, ENOBUFS: the daemon is short of descriptors
                # The connection stays queued and the socket readable: pause rather than spin.
                self.refusals.note(SHORT_OF_DESCRIPTORS)
                await asyncio.sleep(_ACCEPT_RETRY_SECONDS)
                continue
            waiting = None if listener.family == socket.AF_UNIX else str(address[0])
            why = self._refusal(waiting)
            if why is not None:
                connection.close()
                self.refusals.note(why)
                continue
            self._downstreams += 1
            if waiting is not None:
                self._waiting[waiting] += 1
            task = loop.create_task(self._open(connection, identify, tls, waiting))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _refusal(self, waiting: str | None) -> str | None:
        if self._downstreams >= self._caps.total:
            return f"more than {self._caps.total} connections open"
        if waiting is not None and self._waiting[waiting] >= self._caps.unidentified_per_address:
            return (
                f"more than {self._caps.unidentified_per_address} connections of one address "
                "waiting to be identified"
            )
        if waiting is not None and self._waiting.total() >= self._caps.unidentified:
            return f"more than {self._caps.unidentified} connections waiting to be identified"
        if free_descriptors() < self._caps.descriptor_reserve:
            return SHORT_OF_DESCRIPTORS
        return None

    async def _open(
        self,
        connection: socket.socket,
        identify: _Identify,
        tls: ssl.SSLContext | None,
        waiting: str | None,
    ) -> None:
        downstream = _Downstream(self, identify, waiting)
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                lambda: downstream,
                connection,
                ssl=tls,
                ssl_handshake_timeout=self._caps.head_timeout_seconds if tls else None,
            )
        except OSError as exc:  # a failed or timed-out TLS handshake
            connection.close()
            self._downstreams -= 1
            self._identified(downstream)
            self.refusals.note(f"handshake failed: {type(exc).__name__}")

    async def _link(self, downstream: _Downstream, identify: _Identify) -> None:
        """Identify ``downstream``'s caller, then open its upstream end, known to gRPC by a name
        of its own."""
        try:
            transport = await identify(downstream.connection)
        except Exception:  # a connection gone meanwhile, an unreadable table: unknown
            transport = None
        finally:
            self._identified(downstream)
        if transport is None:
            self.refusals.note(CALLER_UNKNOWN)
            downstream.close()
            return
        if downstream.closing:
            return
        caller = transport.peer.identity
        if self._callers[caller] >= self._caps.per_caller:
            self.refusals.note(f"more than {self._caps.per_caller} connections of one caller")
            downstream.close()
            return
        self._callers[caller] += 1
        downstream.caller = caller
        name = f"skillrt-relay-{secrets.token_hex(12)}"
        key = f"unix-abstract:{name}"
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError:
            self.refusals.note(SHORT_OF_DESCRIPTORS)
            downstream.close()
            return
        sock.setblocking(False)
        try:
            sock.bind(f"\0{name}")
            self._transports[key] = transport  # before gRPC can see a single byte
            loop = asyncio.get_running_loop()
            await loop.sock_connect(sock, self._upstream)
            await loop.create_unix_connection(lambda: _Upstream(self, downstream, key), sock=sock)
        except OSError as exc:
            self._transports.pop(key, None)
            sock.close()
            self.refusals.note(f"cannot reach the gRPC listener: {exc.strerror}")
            downstream.close()

    def _identified(self, downstream: _Downstream) -> None:
        """``downstream`` no longer waits to be identified (named, refused, or gone)."""
        if downstream.waiting is not None:
            self._waiting[downstream.waiting] -= 1
            if not self._waiting[downstream.waiting]:
                del self._waiting[downstream.waiting]
            downstream.waiting = None

    def _opened(self, end: _End) -> None:
        self._ends.add(end)

    def _lost(self, end: _End) -> None:
        self._ends.discard(end)
        if isinstance(end, _Upstream):
            self._transports.pop(end.key, None)
        elif isinstance(end, _Downstream):
            self._downstreams -= 1
            self._identified(end)
            if end.caller is not None:
                self._callers[end.caller] -= 1
                if not self._callers[end.caller]:
                    del self._callers[end.caller]


async def _unix_transport(connection: asyncio.BaseTransport) -> Transport:
    return Transport(peer=unix_peer(connection.get_extra_info("socket")))


class _End(asyncio.Protocol):
    """One end of a relayed connection: what it receives, its partner sends on."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.partner: _End | None = None
        self.closing = False
        self.ended = False  # its peer has sent EOF
        self._connection: asyncio.Transport | None = None

    @property
    def connection(self) -> asyncio.Transport:
        assert self._connection is not None
        return self._connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._connection = cast(asyncio.Transport, transport)
        self.relay._opened(self)

    def data_received(self, data: bytes) -> None:
        if self.partner is not None:
            self.partner.connection.write(data)

    def eof_received(self) -> bool:
        self.ended = True
        partner = self.partner
        # Half-closed, the answer may still come back; once both sides have ended, nothing can,
        # and asyncio closes neither transport by itself.
        if (
            partner is not None
            and not partner.ended
            and partner.connection.can_write_eof()
            and self.connection.can_write_eof()
        ):
            partner.connection.write_eof()
            return True
        self.close()
        return False

    def pause_writing(self) -> None:
        if self.partner is not None:
            self.partner.connection.pause_reading()

    def resume_writing(self) -> None:
        if self.partner is not None:
            self.partner.connection.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.relay._lost(self)
        self.close()

    def close(self) -> None:
        """Close both ends; what each has buffered is sent first."""
        if self.closing:
            return
        self.closing = True
        if self._connection is not None:
            self._connection.close()
        if self.partner is not None:
            self.partner.close()


class _Downstream(_End):
    """The caller's end: reads nothing until its caller is identified and upstream is open."""

    def __init__(self, relay: Relay, identify: _Identify, waiting: str | None) -> None:
        super().__init__(relay)
        self._identify = identify
        self.waiting = waiting  # its remote address, while it waits to be identified
        self._linking: asyncio.Task[None] | None = None
        self._silence: asyncio.TimerHandle | None = None
        self.caller: str | None = None  # the identity its connection counts against, once known

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.connection.pause_reading()
        loop = asyncio.get_running_loop()
        self._silence = loop.call_later(self.relay.head_timeout_seconds, self._silent)
        self._linking = loop.create_task(self.relay._link(self, self._identify))

    def data_received(self, data: bytes) -> None:
        if self._silence is not None:
            self._silence.cancel()
            self._silence = None
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._silence is not None:
            self._silence.cancel()
        super().connection_lost(exc)

    def _silent(self) -> None:
        self.relay.refusals.note(f"sent nothing in {self.relay.head_timeout_seconds:g} s")
        self.close()


class _Upstream(_End):
    """gRPC's end, bound to the name ``key`` that gRPC reports as the peer of its calls."""

    def __init__(self, relay: Relay, downstream: _Downstream, key: str) -> None:
        super().__init__(relay)
        self.key = key
        self.partner = downstream

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        downstream = self.partner
        assert downstream is not None
        downstream.partner = self
        if downstream.closing:
            self.close()
        else:
            downstream.connection.resume_reading()
