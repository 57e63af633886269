"""Protobuf messages <-> domain dataclasses, in one place for the servicer and the clients."""

from __future__ import annotations

import json
import math
from typing import Any

from runtime.approvals.rules import Rule
from runtime.approvals.store import ApprovalRecord, ApprovalState
from runtime.core.catalog import SkillEntry, SkillKind
from runtime.core.instructions import InstructionSkill
from runtime.core.live import LiveUsage
from runtime.core.manifest import SkillSpec
from runtime.core.permissions import Permissions
from runtime.core.records import InvocationRecord, State
from runtime.core.spec import build_spec
from runtime.core.usage import UsageReport, UsageRow
from runtime.errors import BadRequest
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.sandbox.egress.attempt import EgressAttempt
from runtime.sandbox.pool_keys import PoolStatus
from runtime.sandbox.profiles import LimitOverrides, Limits, ProfileStore
from runtime.sandbox.result import SandboxResult, Status, Usage, result_dict

__all__ = [
    "approval_state_from_proto",
    "approval_to_proto",
    "invocation_to_proto",
    "limits_to_proto",
    "overrides_from_proto",
    "pool_status_to_proto",
    "result_from_proto",
    "result_proto_dict",
    "result_to_proto",
    "rule_to_proto",
    "skill_to_proto",
    "usage_report_to_proto",
]

_STATUS: dict[Status, Any] = {status: pb.Status.Value(f"STATUS_{status.name}") for status in Status}
_STATUS_BACK = {number: status for status, number in _STATUS.items()}
_STATE: dict[State, Any] = {
    state: pb.InvocationState.Value(f"INVOCATION_STATE_{state.name}") for state in State
}

# Proto field -> LimitOverrides field.
_LIMIT_FIELDS = {
    "memory_bytes": "memory_bytes",
    "pids": "pids",
    "cpu_time_ms": "cpu_time_ms",
    "wall_time_ms": "wall_time_ms",
    "output_bytes": "output_bytes",
    "open_files": "open_files",
    "file_size_bytes": "file_size_bytes",
    "cpus": "cpus",
}


_FIELDS = set(_LIMIT_FIELDS.values())


def overrides_from_proto(limits: pb.Limits) -> LimitOverrides:
    values: dict[str, Any] = {}
    for proto_field, field in _LIMIT_FIELDS.items():
        if limits.HasField(proto_field):
            value = getattr(limits, proto_field)
            # "not > 0" also refuses NaN, which compares false with everything.
            if not value > 0 or not math.isfinite(value):
                raise BadRequest(f"limits.{proto_field}: must be a number greater than zero")
            values[field] = value
    return LimitOverrides(**values)


def limits_to_proto(limits: Limits | LimitOverrides) -> pb.Limits:
    message = pb.Limits()
    for proto_field, field in _LIMIT_FIELDS.items():
        value = getattr(limits, field)
        if value is not None:
            setattr(message, proto_field, value)
    return message


_KIND: dict[SkillKind, Any] = {
    kind: pb.SkillKind.Value(f"SKILL_KIND_{kind.name}") for kind in SkillKind
}


def skill_to_proto(entry: SkillEntry, profiles: ProfileStore) -> pb.Skill:
    """One catalog folder; tools show their effective limits when the skill is available."""
    skill = entry.skill
    loaded: dict[str, Any] = {}  # what only a folder that loaded can tell
    if isinstance(skill, SkillSpec):
        loaded = {
            "version": skill.version,
            "profile": skill.profile,
            "content_hash": skill.content_hash,
            "tools": _tools(skill, profiles if entry.available else None),
            "permissions": _permissions(skill.permissions),
        }
    elif isinstance(skill, InstructionSkill):
        loaded = {"content_hash": skill.content_hash, "permissions": _permissions(skill.grants)}
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


def result_to_proto(result: SandboxResult, output_json: str | None) -> pb.Result:
    message = pb.Result(
        status=_STATUS[result.status],
        stdout=result.stdout,
        stderr=result.stderr,
        stdout_truncated=result.stdout_truncated,
        stderr_truncated=result.stderr_truncated,
        output_json=output_json or "",
        usage=pb.Usage(
            wall_ms=result.usage.wall_ms,
            cpu_ms=result.usage.cpu_ms,
            peak_memory_bytes=result.usage.peak_memory_bytes,
        ),
        violations=result.violations,
        error=result.error or "",
        egress=[
            pb.EgressAttempt(
                method=a.method,
                host=a.host,
                port=a.port,
                allowed=a.allowed,
                reason=a.reason,
                address=a.address or "",
                bytes_up=a.bytes_up,
                bytes_down=a.bytes_down,
                error=a.error or "",
            )
            for a in result.egress
        ],
    )
    if result.exit_code is not None:
        message.exit_code = result.exit_code
    if result.signal is not None:
        message.signal = result.signal
    return message


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
        limits=limits_to_proto(LimitOverrides(**{k: v for k, v in limits.items() if k in _FIELDS})),
        decided_by=approval.decided_by or "",
        decided_at_ms=approval.decided_ms or 0,
        reason=approval.reason or "",
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


def result_from_proto(result: pb.Result) -> SandboxResult:
    return SandboxResult(
        status=_STATUS_BACK.get(result.status, Status.SANDBOX_ERROR),
        exit_code=result.exit_code if result.HasField("exit_code") else None,
        signal=result.signal if result.HasField("signal") else None,
        stdout=result.stdout,
        stderr=result.stderr,
        stdout_truncated=result.stdout_truncated,
        stderr_truncated=result.stderr_truncated,
        usage=Usage(
            wall_ms=result.usage.wall_ms,
            cpu_ms=result.usage.cpu_ms,
            peak_memory_bytes=result.usage.peak_memory_bytes,
        ),
        violations=tuple(result.violations),
        error=result.error or None,
        egress=tuple(
            EgressAttempt(
                method=a.method,
                host=a.host,
                port=a.port,
                allowed=a.allowed,
                reason=a.reason,
                address=a.address or None,
                bytes_up=a.bytes_up,
                bytes_down=a.bytes_down,
                error=a.error or None,
            )
            for a in result.egress
        ),
    )


def result_proto_dict(result: pb.Result) -> dict[str, object]:
    """A Result message as the same JSON object ``skillrt run --json`` prints."""
    output = json.loads(result.output_json) if result.output_json else None
    return {**result_dict(result_from_proto(result)), "output": output}


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
