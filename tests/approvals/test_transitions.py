"""Approval states without a daemon: the pure transition, and the store's once-only updates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from runtime.approvals.store import (
    ApprovalRecord,
    ApprovalState,
    ApprovalStore,
    Binding,
    new_approval_id,
    transition,
)
from runtime.errors import NoSuchEntity, NotAllowed, WrongState
from runtime.state.schema import open_main

CREATED_MS = 1_700_000_000_000
EXPIRES_MS = CREATED_MS + 60_000


def pending(**changes: Any) -> ApprovalRecord:
    """A pending request by agent 'bot', expiring a minute after it was made."""
    record = ApprovalRecord(
        id=new_approval_id(),
        invocation_id="inv_1",
        state=ApprovalState.PENDING,
        mode="before_run",
        skill="gated",
        version="1.0.0",
        binding=Binding(
            skill="gated",
            content_hash="sha256:0",
            tool="mark",
            input_hash="sha256:1",
            requested_by="bot",
        ),
        input_json='{"n": 1}',
        created_ms=CREATED_MS,
        expires_ms=EXPIRES_MS,
        details={"network": []},
    )
    return replace(record, **changes)


def decide(record: ApprovalRecord, *, approve: bool = True, by: str = "alice") -> ApprovalRecord:
    return transition(record, approve=approve, decided_by=by, reason="ok", now_ms=CREATED_MS + 1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ApprovalStore]:
    with open_main(tmp_path / "skillrt.db") as db:
        yield ApprovalStore(db)


def stored(store: ApprovalStore, **changes: Any) -> ApprovalRecord:
    record = pending(**changes)
    store.create(record)
    return record


def test_approving_records_who_when_and_why() -> None:
    """Approving a pending request makes it approved, with the decider, time and reason."""
    decided = decide(pending())
    assert (decided.state, decided.decided_by, decided.decided_ms, decided.reason) == (
        ApprovalState.APPROVED,
        "alice",
        CREATED_MS + 1,
        "ok",
    )


def test_denying_makes_the_request_denied() -> None:
    """Denying a pending request makes it denied."""
    assert decide(pending(), approve=False).state is ApprovalState.DENIED


@pytest.mark.parametrize("approve", [True, False], ids=["approve", "deny"])
def test_a_decided_request_cannot_be_decided_again(approve: bool) -> None:
    """A second decision on a decided request is refused, whichever way it goes."""
    with pytest.raises(WrongState, match="is already approved"):
        decide(decide(pending()), approve=approve, by="carol")


@pytest.mark.parametrize("state", [ApprovalState.EXPIRED, ApprovalState.CANCELLED])
def test_a_closed_request_cannot_be_decided(state: ApprovalState) -> None:
    """An expired or cancelled request cannot be approved."""
    with pytest.raises(WrongState, match=f"is already {state.value}"):
        decide(pending(state=state))


def test_a_request_cannot_be_decided_at_its_expiry() -> None:
    """From the expiry time on, a still-pending request is refused as expired."""
    with pytest.raises(WrongState, match="has expired"):
        transition(pending(), approve=True, decided_by="alice", reason="", now_ms=EXPIRES_MS)


def test_a_request_can_be_decided_just_before_its_expiry() -> None:
    """A millisecond before expiry the decision still counts."""
    decided = transition(
        pending(), approve=True, decided_by="alice", reason="", now_ms=EXPIRES_MS - 1
    )
    assert decided.state is ApprovalState.APPROVED


def test_the_requester_cannot_decide_its_own_request() -> None:
    """The principal that asked may neither approve nor deny its own request."""
    with pytest.raises(NotAllowed, match="may not decide its own request"):
        decide(pending(), approve=False, by="bot")


def test_the_store_round_trips_a_request(store: ApprovalStore) -> None:
    """A stored request reads back equal, binding and details included."""
    record = stored(store)
    assert store.get(record.id) == record


def test_an_unknown_request_is_not_found(store: ApprovalStore) -> None:
    """Reading an id that was never stored is NoSuchEntity."""
    with pytest.raises(NoSuchEntity):
        store.get(new_approval_id())


def test_the_first_stored_decision_wins(store: ApprovalStore) -> None:
    """Of two decisions made on the same pending request, only the first is stored."""
    record = stored(store)
    first, second = decide(record), decide(record, approve=False, by="carol")
    assert (store.record_decision(first), store.record_decision(second)) == (True, False)
    assert store.get(record.id) == first


def test_a_decision_on_an_expired_request_is_not_stored(store: ApprovalStore) -> None:
    """A decision that arrives after the request expired in the store changes nothing."""
    record = stored(store)
    store.expire_due(EXPIRES_MS)
    assert not store.record_decision(decide(record))
    assert store.get(record.id).state is ApprovalState.EXPIRED


def test_an_approval_is_used_once(store: ApprovalStore) -> None:
    """An approved request can be consumed once; the second use is refused."""
    record = stored(store)
    store.record_decision(decide(record))
    assert (store.mark_used(record.id), store.mark_used(record.id)) == (True, False)
    assert store.get(record.id).used


@pytest.mark.parametrize("approve", [None, False], ids=["pending", "denied"])
def test_only_an_approved_request_can_be_used(store: ApprovalStore, approve: bool | None) -> None:
    """A pending or denied request cannot be consumed as an approval."""
    record = stored(store)
    if approve is not None:
        store.record_decision(decide(record, approve=approve))
    assert not store.mark_used(record.id)


def test_expire_due_closes_only_pending_requests_past_their_expiry(
    store: ApprovalStore,
) -> None:
    """Expiry closes pending requests due by now, and leaves later and decided ones alone."""
    due = stored(store)
    later = stored(store, expires_ms=EXPIRES_MS + 1)
    decided = stored(store)
    store.record_decision(decide(decided))
    expired = store.expire_due(EXPIRES_MS)
    assert [a.id for a in expired] == [due.id]
    states = [store.get(a.id).state for a in (due, later, decided)]
    assert states == [ApprovalState.EXPIRED, ApprovalState.PENDING, ApprovalState.APPROVED]


def test_expiry_records_when_and_why(store: ApprovalStore) -> None:
    """An expired request says when it expired and that nobody decided in time."""
    record = stored(store)
    (expired,) = store.expire_due(EXPIRES_MS + 5)
    assert (expired.decided_ms, expired.decided_by, expired.reason) == (
        EXPIRES_MS + 5,
        None,
        "nobody decided before the deadline",
    )
    assert expired.id == record.id


def test_cancelling_closes_a_pending_request_only(store: ApprovalStore) -> None:
    """Cancelling closes a pending request and leaves a decided one as it was."""
    open_, decided = stored(store), stored(store)
    store.record_decision(decide(decided))
    for record in (open_, decided):
        store.cancel(record.id, CREATED_MS + 2, "cancelled by bot")
    assert [store.get(a.id).state for a in (open_, decided)] == [
        ApprovalState.CANCELLED,
        ApprovalState.APPROVED,
    ]
