"""Console sessions on their own: random ids, idle and maximum age, closing (pure)."""

from __future__ import annotations

from runtime.auth.roles import Principal, Role
from runtime.console.sessions import Credential, Sessions

_WHO = Principal(name="console:ann", role=Role.APPROVER, authenticated_by="password")
_BY = Credential(account="ann", changed_ms=1)


def test_a_cookie_finds_its_session_and_nothing_else() -> None:
    """The cookie given at opening finds the session; another string finds none."""
    sessions = Sessions(idle_ms=1000, max_ms=10_000)
    cookie, opened = sessions.open(_WHO, _BY, 0)
    found = sessions.get(cookie, 10)
    assert found is not None and found.key == opened.key and found.principal == _WHO
    assert sessions.get(cookie + "x", 10) is None


def test_the_cookie_is_not_kept() -> None:
    """The store keeps the cookie's hash, never the cookie."""
    sessions = Sessions(idle_ms=1000, max_ms=10_000)
    cookie, opened = sessions.open(_WHO, _BY, 0)
    assert cookie not in (opened.key, opened.csrf)


def test_an_idle_session_ends() -> None:
    """Unused for the idle time, a session is gone; used before it, it lives on."""
    sessions = Sessions(idle_ms=1000, max_ms=10_000)
    cookie, _ = sessions.open(_WHO, _BY, 0)
    assert sessions.get(cookie, 900) is not None
    assert sessions.get(cookie, 1800) is not None
    assert sessions.get(cookie, 2800) is None


def test_a_session_ends_at_its_maximum_age_however_used() -> None:
    """Used all the time, a session still ends at its maximum age."""
    sessions = Sessions(idle_ms=1000, max_ms=3000)
    cookie, _ = sessions.open(_WHO, _BY, 0)
    for now in (500, 1000, 1500, 2000, 2500):
        assert sessions.get(cookie, now) is not None
    assert sessions.get(cookie, 3000) is None


def test_watching_does_not_keep_a_session_alive() -> None:
    """Asking whether a session is alive does not count as using it."""
    sessions = Sessions(idle_ms=1000, max_ms=10_000)
    cookie, opened = sessions.open(_WHO, _BY, 0)
    assert sessions.alive(opened, 900)
    assert not sessions.alive(opened, 1000)
    assert sessions.get(cookie, 1000) is None


def test_a_closed_session_is_gone() -> None:
    """Closing a session ends it at once."""
    sessions = Sessions(idle_ms=1000, max_ms=10_000)
    cookie, opened = sessions.open(_WHO, _BY, 0)
    sessions.close(opened)
    assert sessions.get(cookie, 1) is None and len(sessions) == 0


def test_each_session_has_its_own_csrf_token() -> None:
    """Two sessions of one principal have different ids and CSRF tokens."""
    sessions = Sessions(idle_ms=1000, max_ms=10_000)
    first, a = sessions.open(_WHO, _BY, 0)
    second, b = sessions.open(_WHO, _BY, 0)
    assert first != second and a.csrf != b.csrf


def test_one_principal_signing_in_again_and_again_ends_only_its_own_sessions() -> None:
    """A flood of one principal's sign-ins, past what the store holds, ends that principal's
    oldest sessions, never another's."""
    sessions = Sessions(idle_ms=1000, max_ms=10_000, most=12)
    kept, _ = sessions.open(_WHO, _BY, 0)
    flooder = Principal(name="agent-7", role=Role.AGENT, authenticated_by="token")
    cookies = [sessions.open(flooder, Credential(token_id="t7"), 1)[0] for _ in range(50)]
    assert sessions.get(kept, 2) is not None
    assert sessions.get(cookies[-1], 2) is not None and sessions.get(cookies[0], 2) is None
