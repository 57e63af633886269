"""The web console, built from the daemon's own objects (see ``runtime.console``)."""

from __future__ import annotations

import os

from runtime.api.config import DaemonConfig
from runtime.audit.background import BackgroundAudit
from runtime.auth.accounts import AccountStore
from runtime.auth.lockout import Lockout
from runtime.auth.tokens import TokenStore
from runtime.console.backend import Backend
from runtime.console.listener import ConsoleListener
from runtime.console.render import Renderer
from runtime.console.sessions import Sessions
from runtime.console.settings import ConsoleSettings
from runtime.console.signin import SignIn
from runtime.console.web import Site
from runtime.core.catalog import Catalog
from runtime.core.invoke import Invocations
from runtime.core.signature_gate import SignatureGate
from runtime.sandbox.profiles import ProfileStore

__all__ = ["console_listener"]


def console_listener(
    config: DaemonConfig,
    *,
    invocations: Invocations,
    catalog: Catalog,
    signatures: SignatureGate,
    profiles: ProfileStore,
    audit_log: BackgroundAudit,
    accounts: AccountStore,
    tokens: TokenStore,
    lockout: Lockout,
) -> ConsoleListener:
    """The console's listener (it serves only if ``[console] enabled``)."""
    tls = (config.tls.cert, config.tls.key) if config.tls is not None else None
    signin = SignIn(
        accounts=accounts,
        tokens=tokens,
        lockout=lockout,
        audit_log=audit_log,
        keyholders=frozenset({0, os.geteuid()}),  # as the gRPC authenticator's
    )
    site = Site(
        backend=Backend(
            invocations=invocations,
            catalog=catalog,
            signatures=signatures,
            profiles=profiles,
            audit_log=audit_log,
            audit_keys=config.audit_keys,
        ),
        sessions=Sessions(
            idle_ms=config.console.session_idle_ms, max_ms=config.console.session_max_ms
        ),
        signin=signin,
        renderer=Renderer(),
        tls=tls is not None,
        hosts=frozenset() if tls is not None else _own_hosts(config.console),
    )
    return ConsoleListener(config.console, site, tls)


def _own_hosts(console: ConsoleSettings) -> frozenset[str]:
    """What a browser sends as Host for the console's plain-HTTP (loopback) address."""
    names = {console.listen, f"localhost:{console.port}"}
    return frozenset(name.lower() for name in names)
