"""Where the console is served: ``[console] listen``, on the daemon's event loop, over TLS with
the daemon's certificate when [tls] is configured (the configuration refuses plain HTTP off
loopback). Nothing listens unless ``[console] enabled``."""

from __future__ import annotations

import ssl
from pathlib import Path

import structlog
from aiohttp import web

from runtime.console.app import make_app
from runtime.console.settings import ConsoleSettings
from runtime.console.web import Site
from runtime.errors import ConfigError

__all__ = ["ConsoleListener", "tls_context"]

log = structlog.get_logger("skillrt.console")

# How long stopping waits for requests under way; live streams are ended at once.
_SHUTDOWN_SECONDS = 2.0
# How long a connection may go without a whole request's headers, from its opening or its
# last answer: an idle or half-sent request holds a file descriptor of the daemon's.
_IDLE_SECONDS = 10.0
# How long an answer given before the body was read (too slow, too large) waits for the rest
# of it, so that the client can read the answer: briefly, or it would hold on past its limit.
_LINGER_SECONDS = 2.0


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """TLS 1.3 only, as the daemon's gRPC listener; HTTP/1.1, which browsers speak to it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"tls.cert: the console cannot load {cert} and {key}: {exc}") from exc
    context.set_alpn_protocols(["http/1.1"])
    return context


class ConsoleListener:
    def __init__(
        self, settings: ConsoleSettings, site: Site, tls: tuple[Path, Path] | None
    ) -> None:
        self._settings = settings
        self._site = site
        self._tls = tls
        self._runner: web.AppRunner | None = None

    async def listen(self) -> None:
        """Start serving, if enabled."""
        settings = self._settings
        if not settings.enabled:
            return
        context = tls_context(*self._tls) if self._tls is not None else None
        runner = web.AppRunner(
            make_app(self._site),
            handle_signals=False,
            access_log=None,
            shutdown_timeout=_SHUTDOWN_SECONDS,
            keepalive_timeout=_IDLE_SECONDS,
            lingering_time=_LINGER_SECONDS,
        )
        await runner.setup()
        site = web.TCPSite(runner, settings.host, settings.port, ssl_context=context)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(
                f"console.listen: cannot listen on {settings.listen}: {exc.strerror}"
            ) from exc
        self._runner = runner
        log.info("serving the console", url=settings.url(tls=context is not None))

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
