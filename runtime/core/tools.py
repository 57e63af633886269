"""The pipeline's strategy for a call of a skill's tool (see ``runtime.core.invocation``)."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import asdict, replace
from typing import Any

from runtime.approvals.rules import Rule
from runtime.approvals.store import ApprovalRecord
from runtime.core.catalog import Catalog
from runtime.core.invocation import Invocation, InvocationRequest
from runtime.core.manifest import SkillSpec
from runtime.core.policy import Decision, decide
from runtime.core.records import InvocationRecord
from runtime.core.spec import Prepared, prepare
from runtime.errors import WrongState
from runtime.sandbox.profiles import LimitOverrides, ProfileStore
from runtime.util.canonical import canonical_hash, legacy_hash, parse_input, strict_json

__all__ = ["ToolCalls"]


class ToolCalls:
    def __init__(self, *, catalog: Catalog, profiles: ProfileStore) -> None:
        self.catalog = catalog
        self.profiles = profiles

    def parse(self, request: InvocationRequest) -> Invocation:
        input_value = parse_input(request.input_json or "{}")
        what = {
            "principal": request.principal.name,
            "skill": request.skill,
            "tool": request.tool,
            "input": input_value,
            "limits": asdict(request.overrides),
        }
        return Invocation(
            request=request,
            input_value=input_value,
            request_hash=canonical_hash(what),
            legacy_request_hash=legacy_hash(what),
        )

    async def resolve(self, call: Invocation) -> Invocation:
        request = call.request
        assert isinstance(request, InvocationRequest)
        skill = self.catalog.get(request.skill)
        prepared = prepare(
            skill=skill,
            tool_name=request.tool,
            input_value=call.input_value,
            profiles=self.profiles,
            overrides=request.overrides,
        )
        return call.with_(prepared=prepared, resolved=skill)

    def decide(self, call: Invocation, rules: list[Rule]) -> Decision:
        skill = _skill(call)
        return decide(skill, skill.tool(call.ready.label.tool), call.input_value, rules)

    def approval_details(self, call: Invocation) -> tuple[dict[str, Any], int | None]:
        request = call.request
        assert isinstance(request, InvocationRequest)
        skill = _skill(call)
        tool = skill.tool(call.ready.label.tool)
        # What this tool may reach: its own network list narrows the skill's.
        network = skill.permissions.network if tool.network is None else tool.network
        details = {
            "permissions": asdict(replace(skill.permissions, network=network)),
            "limits": asdict(call.ready.spec.limits),
            "overrides": asdict(request.overrides),
            "profile": call.ready.profile.name,
            "elevated": tool.elevated,
        }
        return details, tool.approval_timeout_ms

    async def reprepare(self, approval: ApprovalRecord) -> Prepared:
        skill = self.catalog.get(approval.skill)
        if skill.content_hash != approval.binding.content_hash:
            raise WrongState("the skill changed after approval was requested")
        return prepare(
            skill=skill,
            tool_name=approval.binding.tool,
            input_value=strict_json(approval.input_json),
            profiles=self.profiles,
            overrides=LimitOverrides(**approval.details.get("overrides", {})),
        )

    def track(self, record: InvocationRecord, finished: Awaitable[object]) -> None:
        return None


def _skill(call: Invocation) -> SkillSpec:
    assert isinstance(call.resolved, SkillSpec), "the call was not resolved to a skill"
    return call.resolved
