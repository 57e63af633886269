"""Only the invocation's own sandbox may use its egress proxy: a host process is refused and never
counted, even one running as the sandbox's own host uid, which owns the socket."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator

from runtime.sandbox.egress.session import SANDBOX_SOCKET_DIR, SOCKET_NAME
from runtime.sandbox.nsjail import SANDBOX_GID, SANDBOX_UID
from runtime.sandbox.result import SandboxResult
from tests.sandbox.probes import explain, out

from .conftest import NetJail, Origin, live_socket_dir

ALLOWED = "allowed.test:80"
# What a host process would send to borrow the invocation's allowlist.
ATTACK = """
import socket, sys
try:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(20)
        conn.connect(sys.argv[1])
        conn.sendall(sys.argv[2].encode())
        print(repr(conn.recv(100)))
except OSError as exc:
    print(type(exc).__name__)
"""


def _attack(path: str, request: str, uid: int = SANDBOX_UID) -> str:
    """What a host process running as ``uid`` gets from the proxy socket at ``path``."""
    done = subprocess.run(
        ["/usr/bin/python3", "-I", "-c", ATTACK, path, request],
        user=uid,
        group=SANDBOX_GID,
        extra_groups=[],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_host_process_as_the_sandbox_user_is_refused(net: NetJail, origin: Origin) -> None:
    """A host process at the live socket is kept out: as uid 65534 by the socket's owner and mode,
    as the sandbox's own host uid by the proxy's peer check. The sandbox's own request works, and
    only the sandbox's request is in the result."""
    tag = os.urandom(6).hex()
    spec = net.spec(
        f"""
        import sys
        sys.stdin.readline()
        print(get("http://allowed.test/echo?t={tag}-sandbox")[0])
        """,
        [ALLOWED],
    )
    borrowed = f"GET http://allowed.test/echo?t={tag}-host HTTP/1.1\r\nHost: allowed.test\r\n\r\n"

    async def go() -> tuple[str, str, str, bool, SandboxResult]:
        sandbox = await net.launcher.start(spec)
        (named,) = [b.source for b in sandbox.spec.binds if b.target == SANDBOX_SOCKET_DIR]
        argv_path = os.path.join(named, SOCKET_NAME)
        live = os.path.join(live_socket_dir(sandbox), SOCKET_NAME)
        attacked = asyncio.Event()

        async def stdin() -> AsyncIterator[bytes]:
            await attacked.wait()
            yield b"go\n"

        run = asyncio.ensure_future(sandbox.run(stdin()))
        by_argv = await asyncio.to_thread(_attack, argv_path, borrowed)
        by_live = await asyncio.to_thread(_attack, live, borrowed)
        by_owner = await asyncio.to_thread(_attack, live, borrowed, sandbox.host_uid)
        attacked.set()
        return by_argv, by_live, by_owner, os.path.exists(argv_path), await run

    by_argv, by_live, by_owner, argv_path_exists, result = asyncio.run(
        asyncio.wait_for(go(), timeout=60)
    )
    assert not argv_path_exists and by_argv == "FileNotFoundError"
    assert by_live == "PermissionError", by_live
    assert by_owner in ("b''", "BrokenPipeError", "ConnectionResetError"), by_owner
    assert origin.requests_for(f"{tag}-host") == []
    assert out(result) == "200", explain(result)
    assert [a.host for a in result.egress] == ["allowed.test"]
    assert len(origin.requests_for(f"{tag}-sandbox")) == 1
