"""Failed-authentication lockout on a fake clock: the policy, and which keys a refusal counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.auth.authenticate import Authenticator, Transport
from runtime.auth.lockout import Lockout, LockoutPolicy
from runtime.auth.peers import Peer
from runtime.auth.roles import Role
from runtime.auth.tokens import TokenStore
from runtime.errors import BadCredentials
from runtime.state.schema import open_main
from tests.fakes import FakeClock

POLICY = LockoutPolicy(
    max_failures=3, window_ms=10_000, base_lockout_ms=1_000, max_lockout_ms=4_000
)
KEY = "peer:address:192.0.2.1"
# gRPC peer strings of relayed connections, and who the listener found at the other end.
PEER_A = "unix-abstract:a"
PEER_B = "unix-abstract:b"
ROOT = "unix-abstract:root"
NOBODY = "unix-abstract:nobody"
CONNECTIONS = {
    PEER_A: Transport(peer=Peer(address="192.0.2.1")),
    PEER_B: Transport(peer=Peer(address="192.0.2.2")),
    ROOT: Transport(peer=Peer(uid=0, pid=100)),
    NOBODY: Transport(peer=Peer(uid=65534, pid=200)),
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def lockout() -> Lockout:
    return Lockout(POLICY)


@pytest.fixture
def tokens(tmp_path: Path) -> Iterator[TokenStore]:
    with open_main(tmp_path / "skillrt.db") as db:
        yield TokenStore(db, b"k" * 32)


def fail(lockout: Lockout, clock: FakeClock, times: int, key: str = KEY) -> None:
    for _ in range(times):
        lockout.failure(key, clock.now_ms())


def lock_length(lockout: Lockout, clock: FakeClock) -> int:
    """Lock KEY with a burst of failures; how long it stays locked, to the next whole second."""
    fail(lockout, clock, POLICY.max_failures)
    locked_ms = 0
    while lockout.locked(KEY, clock.now_ms()):
        clock.advance(1_000)
        locked_ms += 1_000
    return locked_ms


def test_failures_below_the_threshold_do_not_lock(lockout: Lockout, clock: FakeClock) -> None:
    """One failure fewer than the threshold leaves the key open."""
    fail(lockout, clock, POLICY.max_failures - 1)
    assert not lockout.locked(KEY, clock.now_ms())


def test_reaching_the_threshold_locks(lockout: Lockout, clock: FakeClock) -> None:
    """The threshold's worth of failures within the window locks the key."""
    fail(lockout, clock, POLICY.max_failures)
    assert lockout.locked(KEY, clock.now_ms())


def test_failures_older_than_the_window_do_not_count(lockout: Lockout, clock: FakeClock) -> None:
    """Failures a whole window apart do not add up to a lockout."""
    fail(lockout, clock, POLICY.max_failures - 1)
    clock.advance(POLICY.window_ms)
    fail(lockout, clock, 1)
    assert not lockout.locked(KEY, clock.now_ms())


def test_lock_lasts_exactly_the_base_lockout(lockout: Lockout, clock: FakeClock) -> None:
    """A first lock holds until the base lockout has passed, and not a millisecond longer."""
    fail(lockout, clock, POLICY.max_failures)
    clock.advance(POLICY.base_lockout_ms - 1)
    assert lockout.locked(KEY, clock.now_ms())
    clock.advance(1)
    assert not lockout.locked(KEY, clock.now_ms())


def test_each_further_lock_doubles_up_to_the_maximum(lockout: Lockout, clock: FakeClock) -> None:
    """Repeated lockouts of one key last 1, 2, 4, then still 4 times the base (the maximum)."""
    lengths = [lock_length(lockout, clock) for _ in range(4)]
    assert lengths == [1_000, 2_000, 4_000, 4_000]


def test_a_quiet_period_forgives_earlier_lockouts(lockout: Lockout, clock: FakeClock) -> None:
    """After longer than the maximum lockout without failures, the next lock is short again."""
    lock_length(lockout, clock)
    lock_length(lockout, clock)
    clock.advance(POLICY.max_lockout_ms + 1)
    assert lock_length(lockout, clock) == 1_000


def test_keys_are_locked_independently(lockout: Lockout, clock: FakeClock) -> None:
    """Failures on one key do not lock another."""
    fail(lockout, clock, POLICY.max_failures, key="peer:192.0.2.9")
    assert not lockout.locked(KEY, clock.now_ms())


def test_each_lockout_is_counted_once(lockout: Lockout, clock: FakeClock) -> None:
    """Failures below the threshold count no lockout; each lock of any key counts one."""
    fail(lockout, clock, POLICY.max_failures - 1)
    assert lockout.lockouts == 0
    lock_length(lockout, clock)
    fail(lockout, clock, POLICY.max_failures, key="peer:192.0.2.9")
    assert lockout.lockouts == 2


