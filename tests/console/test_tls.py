"""The console over TLS, with the daemon's certificate: TLS 1.3, and a Secure __Host- cookie."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest

from runtime.auth.certs import make_test_pki
from tests.api.conftest import cleanup, make_daemon
from tests.console.conftest import Browser, ConsoleDaemon, free_port


@pytest.fixture(scope="module")
def tls_console() -> Iterator[tuple[ConsoleDaemon, ssl.SSLContext]]:
    daemon = make_daemon()
    pki = daemon.root / "pki"
    files = make_test_pki(pki)
    port = free_port()
    config = daemon.root / "skillrt.toml"
    config.write_text(
        f'[console]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
        '[tls]\ncert = "pki/server.pem"\nkey = "pki/server.key"\n'
    )
    try:
        daemon.start("--config", str(config))
        context = ssl.create_default_context(cafile=str(files["ca"]))
        yield ConsoleDaemon(daemon=daemon, port=port), context
    finally:
        cleanup(daemon)


def test_the_session_cookie_is_secure_over_tls(
    tls_console: tuple[ConsoleDaemon, ssl.SSLContext],
) -> None:
    """Over TLS the session cookie is __Host-, Secure, HttpOnly and SameSite=Strict."""
    console, context = tls_console
    browser = Browser("127.0.0.1", console.port, tls=context)
    assert browser.sign_in(token=console.daemon.owner_token).status == 303
    session = [c for c in browser.set_cookies if c.startswith("__Host-skillrt-session=")]
    assert len(session) == 1
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in session[0]
    assert browser.get("/approvals").status == 200


def test_tls_before_1_3_is_refused(tls_console: tuple[ConsoleDaemon, ssl.SSLContext]) -> None:
    """A client that offers TLS 1.2 at most is refused, as on the gRPC listener."""
    console, context = tls_console
    context = ssl.create_default_context(cafile=None)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    browser = Browser("127.0.0.1", console.port, tls=context)
    with pytest.raises(ssl.SSLError):
        browser.get("/login")
