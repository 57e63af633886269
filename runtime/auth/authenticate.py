"""Turning a call's credentials into a Principal, or UNAUTHENTICATED with no hint why."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from runtime.auth.lockout import Lockout
from runtime.auth.roles import Principal
from runtime.auth.tokens import TokenStore, token_id
from runtime.errors import BadCredentials
from runtime.util.clock import SYSTEM_CLOCK, Clock

__all__ = ["Authenticator", "FailureHook", "Metadata", "Transport", "TransportInfo", "plain_peer"]

Metadata = Iterable[tuple[str, Any]]


@dataclass(frozen=True, kw_only=True)
class Transport:
    """What the TLS front knows about the connection a call arrived on."""

    tls: bool  # a TLS 1.3 connection terminated by the daemon
    certified: Principal | None = None  # from a verified, mapped client certificate
    remote: str | None = None  # the client's address as the TLS front saw it


TransportInfo = Callable[[str], Transport]
FailureHook = Callable[[str, str], None]  # (peer, token id or "") after each refused attempt


class Authenticator:
    def __init__(
        self,
        *,
        tokens: TokenStore,
        lockout: Lockout,
        transport: TransportInfo,
        allow_plain_tcp: bool,
        on_failure: FailureHook | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._tokens = tokens
        self._lockout = lockout
        self._clock = clock
        self._transport = transport
        self._allow_plain_tcp = allow_plain_tcp
        self._on_failure = on_failure

    def authenticate(self, metadata: Metadata, peer: str) -> Principal:
        now = self._clock.now_ms()
        token = _bearer(metadata)
        presented_id = token_id(token) if token else None
        transport = self._transport(peer)
        peer_key = _peer_key(transport.remote or peer)
        # Guesses at a token are counted per place they come from: someone who knows a token's
        # (public) id cannot lock its real holder out from elsewhere.
        token_key = f"token:{presented_id}@{peer_key or 'local'}" if presented_id else None
        keys = [k for k in (peer_key, token_key) if k]
        if any(self._lockout.locked(k, now) for k in keys):
            raise BadCredentials()
        if _is_tcp(peer) and not transport.tls and not self._allow_plain_tcp:
            self._fail(keys, peer, presented_id, now)
        if token is None:
            if transport.certified is not None:
                return transport.certified
            self._fail(keys, peer, presented_id, now)
        record = self._tokens.verify(token, now)
        if record is None:
            self._fail(keys, peer, presented_id, now)
        return Principal(
            name=record.name, role=record.role, authenticated_by="token", token_id=record.id
        )

    def _fail(self, keys: list[str], peer: str, presented_id: str | None, now: int) -> NoReturn:
        for key in keys:
            self._lockout.failure(key, now)
        if self._on_failure is not None:
            self._on_failure(peer, presented_id or "")
        raise BadCredentials()


def _bearer(metadata: Metadata) -> str | None:
    for key, value in metadata:
        if key.lower() == "authorization":
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            scheme, _, credential = text.partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
    return None


def _is_tcp(peer: str) -> bool:
    return peer.startswith(("ipv4:", "ipv6:"))


def plain_peer(peer: str) -> Transport:
    """The transport of a daemon without a TLS front: nothing is TLS."""
    return Transport(tls=False)


def _peer_key(peer: str) -> str | None:
    """Lock out remote addresses; every Unix-socket caller is local and already trusted by
    the socket's 0600 mode, and they all share one peer string."""
    if not _is_tcp(peer):
        return None
    address = peer.split(":", 1)[1].rsplit(":", 1)[0]
    return f"peer:{address}"
