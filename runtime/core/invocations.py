"""The daemon's invocations: policy, approvals, admission, records, events, cancellation.

``Invocations.invoke`` is the daemon-side life of one invocation, as a flat list of steps: replay
an idempotent request; resolve and validate it; apply standing rules and the tool's approval
mode; admit it (or refuse at once); record it; run it in its own task, so that a client's
cancellation, CancelInvocation and shutdown all stop it the same way; record how it ended.
A tool that needs approval waits, durably, until a person decides (``decide``) or the request
expires; a ``before_return`` tool runs at once and its result is held until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
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
from runtime.audit import log as audit
from runtime.audit.log import BackgroundAudit
from runtime.auth.ratelimit import Permit, RateLimiter
from runtime.auth.roles import Principal, Role
from runtime.core.admission import Admission, Ticket
from runtime.core.catalog import Catalog
from runtime.core.policy import Decision, Verdict, decide
from runtime.core.prepare import (
    Prepared,
    execute,
    parse_input,
    prepare,
    with_secrets,
)
from runtime.core.records import InvocationRecord, State
from runtime.core.store import Store
from runtime.errors import (
    BadRequest,
    NoSuchEntity,
    NotAllowed,
    SkillRuntimeError,
    WrongState,
)
from runtime.sandbox.cgroups import Cgroups
from runtime.sandbox.egress.attempt import EgressAttempt, egress_dict
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.profiles import LimitOverrides, ProfileStore
from runtime.sandbox.result import SandboxResult, Status, failed_result
from runtime.util.canonical import canonical_hash, strict_json

log = structlog.get_logger("skillrt.invocations")


@dataclass(frozen=True, kw_only=True)
class InvocationRequest:
    principal: Principal
    skill: str
    tool: str
    input_json: str
    overrides: LimitOverrides
    idempotency_key: str | None = None
    wait_for_approval: bool = False
    approval_id: str | None = None


@dataclass(frozen=True)
class Accepted:
    invocation_id: str


@dataclass(frozen=True)
class PendingApproval:
    invocation_id: str
    approval_id: str
    expires_ms: int


@dataclass(frozen=True)
class Started:
    invocation_id: str


@dataclass(frozen=True)
class OutputChunk:
    stream: str
    data: bytes


@dataclass(frozen=True)
class Finished:
    record: InvocationRecord


Event = Accepted | PendingApproval | Started | OutputChunk | Finished
EventSink = Callable[[Event], Awaitable[None]]
ApprovalListener = Callable[[ApprovalRecord], None]
SecretResolver = Callable[[tuple[str, ...]], Awaitable[dict[str, bytes]]]
SYSTEM_ACTOR = "skillrt"


def _now_ms() -> int:
    return int(time.time() * 1000)


class Invocations:
    def __init__(
        self,
        *,
        catalog: Catalog,
        profiles: ProfileStore,
        launcher: Launcher,
        store: Store,
        admission: Admission,
        approvals: ApprovalStore,
        approval_timeout_ms: int,
        rate_limiter: RateLimiter | None = None,
        audit: BackgroundAudit | None = None,
        resolve_secrets: SecretResolver | None = None,
    ) -> None:
        self.catalog = catalog
        self.profiles = profiles
        self.launcher = launcher
        self.store = store
        self.admission = admission
        self.approvals = approvals
        self.approval_timeout_ms = approval_timeout_ms
        self.rate_limiter = rate_limiter
        self.audit = audit
        self.resolve_secrets = resolve_secrets
        self._tasks: dict[str, asyncio.Task[InvocationRecord]] = {}
        self._sinks: dict[str, EventSink] = {}  # callers still connected, by invocation
        self._finished: dict[str, asyncio.Event] = {}
        self._listeners: set[ApprovalListener] = set()

    # The agent's side.

    async def invoke(
        self, request: InvocationRequest, sink: EventSink | None = None
    ) -> InvocationRecord:
        sink = sink or _discard
        input_value = parse_input(request.input_json or "{}")
        request_hash = _request_hash(request, input_value)
        replayed = await self._replay(request, request_hash)
        if replayed is not None:
            return replayed
        prepared = prepare(
            skill=self.catalog.get(request.skill),
            tool_name=request.tool,
            input_value=input_value,
            profiles=self.profiles,
            overrides=request.overrides,
        )
        decision = self._decide(request, prepared, input_value)
        await self._record_request(request, prepared, input_value, decision)
        if decision.verdict is Verdict.DENY:
            return await self._deny_now(request, request_hash, prepared, decision, sink)
        permit = self._permit(request.principal)
        try:
            if decision.verdict is Verdict.APPROVE_BEFORE_RUN:
                record = self._accept(request, request_hash, prepared)
                approval = await self._request_approval(
                    record, request, prepared, input_value, "before_run"
                )
                self.store.await_approval(record.id, approval.id)
                await sink(Accepted(record.id))
                await sink(PendingApproval(record.id, approval.id, approval.expires_ms))
                _finish_permit(permit, 0)
                return await self._await_decision(record.id, request, sink)
            ticket = self.admission.enter()
        except BaseException:
            _finish_permit(permit, 0)
            raise
        try:
            record = self._accept(request, request_hash, prepared)
        except BaseException:
            ticket.release()
            _finish_permit(permit, 0)
            raise
        hold = None
        if decision.verdict is Verdict.APPROVE_BEFORE_RETURN:
            hold = (request, input_value)
        task = self._start(record, prepared, ticket, sink, hold=hold)
        task.add_done_callback(lambda t: _finish_permit(permit, _cpu_ms(t)))
        if hold is not None:
            return await self._await_decision(record.id, request, sink, task=task)
        return await self._follow(task)

    def get(self, invocation_id: str, principal: Principal) -> InvocationRecord:
        """An invocation the principal may see; others' are NOT_FOUND, as if absent.

        A result held for approval is not shown: it exists, but nobody gets it before a person
        releases it.
        """
        record = self.store.get(invocation_id)
        if not principal.sees_everything() and record.principal != principal.name:
            raise NoSuchEntity(f"unknown invocation {invocation_id!r}")
        if record.state is State.AWAITING_APPROVAL:
            pending = failed_result(Status.PENDING_APPROVAL, "waiting for a person's approval")
            return replace(record, result=pending, output_json=None)
        if principal.role is Role.VIEWER and record.principal != principal.name:
            return _status_only(record)
        return record

    async def cancel(self, invocation_id: str, principal: Principal) -> InvocationRecord:
        record = self.get(invocation_id, principal)
        if record.state is State.AWAITING_APPROVAL and record.approval_id:
            self.approvals.cancel(record.approval_id, _now_ms(), f"cancelled by {principal.name}")
            await self._audit(
                audit.APPROVAL_DECIDED,
                principal.name,
                approval_id=record.approval_id,
                invocation_id=record.id,
                cancelled=True,
            )
            await self._settle(self.approvals.get(record.approval_id))
            return self.get(invocation_id, principal)
        task = self._tasks.get(invocation_id)
        if task is None:
            return record
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)
        return self.get(invocation_id, principal)

    async def drain(self, grace_seconds: float) -> None:
        """Let running invocations finish for up to ``grace_seconds``, then cancel the rest."""
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    # The operator's side.

    def listen(self, listener: ApprovalListener) -> Callable[[], None]:
        """Call ``listener`` with each new approval request; returns the way to stop."""
        self._listeners.add(listener)
        return lambda: self._listeners.discard(listener)

    async def decide(
        self, approval_id: str, *, approve: bool, reason: str, principal: Principal
    ) -> ApprovalRecord:
        approval = self.approvals.get(approval_id)
        decided = transition(
            approval, approve=approve, decided_by=principal.name, reason=reason, now_ms=_now_ms()
        )
        if not self.approvals.record_decision(decided):
            current = self.approvals.get(approval_id)
            raise WrongState(f"approval {approval_id} is already {current.state.value}")
        await self._audit(
            audit.APPROVAL_DECIDED,
            principal.name,
            approval_id=approval_id,
            invocation_id=approval.invocation_id,
            approved=approve,
            reason=reason,
        )
        log.info(
            "approval decided",
            approval_id=approval_id,
            invocation_id=approval.invocation_id,
            approved=approve,
            decided_by=principal.name,
        )
        await self._settle(self.approvals.get(approval_id))
        return self.approvals.get(approval_id)

    async def expire_due(self) -> int:
        """Fail closed every request nobody decided in time; returns how many."""
        expired = self.approvals.expire_due(_now_ms())
        for approval in expired:
            await self._audit(
                audit.APPROVAL_EXPIRED,
                SYSTEM_ACTOR,
                approval_id=approval.id,
                invocation_id=approval.invocation_id,
            )
            log.info(
                "approval expired", approval_id=approval.id, invocation_id=approval.invocation_id
            )
            await self._settle(approval)
        return len(expired)

    # Steps.

    def _decide(self, request: InvocationRequest, prepared: Prepared, input_value: Any) -> Decision:
        decision = decide(prepared.skill, prepared.tool, input_value, self.approvals.rules())
        if decision.verdict is Verdict.DENY:
            return decision  # a deny rule wins even over an earlier approval
        if request.approval_id:
            self._claim(request, prepared, input_value)
            return Decision(verdict=Verdict.RUN)
        return decision

    def _claim(self, request: InvocationRequest, prepared: Prepared, input_value: Any) -> None:
        """Accept a request that names an earlier approval only if it is that very request."""
        assert request.approval_id is not None
        try:
            approval = self.approvals.get(request.approval_id)
        except NoSuchEntity as exc:
            raise NotAllowed("approval_id: no such approval") from exc
        if approval.binding != _binding(request.principal, prepared, input_value):
            raise NotAllowed(
                "approval_id: the approval was granted for a different skill, tool, input or caller"
            )
        if approval.state is not ApprovalState.APPROVED:
            raise WrongState(f"approval_id: the approval is {approval.state.value}")
        if not self.approvals.mark_used(approval.id):
            raise WrongState("approval_id: the approval was already used")

    async def _deny_now(
        self,
        request: InvocationRequest,
        request_hash: str,
        prepared: Prepared,
        decision: Decision,
        sink: EventSink,
    ) -> InvocationRecord:
        record = self._accept(request, request_hash, prepared)
        assert decision.rule is not None
        result = replace(
            failed_result(Status.DENIED, f"denied by standing rule {decision.rule.id}"),
            violations=(f"policy: standing rule {decision.rule.id} denies this call",),
        )
        await sink(Accepted(record.id))
        return await self._finish(record.id, result, None, sink)

    async def _request_approval(
        self,
        record: InvocationRecord,
        request: InvocationRequest,
        prepared: Prepared,
        input_value: Any,
        mode: str,
    ) -> ApprovalRecord:
        now = _now_ms()
        timeout = prepared.tool.approval_timeout_ms or self.approval_timeout_ms
        approval = ApprovalRecord(
            id=new_approval_id(),
            invocation_id=record.id,
            state=ApprovalState.PENDING,
            mode=mode,
            skill=prepared.skill.name,
            version=prepared.skill.version,
            binding=_binding(request.principal, prepared, input_value),
            input_json=json.dumps(input_value),
            created_ms=now,
            expires_ms=now + timeout,
            details={
                "permissions": asdict(prepared.skill.permissions),
                "limits": asdict(prepared.spec.limits),
                "overrides": asdict(request.overrides),
                "profile": prepared.profile.name,
                "principal_role": request.principal.role.value,
            },
        )
        self.approvals.create(approval)
        await self._audit(
            audit.APPROVAL_REQUESTED,
            request.principal.name,
            approval_id=approval.id,
            invocation_id=record.id,
            mode=mode,
            **self._subject(prepared, input_value),
            expires_ms=approval.expires_ms,
        )
        log.info(
            "approval requested",
            approval_id=approval.id,
            invocation_id=record.id,
            skill=approval.skill,
            tool=approval.binding.tool,
            mode=mode,
        )
        for listener in list(self._listeners):
            listener(approval)
        return approval

    async def _await_decision(
        self,
        invocation_id: str,
        request: InvocationRequest,
        sink: EventSink,
        task: asyncio.Task[InvocationRecord] | None = None,
    ) -> InvocationRecord:
        """Wait for the final record if the caller asked to, else return where things stand."""
        self._sinks[invocation_id] = sink
        finished = self._finished.setdefault(invocation_id, asyncio.Event())
        try:
            if task is not None:
                await self._follow(task)
            if request.wait_for_approval:
                await finished.wait()
        finally:
            self._sinks.pop(invocation_id, None)
        return self.get(invocation_id, request.principal)

    async def _settle(self, approval: ApprovalRecord) -> None:
        """Carry out a decision (or expiry, or cancellation) on its invocation."""
        record = self.store.get(approval.invocation_id)
        if record.state is not State.AWAITING_APPROVAL:
            return
        sink = self._sinks.get(record.id, _discard)
        approved = approval.state is ApprovalState.APPROVED
        if approval.mode == "before_return":
            if approved and self.approvals.mark_used(approval.id):
                self.store.release(record.id, _now_ms())
                await self._announce(record.id, sink)
            else:
                await self._finish(record.id, _refusal(approval), None, sink)
            return
        if not approved:
            await self._finish(record.id, _refusal(approval), None, sink)
            return
        try:
            prepared = self._reprepare(approval)
        except SkillRuntimeError as exc:
            await self._finish(record.id, failed_result(Status.DENIED, str(exc)), None, sink)
            return
        self.approvals.mark_used(approval.id)
        ticket = self.admission.enter(bypass_queue_limit=True)
        task = self._start(record, prepared, ticket, sink)
        if self.rate_limiter is not None:
            limiter = self.rate_limiter
            task.add_done_callback(
                lambda t: limiter.charge(record.principal, _cpu_ms(t), _now_ms())
            )

    def _reprepare(self, approval: ApprovalRecord) -> Prepared:
        """The approved request, rebuilt from what was stored; refused if the skill changed."""
        skill = self.catalog.get(approval.skill)
        if skill.content_hash != approval.binding.content_hash:
            raise WrongState("the skill changed after approval was requested")
        overrides = LimitOverrides(**approval.details.get("overrides", {}))
        return prepare(
            skill=skill,
            tool_name=approval.binding.tool,
            input_value=strict_json(approval.input_json),
            profiles=self.profiles,
            overrides=overrides,
        )

    def _start(
        self,
        record: InvocationRecord,
        prepared: Prepared,
        ticket: Ticket,
        sink: EventSink,
        *,
        hold: tuple[InvocationRequest, Any] | None = None,
    ) -> asyncio.Task[InvocationRecord]:
        task = asyncio.create_task(self._run(record, prepared, ticket, sink, hold))
        self._tasks[record.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(record.id, None))
        return task

    async def _follow(self, task: asyncio.Task[InvocationRecord]) -> InvocationRecord:
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            # The caller went away (deadline, cancellation, shutdown): its sandbox dies with it.
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise

    async def _audit(self, event: str, actor: str, **fields: Any) -> None:
        if self.audit is not None:
            self.audit.emit(event, actor=actor, **fields)

    def _subject(self, prepared: Prepared, input_value: Any) -> dict[str, Any]:
        """What an audit entry says about the call: never the input itself, only its hash."""
        return {
            "skill": prepared.skill.name,
            "version": prepared.skill.version,
            "content_hash": prepared.skill.content_hash,
            "tool": prepared.tool.name,
            "input_hash": canonical_hash(input_value),
            "profile": prepared.profile.name,
            "limits": asdict(prepared.spec.limits),
        }

    async def _record_request(
        self, request: InvocationRequest, prepared: Prepared, input_value: Any, decision: Decision
    ) -> None:
        await self._audit(
            audit.INVOCATION_REQUESTED,
            request.principal.name,
            **self._subject(prepared, input_value),
            verdict=decision.verdict.value,
            rule=decision.rule.id if decision.rule is not None else None,
        )

    async def _with_secrets(self, record: InvocationRecord, prepared: Prepared) -> Prepared:
        """Resolve the skill's declared secrets at the last moment, after any approval."""
        names = prepared.skill.permissions.secrets
        if not names:
            return prepared
        if self.resolve_secrets is None:
            raise WrongState("this daemon has no secrets store configured")
        values = await self.resolve_secrets(tuple(names))
        await self._audit(
            audit.SECRET_ACCESSED,
            record.principal,
            invocation_id=record.id,
            skill=prepared.skill.name,
            names=list(names),
        )
        return with_secrets(prepared, values)

    def _permit(self, principal: Principal) -> Permit | None:
        if self.rate_limiter is None:
            return None
        return self.rate_limiter.admit(principal, _now_ms())

    async def _replay(
        self, request: InvocationRequest, request_hash: str
    ) -> InvocationRecord | None:
        if not request.idempotency_key:
            return None
        found = self.store.by_idempotency_key(request.principal.name, request.idempotency_key)
        if found is None:
            return None
        record, recorded_hash = found
        if recorded_hash != request_hash:
            raise BadRequest("idempotency_key: already used for a different request")
        task = self._tasks.get(record.id)
        if task is not None:
            await asyncio.shield(task)
        return self.get(record.id, request.principal)

    def _accept(
        self, request: InvocationRequest, request_hash: str, prepared: Prepared
    ) -> InvocationRecord:
        record = InvocationRecord(
            id=f"inv_{secrets.token_hex(12)}",
            skill=prepared.skill.name,
            tool=prepared.tool.name,
            version=prepared.skill.version,
            profile=prepared.profile.name,
            principal=request.principal.name,
            state=State.QUEUED,
            created_ms=_now_ms(),
        )
        self.store.create(
            record, request_hash=request_hash, idempotency_key=request.idempotency_key
        )
        log.info(
            "invocation accepted", invocation_id=record.id, skill=record.skill, tool=record.tool
        )
        return record

    async def _run(
        self,
        record: InvocationRecord,
        prepared: Prepared,
        ticket: Ticket,
        sink: EventSink,
        hold: tuple[InvocationRequest, Any] | None,
    ) -> InvocationRecord:
        started = time.monotonic()
        output_json: str | None = None
        spent_ms = [0]  # CPU of a run that gets cancelled, still charged to its principal
        try:
            if record.state is State.QUEUED:
                await sink(Accepted(record.id))
            await ticket.acquire()

            prepared = await self._with_secrets(record, prepared)

            async def on_started() -> None:
                self.store.mark_running(record.id, _now_ms())
                await self._audit(
                    audit.INVOCATION_STARTED, record.principal, invocation_id=record.id
                )
                await sink(Started(record.id))

            async def on_output(stream: str, data: bytes) -> None:
                if hold is None:  # output held for approval is not streamed either
                    await sink(OutputChunk(stream, data))

            def on_egress(attempt: EgressAttempt) -> None:
                # Each egress decision as it ends goes to the audit log (written off the loop).
                log.info("egress", invocation_id=record.id, **egress_dict(attempt))
                if self.audit is not None:
                    self.audit.emit(
                        audit.EGRESS_DECIDED,
                        actor=record.principal,
                        invocation_id=record.id,
                        **egress_dict(attempt),
                    )

            run = await execute(
                prepared,
                self.launcher,
                on_started=on_started,
                on_output=on_output,
                on_egress=on_egress,
                on_cancelled=lambda cpu_ms: spent_ms.__setitem__(0, cpu_ms),
            )
            result: SandboxResult = run.result
            if run.output is not None or run.result.status is Status.OK:
                output_json = json.dumps(run.output)
        except asyncio.CancelledError:
            result = failed_result(Status.CANCELLED, "cancelled", wall_ms=_elapsed_ms(started))
            result = replace(result, usage=replace(result.usage, cpu_ms=spent_ms[0]))
        except SkillRuntimeError as exc:
            result = failed_result(Status.SANDBOX_ERROR, str(exc), wall_ms=_elapsed_ms(started))
        except Exception:
            # A bug, not the caller's fault: the invocation still ends, recorded as failed.
            log.exception("invocation crashed", invocation_id=record.id)
            result = failed_result(
                Status.SANDBOX_ERROR, "internal error", wall_ms=_elapsed_ms(started)
            )
        finally:
            ticket.release()
        if hold is not None and result.status is not Status.CANCELLED:
            request, input_value = hold
            approval = await self._request_approval(
                record, request, prepared, input_value, "before_return"
            )
            self.store.hold(record.id, result, output_json, approval.id)
            await sink(PendingApproval(record.id, approval.id, approval.expires_ms))
            return self.store.get(record.id)
        return await self._finish(record.id, result, output_json, sink)

    async def _finish(
        self, invocation_id: str, result: SandboxResult, output_json: str | None, sink: EventSink
    ) -> InvocationRecord:
        self.store.finish(invocation_id, result, output_json, _now_ms())
        record = self.store.get(invocation_id)
        await self._audit(
            audit.INVOCATION_FINISHED,
            record.principal,
            invocation_id=invocation_id,
            skill=record.skill,
            tool=record.tool,
            status=result.status.value,
            usage=asdict(result.usage),
            violations=list(result.violations),
        )
        log.info(
            "invocation finished",
            invocation_id=invocation_id,
            status=result.status.value,
            **asdict(result.usage),
        )
        return await self._announce(invocation_id, sink)

    async def _announce(self, invocation_id: str, sink: EventSink) -> InvocationRecord:
        finished = self.store.get(invocation_id)
        await sink(Finished(finished))
        self._finished.setdefault(invocation_id, asyncio.Event()).set()
        self._finished.pop(invocation_id, None)
        return finished


