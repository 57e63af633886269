"""Console sessions: random, server-side, expiring (pure: the clock is passed in).

The browser holds only a random 256-bit id in a cookie; the daemon keeps, under the id's hash,
who signed in, with what credential, and the session's CSRF token. A session ends when unused
for the idle time, at its maximum age, at sign-out, or when its credential changes (checked by
the caller on each request: see ``console.signin``). Sessions live in the daemon's memory: a
restart signs everyone out, which is the safe direction.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace

from runtime.auth.roles import Principal

__all__ = ["Credential", "Session", "Sessions"]

_MAX_SESSIONS = 10_000  # a flood of sign-ins cannot grow the daemon without bound
# Nor can one principal's flood (an agent's token signing in again and again) push everyone
# else's sessions out: past this, signing in ends that principal's own oldest session.
_PER_PRINCIPAL = 10


@dataclass(frozen=True, kw_only=True)
class Credential:
    """What a session was opened with, to tell on each request whether it still holds."""

    account: str | None = None  # a console account's name, and when it last changed
    changed_ms: int = 0
    token_id: str | None = None  # or an API token's id


@dataclass(frozen=True, kw_only=True)
class Session:
    key: str  # the hash of the cookie's id: the id itself is kept nowhere
    principal: Principal
    credential: Credential
    csrf: str  # sent back with every change the session asks for
    created_ms: int
    seen_ms: int


def _key(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


class Sessions:
    def __init__(self, *, idle_ms: int, max_ms: int, most: int = _MAX_SESSIONS) -> None:
        self.idle_ms = idle_ms
        self.max_ms = max_ms
        self._most = most
        self._sessions: dict[str, Session] = {}

    def open(
        self, principal: Principal, credential: Credential, now_ms: int
    ) -> tuple[str, Session]:
        """A new session; returns the cookie's value (to give the browser once) and it."""
        self._forget_expired(now_ms)
        own = [s for s in self._sessions.values() if s.principal.name == principal.name]
        if len(own) >= _PER_PRINCIPAL:
            self._drop_oldest(own)
        elif len(self._sessions) >= self._most:
            self._drop_oldest(self._sessions.values())
        cookie = secrets.token_urlsafe(32)
        session = Session(
            key=_key(cookie),
            principal=principal,
            credential=credential,
            csrf=secrets.token_urlsafe(32),
            created_ms=now_ms,
            seen_ms=now_ms,
        )
        self._sessions[session.key] = session
        return cookie, session

    def get(self, cookie: str, now_ms: int) -> Session | None:
        """The live session the cookie names, marked as used now; None when there is none."""
        key = _key(cookie)
        session = self._sessions.get(key)
        if session is None:
            return None
        if self._expired(session, now_ms):
            del self._sessions[key]
            return None
        seen = replace(session, seen_ms=now_ms)
        self._sessions[key] = seen
        return seen

    def alive(self, session: Session, now_ms: int) -> bool:
        """Whether ``session`` is still open, without counting this as its use (a page left
        open on a live stream does not keep its session from going idle)."""
        current = self._sessions.get(session.key)
        return current is not None and not self._expired(current, now_ms)

    def close(self, session: Session) -> None:
        self._sessions.pop(session.key, None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _expired(self, session: Session, now_ms: int) -> bool:
        return (
            now_ms - session.seen_ms >= self.idle_ms or now_ms - session.created_ms >= self.max_ms
        )

    def _drop_oldest(self, among: Iterable[Session]) -> None:
        del self._sessions[min(among, key=lambda s: s.seen_ms).key]

    def _forget_expired(self, now_ms: int) -> None:
        for key in [k for k, s in self._sessions.items() if self._expired(s, now_ms)]:
            del self._sessions[key]
