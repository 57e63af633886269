"""The life of one invocation in the daemon: ``Invocations.run``.

``run`` reads as the steps of a call, one line each, and shows where its four paths part:
refused by a standing rule; held for a person's approval before it runs; run with its result held
for approval; run and answered. Each step is a small method below. What happens inside an
admitted run (slot -> secrets -> sandbox -> record -> audit) is ``runtime.core.runner``; the
person's side of an approval is ``runtime.approvals.gate``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import replace

import structlog

from runtime.approvals.gate import ApprovalGate, Subject, refusal
from runtime.approvals.store import ApprovalRecord, ApprovalState
from runtime.audit import events
from runtime.audit.background import BackgroundAudit
from runtime.auth.ratelimit import RateLimiter
from runtime.auth.roles import Principal
from runtime.core.admission import Admission, Ticket
from runtime.core.budget import Budget
from runtime.core.invocation import (
    Accepted,
    CallRequest,
    CommandRequest,
    EventSink,
    Invocation,
    PendingApproval,
    Strategy,
    discard,
)
from runtime.core.policy import Decision, Verdict
from runtime.core.records import InvocationQuery, InvocationRecord, State, as_seen_by
from runtime.core.runner import Hold, Runner, SecretResolver, cpu_ms
from runtime.core.spec import Prepared
from runtime.core.store import Store
from runtime.core.tools import ToolCalls
from runtime.errors import BadRequest, NoSuchEntity, SkillRuntimeError
from runtime.sandbox.pool import WarmPool
from runtime.sandbox.result import Status, failed_result
from runtime.util.aio import to_the_end
from runtime.util.clock import SYSTEM_CLOCK, Clock

__all__ = ["Invocations"]

log = structlog.get_logger("skillrt.invocations")


class Invocations:
    def __init__(
        self,
        *,
        tools: ToolCalls,
        pool: WarmPool,
        store: Store,
        admission: Admission,
        gate: ApprovalGate,
        approval_timeout_ms: int,
        rate_limiter: RateLimiter | None = None,
        audit_log: BackgroundAudit | None = None,
        resolve_secrets: SecretResolver | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.strategies: dict[str, Strategy] = {"tool": tools}
        self.store = store
        self._sql = store.db.call  # SQLite work runs off the event loop
        self.admission = admission
        self.gate = gate
        self.approval_timeout_ms = approval_timeout_ms
        self.rate_limiter = rate_limiter
        self._audit = audit_log
        self._clock = clock
        self.runner = Runner(
            pool=pool,
            store=store,
            audit_log=audit_log,
            resolve_secrets=resolve_secrets,
            clock=clock,
        )
        self._settling = asyncio.Lock()
        gate.on_settled = self._settle

    def add_strategy(self, kind: str, strategy: Strategy) -> None:
        """Another kind of call through the same pipeline (``CommandRequest``: "command")."""
        self.strategies[kind] = strategy

    async def run(self, request: CallRequest, sink: EventSink = discard) -> InvocationRecord:
        """The life of one invocation, from the caller's request to its answer."""
        kind = _kind(request)
        call = self.strategies[kind].parse(request)  # strict input; what an idempotency key means
        if (earlier := await self._replay(call)) is not None:  # the same call, answered again
            return earlier
        call = await self.strategies[kind].resolve(call)  # what it names -> the sandbox spec
        call = await self._decide(kind, call)  # standing rules, its policy, or a claimed approval
        new_id = f"inv_{secrets.token_hex(12)}"
        await self._requested(call, new_id)  # on disk in the audit log, or refused: UNAVAILABLE
        if call.verdict is Verdict.DENY:
            return await self._refuse(call, new_id, sink)  # 1. a rule denies it
        with self._rate_limited(request.principal) as permit:  # calls, concurrency, CPU budget
            if call.verdict is Verdict.APPROVE_BEFORE_RUN:
                return await self._await_approval(kind, call, new_id, sink, permit)  # 2. approve
            ticket = self.admission.enter()  # a sandbox slot, or RESOURCE_EXHAUSTED at once
            record = await self._admitted(call, new_id, ticket)  # the invocation exists from here
            verdict = call.verdict
            hold = self._hold(kind, call) if verdict is Verdict.APPROVE_BEFORE_RETURN else None
            task = self._launch(kind, record, call.ready, ticket, sink, hold)  # slot..result
            permit.hand_to(task)
        if hold is not None:
            return await self._answer(record.id, request, sink, task=task)  # 3. run; approve
        return await self.runner.follow(task)  # 4. run and answer

    # The steps of run(), in order.

    async def _replay(self, call: Invocation) -> InvocationRecord | None:
        request = call.request
        if not request.idempotency_key:
            return None
        found = await self._sql(
            self.store.by_idempotency_key, request.principal.name, request.idempotency_key
        )
        if found is None:
            return None
        record, recorded_hash = found
        if recorded_hash not in (call.request_hash, call.legacy_request_hash):
            raise BadRequest("idempotency_key: already used for a different request")
        task = self.runner.running(record.id)
        if task is not None:
            # Shielded: a retry that gives up must not cancel the first caller's run.
            await asyncio.shield(task)
        return await self.get(record.id, request.principal)

    async def _decide(self, kind: str, call: Invocation) -> Invocation:
        rules = self.gate.store.cached_rules()
        if rules is None:
            rules = await self._sql(self.gate.store.rules)
        decision = self.strategies[kind].decide(call, rules)
        if decision.verdict is not Verdict.DENY and call.request.approval_id:
            # A deny rule wins even over an earlier approval; otherwise a claimed one runs.
            await self.gate.claim(call.request.approval_id, call.bindings())
            return call.with_(decision=Decision(verdict=Verdict.RUN))
        label = call.ready.label
        if decision.verdict in (Verdict.APPROVE_BEFORE_RUN, Verdict.DENY):
            # Its code must not start before a person approves, nor run for calls refused:
            # none may be running ahead.
            self.runner.pool.forget(label.skill, label.tool)
        elif decision.rule is None:
            # No person stands between this call and its run, nor a rule that may be deleted
            # at any moment (a tool let through by one needs approval again once it goes): it
            # may take a warm sandbox.
            call = call.with_(prepared=replace(call.ready, warm=True))
        return call.with_(decision=decision)

    async def _requested(self, call: Invocation, invocation_id: str) -> None:
        assert call.decision is not None
        rule = call.decision.rule
        if self._audit is not None:
            await self._audit.record(
                events.INVOCATION_REQUESTED,
                actor=call.request.principal.name,
                invocation_id=invocation_id,
                **call.audit_fields(),
                verdict=call.verdict.value,
                rule=rule.id if rule is not None else None,
            )

    async def _refuse(self, call: Invocation, new_id: str, sink: EventSink) -> InvocationRecord:
        assert call.decision is not None
        if call.decision.rule is not None:
            rule = call.decision.rule.id
            note, violation = f"denied by standing rule {rule}", f"standing rule {rule}"
        else:
            note = violation = call.decision.reason
        result = replace(
            failed_result(Status.DENIED, note),
            violations=(f"policy: {violation} denies this call",),
        )
        record = await self._accept(call, new_id)
        await sink(Accepted(record.id))
        return await to_the_end(self.runner.ends.finish(record.id, result, None, sink))

    @contextlib.contextmanager
    def _rate_limited(self, principal: Principal) -> Iterator[Budget]:
        budget = Budget(
            self.rate_limiter.admit(principal, self._clock.now_ms())
            if self.rate_limiter is not None
            else None,
            self._clock,
        )
        try:
            yield budget
        finally:
            budget.close()

    async def _await_approval(
        self, kind: str, call: Invocation, new_id: str, sink: EventSink, budget: Budget
    ) -> InvocationRecord:
        record = await self._accept(call, new_id)
        # Filed whole even if the caller leaves meanwhile: the request is durable.
        approval = await to_the_end(
            self.runner.or_end(record.id, self._file_request(kind, call, record))
        )
        await sink(Accepted(record.id))
        await sink(PendingApproval(record.id, approval.id, approval.expires_ms))
        budget.close()  # nothing ran yet; the approved run is charged when it ends
        return await self._answer(record.id, call.request, sink)

    async def _file_request(
        self, kind: str, call: Invocation, record: InvocationRecord
    ) -> ApprovalRecord:
        approval = await self.gate.request(
            self._subject(kind, call, record.id, "before_run"),
            requester=call.request.principal.name,
            role=call.request.principal.role.value,
        )
        await self._sql(self.store.await_approval, record.id, approval.id)
        return approval

    async def _admitted(self, call: Invocation, new_id: str, ticket: Ticket) -> InvocationRecord:
        try:
            return await self._accept(call, new_id)
        except BaseException:
            ticket.release()
            raise

    def _launch(
        self,
        kind: str,
        record: InvocationRecord,
        prepared: Prepared,
        ticket: Ticket,
        sink: EventSink,
        hold: Hold | None = None,
    ) -> asyncio.Task[InvocationRecord]:
        task = self.runner.start(record, prepared, ticket, sink, hold=hold)
        self.strategies[kind].track(record, task)
        return task

    def _hold(self, kind: str, call: Invocation) -> Hold:
        async def hold(record: InvocationRecord) -> ApprovalRecord:
            return await self.gate.request(
                self._subject(kind, call, record.id, "before_return"),
                requester=call.request.principal.name,
                role=call.request.principal.role.value,
            )

        return hold

    async def _answer(
        self,
        invocation_id: str,
        request: CallRequest,
        sink: EventSink,
        task: asyncio.Task[InvocationRecord] | None = None,
    ) -> InvocationRecord:
        """Wait for the final record if the caller asked to, else return where things stand."""
        await self.runner.wait_settled(
            invocation_id, sink, task=task, until_final=request.wait_for_approval
        )
        return await self.get(invocation_id, request.principal)

    # Helpers of the steps.

    async def _accept(self, call: Invocation, new_id: str) -> InvocationRecord:
        prepared = call.ready
        record = InvocationRecord(
            id=new_id,
            skill=prepared.label.skill,
            tool=prepared.label.tool,
            version=prepared.label.version,
            profile=prepared.profile.name,
            principal=call.request.principal.name,
            state=State.QUEUED,
            created_ms=self._clock.now_ms(),
        )
        try:
            await self._sql(
                self.store.create,
                record,
                request_hash=call.request_hash,
                idempotency_key=call.request.idempotency_key,
            )
        except asyncio.CancelledError:
            # The caller left while the row was being written. The database's one worker runs
            # work in order, so this lands after the row: no invocation is left queued.
            cancelled = failed_result(Status.CANCELLED, "cancelled before it started")
            await to_the_end(self.runner.ends.finish(record.id, cancelled, None, discard))
            raise
        log.info(
            "invocation accepted", invocation_id=record.id, skill=record.skill, tool=record.tool
        )
        return record

    def _subject(self, kind: str, call: Invocation, invocation_id: str, mode: str) -> Subject:
        details, timeout_ms = self.strategies[kind].approval_details(call)
        return Subject(
            invocation_id=invocation_id,
            mode=mode,
            version=call.ready.label.version,
            binding=call.binding(),
            input_json=json.dumps(call.input_value),
            details={**details, "kind": kind},
            audit_fields=call.audit_fields(),
            timeout_ms=timeout_ms or self.approval_timeout_ms,
        )

    # What a settled approval does to its invocation (the gate calls this).

    async def _settle(self, approval: ApprovalRecord) -> None:
        # One at a time: a decision and a cancellation of the same call may race.
        async with self._settling:
            await self._settle_one(approval)

    async def _settle_one(self, approval: ApprovalRecord) -> None:
        record = await self._sql(self.store.get, approval.invocation_id)
        if record.state is not State.AWAITING_APPROVAL or self.runner.running(record.id):
            return
        sink = self.runner.sink_of(record.id)
        approved = approval.state is ApprovalState.APPROVED
        if approval.mode == "before_return":
            if not approved:
                await self._sql(self.store.discard_output, record.id)
                await self.runner.ends.finish(record.id, refusal(approval), None, sink)
            elif await self._sql(self.gate.store.mark_used, approval.id):
                await self.runner.ends.release(record.id, sink)
            return
        if not approved:
            await self.runner.ends.finish(record.id, refusal(approval), None, sink)
            return
        kind = str(approval.details.get("kind", "tool"))
        try:
            prepared = await self.strategies[kind].reprepare(approval)
        except SkillRuntimeError as exc:
            result = failed_result(Status.DENIED, str(exc))
            await self.runner.ends.finish(record.id, result, None, sink)
            return
        if not await self._sql(self.gate.store.mark_used, approval.id):
            return  # settled already (a cancellation raced the approval): never run twice
        # Approved: from now on it waits for a slot, not a person (GetInvocation says queued).
        await self._sql(self.store.requeue, record.id)
        ticket = self.admission.enter(bypass_queue_limit=True)
        task = self._launch(kind, record, prepared, ticket, sink)
        if self.rate_limiter is not None:
            limiter, clock = self.rate_limiter, self._clock
            task.add_done_callback(
                lambda t: limiter.charge(record.principal, cpu_ms(t), clock.now_ms())
            )

    # The agent's other calls.

    async def get(self, invocation_id: str, principal: Principal) -> InvocationRecord:
        """An invocation the principal may see; others' are NOT_FOUND, as if absent.

        A result held for approval is not shown: it exists, but nobody gets it before a person
        releases it.
        """
        seen = as_seen_by(await self._sql(self.store.get, invocation_id), principal)
        if seen is None:
            raise NoSuchEntity(f"unknown invocation {invocation_id!r}")
        return seen

    async def listing(
        self, principal: Principal, query: InvocationQuery
    ) -> tuple[list[InvocationRecord], InvocationRecord | None]:
        """A page of the invocations ``principal`` may see (an agent: its own), newest first,
        and the last of them when another page follows."""
        if not principal.sees_everything():
            query = replace(query, principal=principal.name)
        found = await self._sql(self.store.find, query)
        page = [seen for r in found[: query.limit] if (seen := as_seen_by(r, principal))]
        return page, (page[-1] if len(found) > query.limit and page else None)

    async def cancel(self, invocation_id: str, principal: Principal) -> InvocationRecord:
        record = await self.get(invocation_id, principal)
        if self.runner.running(invocation_id) is not None:
            # Running, or approved and waiting for a slot (still marked awaiting approval).
            await self.runner.cancel(invocation_id)
        elif record.state is State.AWAITING_APPROVAL and record.approval_id:
            await self.gate.cancel(record.approval_id, by=principal.name)
        return await self.get(invocation_id, principal)

    async def drain(self, grace_seconds: float) -> None:
        await self.runner.drain(grace_seconds)


def _kind(request: CallRequest) -> str:
    return "command" if isinstance(request, CommandRequest) else "tool"
