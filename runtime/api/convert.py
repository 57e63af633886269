"""Protobuf messages <-> domain dataclasses, in one place for the servicer and the clients."""

from __future__ import annotations

import json
from typing import Any

from runtime.api.convert_results import LIMIT_FIELDS, limits_to_proto, result_to_proto
from runtime.approvals.rules import Rule
from runtime.approvals.store import ApprovalRecord, ApprovalState
from runtime.core.catalog import SkillEntry, SkillKind
from runtime.core.instructions import InstructionSkill
from runtime.core.live import LiveUsage
from runtime.core.manifest import SkillSpec
from runtime.core.permissions import Permissions
from runtime.core.records import InvocationRecord, State
from runtime.core.signing import TrustedKey
from runtime.core.spec import build_spec
from runtime.core.usage import UsageReport, UsageRow
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.sandbox.pool_keys import PoolStatus
from runtime.sandbox.profiles import LimitOverrides, ProfileStore

__all__ = [
    "approval_state_from_proto",
    "approval_to_proto",
    "invocation_to_proto",
    "pool_status_to_proto",
    "rule_to_proto",
    "skill_to_proto",
    "usage_report_to_proto",
]

_STATE: dict[State, Any] = {
    state: pb.InvocationState.Value(f"INVOCATION_STATE_{state.name}") for state in State
}

_KIND: dict[SkillKind, Any] = {
    kind: pb.SkillKind.Value(f"SKILL_KIND_{kind.name}") for kind in SkillKind
}


def skill_to_proto(
    entry: SkillEntry, profiles: ProfileStore, signed_by: TrustedKey | None = None
) -> pb.Skill:
    """One catalog folder; tools show their effective limits when the skill is available, and
    ``signed_by`` whose signature lets it be served."""
    skill = entry.skill
    loaded: dict[str, Any] = {}  # what only a folder that loaded can tell
    if signed_by is not None and entry.available:
        loaded["signed_by"] = pb.Signer(name=signed_by.name, key_id=signed_by.key_id)
    if isinstance(skill, SkillSpec):
        loaded |= {
            "version": skill.version,
            "profile": skill.profile,
            "content_hash": skill.content_hash,
            "tools": _tools(skill, profiles if entry.available else None),
            "permissions": _permissions(skill.permissions),
        }
    elif isinstance(skill, InstructionSkill):
        loaded |= {"content_hash": skill.content_hash, "permissions": _permissions(skill.grants)}
    return pb.Skill(
        name=entry.name,
        description=entry.description,
        kind=_KIND[entry.kind],
        available=entry.available,
        unavailable_reason=entry.unavailable_reason or "",
        requires_bins=entry.requires.bins,
        requires_any_bins=entry.requires.any_bins,
        requires_env=entry.requires.env,
        os=entry.requires.os,
        **loaded,
    )


def _tools(skill: SkillSpec, profiles: ProfileStore | None) -> list[pb.Tool]:
    """The tools, with effective limits only where a sandbox can be built (``profiles``)."""
    profile = profiles.get(skill.profile) if profiles is not None else None
    tools = []
    for tool in skill.tools:
        message = pb.Tool(
            name=tool.name,
            description=tool.description,
            input_schema_json=json.dumps(tool.input_schema),
            elevated=tool.elevated,
            approval=tool.approval,
        )
        if profile is not None:
            spec = build_spec(skill, tool, profile, LimitOverrides())
            message.effective_limits.CopyFrom(limits_to_proto(spec.limits))
        tools.append(message)
    return tools


def _permissions(permissions: Permissions) -> pb.Permissions:
    return pb.Permissions(
        network=permissions.network,
        secrets=permissions.secrets,
        readonly_paths=permissions.readonly_paths,
    )


