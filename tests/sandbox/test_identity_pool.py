"""Host uids for sandboxes: never held twice at once, given back on release, never an account's."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.errors import IsolationUnavailable, OverLimit
from runtime.sandbox.identity import IdentityPool, UidRange


def _pool(tmp_path: Path, count: int) -> IdentityPool:
    lock_dir = tmp_path / "uids"
    return IdentityPool(UidRange(first=1_900_100_000, count=count), lock_dir=lock_dir)


def test_a_held_uid_is_not_handed_out_again(tmp_path: Path) -> None:
    """Two holders of a two-uid range get both uids; a third is refused until one releases."""
    pool = _pool(tmp_path, 2)
    first, second = pool.acquire(), pool.acquire()
    assert {first.uid, second.uid} == {1_900_100_000, 1_900_100_001}
    with pytest.raises(OverLimit, match="every sandbox uid"):
        pool.acquire()
    first.release()
    assert pool.acquire().uid == first.uid


def test_another_pool_on_the_same_locks_sees_the_held_uid(tmp_path: Path) -> None:
    """Holders in another pool (another daemon or CLI on the host) share the locks."""
    held = _pool(tmp_path, 1).acquire()
    with pytest.raises(OverLimit):
        _pool(tmp_path, 1).acquire()
    held.release()


def test_a_range_holding_an_account_is_refused(tmp_path: Path) -> None:
    """A range that includes an account of the host (root) is refused: a sandbox would be it."""
    pool = IdentityPool(UidRange(first=0, count=1), lock_dir=tmp_path / "uids")
    with pytest.raises(IsolationUnavailable, match="include the account root"):
        pool.acquire()
