"""Network egress by allowlist, enforced outside the sandbox.

A sandbox in network mode ``allowlist`` keeps its own network namespace with only a loopback.
Its one way out is the invocation's egress proxy (``proxy``), which runs in the runtime's event
loop and listens on a Unix socket bind-mounted into the sandbox; a small bridge (``bridge``)
started inside the sandbox before the tool relays 127.0.0.1:``BRIDGE_PORT`` to that socket.
``listener`` accepts only the sandbox's own connections (``peer``) within the caps that protect
the daemon (``guard``), ``http`` parses each request strictly, ``policy`` decides it, ``relay``
moves an allowed one's bytes within the byte limit, ``attempt`` records each; ``session`` ties a
proxy's life to one sandbox's.
"""

from __future__ import annotations

__all__ = ["BRIDGE_INTERPRETER", "BRIDGE_PORT", "PROXY_VARIABLES"]

# The bridge is Python: every allowlist profile must bind this interpreter (checked at load).
BRIDGE_INTERPRETER = "/usr/bin/python3"
BRIDGE_PORT = 3128
# Set in the sandbox to the bridge's address, so that HTTP clients find the proxy themselves.
PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)