def invocation_to_proto(record: InvocationRecord, live: LiveUsage | None = None) -> pb.Invocation:
    """``live``: what its sandbox has used so far, while it runs."""
    message = pb.Invocation(
        id=record.id,
        skill=record.skill,
        tool=record.tool,
        skill_version=record.version,
        profile=record.profile,
        state=_STATE[record.state],
        created_at_ms=record.created_ms,
        finished_at_ms=record.finished_ms or 0,
        approval_id=record.approval_id or "",
    )
    if record.result is not None:
        message.result.CopyFrom(result_to_proto(record.result, record.output_json))
    if record.state is State.FINISHED and record.result is not None:
        message.usage.CopyFrom(message.result.usage)
    elif live is not None:
        message.usage.CopyFrom(
            pb.Usage(
                wall_ms=live.wall_ms, cpu_ms=live.cpu_ms, peak_memory_bytes=live.peak_memory_bytes
            )
        )
        message.memory_bytes = live.memory_bytes
    return message


def usage_report_to_proto(report: UsageReport) -> pb.UsageReport:
    return pb.UsageReport(
        rows=[_usage_row(row) for row in report.rows], total=_usage_row(report.total)
    )


def _usage_row(row: UsageRow) -> pb.UsageRow:
    return pb.UsageRow(
        key=row.key,
        calls=row.calls,
        statuses=row.statuses,
        cpu_ms=row.cpu_ms,
        wall_ms=row.wall_ms,
        peak_memory_bytes=row.peak_memory_bytes,
    )


_APPROVAL_STATE: dict[str, Any] = {
    state.value: pb.ApprovalState.Value(f"APPROVAL_STATE_{state.name}") for state in ApprovalState
}


def approval_to_proto(approval: ApprovalRecord) -> pb.Approval:
    limits = approval.details.get("limits", {})
    permissions = approval.details.get("permissions", {})
    return pb.Approval(
        id=approval.id,
        invocation_id=approval.invocation_id,
        state=_APPROVAL_STATE[approval.state.value],
        mode=approval.mode,
        skill=approval.skill,
        skill_version=approval.version,
        skill_content_hash=approval.binding.content_hash,
        tool=approval.binding.tool,
        input_json=approval.input_json,
        input_hash=approval.binding.input_hash,
        requested_by=approval.binding.requested_by,
        created_at_ms=approval.created_ms,
        expires_at_ms=approval.expires_ms,
        permissions=pb.Permissions(
            network=permissions.get("network", ()),
            secrets=permissions.get("secrets", ()),
            readonly_paths=permissions.get("readonly_paths", ()),
        ),
        limits=limits_to_proto(
            LimitOverrides(**{k: v for k, v in limits.items() if k in LIMIT_FIELDS})
        ),
        decided_by=approval.decided_by or "",
        decided_at_ms=approval.decided_ms or 0,
        reason=approval.reason or "",
        profile=str(approval.details.get("profile", "")),
        elevated=approval.details.get("elevated"),
    )


def approval_state_from_proto(state: int) -> ApprovalState | None:
    for value, number in _APPROVAL_STATE.items():
        if number == state:
            return ApprovalState(value)
    return None


def rule_to_proto(rule: Rule) -> pb.Rule:
    return pb.Rule(
        id=rule.id,
        effect=rule.effect.value,
        skill=rule.skill,
        tool=rule.tool,
        skill_content_hash=rule.content_hash,
        input_schema_json=rule.input_schema_json,
        created_by=rule.created_by,
        created_at_ms=rule.created_ms,
        reason=rule.reason,
    )


def pool_status_to_proto(status: PoolStatus) -> pb.PoolStatus:
    return pb.PoolStatus(
        enabled=status.enabled,
        memory_budget_bytes=status.memory_budget_bytes,
        memory_bytes=status.memory_bytes,
        ready=status.ready,
        max_total=status.max_total,
        hits=status.hits,
        misses=status.misses,
        evictions=status.evictions,
        pools=[
            pb.PoolEntry(
                skill=key.label.skill,
                tool=key.label.tool,
                profile=key.label.profile,
                content_hash=key.label.content_hash,
                ready=key.ready,
                starting=key.starting,
                target=key.target,
                hits=key.hits,
                misses=key.misses,
                evictions=key.evictions,
                memory_bytes=key.memory_bytes,
            )
            for key in status.keys
        ],
    )
