"""Where the metrics are served: plain HTTP, ``GET /metrics`` only, on loopback TCP or a Unix
socket that ``[metrics] listen`` names (nothing listens without it).

prometheus_client's own servers listen on TCP only and give each connection a thread for as long
as its client keeps it open. This small server runs on the daemon's event loop instead: it serves
a Unix socket as well, the gauges read the daemon's objects on the loop that owns them, and a
slow or hostile scraper costs one bounded task, not a thread: each exchange is parsed by h11,
answers one request, and is cut off at a deadline; connections past a few at once are closed
unanswered.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import h11
import structlog

from runtime.errors import ConfigError

__all__ = ["Endpoint", "MetricsListener", "TcpEndpoint", "UnixEndpoint", "parse_endpoint"]

log = structlog.get_logger("skillrt.metrics")

_KEY = "metrics.listen"
_EXCHANGE_SECONDS = 10.0  # a request and its answer, whole
_CONNECTIONS = 8  # open at once; a scraper needs one
_HEAD_BYTES = 8192
_SUN_PATH_MAX = 108  # bytes in sockaddr_un's path, its terminating NUL included
# The text format prometheus_client's generate_latest writes.
_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Render = Callable[[], Awaitable[bytes]]


@dataclass(frozen=True)
class TcpEndpoint:
    host: str  # a loopback address
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class UnixEndpoint:
    path: Path

    def __str__(self) -> str:
        return f"unix:{self.path}"


Endpoint = TcpEndpoint | UnixEndpoint


def parse_endpoint(text: str, base: Path) -> Endpoint:
    """``unix:PATH`` (relative to ``base``) or ``host:port`` on a loopback address; a
    ValueError says why not."""
    if text.startswith("unix:"):
        if not text[5:]:
            raise ValueError("unix: needs the socket's path")
        return UnixEndpoint(base / text[5:])
    host, colon, port = text.rpartition(":")
    if not colon or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not host:port or unix:PATH")
    try:
        address = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address (give 127.0.0.1 or [::1])") from None
    # The metrics name skills and show the daemon's load to whoever connects, unauthenticated.
    if not address.is_loopback:
        raise ValueError(f"{host} is not a loopback address: metrics are served on this host only")
    return TcpEndpoint(str(address), int(port))


class MetricsListener:
    def __init__(self, render: Render) -> None:
        self._render = render
        self._server: asyncio.Server | None = None
        self._socket_file: tuple[Path, int, int] | None = None  # path, device, inode
        self._exchanges: dict[asyncio.Task[object], asyncio.StreamWriter] = {}

    async def listen(self, endpoint: Endpoint | None) -> None:
        """Start serving at ``endpoint``; None serves nothing."""
        if isinstance(endpoint, UnixEndpoint):
            listener = _bind_unix(endpoint.path)
            made = os.stat(endpoint.path)
            self._socket_file = (endpoint.path, made.st_dev, made.st_ino)
            self._server = await asyncio.start_unix_server(self._accept, sock=listener)
        elif isinstance(endpoint, TcpEndpoint):
            try:
                self._server = await asyncio.start_server(
                    self._accept, endpoint.host, endpoint.port
                )
            except OSError as exc:
                raise ConfigError(f"{_KEY}: cannot listen on {endpoint}: {exc.strerror}") from exc
        else:
            return
        log.info("serving metrics", listen=str(endpoint))

    async def close(self) -> None:
        """Stop listening, end every exchange under way, and remove the socket file."""
        if self._server is None:
            return
        self._server.close()
        # Cut off rather than cancelled: an exchange then ends as if its scraper had left.
        for writer in self._exchanges.values():
            writer.transport.abort()
        await asyncio.gather(*self._exchanges, return_exceptions=True)
        await self._server.wait_closed()
        if self._socket_file is not None:
            path, device, inode = self._socket_file
            with contextlib.suppress(FileNotFoundError):
                now = path.lstat()
                if (now.st_dev, now.st_ino) == (device, inode):  # still ours, not a successor's
                    path.unlink()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None or len(self._exchanges) >= _CONNECTIONS:
            writer.transport.abort()
            return
        self._exchanges[task] = writer
        try:
            async with asyncio.timeout(_EXCHANGE_SECONDS):
                writer.write(await self._answer(reader))
                await writer.drain()
                writer.close()
                await writer.wait_closed()
        except (TimeoutError, ConnectionError):
            pass  # a scraper too slow, or gone: there is nobody to tell
        finally:
            writer.transport.abort()  # nothing left to send; a no-op once closed
            del self._exchanges[task]

    async def _answer(self, reader: asyncio.StreamReader) -> bytes:
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=_HEAD_BYTES)
        try:
            request = await _request(reader, connection)
        except h11.RemoteProtocolError as exc:
            return _response(connection, exc.error_status_hint)
        if request is None:
            return b""  # closed before a whole request
        path = request.target.partition(b"?")[0]
        if request.method != b"GET" or path != b"/metrics":
            return _response(connection, 404)
        try:
            body = await self._render()
        except Exception:
            log.exception("metrics could not be rendered")
            return _response(connection, 500)
        return _response(connection, 200, body)


async def _request(reader: asyncio.StreamReader, connection: h11.Connection) -> h11.Request | None:
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(await reader.read(_HEAD_BYTES))  # b"": the end
        elif isinstance(event, h11.Request):
            return event
        else:
            return None


def _response(connection: h11.Connection, status: int, body: bytes = b"") -> bytes:
    """The whole response; only the metrics have a body (so that HEAD is answered too)."""
    headers = [("content-length", str(len(body))), ("connection", "close")]
    if body:
        headers.append(("content-type", _CONTENT_TYPE))
    return b"".join(
        (
            connection.send(h11.Response(status_code=status, headers=headers)) or b"",
            connection.send(h11.Data(data=body)) or b"",
            connection.send(h11.EndOfMessage()) or b"",
        )
    )


def _bind_unix(path: Path) -> socket.socket:
    if not path.parent.is_dir():
        raise ConfigError(f"{_KEY}: {path.parent}: no such directory")
    if len(os.fsencode(path)) >= _SUN_PATH_MAX:
        raise ConfigError(f"{_KEY}: {path}: too long a path for a Unix socket")
    _remove_stale(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        # The daemon's umask (077) already keeps others out; the scraper runs as its user.
        path.chmod(0o600)
    except OSError as exc:
        listener.close()
        raise ConfigError(f"{_KEY}: cannot listen on {path}: {exc.strerror}") from exc
    return listener


def _remove_stale(path: Path) -> None:
    """A socket left by a daemon that died is removed; anything else there stops the start."""
    try:
        found = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(found.st_mode):
        raise ConfigError(f"{_KEY}: {path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)  # a listener that never accepts must not hold up the start
    try:
        probe.connect(str(path))
    except ConnectionRefusedError:
        path.unlink()
        return
    except OSError as exc:
        raise ConfigError(f"{_KEY}: {path}: cannot tell whether it is in use: {exc}") from exc
    finally:
        probe.close()
    raise ConfigError(f"{_KEY}: {path}: another process is listening on it")
