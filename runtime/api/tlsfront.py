"""The TLS front: terminates TLS 1.3 (optionally mutual) for the daemon's TCP listener.

gRPC's Python server cannot set a minimum TLS version, so the daemon terminates TLS itself with
Python's ssl module and relays each connection to a gRPC listener on 127.0.0.1. The relay's
upstream port identifies the connection, which is how the auth interceptor learns that a call came
over TLS, from which address and with which client certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from pathlib import Path

import structlog

from runtime.auth.authenticate import Transport
from runtime.auth.roles import Principal, Role

__all__ = ["TlsFront", "TlsSettings", "server_context"]

log = structlog.get_logger("skillrt.tls")
_CHUNK = 65536


@dataclass(frozen=True, kw_only=True)
class TlsSettings:
    cert: Path
    key: Path
    client_ca: Path | None = None  # verify client certificates signed by this CA (mTLS)
    require_client_cert: bool = False
    client_roles: tuple[tuple[str, Role], ...] = ()  # certificate common name -> role


def server_context(settings: TlsSettings) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(settings.cert, settings.key)
    context.set_alpn_protocols(["h2"])
    if settings.client_ca is not None:
        context.load_verify_locations(settings.client_ca)
        context.verify_mode = (
            ssl.CERT_REQUIRED if settings.require_client_cert else ssl.CERT_OPTIONAL
        )
    return context


class TlsFront:
    def __init__(self, settings: TlsSettings, *, address: str, upstream_port: int) -> None:
        self.settings = settings
        self.address = address
        self.upstream_port = upstream_port
        self._roles = dict(settings.client_roles)
        self._connections: dict[str, Transport] = {}  # upstream peer string -> transport
        self._server: asyncio.Server | None = None

    def transport(self, peer: str) -> Transport:
        return self._connections.get(peer, Transport(tls=False))

    async def start(self) -> None:
        host, _, port = self.address.rpartition(":")
        self._server = await asyncio.start_server(
            self._relay, host.strip("[]"), int(port), ssl=server_context(self.settings)
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.upstream_port
        )
        local_host, local_port = upstream_writer.get_extra_info("sockname")[:2]
        key = f"ipv4:{local_host}:{local_port}"
        remote = writer.get_extra_info("peername")
        self._connections[key] = Transport(
            tls=True,
            certified=self._certified(writer.get_extra_info("peercert")),
            remote=f"ipv4:{remote[0]}:{remote[1]}" if remote else None,
        )
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            self._connections.pop(key, None)
            for stream in (writer, upstream_writer):
                stream.close()

    def _certified(self, cert: dict[str, object] | None) -> Principal | None:
        """The principal a verified client certificate maps to, if its name is configured."""
        if not cert:
            return None
        subject = cert.get("subject", ())
        names = [
            value
            for rdn in subject  # type: ignore[attr-defined]
            for key, value in rdn
            if key == "commonName"
        ]
        for name in names:
            role = self._roles.get(name)
            if role is not None:
                # Certificate identities live in their own namespace: a token can never be
                # named like one (token names cannot contain ':').
                return Principal(name=f"cert:{name}", role=role, authenticated_by="certificate")
        return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
        while chunk := await reader.read(_CHUNK):
            writer.write(chunk)
            await writer.drain()
    with contextlib.suppress(OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()
