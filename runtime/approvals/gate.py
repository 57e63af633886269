"""The approval gate: a person's decision between a request and its run, or its result.

The gate owns the person's side of an approval: it files a request (audited, announced to
watchers), lets a later call claim an approval granted for exactly that call, records the first
decision, cancels, and fails closed every request nobody decided in time. What a decision does to
the waiting invocation is the invocation pipeline's business: it sets ``on_settled``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from runtime.approvals.store import (
    ApprovalRecord,
    ApprovalState,
    ApprovalStore,
    Binding,
    new_approval_id,
    transition,
)
from runtime.audit import events
from runtime.audit.background import BackgroundAudit
from runtime.errors import NoSuchEntity, NotAllowed, WrongState
from runtime.sandbox.result import SandboxResult, Status, failed_result
from runtime.util.aio import to_the_end
from runtime.util.clock import SYSTEM_CLOCK, Clock

__all__ = ["SYSTEM_ACTOR", "ApprovalGate", "ApprovalListener", "Subject", "refusal"]

log = structlog.get_logger("skillrt.approvals")

SYSTEM_ACTOR = "skillrt"
ApprovalListener = Callable[[ApprovalRecord], None]
Settled = Callable[[ApprovalRecord], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class Subject:
    """What a person is asked to approve, as the gate stores it and shows it."""

    invocation_id: str
    mode: str  # before_run or before_return
    version: str
    binding: Binding
    input_json: str
    details: dict[str, Any]  # permissions and limits it will run with
    audit_fields: dict[str, Any]  # the call as the audit log names it: never the input itself
    timeout_ms: int


class ApprovalGate:
    def __init__(
        self,
        *,
        store: ApprovalStore,
        audit_log: BackgroundAudit | None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self._sql = store.db.call  # SQLite work runs off the event loop
        self._audit = audit_log
        self._clock = clock
        self._listeners: set[ApprovalListener] = set()
        self._settled_listeners: set[ApprovalListener] = set()
        self.on_settled: Settled = _nothing

    def listen(self, listener: ApprovalListener) -> Callable[[], None]:
        """Call ``listener`` with each new approval request; returns the way to stop."""
        self._listeners.add(listener)
        return lambda: self._listeners.discard(listener)

    def listen_settled(self, listener: ApprovalListener) -> Callable[[], None]:
        """Call ``listener`` with each request once decided, cancelled or expired (after its
        call was told); returns the way to stop. A person's screen drops it from the queue."""
        self._settled_listeners.add(listener)
        return lambda: self._settled_listeners.discard(listener)

    async def request(self, subject: Subject, *, requester: str, role: str) -> ApprovalRecord:
        now = self._clock.now_ms()
        approval = ApprovalRecord(
            id=new_approval_id(),
            invocation_id=subject.invocation_id,
            state=ApprovalState.PENDING,
            mode=subject.mode,
            skill=subject.binding.skill,
            version=subject.version,
            binding=subject.binding,
            input_json=subject.input_json,
            created_ms=now,
            expires_ms=now + subject.timeout_ms,
            details={**subject.details, "principal_role": role},
        )
        await self._sql(self.store.create, approval)
        self._emit(
            events.APPROVAL_REQUESTED,
            requester,
            approval_id=approval.id,
            invocation_id=subject.invocation_id,
            mode=subject.mode,
            **subject.audit_fields,
            expires_ms=approval.expires_ms,
        )
        log.info(
            "approval requested",
            approval_id=approval.id,
            invocation_id=subject.invocation_id,
            skill=approval.skill,
            tool=approval.binding.tool,
            mode=subject.mode,
        )
        for listener in list(self._listeners):
            listener(approval)
        return approval

    async def claim(self, approval_id: str, bindings: tuple[Binding, ...]) -> None:
        """Accept a call that names an earlier approval only if it is that very call, once."""
        try:
            approval = await self._sql(self.store.get, approval_id)
        except NoSuchEntity as exc:
            raise NotAllowed("approval_id: no such approval") from exc
        if approval.binding not in bindings:
            raise NotAllowed(
                "approval_id: the approval was granted for a different skill, tool, input or caller"
            )
        if approval.state is not ApprovalState.APPROVED:
            raise WrongState(f"approval_id: the approval is {approval.state.value}")
        # Used whole: a caller leaving meanwhile must not half-use it.
        if not await to_the_end(self._sql(self.store.mark_used, approval.id)):
            raise WrongState("approval_id: the approval was already used")

    async def decide(
        self, approval_id: str, *, approve: bool, reason: str, decided_by: str
    ) -> ApprovalRecord:
        approval = await self._sql(self.store.get, approval_id)
        decided = transition(
            approval,
            approve=approve,
            decided_by=decided_by,
            reason=reason,
            now_ms=self._clock.now_ms(),
        )
        # A decision and what it does to its call happen whole, even if the decider leaves.
        return await to_the_end(self._record(approval, decided))

    async def _record(self, approval: ApprovalRecord, decided: ApprovalRecord) -> ApprovalRecord:
        approval_id, approve, reason, decided_by = (
            approval.id,
            decided.state is ApprovalState.APPROVED,
            decided.reason,
            decided.decided_by,
        )
        assert decided_by is not None
        # On disk before it counts: a decision the audit log cannot take is not taken.
        if self._audit is not None:
            await self._audit.record(
                events.APPROVAL_DECIDED,
                actor=decided_by,
                approval_id=approval_id,
                invocation_id=approval.invocation_id,
                approved=approve,
                reason=reason,
            )
        if not await self._sql(self.store.record_decision, decided):
            current = await self._sql(self.store.get, approval_id)
            raise WrongState(f"approval {approval_id} is already {current.state.value}")
        log.info(
            "approval decided",
            approval_id=approval_id,
            invocation_id=approval.invocation_id,
            approved=approve,
            decided_by=decided_by,
        )
        await self._settled(await self._sql(self.store.get, approval_id))
        return await self._sql(self.store.get, approval_id)

    async def cancel(self, approval_id: str, *, by: str) -> None:
        await to_the_end(self._cancel(approval_id, by))

    async def _cancel(self, approval_id: str, by: str) -> None:
        approval = await self._sql(self.store.get, approval_id)
        await self._sql(self.store.cancel, approval_id, self._clock.now_ms(), f"cancelled by {by}")
        self._emit(
            events.APPROVAL_DECIDED,
            by,
            approval_id=approval_id,
            invocation_id=approval.invocation_id,
            cancelled=True,
        )
        await self._settled(await self._sql(self.store.get, approval_id))

    async def expire_due(self) -> int:
        """Fail closed every request nobody decided in time; returns how many."""
        return await to_the_end(self._expire_due())

    async def _expire_due(self) -> int:
        expired = await self._sql(self.store.expire_due, self._clock.now_ms())
        for approval in expired:
            self._emit(
                events.APPROVAL_EXPIRED,
                SYSTEM_ACTOR,
                approval_id=approval.id,
                invocation_id=approval.invocation_id,
            )
            log.info(
                "approval expired", approval_id=approval.id, invocation_id=approval.invocation_id
            )
            await self._settled(approval)
        return len(expired)

    async def _settled(self, approval: ApprovalRecord) -> None:
        await self.on_settled(approval)
        for listener in list(self._settled_listeners):
            listener(approval)

    def _emit(self, event: str, actor: str, **fields: Any) -> None:
        if self._audit is not None:
            self._audit.emit(event, actor=actor, **fields)


def refusal(approval: ApprovalRecord) -> SandboxResult:
    """The result of a call whose approval was denied, expired or cancelled."""
    if approval.state is ApprovalState.EXPIRED:
        return failed_result(Status.APPROVAL_EXPIRED, "nobody approved the request in time")
    if approval.state is ApprovalState.CANCELLED:
        return failed_result(Status.CANCELLED, approval.reason or "cancelled")
    who = approval.decided_by or "an approver"
    note = f"denied by {who}" + (f": {approval.reason}" if approval.reason else "")
    return failed_result(Status.DENIED, note)


async def _nothing(approval: ApprovalRecord) -> None:
    return None
