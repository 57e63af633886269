"""A sandbox cannot use its egress proxy to starve the process that runs it: connections are
capped per invocation (at once and in total), heads time out, and a descriptor reserve is kept;
each refusal is a violation on the invocation."""

from __future__ import annotations

import asyncio
import os
import resource
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.sandbox.egress.guard import CAPS, free_descriptors
from runtime.sandbox.egress.policy import parse_rules
from runtime.sandbox.egress.proxy import EgressLimits, EgressProxy, EgressReport
from tests.sandbox.probes import explain, out

from .conftest import NetJail, Origin, origin_settings

ALLOWED = "allowed.test:80"

# Opens connections straight to the proxy's socket, sending nothing, until one is refused.
HOLD = """
held, outcome = [], "all connected"
for _ in range({count}):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect("/run/skillrt-egress/proxy.sock")
    except OSError as exc:
        outcome = errno_name(exc)
        break
    held.append(conn)
print(len(held), outcome)
"""


def test_many_silent_connections_hit_the_caps(net: NetJail) -> None:
    """Connections that send nothing are capped at once and in total; then the socket is shut."""
    result = net.python(HOLD.format(count=400), [ALLOWED])
    connected, outcome = out(result).split()
    assert outcome == "ECONNREFUSED", explain(result)
    assert int(connected) < 400
    assert f"egress denied: 32 connection(s) refused: more than {CAPS.max_open} open at once" in (
        result.violations
    ), explain(result)
    assert "egress denied: 1 connection(s) refused: past the egress_connections limit of 64" in (
        result.violations
    )


def test_a_silent_connection_times_out(net: NetJail) -> None:
    """A connection that sends no request head gets 408 after the head timeout, as a violation."""
    result = net.python(
        """
        with socket.create_connection(("127.0.0.1", 3128), timeout=60) as conn:
            print(conn.recv(100).split(b"\\r\\n")[0].decode())
        """,
        [ALLOWED],
    )
    assert out(result) == "HTTP/1.1 408 Request Timeout", explain(result)
    timeout = f"{CAPS.head_timeout_seconds:g}s"
    assert result.violations == (
        f"egress denied: 1 connection(s) sent no request head within {timeout}",
    )


@pytest.fixture
def few_descriptors() -> Iterator[None]:
    """This process with fewer free descriptors than the reserve (still enough to launch)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    used = soft - free_descriptors()
    resource.setrlimit(resource.RLIMIT_NOFILE, (used + CAPS.descriptor_reserve - 64, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_proxy_refuses_connections_below_the_descriptor_reserve(
    net: NetJail, few_descriptors: None
) -> None:
    """Short of descriptors, the proxy refuses the sandbox's connection at once, as a violation."""
    result = net.python(
        """
        try:
            print(get("http://allowed.test/echo")[0])
        except OSError as exc:
            print(type(exc).__name__)
        """,
        [ALLOWED],
    )
    assert out(result) in ("RemoteDisconnected", "ConnectionResetError"), explain(result)
    assert result.violations == (
        "egress denied: 1 connection(s) refused: the runtime is short of file descriptors",
    )


def test_an_idle_tunnel_is_ended(origin: Origin, tmp_path: Path) -> None:
    """A tunnel on which no byte moves either way for the idle timeout is ended and noted."""
    proxy = EgressProxy(
        rules=parse_rules([ALLOWED]),
        limits=EgressLimits(bytes=1 << 20, connections=4),
        settings=origin_settings(origin),
        host_addresses=frozenset(),
        caps=replace(CAPS, idle_timeout_seconds=0.5),
    )
    path = str(tmp_path / "proxy.sock")

    async def go() -> tuple[bytes, EgressReport]:
        proxy.start(path)
        proxy.admit(lambda: {os.getpid()})  # this test process plays the sandbox
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"CONNECT allowed.test:80 HTTP/1.1\r\nHost: allowed.test:80\r\n\r\n")
        established = await reader.readuntil(b"\r\n\r\n")
        assert await reader.read() == b""  # the proxy ends the silent tunnel
        writer.close()
        return established, await proxy.close()

    established, report = asyncio.run(asyncio.wait_for(go(), timeout=30))
    assert established.startswith(b"HTTP/1.1 200")
    assert [a.error for a in report.attempts] == ["idle for 0.5s, ended"]
