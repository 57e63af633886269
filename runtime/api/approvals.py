"""The Approvals gRPC service: operators list, watch and decide requests (and hear of skills
quarantined), and manage rules."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import grpc

from runtime.api.convert import approval_state_from_proto, approval_to_proto, rule_to_proto
from runtime.api.quarantine import quarantine_to_proto
from runtime.approvals.rules import Effect, Rule
from runtime.approvals.store import ApprovalState, check_rule
from runtime.audit import events
from runtime.audit.background import BackgroundAudit
from runtime.auth.roles import principal
from runtime.core.catalog import Catalog
from runtime.core.invoke import Invocations
from runtime.core.quarantines import Quarantines
from runtime.errors import BadRequest
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.util.aio import to_the_end
from runtime.util.canonical import strict_json
from runtime.util.clock import SYSTEM_CLOCK

__all__ = ["ApprovalsServicer", "Context"]

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


class ApprovalsServicer(pb_grpc.ApprovalsServicer):
    def __init__(
        self,
        *,
        invocations: Invocations,
        catalog: Catalog,
        audit_log: BackgroundAudit,
        quarantines: Quarantines,
    ) -> None:
        self.invocations = invocations
        self.quarantines = quarantines
        self.catalog = catalog
        self.audit_log = audit_log
        self.approvals = invocations.gate.store
        self._sql = self.approvals.db.call  # SQLite work runs off the event loop
        # One deletion at a time: two deleting the same rule must not both record its end.
        self._deleting = asyncio.Lock()

    async def ListApprovals(
        self, request: pb.ListApprovalsRequest, context: Context
    ) -> pb.ListApprovalsResponse:
        state = approval_state_from_proto(request.state)
        return pb.ListApprovalsResponse(
            approvals=[approval_to_proto(a) for a in await self._sql(self.approvals.find, state)]
        )

    async def WatchApprovals(
        self, request: pb.WatchApprovalsRequest, context: Context
    ) -> AsyncIterator[pb.Approval]:
        queue: asyncio.Queue[pb.Approval] = asyncio.Queue()
        stops = [self.invocations.gate.listen(lambda a: queue.put_nowait(approval_to_proto(a)))]
        if request.quarantines:
            # Only to watchers that asked: an older one would read a notice as a request.
            stops.append(
                self.quarantines.listen(
                    lambda q: queue.put_nowait(pb.Approval(quarantine=quarantine_to_proto(q)))
                )
            )
        try:
            for approval in await self._sql(self.approvals.find, ApprovalState.PENDING):
                yield approval_to_proto(approval)
            while True:
                yield await queue.get()
        finally:
            for stop in stops:
                stop()

    async def Decide(self, request: pb.DecideRequest, context: Context) -> pb.Approval:
        if not request.id:
            raise BadRequest("id: required")
        decided = await self.invocations.gate.decide(
            request.id, approve=request.approve, reason=request.reason, decided_by=principal().name
        )
        return approval_to_proto(decided)

    async def CreateRule(self, request: pb.CreateRuleRequest, context: Context) -> pb.Rule:
        try:
            effect = Effect(request.effect)
        except ValueError as exc:
            raise BadRequest("effect: must be allow or deny") from exc
        skill = self.catalog.get(request.skill or "-")
        tool = skill.tool(request.tool)
        if request.input_schema_json:
            try:
                strict_json(request.input_schema_json)
            except ValueError as exc:
                raise BadRequest(f"input_schema_json: not JSON: {exc}") from exc
        rule = Rule(
            id=f"rule_{secrets.token_hex(8)}",
            effect=effect,
            skill=skill.name,
            tool=tool.name,
            content_hash=request.skill_content_hash or skill.content_hash,
            input_schema_json=request.input_schema_json,
            created_by=principal().name,
            created_ms=SYSTEM_CLOCK.now_ms(),
            reason=request.reason,
        )
        check_rule(rule)

        async def create() -> Rule:
            # On disk before it counts: a standing approval the log cannot take is not stored.
            await self._audit(events.RULE_CREATED, rule)
            return await self._sql(self.approvals.add_rule, rule)

        created = await to_the_end(create())
        if created.effect is Effect.DENY:
            # Calls it refuses have no use for a sandbox of the tool running ahead of them.
            self.invocations.runner.pool.forget(created.skill, created.tool)
        return rule_to_proto(created)

    async def ListRules(
        self, request: pb.ListRulesRequest, context: Context
    ) -> pb.ListRulesResponse:
        return pb.ListRulesResponse(
            rules=[rule_to_proto(r) for r in await self._sql(self.approvals.rules)]
        )

    async def DeleteRule(self, request: pb.DeleteRuleRequest, context: Context) -> pb.Rule:
        if not request.id:
            raise BadRequest("id: required")

        async def delete() -> Rule:
            async with self._deleting:
                rule = await self._sql(self.approvals.rule, request.id)
                await self._audit(events.RULE_DELETED, rule)
                return await self._sql(self.approvals.delete_rule, rule.id)

        return rule_to_proto(await to_the_end(delete()))

    async def _audit(self, event: str, rule: Rule) -> None:
        await self.audit_log.record(
            event,
            actor=principal().name,
            rule_id=rule.id,
            effect=rule.effect.value,
            skill=rule.skill,
            tool=rule.tool,
            content_hash=rule.content_hash,
            # The schema narrows what an allow rule lets through; its hash names it, unbounded.
            input_schema_sha256=(
                hashlib.sha256(rule.input_schema_json.encode()).hexdigest()
                if rule.input_schema_json
                else ""
            ),
            created_by=rule.created_by,
            reason=rule.reason,
        )
