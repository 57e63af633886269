"""Turning a call's credentials into a Principal, or UNAUTHENTICATED with no hint why."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from runtime.auth.lockout import Lockout
from runtime.auth.peers import Peer
from runtime.auth.roles import Principal
from runtime.auth.tokens import TokenStore, token_id
from runtime.errors import BadCredentials
from runtime.util.clock import SYSTEM_CLOCK, Clock

__all__ = [
    "Authenticator",
    "FailureHook",
    "Metadata",
    "Transport",
    "TransportInfo",
    "failure_keys",
]

Metadata = Iterable[tuple[str, Any]]


@dataclass(frozen=True, kw_only=True)
class Transport:
    """What the daemon's listener learnt about the connection a call arrived on."""

    peer: Peer  # who is calling, as the kernel tells it
    certified: Principal | None = None  # from a verified, mapped client certificate


# A call's gRPC peer string -> its connection, or None for one no listener accepted.
TransportInfo = Callable[[str], "Transport | None"]
FailureHook = Callable[[str, str], None]  # (who, token id or "") after each refused attempt


class Authenticator:
    def __init__(
        self,
        *,
        tokens: TokenStore,
        lockout: Lockout,
        transport: TransportInfo,
        keyholders: frozenset[int] = frozenset(),
        on_failure: FailureHook | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._tokens = tokens
        self._lockout = lockout
        self._clock = clock
        self._transport = transport
        self._keyholders = keyholders
        self._on_failure = on_failure

    def authenticate(self, metadata: Metadata, peer: str) -> Principal:
        now = self._clock.now_ms()
        token = _bearer(metadata)
        presented_id = token_id(token) if token else None
        transport = self._transport(peer)
        if transport is None:
            # Not a connection the daemon accepted (gRPC's private socket reached directly):
            # unknown means deny, and there is no identity to count the failure against.
            self._fail([], f"unknown {peer}", presented_id, now)
        keys = failure_keys(
            transport.peer, self._keyholders, f"token:{presented_id}" if presented_id else None
        )
        if any(self._lockout.locked(k, now) for k in keys):
            raise BadCredentials()
        if token is None:
            if transport.certified is not None:
                return transport.certified
            self._fail(keys, transport.peer.label, presented_id, now)
        record = self._tokens.verify(token, now)
        if record is None:
            self._fail(keys, transport.peer.label, presented_id, now)
        return Principal(
            name=record.name, role=record.role, authenticated_by="token", token_id=record.id
        )

    def _fail(self, keys: list[str], who: str, presented_id: str | None, now: int) -> NoReturn:
        for key in keys:
            self._lockout.failure(key, now)
        if self._on_failure is not None:
            self._on_failure(who, presented_id or "")
        raise BadCredentials()


def failure_keys(peer: Peer, keyholders: frozenset[int], credential: str | None) -> list[str]:
    """What one failed attempt counts against (see ``Lockout``); ``credential`` names what was
    presented (``token:<id>``, or a console account), without its secret.

    Failures count against who calls, alone and with the credential presented: guesses at a
    (public) token id or an account's name lock out the guesser, never the credential's holder.
    A keyholder (a uid that can read the daemon's keys) gains nothing by guessing; locking it
    out as a whole would only lock the operator out of their own daemon, so it is locked per
    credential only.
    """
    who = peer.identity
    keys = [] if peer.uid in keyholders else [f"peer:{who}"]
    if credential:
        keys.append(f"{credential}@{who}")
    return keys


def _bearer(metadata: Metadata) -> str | None:
    for key, value in metadata:
        if key.lower() == "authorization":
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            scheme, _, credential = text.partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
    return None