def test_a_reloaded_policy_applies_to_the_next_failures(lockout: Lockout, clock: FakeClock) -> None:
    """Replacing the policy (as SIGHUP does) changes the threshold at once."""
    lockout.policy = LockoutPolicy(max_failures=1, window_ms=10_000, base_lockout_ms=1_000)
    fail(lockout, clock, 1)
    assert lockout.locked(KEY, clock.now_ms())


# The Authenticator decides which keys a refused call counts against.


def authenticator(tokens: TokenStore, clock: FakeClock) -> Authenticator:
    return Authenticator(
        tokens=tokens,
        lockout=Lockout(POLICY),
        transport=CONNECTIONS.get,
        keyholders=frozenset({0}),
        clock=clock,
    )


def issue(tokens: TokenStore, clock: FakeClock, name: str) -> str:
    record, token = tokens.mint(name=name, role=Role.VIEWER, now_ms=clock.now_ms())
    tokens.insert(record, token)
    return token


def forge(token: str) -> str:
    """The token's public id with a wrong secret."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def admitted(auth: Authenticator, token: str, peer: str) -> bool:
    try:
        auth.authenticate([("authorization", f"Bearer {token}")], peer)
    except BadCredentials:
        return False
    return True


def guess(auth: Authenticator, token: str, peer: str) -> None:
    for _ in range(POLICY.max_failures):
        assert not admitted(auth, token, peer)


def test_guesses_lock_the_token_out_from_the_guessing_peer(
    tokens: TokenStore, clock: FakeClock
) -> None:
    """After wrong secrets for a token from a peer, even the right secret from there is refused."""
    auth = authenticator(tokens, clock)
    holder = issue(tokens, clock, "holder")
    guess(auth, forge(holder), PEER_A)
    assert not admitted(auth, holder, PEER_A)


def test_guessing_from_elsewhere_cannot_lock_out_the_holder(
    tokens: TokenStore, clock: FakeClock
) -> None:
    """Wrong secrets for a token from one peer leave its holder on another peer unaffected."""
    auth = authenticator(tokens, clock)
    holder = issue(tokens, clock, "holder")
    guess(auth, forge(holder), PEER_A)
    assert admitted(auth, holder, PEER_B)


def test_another_users_guessing_cannot_lock_out_the_holder(
    tokens: TokenStore, clock: FakeClock
) -> None:
    """Guesses at a token by one local user lock it for that user only, not for its holder."""
    auth = authenticator(tokens, clock)
    holder = issue(tokens, clock, "holder")
    guess(auth, forge(holder), NOBODY)
    assert (admitted(auth, holder, NOBODY), admitted(auth, holder, ROOT)) == (False, True)


def test_a_locked_out_peer_is_refused_with_any_token(tokens: TokenStore, clock: FakeClock) -> None:
    """Malformed tokens from a TCP peer lock that peer out, whatever token it sends next."""
    auth = authenticator(tokens, clock)
    guess(auth, "not-a-token", PEER_A)
    assert not admitted(auth, issue(tokens, clock, "other"), PEER_A)


def test_a_connection_no_listener_accepted_is_refused(tokens: TokenStore, clock: FakeClock) -> None:
    """A call whose connection the daemon's listeners do not know is refused, token or not."""
    auth = authenticator(tokens, clock)
    assert not admitted(auth, issue(tokens, clock, "holder"), "unix:")


def test_one_local_users_refusals_do_not_lock_out_another(
    tokens: TokenStore, clock: FakeClock
) -> None:
    """Malformed tokens from one local user lock out that user, and no other."""
    auth = authenticator(tokens, clock)
    token = issue(tokens, clock, "other")
    guess(auth, "not-a-token", NOBODY)
    assert (admitted(auth, token, NOBODY), admitted(auth, token, ROOT)) == (False, True)


def test_a_keyholder_is_locked_out_per_token_only(tokens: TokenStore, clock: FakeClock) -> None:
    """A uid that can read the daemon's keys is locked out of a token it guesses at, never as a
    whole: malformed tokens and guesses leave its other tokens working."""
    auth = authenticator(tokens, clock)
    holder = issue(tokens, clock, "holder")
    guess(auth, "not-a-token", ROOT)
    guess(auth, forge(holder), ROOT)
    other = issue(tokens, clock, "other")
    assert (admitted(auth, holder, ROOT), admitted(auth, other, ROOT)) == (False, True)


def test_refusals_during_a_lock_do_not_extend_it(tokens: TokenStore, clock: FakeClock) -> None:
    """Calls refused because of a lock are not counted: the lock ends on time."""
    auth = authenticator(tokens, clock)
    holder = issue(tokens, clock, "holder")
    locked_at = clock.now_ms()
    guess(auth, forge(holder), PEER_A)
    for _ in range(POLICY.max_failures):
        clock.advance(100)
        assert not admitted(auth, forge(holder), PEER_A)
    clock.advance(locked_at + POLICY.base_lockout_ms - clock.now_ms())
    assert admitted(auth, holder, PEER_A)
