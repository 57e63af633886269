"""Request smuggling from inside a real sandbox: framing that the proxy and an origin could read
two ways is refused with 400 and a violation, and neither request reaches the origin."""

from __future__ import annotations

import secrets

import pytest

from tests.sandbox.probes import explain, out

from .conftest import NetJail, Origin

ALLOWED = "allowed.test:80"
HEAD = "POST http://allowed.test/echo?t={tag} HTTP/1.1\r\nHost: allowed.test\r\n"
SMUGGLED = "GET http://allowed.test/echo?t={tag}-smuggled HTTP/1.1\r\nHost: allowed.test\r\n\r\n"


@pytest.mark.parametrize(
    ("framing", "refused"),
    [
        (
            "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\n" + SMUGGLED,
            f"{ALLOWED} (bare LF line ending in the chunked body)",
        ),
        (
            "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n" + SMUGGLED,
            f"{ALLOWED} (malformed request body (refused by the HTTP/1.1 parser))",
        ),
        (
            "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
            f"{ALLOWED} (both Content-Length and Transfer-Encoding)",
        ),
        (
            "Content-Length: 0\r\nContent-Length: 0\r\n\r\n" + SMUGGLED,
            "malformed request (more than one Content-Length header)",
        ),
        (
            "X-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n" + SMUGGLED,
            "malformed request (folded header line (obs-fold) in the request head)",
        ),
        (
            "X-A: 1\nContent-Length: 0\r\n\r\n" + SMUGGLED,
            "malformed request (bare LF line ending in the request head)",
        ),
    ],
)
def test_smuggling_never_reaches_the_origin(
    net: NetJail, origin: Origin, framing: str, refused: str
) -> None:
    """The request is refused with 400 and the reason, and nothing of it reaches the origin."""
    tag = secrets.token_hex(6)
    request = (HEAD + framing).format(tag=tag).encode()
    result = net.python(f"print(raw({request!r}).split(b'\\r\\n')[0].decode())", [ALLOWED])
    assert out(result) == "HTTP/1.1 400 Bad Request", explain(result)
    assert result.violations == (f"egress denied: {refused}",)
    assert origin.requests_for(tag) == []
