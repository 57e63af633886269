"""Signing in to the console: a console account's password (and TOTP code once enrolled), or an
API token, counted by the daemon's one lockout and recorded in the audit log.

Failures count against the same keys as the gRPC authenticator's (``failure_keys``): the
caller, and the caller with the account or token id it tried. A refusal never says which part
was wrong. A session is only as good as what opened it: each request asks ``still_valid``, so
a password reset, a new role or a revoked token ends the sessions opened with the old one.
"""

from __future__ import annotations

import asyncio
from typing import NoReturn

import structlog

from runtime.audit import events
from runtime.audit.background import BackgroundAudit
from runtime.auth.accounts import AccountStore, account_principal
from runtime.auth.authenticate import failure_keys
from runtime.auth.lockout import Lockout
from runtime.auth.peers import Peer
from runtime.auth.roles import Principal
from runtime.auth.tokens import TokenStore, token_id
from runtime.console.sessions import Credential, Session
from runtime.errors import BadCredentials, NoSuchEntity
from runtime.util.clock import SYSTEM_CLOCK, Clock

__all__ = ["SignIn"]

log = structlog.get_logger("skillrt.console")

# argon2 takes tens of milliseconds and 64 MiB per check: a few at once, off the event loop.
_CHECKS_AT_ONCE = 2


class SignIn:
    def __init__(
        self,
        *,
        accounts: AccountStore,
        tokens: TokenStore,
        lockout: Lockout,
        audit_log: BackgroundAudit,
        keyholders: frozenset[int],
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._accounts = accounts
        self._tokens = tokens
        self._lockout = lockout
        self._audit = audit_log
        self._keyholders = keyholders
        self._clock = clock
        self._checks = asyncio.Semaphore(_CHECKS_AT_ONCE)

    async def with_password(
        self, peer: Peer, name: str, password: str, code: str
    ) -> tuple[Principal, Credential]:
        keys = failure_keys(peer, self._keyholders, f"console:{name}")
        self._refuse_if_locked(keys)
        async with self._checks:
            account = await asyncio.to_thread(
                self._accounts.verify, name, password, code, self._clock.now_ms()
            )
        if account is None:
            self._fail(keys, peer, name=name)
        who = account_principal(account)
        method = "password+totp" if account.totp else "password"
        await self._signed_in(who, peer, method)
        return who, Credential(account=account.name, changed_ms=account.changed_ms)

    async def with_token(self, peer: Peer, token: str) -> tuple[Principal, Credential]:
        presented = token_id(token)
        keys = failure_keys(peer, self._keyholders, f"token:{presented}" if presented else None)
        self._refuse_if_locked(keys)
        record = await self._tokens.db.call(self._tokens.verify, token, self._clock.now_ms())
        if record is None:
            self._fail(keys, peer, token_id=presented or "")
        who = Principal(
            name=record.name, role=record.role, authenticated_by="token", token_id=record.id
        )
        await self._signed_in(who, peer, "token")
        return who, Credential(token_id=record.id)

    async def still_valid(self, session: Session) -> bool:
        """Whether what opened the session still stands as it was."""
        credential = session.credential
        db = self._accounts.db
        try:
            if credential.account is not None:
                account = await db.call(self._accounts.get, credential.account)
                return account.changed_ms == credential.changed_ms
            assert credential.token_id is not None
            record = await db.call(self._tokens.get, credential.token_id)
        except NoSuchEntity:
            return False
        return record.valid_at(self._clock.now_ms())

    def signed_out(self, session: Session, peer: Peer | None, *, why: str) -> None:
        self._audit.emit(
            events.CONSOLE_LOGOUT,
            actor=session.principal.name,
            peer=peer.label if peer is not None else None,
            why=why,
        )

    async def _signed_in(self, who: Principal, peer: Peer, method: str) -> None:
        # On disk before the session exists: a sign-in the log cannot take is refused.
        await self._audit.record(
            events.CONSOLE_LOGIN,
            actor=who.name,
            role=who.role.value,
            method=method,
            token_id=who.token_id,
            peer=peer.label,
        )
        log.info("console sign-in", principal=who.name, method=method, peer=peer.label)

    def _refuse_if_locked(self, keys: list[str]) -> None:
        now = self._clock.now_ms()
        if any(self._lockout.locked(key, now) for key in keys):
            raise BadCredentials()

    def _fail(self, keys: list[str], peer: Peer, **tried: str) -> NoReturn:
        now = self._clock.now_ms()
        for key in keys:
            self._lockout.failure(key, now)
        log.warning("console sign-in failed", peer=peer.label, **tried)
        self._audit.emit(
            events.AUTH_FAILED, actor="anonymous", peer=peer.label, via="console", **tried
        )
        raise BadCredentials()
