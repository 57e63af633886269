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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import structlog

from runtime.auth.authenticate import Transport
from runtime.auth.peers import tcp_peer, unix_peer
from runtime.auth.roles import Principal

__all__ = ["Certify", "Relay"]

log = structlog.get_logger("skillrt.relay")

Certify = Callable[[Any], "Principal | None"]  # a verified client certificate -> its principal
# What a listener learns of an accepted connection; None: the kernel cannot name the caller.
_Identify = Callable[[asyncio.BaseTransport], Awaitable["Transport | None"]]


class Relay:
    def __init__(self, upstream: Path) -> None:
        self._upstream = str(upstream)
        self._transports: dict[str, Transport] = {}  # gRPC peer string -> its connection's
        self._servers: list[asyncio.AbstractServer] = []
        self._ends: set[_End] = set()

    def transport(self, peer: str) -> Transport | None:
        return self._transports.get(peer)

    async def listen_unix(self, path: Path) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # the socket is created 0600: only the daemon's user connects
        try:
            listener.bind(str(path))
        finally:
            os.umask(old_umask)
        self._servers.append(
            await asyncio.get_running_loop().create_unix_server(
                lambda: _Downstream(self, _unix_transport), sock=listener
            )
        )

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
        self._servers.append(
            await asyncio.get_running_loop().create_server(
                lambda: _Downstream(self, identify), host.strip("[]"), int(port), ssl=tls
            )
        )

    def stop_listening(self) -> None:
        """No new connections; those open go on, so that callers receive their final answers."""
        for server in self._servers:
            server.close()

    def close(self) -> None:
        for end in list(self._ends):
            end.close()

    async def _link(self, downstream: _Downstream, identify: _Identify) -> None:
        """Identify ``downstream``'s caller, then open its upstream end, known to gRPC by a name
        of its own."""
        try:
            transport = await identify(downstream.connection)
        except Exception:  # a connection gone meanwhile, an unreadable table: unknown
            log.exception("relay: cannot identify a caller")
            transport = None
        if transport is None:
            log.warning("relay: refused a caller the kernel cannot name")
            downstream.close()
            return
        if downstream.closing:
            return
        name = f"skillrt-relay-{secrets.token_hex(12)}"
        key = f"unix-abstract:{name}"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
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
            log.error("relay: cannot reach the gRPC listener", error=str(exc))
            downstream.close()

    def _opened(self, end: _End) -> None:
        self._ends.add(end)

    def _lost(self, end: _End) -> None:
        self._ends.discard(end)
        if isinstance(end, _Upstream):
            self._transports.pop(end.key, None)


async def _unix_transport(connection: asyncio.BaseTransport) -> Transport:
    return Transport(peer=unix_peer(connection.get_extra_info("socket")))


class _End(asyncio.Protocol):
    """One end of a relayed connection: what it receives, its partner sends on."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.partner: _End | None = None
        self.closing = False
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
        partner = self.partner.connection if self.partner is not None else None
        if partner is not None and partner.can_write_eof() and self.connection.can_write_eof():
            partner.write_eof()
            return True  # half-closed: the answer may still come back
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

    def __init__(self, relay: Relay, identify: _Identify) -> None:
        super().__init__(relay)
        self._identify = identify
        self._linking: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.connection.pause_reading()
        self._linking = asyncio.get_running_loop().create_task(
            self.relay._link(self, self._identify)
        )


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
