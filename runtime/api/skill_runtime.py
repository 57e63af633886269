"""The SkillRuntime gRPC service: thin translation between protobuf and the domain."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, TypeAlias

import grpc

from runtime.api.convert import invocation_to_proto, overrides_from_proto, skill_to_proto
from runtime.auth.roles import principal
from runtime.core.catalog import Catalog
from runtime.core.invocation import (
    Accepted,
    Event,
    Finished,
    InvocationRequest,
    OutputChunk,
    PendingApproval,
    Started,
)
from runtime.core.invoke import Invocations
from runtime.errors import BadRequest
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.sandbox.profiles import ProfileStore

__all__ = ["Context", "SkillRuntimeServicer"]

_STREAMS = {
    "stdout": pb.InvocationEvent.Output.STREAM_STDOUT,
    "stderr": pb.InvocationEvent.Output.STREAM_STDERR,
}
_MAX_KEY = 200
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


class SkillRuntimeServicer(pb_grpc.SkillRuntimeServicer):
    def __init__(
        self, *, catalog: Catalog, profiles: ProfileStore, invocations: Invocations
    ) -> None:
        self.catalog = catalog
        self.profiles = profiles
        self.invocations = invocations

    async def ListSkills(
        self, request: pb.ListSkillsRequest, context: Context
    ) -> pb.ListSkillsResponse:
        skills = [skill_to_proto(entry, self.profiles) for entry in self.catalog.listing()]
        return pb.ListSkillsResponse(skills=skills)

    async def GetSkill(self, request: pb.GetSkillRequest, context: Context) -> pb.Skill:
        entry = self.catalog.entry(_required(request.name, "name"))
        return skill_to_proto(entry, self.profiles)

    async def Invoke(self, request: pb.InvokeRequest, context: Context) -> pb.Invocation:
        record = await self.invocations.run(_request(request))
        return invocation_to_proto(record)

    async def InvokeStream(
        self, request: pb.InvokeRequest, context: Context
    ) -> AsyncIterator[pb.InvocationEvent]:
        events: asyncio.Queue[Event] = asyncio.Queue()
        # A stream follows its invocation to the end, through any wait for approval.
        invocation = replace(_request(request), wait_for_approval=True)
        task = asyncio.create_task(self.invocations.run(invocation, events.put))
        try:
            while True:
                getter = asyncio.create_task(events.get())
                done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    task.result()  # the invocation failed before it finished: raise its error
                    while not events.empty():
                        yield _event(events.get_nowait())
                    return
                event = getter.result()
                yield _event(event)
                if isinstance(event, Finished):
                    await task
                    return
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def GetInvocation(
        self, request: pb.GetInvocationRequest, context: Context
    ) -> pb.Invocation:
        record = await self.invocations.get(_required(request.id, "id"), principal())
        return invocation_to_proto(record)

    async def CancelInvocation(
        self, request: pb.CancelInvocationRequest, context: Context
    ) -> pb.Invocation:
        record = await self.invocations.cancel(_required(request.id, "id"), principal())
        return invocation_to_proto(record)


def _required(value: str, field: str) -> str:
    if not value:
        raise BadRequest(f"{field}: required")
    return value


def _request(request: pb.InvokeRequest) -> InvocationRequest:
    if len(request.idempotency_key) > _MAX_KEY:
        raise BadRequest(f"idempotency_key: longer than {_MAX_KEY} characters")
    return InvocationRequest(
        principal=principal(),
        skill=_required(request.skill, "skill"),
        tool=_required(request.tool, "tool"),
        input_json=request.input_json,
        overrides=overrides_from_proto(request.limits),
        idempotency_key=request.idempotency_key or None,
        wait_for_approval=request.wait_for_approval,
        approval_id=request.approval_id or None,
    )


def _event(event: Event) -> pb.InvocationEvent:
    if isinstance(event, Accepted):
        return pb.InvocationEvent(
            accepted=pb.InvocationEvent.Accepted(invocation_id=event.invocation_id)
        )
    if isinstance(event, Started):
        return pb.InvocationEvent(
            started=pb.InvocationEvent.Started(invocation_id=event.invocation_id)
        )
    if isinstance(event, PendingApproval):
        return pb.InvocationEvent(
            pending_approval=pb.InvocationEvent.PendingApproval(
                invocation_id=event.invocation_id,
                approval_id=event.approval_id,
                expires_at_ms=event.expires_ms,
            )
        )
    if isinstance(event, OutputChunk):
        return pb.InvocationEvent(
            output=pb.InvocationEvent.Output(stream=_STREAMS[event.stream], data=event.data)
        )
    return pb.InvocationEvent(finished=invocation_to_proto(event.record))
