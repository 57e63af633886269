"""Python clients of the skillrt daemon, synchronous and asyncio.

    with Client() as client:
        invocation = client.invoke("text-stats", "analyze", {"text": "hello"})
        print(invocation.result.output_json)
        session = client.create_session()
        finished = client.exec(session.id, ["/bin/sh", "-c", "echo hi > note; cat note"])

The target defaults to the daemon's Unix socket ($SKILLRT_SOCKET or the built-in path), the
token to $SKILLRT_TOKEN or the file $SKILLRT_TOKEN_FILE names; with neither, calls carry none.
"""

from __future__ import annotations

from runtime.client.core import (
    AsyncClient,
    Client,
    Tls,
    default_target,
    default_token,
    invoke_request,
)
from runtime.client.sessions import ExecOutcome

__all__ = [
    "AsyncClient",
    "Client",
    "ExecOutcome",
    "Tls",
    "default_target",
    "default_token",
    "invoke_request",
]
