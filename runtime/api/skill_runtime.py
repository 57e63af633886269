"""The SkillRuntime gRPC service: thin translation between protobuf and the domain."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any, TypeAlias

import grpc

from runtime.api.convert import invocation_to_proto, skill_to_proto
from runtime.api.convert_results import overrides_from_proto
from runtime.api.listing import page_token, query_from_proto
from runtime.api.streaming import follow, output_to_proto, required
from runtime.auth.roles import principal
from runtime.core.catalog import Catalog, SkillEntry
from runtime.core.invocation import (
    Accepted,
    Event,
    InvocationRequest,
    OutputChunk,
    PendingApproval,
    Started,
)
from runtime.core.invoke import Invocations
from runtime.core.records import InvocationRecord
from runtime.core.signing import TrustedKey
from runtime.core.watch import watch
from runtime.errors import BadRequest
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.sandbox.profiles import ProfileStore

__all__ = ["Context", "SkillRuntimeServicer"]

_MAX_KEY = 200
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


class SkillRuntimeServicer(pb_grpc.SkillRuntimeServicer):
    def __init__(
        self,
        *,
        catalog: Catalog,
        profiles: ProfileStore,
        invocations: Invocations,
        signed_by: Callable[[SkillEntry], TrustedKey | None] = lambda entry: None,
    ) -> None:
        self.catalog = catalog
        self.profiles = profiles
        self.invocations = invocations
        self.signed_by = signed_by  # who signed a skill, when signatures are required

    async def ListSkills(
        self, request: pb.ListSkillsRequest, context: Context
    ) -> pb.ListSkillsResponse:
        skills = [self._skill(entry) for entry in self.catalog.listing()]
        return pb.ListSkillsResponse(skills=skills)

    async def GetSkill(self, request: pb.GetSkillRequest, context: Context) -> pb.Skill:
        return self._skill(self.catalog.entry(required(request.name, "name")))

    def _skill(self, entry: SkillEntry) -> pb.Skill:
        signer = self.signed_by(entry) if entry.available else None
        return skill_to_proto(entry, self.profiles, signer)

    async def Invoke(self, request: pb.InvokeRequest, context: Context) -> pb.Invocation:
        record = await self.invocations.run(_request(request))
        return invocation_to_proto(record)

    async def InvokeStream(
        self, request: pb.InvokeRequest, context: Context
    ) -> AsyncIterator[pb.InvocationEvent]:
        # A stream follows its invocation to the end, through any wait for approval.
        invocation = replace(_request(request), wait_for_approval=True)
        async for event in follow(lambda sink: self.invocations.run(invocation, sink)):
            yield _event(event)

    async def GetInvocation(
        self, request: pb.GetInvocationRequest, context: Context
    ) -> pb.Invocation:
        record = await self.invocations.get(required(request.id, "id"), principal())
        return self._to_proto(record)

    async def CancelInvocation(
        self, request: pb.CancelInvocationRequest, context: Context
    ) -> pb.Invocation:
        record = await self.invocations.cancel(required(request.id, "id"), principal())
        return invocation_to_proto(record)

    async def ListInvocations(
        self, request: pb.ListInvocationsRequest, context: Context
    ) -> pb.ListInvocationsResponse:
        page, last = await self.invocations.listing(principal(), query_from_proto(request))
        return pb.ListInvocationsResponse(
            invocations=[self._to_proto(record) for record in page],
            next_page_token=page_token(last),
        )

    async def WatchInvocation(
        self, request: pb.WatchInvocationRequest, context: Context
    ) -> AsyncIterator[pb.InvocationEvent]:
        events = watch(
            self.invocations, required(request.id, "id"), principal(), follow=request.follow
        )
        async for event in events:
            yield _event(event)

    def _to_proto(self, record: InvocationRecord) -> pb.Invocation:
        """With what its sandbox has used so far, while it runs (a few cgroup reads)."""
        return invocation_to_proto(record, self.invocations.runner.live.usage(record.id))


def _request(request: pb.InvokeRequest) -> InvocationRequest:
    if len(request.idempotency_key) > _MAX_KEY:
        raise BadRequest(f"idempotency_key: longer than {_MAX_KEY} characters")
    return InvocationRequest(
        principal=principal(),
        skill=required(request.skill, "skill"),
        tool=required(request.tool, "tool"),
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
        return pb.InvocationEvent(output=output_to_proto(event))
    return pb.InvocationEvent(finished=invocation_to_proto(event.record))
