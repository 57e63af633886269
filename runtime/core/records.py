"""Invocation records: what the daemon remembers about each invocation (pure data + codec)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from runtime.auth.roles import Principal, Role
from runtime.sandbox.egress.attempt import EgressAttempt, egress_dict
from runtime.sandbox.result import SandboxResult, Status, Usage, failed_result

__all__ = [
    "InvocationQuery",
    "InvocationRecord",
    "State",
    "as_seen_by",
    "reads_output",
    "result_from_json",
    "result_to_json",
    "status_only",
]


class State(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    AWAITING_APPROVAL = "awaiting_approval"


@dataclass(frozen=True, kw_only=True)
class InvocationRecord:
    id: str
    skill: str
    tool: str
    version: str
    profile: str
    principal: str  # who asked; agents see only their own invocations
    state: State
    created_ms: int
    finished_ms: int | None = None
    result: SandboxResult | None = None
    output_json: str | None = None  # the tool's output, as JSON text
    approval_id: str | None = None


def result_to_json(result: SandboxResult) -> str:
    return json.dumps(
        {
            "status": result.status.value,
            "exit_code": result.exit_code,
            "signal": result.signal,
            "stdout": base64.b64encode(result.stdout).decode(),
            "stderr": base64.b64encode(result.stderr).decode(),
            "stdout_truncated": result.stdout_truncated,
            "stderr_truncated": result.stderr_truncated,
            "usage": [result.usage.wall_ms, result.usage.cpu_ms, result.usage.peak_memory_bytes],
            "violations": list(result.violations),
            "error": result.error,
            "egress": [egress_dict(attempt) for attempt in result.egress],
        }
    )


def result_from_json(text: str) -> SandboxResult:
    data: dict[str, Any] = json.loads(text)
    wall_ms, cpu_ms, peak = data["usage"]
    return SandboxResult(
        status=Status(data["status"]),
        exit_code=data["exit_code"],
        signal=data["signal"],
        stdout=base64.b64decode(data["stdout"]),
        stderr=base64.b64decode(data["stderr"]),
        stdout_truncated=data["stdout_truncated"],
        stderr_truncated=data["stderr_truncated"],
        usage=Usage(wall_ms=wall_ms, cpu_ms=cpu_ms, peak_memory_bytes=peak),
        violations=tuple(data["violations"]),
        error=data["error"],
        # Records written before egress existed have none.
        egress=tuple(EgressAttempt(**entry) for entry in data.get("egress", ())),
    )


def status_only(record: InvocationRecord) -> InvocationRecord:
    """What a viewer sees of someone else's invocation: how it went, not what it said.

    Violations and egress quote what the tool chose (host names, paths), so they go too.
    """
    if record.result is None:
        return record
    result = replace(record.result, stdout=b"", stderr=b"", violations=(), egress=())
    return replace(record, result=result, output_json=None)


def as_seen_by(record: InvocationRecord, principal: Principal) -> InvocationRecord | None:
    """What ``principal`` may see of ``record``; None for another's it may not see at all.

    A result held for approval is not shown: it exists, but nobody gets it before a person
    releases it. A viewer sees how others' invocations went, not what they said.
    """
    if not principal.sees_everything() and record.principal != principal.name:
        return None
    if record.state is State.AWAITING_APPROVAL:
        pending = failed_result(Status.PENDING_APPROVAL, "waiting for a person's approval")
        return replace(record, result=pending, output_json=None)
    if not reads_output(record, principal):
        return status_only(record)
    return record


def reads_output(record: InvocationRecord, principal: Principal) -> bool:
    """Whether ``principal``, who may see ``record``, may also read what it printed: a viewer
    reads how others' invocations went, not what they said."""
    return principal.role is not Role.VIEWER or record.principal == principal.name


@dataclass(frozen=True, kw_only=True)
class InvocationQuery:
    """Which invocations to list, newest first: every field narrows; ``before`` is where the
    previous page ended (created_ms, id)."""

    states: tuple[State, ...] = ()
    statuses: tuple[Status, ...] = ()  # of finished invocations: ok, timeout, denied...
    skill: str | None = None
    tool: str | None = None
    principal: str | None = None
    since_ms: int | None = None
    limit: int = 50
    before: tuple[int, str] | None = None
