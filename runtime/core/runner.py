"""An admitted invocation's run, in a task of its own, and how it ends.

Each run is an ``asyncio`` task, so a client's cancellation, CancelInvocation and shutdown all stop
it the same way. ``Runner.start`` launches one; its steps are ``_run``: wait for a sandbox slot ->
resolve secrets -> audit the start -> launch and collect -> hold the result for approval, or end
it (``Endings``: record, audit, announce).

No sandbox starts and no secret is read before its audit entry is on disk. When the daemon's
state cannot be written (a full disk) the invocation ends (its row retried until it can be) and
the caller hears ``StateUnwritable``, never a result the audit log lacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Protocol, TypeVar

import structlog

from runtime.approvals.store import ApprovalRecord
from runtime.audit import events
from runtime.audit.background import BackgroundAudit
from runtime.core.admission import Ticket
from runtime.core.endings import Endings
from runtime.core.execute import ToolRun, execute
from runtime.core.invocation import (
    Accepted,
    EventSink,
    OutputChunk,
    PendingApproval,
    Started,
    discard,
)
from runtime.core.live import LiveRun, LiveRuns
from runtime.core.records import InvocationRecord, State
from runtime.core.spec import Label, Prepared, with_secrets
from runtime.core.store import Store
from runtime.errors import SkillRuntimeError, StateUnwritable, WrongState
from runtime.sandbox.egress.attempt import EgressAttempt, egress_dict
from runtime.sandbox.pool import PoolLabel, WarmPool
from runtime.sandbox.result import SandboxResult, Status, failed_result
from runtime.sandbox.started import Sandbox
from runtime.util.aio import cancel_once_started, to_the_end
from runtime.util.clock import SYSTEM_CLOCK, Clock

__all__ = ["Hold", "Runner", "SecretResolver", "TripObserver", "cpu_ms"]

log = structlog.get_logger("skillrt.invocations")

SecretResolver = Callable[[tuple[str, ...]], Awaitable[dict[str, bytes]]]
# A before_return call's result waits for a person: this files the approval request.
Hold = Callable[[InvocationRecord], Awaitable[ApprovalRecord]]
_T = TypeVar("_T")


class TripObserver(Protocol):
    """Hears how each skill call trips the sandbox (the daemon's quarantine)."""

    def egress_denied(self, label: Label) -> None:
        """A connection the call asked for was refused, as it happens."""
        ...

    async def ended(self, label: Label, result: SandboxResult, invocation_id: str) -> None:
        """The call's result, before its end is recorded and answered."""
        ...

    def refusal(self, label: Label) -> str | None:
        """Why a call of ``label`` that reached its slot may not start now, or None."""
        ...


class Runner:
    def __init__(
        self,
        *,
        pool: WarmPool,
        store: Store,
        audit_log: BackgroundAudit | None,
        resolve_secrets: SecretResolver | None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.pool = pool
        self.store = store
        self._sql = store.db.call  # SQLite work runs off the event loop
        self._audit = audit_log
        self.resolve_secrets = resolve_secrets
        self._clock = clock
        self._tasks: dict[str, asyncio.Task[InvocationRecord]] = {}
        self._sinks: dict[str, EventSink] = {}  # callers still connected, by invocation
        self.live = LiveRuns(clock)  # what runs now: use and output so far, for watchers
        self.ends = Endings(store=store, audit_log=audit_log, live=self.live, clock=clock)
        self.trips: TripObserver | None = None  # set by the daemon's quarantine
        self._labels: dict[str, Label] = {}  # what each task runs, to stop a skill's calls
        self._why: dict[str, str] = {}  # why a task was cancelled, when not by its caller

    def start(
        self,
        record: InvocationRecord,
        prepared: Prepared,
        ticket: Ticket,
        sink: EventSink,
        *,
        hold: Hold | None = None,
    ) -> asyncio.Task[InvocationRecord]:
        live = self.live.begin(record.id, prepared.spec.limits.output_bytes)
        task = asyncio.create_task(self._run(record, prepared, ticket, sink, hold, live))
        self._tasks[record.id] = task
        self._labels[record.id] = prepared.label

        def ended(_: object) -> None:
            self._tasks.pop(record.id, None)
            self._labels.pop(record.id, None)
            self._why.pop(record.id, None)
            self.live.end(record.id)

        task.add_done_callback(ended)
        return task

    def running(self, invocation_id: str) -> asyncio.Task[InvocationRecord] | None:
        return self._tasks.get(invocation_id)

    async def follow(self, task: asyncio.Task[InvocationRecord]) -> InvocationRecord:
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            # The caller went away (deadline, cancellation, shutdown): its sandbox dies with it.
            cancel_once_started(task)
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise

    async def wait_settled(
        self,
        invocation_id: str,
        sink: EventSink,
        *,
        task: asyncio.Task[InvocationRecord] | None,
        until_final: bool,
    ) -> None:
        """Keep ``sink`` informed while a run (if any) ends, and until the final record if asked."""
        self._sinks[invocation_id] = sink
        finished = self.ends.final(invocation_id)
        try:
            if task is not None:
                await self.follow(task)
            if until_final:
                await finished.wait()
        finally:
            self._sinks.pop(invocation_id, None)

    def sink_of(self, invocation_id: str) -> EventSink:
        return self._sinks.get(invocation_id, discard)

    async def cancel(self, invocation_id: str) -> None:
        task = self._tasks.get(invocation_id)
        if task is None:
            return
        cancel_once_started(task)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)

    def stop(self, skill: str, content_hash: str, why: str, *, spare: str | None = None) -> int:
        """Cancel every call of ``skill`` at ``content_hash`` (running, or waiting for a slot)
        but ``spare``, each ending cancelled with ``why``; returns how many. Not awaited: the
        caller may be one of the calls' own ends."""
        stopped = 0
        for invocation_id, label in list(self._labels.items()):
            task = self._tasks.get(invocation_id)
            if task is None or invocation_id == spare:
                continue
            if (label.skill, label.content_hash) == (skill, content_hash):
                self._why[invocation_id] = why
                cancel_once_started(task)
                stopped += 1
        return stopped

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

    async def _run(
        self,
        record: InvocationRecord,
        prepared: Prepared,
        ticket: Ticket,
        sink: EventSink,
        hold: Hold | None,
        live: LiveRun,
    ) -> InvocationRecord:
        started = self._clock.monotonic()
        output_json: str | None = None
        spent_ms = [0]  # CPU of a run that gets cancelled, still charged to its principal
        refused: StateUnwritable | None = None
        try:
            if record.state is State.QUEUED:
                await sink(Accepted(record.id))
            waiting = self._clock.monotonic()
            await ticket.acquire()
            queued_ms = self._since(waiting)
            if (why := self._refused(prepared)) is not None:
                # Its skill was quarantined after the call was admitted (while it waited for a
                # slot, or before the runner knew of it): it never starts, and ends as the
                # quarantine ends the calls it finds.
                self._why[record.id] = why
                raise asyncio.CancelledError
            prepared = await self._with_secrets(record, prepared)
            await self._record(
                events.INVOCATION_STARTED,
                record.principal,
                invocation_id=record.id,
                skill=record.skill,
                tool=record.tool,
                queued_ms=queued_ms,
            )
            run = await self._launch(record, prepared, sink, hold is not None, spent_ms, live)
            result: SandboxResult = run.result
            if run.output is not None or result.status is Status.OK:
                output_json = json.dumps(run.output)
        except asyncio.CancelledError:
            why = self._why.get(record.id, "cancelled")
            result = failed_result(Status.CANCELLED, why, wall_ms=self._since(started))
            result = replace(result, usage=replace(result.usage, cpu_ms=spent_ms[0]))
        except StateUnwritable as exc:
            # Not the sandbox's failure: the daemon could not audit or record the run.
            refused = exc
            result = failed_result(Status.SANDBOX_ERROR, str(exc), wall_ms=self._since(started))
        except SkillRuntimeError as exc:
            result = failed_result(Status.SANDBOX_ERROR, str(exc), wall_ms=self._since(started))
        except Exception:
            # A bug, not the caller's fault: the invocation still ends, recorded as failed.
            log.exception("invocation crashed", invocation_id=record.id)
            result = failed_result(
                Status.SANDBOX_ERROR, "internal error", wall_ms=self._since(started)
            )
        finally:
            ticket.release()
        # However the run ended, that is recorded even if this task is cancelled meanwhile
        # (a caller leaving, shutdown): an unrecorded end would read as a crash on restart.
        if hold is not None and refused is None and result.status is not Status.CANCELLED:
            work = self.or_end(record.id, self._hold(record, result, output_json, sink, hold))
        else:
            work = self.ends.finish(record.id, result, output_json, sink)
        ended = await to_the_end(self._counted(record, prepared, result, work), then_cancel=False)
        if refused is not None:
            raise refused
        return ended

    def _refused(self, prepared: Prepared) -> str | None:
        if self.trips is None or not prepared.quarantinable:
            return None
        return self.trips.refusal(prepared.label)

    async def _counted(
        self,
        record: InvocationRecord,
        prepared: Prepared,
        result: SandboxResult,
        end: Awaitable[_T],
    ) -> _T:
        """``end``, once the call's trips are counted: a call that quarantines its skill is
        answered only after the quarantine is in force."""
        if self.trips is not None and prepared.quarantinable:
            await self.trips.ended(prepared.label, result, record.id)
        return await end

    async def or_end(self, invocation_id: str, work: Awaitable[_T]) -> _T:
        """``work`` on an invocation that exists; if the daemon's state cannot be written
        meanwhile, the invocation ends (never left queued) and the caller hears why."""
        try:
            return await work
        except StateUnwritable as exc:
            refused = failed_result(Status.SANDBOX_ERROR, str(exc))
            with contextlib.suppress(StateUnwritable):
                await self.ends.finish(invocation_id, refused, None, self.sink_of(invocation_id))
            raise

    async def _hold(
        self,
        record: InvocationRecord,
        result: SandboxResult,
        output_json: str | None,
        sink: EventSink,
        hold: Hold,
    ) -> InvocationRecord:
        approval = await hold(record)
        await self._sql(self.store.hold, record.id, result, output_json, approval.id)
        await sink(PendingApproval(record.id, approval.id, approval.expires_ms))
        return await self._sql(self.store.get, record.id)

    async def _with_secrets(self, record: InvocationRecord, prepared: Prepared) -> Prepared:
        """Resolve the skill's declared secrets at the last moment, after any approval."""
        names = prepared.secrets.names
        if not names:
            return prepared
        if self.resolve_secrets is None:
            raise WrongState("this daemon has no secrets store configured")
        await self._record(
            events.SECRET_ACCESSED,
            record.principal,
            invocation_id=record.id,
            skill=prepared.label.skill,
            names=list(names),
        )
        return with_secrets(prepared, await self.resolve_secrets(tuple(names)))

    async def _launch(
        self,
        record: InvocationRecord,
        prepared: Prepared,
        sink: EventSink,
        held: bool,
        spent_ms: list[int],
        live: LiveRun,
    ) -> ToolRun:
        async def on_started(sandbox: Sandbox) -> None:
            live.attach(sandbox)
            await self._sql(self.store.mark_running, record.id, self._clock.now_ms())
            await sink(Started(record.id))

        async def on_output(stream: str, data: bytes) -> None:
            if not held:  # output held for approval is not streamed either
                live.publish(stream, data)
                await sink(OutputChunk(stream, data))

        def on_egress(attempt: EgressAttempt) -> None:
            # Each egress decision as it ends goes to the audit log (written off the loop).
            log.info("egress", invocation_id=record.id, **egress_dict(attempt))
            self._emit(
                events.EGRESS_DECIDED,
                record.principal,
                invocation_id=record.id,
                **egress_dict(attempt),
            )
            if not attempt.allowed and self.trips is not None and prepared.quarantinable:
                self.trips.egress_denied(prepared.label)

        label = prepared.label
        warm = PoolLabel(
            skill=label.skill,
            tool=label.tool,
            profile=prepared.profile.name,
            content_hash=label.content_hash,
        )
        return await execute(
            prepared,
            self.pool.for_call(warm if prepared.warm else None, keep=prepared.snapshots),
            on_started=on_started,
            on_output=on_output,
            on_egress=on_egress,
            on_cancelled=lambda cpu_ms: spent_ms.__setitem__(0, cpu_ms),
        )

    def _since(self, started: float) -> int:
        return int((self._clock.monotonic() - started) * 1000)

    def _emit(self, event: str, actor: str, **fields: object) -> None:
        if self._audit is not None:
            self._audit.emit(event, actor=actor, **fields)

    async def _record(self, event: str, actor: str, **fields: object) -> None:
        if self._audit is not None:
            await self._audit.record(event, actor=actor, **fields)


def cpu_ms(task: asyncio.Task[InvocationRecord]) -> int:
    """The CPU a finished run used, for budgets; a run that failed to finish used none."""
    if task.cancelled() or task.exception() is not None:
        return 0
    result = task.result().result
    return result.usage.cpu_ms if result is not None else 0
