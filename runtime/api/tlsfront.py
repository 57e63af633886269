"""TLS for the daemon's TCP listener: TLS 1.3 only (optionally mutual), and the principals that
client certificates name.

gRPC's Python server cannot set a minimum TLS version, so the daemon terminates TLS itself with
Python's ssl module, in the listener that relays each connection to gRPC (api/relay.py).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.auth.roles import Principal, Role

__all__ = ["TlsSettings", "certified_principal", "server_context"]


@dataclass(frozen=True, kw_only=True)
class TlsSettings:
    cert: Path
    key: Path
    client_ca: Path | None = None  # verify client certificates signed by this CA (mTLS)
    require_client_cert: bool = False
    client_roles: tuple[tuple[str, Role], ...] = ()  # certificate common name -> role


def server_context(settings: TlsSettings) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(settings.cert, settings.key)
    context.set_alpn_protocols(["h2"])
    if settings.client_ca is not None:
        context.load_verify_locations(settings.client_ca)
        context.verify_mode = (
            ssl.CERT_REQUIRED if settings.require_client_cert else ssl.CERT_OPTIONAL
        )
    return context


def certified_principal(settings: TlsSettings, cert: dict[str, Any] | None) -> Principal | None:
    """The principal a verified client certificate maps to, if its name is configured."""
    if not cert:
        return None
    roles = dict(settings.client_roles)
    names = [value for rdn in cert.get("subject", ()) for key, value in rdn if key == "commonName"]
    for name in names:
        role = roles.get(name)
        if role is not None:
            # Certificate identities live in their own namespace: a token can never be named
            # like one (token names cannot contain ':').
            return Principal(name=f"cert:{name}", role=role, authenticated_by="certificate")
    return None
