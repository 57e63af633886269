"""``skillrt.v1.Sessions``: agent sessions and the commands run in them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import grpc

from runtime.api.convert_results import limits_to_proto, overrides_from_proto, result_to_proto
from runtime.api.streaming import follow, output_to_proto, required
from runtime.auth.roles import principal
from runtime.core.commands import WORKDIR
from runtime.core.invocation import (
    CommandRequest,
    Event,
    Finished,
    OutputChunk,
    PendingApproval,
    Started,
)
from runtime.core.invoke import Invocations
from runtime.core.sessions import SessionInfo, Sessions, SessionState
from runtime.errors import BadRequest
from runtime.proto.skillrt.v1 import sessions_pb2 as spb
from runtime.proto.skillrt.v1 import sessions_pb2_grpc as spb_grpc
from runtime.sandbox.result import SandboxResult, Status

__all__ = ["Context", "SessionsServicer", "exit_status", "session_to_proto"]

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"

_STATES = {
    SessionState.ACTIVE: spb.SESSION_STATE_ACTIVE,
    SessionState.DESTROYED: spb.SESSION_STATE_DESTROYED,
    SessionState.EXPIRED: spb.SESSION_STATE_EXPIRED,
}
_MAX_ENV = 256


class SessionsServicer(spb_grpc.SessionsServicer):
    def __init__(self, *, sessions: Sessions, invocations: Invocations) -> None:
        self.sessions = sessions
        self.invocations = invocations

    async def CreateSession(
        self, request: spb.CreateSessionRequest, context: Context
    ) -> spb.Session:
        info = await self.sessions.create(
            principal(),
            profile=request.profile,
            skills=tuple(request.skills),
            workspace_bytes=request.workspace_bytes,
            idle_timeout_ms=request.idle_timeout_ms,
            overrides=overrides_from_proto(request.limits),
        )
        return session_to_proto(info)

    async def GetSession(self, request: spb.GetSessionRequest, context: Context) -> spb.Session:
        return session_to_proto(self.sessions.get(required(request.id, "id"), principal()))

    async def ListSessions(
        self, request: spb.ListSessionsRequest, context: Context
    ) -> spb.ListSessionsResponse:
        return spb.ListSessionsResponse(
            sessions=[session_to_proto(s) for s in self.sessions.list(principal())]
        )

    async def DestroySession(
        self, request: spb.DestroySessionRequest, context: Context
    ) -> spb.Session:
        info = await self.sessions.destroy(required(request.id, "id"), principal())
        return session_to_proto(info)

    async def Exec(
        self, requests: AsyncIterator[spb.ExecRequest], context: Context
    ) -> AsyncIterator[spb.ExecEvent]:
        first = await anext(requests, None)
        if first is None or first.WhichOneof("request") != "start":
            raise BadRequest("start: the first message of Exec must be `start`")
        command = _command(first.start, _stdin(requests))
        async for event in follow(lambda sink: self.invocations.run(command, sink)):
            message = _event(event)
            if message is not None:
                yield message


async def _stdin(requests: AsyncIterator[spb.ExecRequest]) -> AsyncIterator[bytes]:
    async for message in requests:
        if message.WhichOneof("request") != "stdin":
            raise BadRequest("stdin: only the first message of Exec may be `start`")
        if message.stdin:
            yield message.stdin


def _command(start: spb.ExecStart, stdin: AsyncIterator[bytes]) -> CommandRequest:
    if len(start.env) > _MAX_ENV:
        raise BadRequest(f"env: more than {_MAX_ENV} variables")
    return CommandRequest(
        principal=principal(),
        session_id=required(start.session_id, "session_id"),
        argv=tuple(start.argv),
        cwd=start.cwd,
        env=tuple(sorted(start.env.items())),
        overrides=overrides_from_proto(start.limits),
        stdin=stdin,
        wait_for_approval=start.wait_for_approval,
        approval_id=start.approval_id or None,
    )


def _event(event: Event) -> spb.ExecEvent | None:
    if isinstance(event, Started):
        return spb.ExecEvent(started=spb.ExecEvent.Started(exec_id=event.invocation_id))
    if isinstance(event, OutputChunk):
        return spb.ExecEvent(output=output_to_proto(event))
    if isinstance(event, PendingApproval):
        return spb.ExecEvent(
            pending_approval=spb.ExecEvent.PendingApproval(
                exec_id=event.invocation_id,
                approval_id=event.approval_id,
                expires_at_ms=event.expires_ms,
            )
        )
    if isinstance(event, Finished):
        result = event.record.result
        if result is None:
            return None
        return spb.ExecEvent(
            finished=spb.ExecEvent.Finished(
                exec_id=event.record.id,
                result=result_to_proto(result, None),
                exit_status=exit_status(result),
            )
        )
    return None  # Accepted: the started event names the command


def exit_status(result: SandboxResult) -> int:
    """What a shell would report: the exit code, 128 + a killing signal, 124 for a timeout."""
    if result.exit_code is not None:
        return result.exit_code
    if result.signal is not None:
        return 128 + result.signal
    if result.status is Status.TIMEOUT:
        return 124
    if result.status is Status.CANCELLED:
        return 130
    return 126  # it could not be run: refused, denied, or the sandbox failed


def session_to_proto(info: SessionInfo) -> spb.Session:
    return spb.Session(
        id=info.id,
        owner=info.owner,
        profile=info.profile,
        skills=list(info.skills),
        state=_STATES[info.state],
        workspace_bytes=info.workspace_bytes,
        workspace_used_bytes=info.used_bytes,
        idle_timeout_ms=info.idle_timeout_ms,
        created_at_ms=info.created_ms,
        last_active_at_ms=info.last_active_ms,
        expires_at_ms=info.expires_ms if info.state is SessionState.ACTIVE else 0,
        limits=limits_to_proto(info.limits),
        workdir=WORKDIR,
        running=info.running,
        commands=info.commands,
        env_allowed=list(info.env_allowed),
    )
