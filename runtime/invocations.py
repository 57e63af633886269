"""The daemon's invocations: admission, records, events, cancellation and recovery.

``Invocations.invoke`` is the daemon-side life of one invocation: replay an idempotent request,
resolve and validate it, admit it (or refuse at once), record it, run it in its own task so that
a client's cancellation, CancelInvocation and shutdown all stop it the same way, and record how
it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

import structlog

from runtime.admission import Admission, Ticket
from runtime.auth.ratelimit import Permit, RateLimiter
from runtime.auth.roles import Principal
from runtime.catalog import Catalog
from runtime.errors import InvalidArgument, NotFound, SkillRuntimeError
from runtime.invoke import Prepared, execute, parse_input, prepare, strict_json
from runtime.profiles import LimitOverrides, ProfileStore
from runtime.records import InvocationRecord, State, failed_result
from runtime.sandbox.cgroups import Cgroups
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.result import SandboxResult, Status
from runtime.store import Store

log = structlog.get_logger("skillrt.invocations")


@dataclass(frozen=True, kw_only=True)
class InvocationRequest:
    principal: Principal
    skill: str
    tool: str
    input_json: str
    overrides: LimitOverrides
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Accepted:
    invocation_id: str


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


Event = Accepted | Started | OutputChunk | Finished
EventSink = Callable[[Event], Awaitable[None]]


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
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self.catalog = catalog
        self.profiles = profiles
        self.launcher = launcher
        self.store = store
        self.admission = admission
        self.rate_limiter = rate_limiter
        self._tasks: dict[str, asyncio.Task[InvocationRecord]] = {}

    async def invoke(
        self, request: InvocationRequest, sink: EventSink | None = None
    ) -> InvocationRecord:
        request_hash = _request_hash(request)
        replayed = await self._replay(request, request_hash)
        if replayed is not None:
            return replayed
        prepared = prepare(
            skill=self.catalog.get(request.skill),
            tool_name=request.tool,
            input_value=parse_input(request.input_json or "{}"),
            profiles=self.profiles,
            overrides=request.overrides,
        )
        permit = (
            self.rate_limiter.admit(request.principal, _now_ms())
            if self.rate_limiter is not None
            else None
        )
        try:
            ticket = self.admission.enter()
        except BaseException:
            _finish_permit(permit, 0)
            raise
        try:
            record = self._accept(prepared, request, request_hash)
        except BaseException:
            ticket.release()
            _finish_permit(permit, 0)
            raise
        task = asyncio.create_task(self._run(record, prepared, ticket, sink or _discard))
        task.add_done_callback(lambda t: _finish_permit(permit, _cpu_ms(t)))
        self._tasks[record.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(record.id, None))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            # The caller went away (deadline, cancellation, shutdown): its sandbox dies with it.
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise

    def get(self, invocation_id: str, principal: Principal) -> InvocationRecord:
        """An invocation the principal may see; others' are NOT_FOUND, as if absent."""
        record = self.store.get(invocation_id)
        if not principal.sees_everything() and record.principal != principal.name:
            raise NotFound(f"unknown invocation {invocation_id!r}")
        return record

    async def cancel(self, invocation_id: str, principal: Principal) -> InvocationRecord:
        record = self.get(invocation_id, principal)
        task = self._tasks.get(invocation_id)
        if task is None:
            return record
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            return await asyncio.shield(task)
        return self.store.get(invocation_id)

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
            raise InvalidArgument("idempotency_key: already used for a different request")
        task = self._tasks.get(record.id)
        if task is not None:
            return await asyncio.shield(task)
        return record

    def _accept(
        self, prepared: Prepared, request: InvocationRequest, request_hash: str
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
        self, record: InvocationRecord, prepared: Prepared, ticket: Ticket, sink: EventSink
    ) -> InvocationRecord:
        started = time.monotonic()
        output_json: str | None = None
        try:
            await sink(Accepted(record.id))
            await ticket.acquire()

            async def on_started() -> None:
                self.store.mark_running(record.id, _now_ms())
                await sink(Started(record.id))

            async def on_output(stream: str, data: bytes) -> None:
                await sink(OutputChunk(stream, data))

            run = await execute(prepared, self.launcher, on_started=on_started, on_output=on_output)
            result: SandboxResult = run.result
            if run.output is not None or run.result.status is Status.OK:
                output_json = json.dumps(run.output)
        except asyncio.CancelledError:
            result = failed_result(Status.CANCELLED, "cancelled", wall_ms=_elapsed_ms(started))
        except SkillRuntimeError as exc:
            result = failed_result(Status.SANDBOX_ERROR, str(exc), wall_ms=_elapsed_ms(started))
        finally:
            ticket.release()
        self.store.finish(record.id, result, output_json, _now_ms())
        finished = self.store.get(record.id)
        log.info(
            "invocation finished",
            invocation_id=record.id,
            status=result.status.value,
            **asdict(result.usage),
        )
        await sink(Finished(finished))
        return finished


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


def _request_hash(request: InvocationRequest) -> str:
    try:
        input_value = strict_json(request.input_json or "{}")
    except ValueError:
        input_value = request.input_json  # refused later, with the reason, by parse_input
    canonical = json.dumps(
        {
            "principal": request.principal.name,
            "skill": request.skill,
            "tool": request.tool,
            "input": input_value,
            "limits": asdict(request.overrides),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def recover(cgroups: Cgroups, store: Store) -> tuple[int, int]:
    """After a crash: kill leftover sandboxes, remove their cgroups, fail their invocations.

    Returns (sandboxes reaped, invocations failed).
    """
    groups = cgroups.existing()
    for group in groups:
        group.kill()
        group.remove()
    unfinished = store.unfinished()
    for record in unfinished:
        store.finish(
            record.id,
            failed_result(
                Status.SANDBOX_ERROR,
                "interrupted: the daemon stopped before the invocation finished",
            ),
            None,
            _now_ms(),
        )
    return len(groups), len(unfinished)