def _status_only(record: InvocationRecord) -> InvocationRecord:
    """What a viewer sees of someone else's invocation: how it went, not what it said."""
    if record.result is None:
        return record
    result = replace(record.result, stdout=b"", stderr=b"", egress=())
    return replace(record, result=result, output_json=None)


def _binding(principal: Principal, prepared: Prepared, input_value: Any) -> Binding:
    return Binding(
        skill=prepared.skill.name,
        content_hash=prepared.skill.content_hash,
        tool=prepared.tool.name,
        input_hash=canonical_hash(input_value),
        requested_by=principal.name,
    )


def _refusal(approval: ApprovalRecord) -> SandboxResult:
    if approval.state is ApprovalState.EXPIRED:
        return failed_result(Status.APPROVAL_EXPIRED, "nobody approved the request in time")
    if approval.state is ApprovalState.CANCELLED:
        return failed_result(Status.CANCELLED, approval.reason or "cancelled")
    who = approval.decided_by or "an approver"
    note = f"denied by {who}" + (f": {approval.reason}" if approval.reason else "")
    return failed_result(Status.DENIED, note)


def _finish_permit(permit: Permit | None, cpu_ms: int) -> None:
    if permit is not None:
        permit.finish(cpu_ms, _now_ms())


def _cpu_ms(task: asyncio.Task[InvocationRecord]) -> int:
    if task.cancelled() or task.exception() is not None:
        return 0
    result = task.result().result
    return result.usage.cpu_ms if result is not None else 0


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


async def _discard(event: Event) -> None:
    return None


def _request_hash(request: InvocationRequest, input_value: Any) -> str:
    """What an idempotency key stands for: this caller asking this call with these arguments."""
    return canonical_hash(
        {
            "principal": request.principal.name,
            "skill": request.skill,
            "tool": request.tool,
            "input": input_value,
            "limits": asdict(request.overrides),
        }
    )


def recover(cgroups: Cgroups, store: Store) -> tuple[int, int]:
    """After a crash: kill leftover sandboxes, remove their cgroups, fail their invocations.

    Invocations waiting for a person are left waiting: their requests are durable.
    Returns (sandboxes reaped, invocations failed).
    """
    groups = cgroups.existing()
    for group in groups:
        group.kill()
        group.remove()
    interrupted = store.interrupted()
    for record in interrupted:
        store.finish(
            record.id,
            failed_result(
                Status.SANDBOX_ERROR,
                "interrupted: the daemon stopped before the invocation finished",
            ),
            None,
            _now_ms(),
        )
    return len(groups), len(interrupted)
