"""The metrics listener on a real Unix socket, and ``[metrics] listen`` in the config: loopback
or a private socket only, GET /metrics only, and no scraper can hold it up."""

from __future__ import annotations

import asyncio
import socket
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from runtime.api import metrics_listener
from runtime.api.config import load
from runtime.api.metrics_listener import (
    MetricsListener,
    TcpEndpoint,
    UnixEndpoint,
    parse_endpoint,
)
from runtime.errors import ConfigError

BODY = b"# HELP skillrt_up 1\n"


async def render() -> bytes:
    return BODY


async def exchange(path: Path, request: bytes) -> bytes:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(request)
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


def served(path: Path, test: Callable[[MetricsListener], Awaitable[None]]) -> None:
    async def go() -> None:
        listener = MetricsListener(render)
        await listener.listen(UnixEndpoint(path))
        try:
            await test(listener)
        finally:
            await listener.close()

    asyncio.run(go())


def test_get_metrics_answers_the_text_format_on_a_private_socket(tmp_path: Path) -> None:
    """The socket is 0600; GET /metrics gets the body, anything else 404; close removes it."""
    path = tmp_path / "metrics.sock"

    async def test(_: MetricsListener) -> None:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        answer = await exchange(path, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"\r\n\r\n" + BODY)
        assert b"content-type: text/plain; version=0.0.4" in answer
        for other in (b"GET / HTTP/1.1", b"POST /metrics HTTP/1.1", b"HEAD /metrics HTTP/1.1"):
            answer = await exchange(path, other + b"\r\nHost: x\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 404 ")

    served(path, test)
    assert not path.exists()


def test_a_malformed_request_is_refused_with_400(tmp_path: Path) -> None:
    """A request h11 cannot parse gets 400 and nothing else."""
    path = tmp_path / "metrics.sock"

    async def test(_: MetricsListener) -> None:
        answer = await exchange(path, b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 ")

    served(path, test)


def test_a_silent_scraper_does_not_hold_up_another(tmp_path: Path) -> None:
    """A connection that never sends its request does not delay the next scrape."""
    path = tmp_path / "metrics.sock"

    async def test(_: MetricsListener) -> None:
        _, idle = await asyncio.open_unix_connection(str(path))
        answer = await exchange(path, b"GET /metrics HTTP/1.0\r\n\r\n")
        assert answer.endswith(BODY)
        idle.close()

    served(path, test)


def test_a_silent_scraper_is_cut_off_at_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exchange's deadline closes a connection that never sends a request."""
    monkeypatch.setattr(metrics_listener, "_EXCHANGE_SECONDS", 0.05)
    path = tmp_path / "metrics.sock"

    async def test(_: MetricsListener) -> None:
        reader, writer = await asyncio.open_unix_connection(str(path))
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed, unanswered
        writer.close()

    served(path, test)


def test_connections_past_the_limit_are_closed_unanswered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every place taken by silent scrapers, another connection is closed at once."""
    monkeypatch.setattr(metrics_listener, "_CONNECTIONS", 1)
    path = tmp_path / "metrics.sock"

    async def test(_: MetricsListener) -> None:
        _, holder = await asyncio.open_unix_connection(str(path))
        reader, writer = await asyncio.open_unix_connection(str(path))
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed, unanswered
        writer.close()
        holder.close()

    served(path, test)


def test_a_stale_socket_is_replaced(tmp_path: Path) -> None:
    """A socket nobody listens on (left by a daemon that died) is removed and bound anew."""
    path = tmp_path / "metrics.sock"
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(path))

    async def test(_: MetricsListener) -> None:
        assert (await exchange(path, b"GET /metrics HTTP/1.0\r\n\r\n")).endswith(BODY)

    served(path, test)


def test_a_file_or_a_live_socket_in_the_way_stops_the_start(tmp_path: Path) -> None:
    """A regular file is left alone, a socket someone listens on too: both name the key."""
    path = tmp_path / "metrics.sock"
    path.write_text("keep me")

    async def start() -> None:
        await MetricsListener(render).listen(UnixEndpoint(path))

    with pytest.raises(ConfigError, match=r"^metrics\.listen: .* not a socket"):
        asyncio.run(start())
    assert path.read_text() == "keep me"
    path.unlink()
    with socket.socket(socket.AF_UNIX) as live:
        live.bind(str(path))
        live.listen()
        with pytest.raises(ConfigError, match=r"^metrics\.listen: .* another process"):
            asyncio.run(start())
    missing = tmp_path / "no-such-dir" / "metrics.sock"
    with pytest.raises(ConfigError, match=r"^metrics\.listen: .* no such directory"):
        asyncio.run(MetricsListener(render).listen(UnixEndpoint(missing)))


@pytest.mark.parametrize(
    ("text", "endpoint"),
    [
        ("127.0.0.1:9464", TcpEndpoint("127.0.0.1", 9464)),
        ("127.8.0.1:9464", TcpEndpoint("127.8.0.1", 9464)),
        ("[::1]:9464", TcpEndpoint("::1", 9464)),
        ("unix:/run/skillrt/metrics.sock", UnixEndpoint(Path("/run/skillrt/metrics.sock"))),
        ("unix:metrics.sock", UnixEndpoint(Path("/etc/skillrt/metrics.sock"))),
    ],
)
def test_loopback_addresses_and_unix_sockets_are_accepted(text: str, endpoint: object) -> None:
    """Loopback TCP (v4 or v6) and Unix paths, relative to the config file's folder."""
    assert parse_endpoint(text, Path("/etc/skillrt")) == endpoint


@pytest.mark.parametrize(
    "text", ["0.0.0.0:9464", "192.0.2.7:9464", "[::]:9464", "localhost:9464", "127.0.0.1", "unix:"]
)
def test_other_listen_values_are_refused_naming_the_key(tmp_path: Path, text: str) -> None:
    """Any host but a loopback address, or a malformed value, is one line naming the key."""
    file = tmp_path / "skillrt.toml"
    file.write_text(f'[metrics]\nlisten = "{text}"\n')
    with pytest.raises(ConfigError, match=r": metrics\.listen: ") as refused:
        load(file)
    assert "\n" not in str(refused.value)


def test_without_the_key_nothing_listens(tmp_path: Path) -> None:
    """No [metrics] listen (or no table at all): no listener."""
    file = tmp_path / "skillrt.toml"
    file.write_text("[metrics]\n")
    assert load(file).metrics_listen is None
    assert load(None).metrics_listen is None
