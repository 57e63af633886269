"""The values that travel through the invocation pipeline, and the events a caller hears."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from runtime.approvals.store import Binding
from runtime.auth.roles import Principal
from runtime.core.policy import Decision, Verdict
from runtime.core.records import InvocationRecord
from runtime.core.spec import Prepared
from runtime.errors import BadRequest
from runtime.sandbox.profiles import LimitOverrides
from runtime.util.canonical import canonical_hash, strict_json

__all__ = [
    "Accepted",
    "Event",
    "EventSink",
    "Finished",
    "Invocation",
    "InvocationRequest",
    "OutputChunk",
    "PendingApproval",
    "Started",
    "discard",
    "parse_input",
]


@dataclass(frozen=True, kw_only=True)
class InvocationRequest:
    """What a caller asked for, as the API layer hands it to the pipeline."""

    principal: Principal
    skill: str
    tool: str
    input_json: str
    overrides: LimitOverrides
    idempotency_key: str | None = None
    wait_for_approval: bool = False
    approval_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Invocation:
    """One call as the pipeline knows it; each step returns a copy with a little more known."""

    request: InvocationRequest
    input_value: Any
    request_hash: str  # what an idempotency key stands for
    prepared: Prepared | None = None  # skill, tool, profile and sandbox spec, once resolved
    decision: Decision | None = None

    @classmethod
    def parse(cls, request: InvocationRequest) -> Invocation:
        input_value = parse_input(request.input_json or "{}")
        return cls(
            request=request,
            input_value=input_value,
            request_hash=canonical_hash(
                {
                    "principal": request.principal.name,
                    "skill": request.skill,
                    "tool": request.tool,
                    "input": input_value,
                    "limits": asdict(request.overrides),
                }
            ),
        )

    @property
    def ready(self) -> Prepared:
        assert self.prepared is not None, "the invocation was not resolved"
        return self.prepared

    @property
    def verdict(self) -> Verdict:
        assert self.decision is not None, "the invocation was not decided"
        return self.decision.verdict

    def with_(self, **changes: Any) -> Invocation:
        return replace(self, **changes)

    def binding(self) -> Binding:
        """What an approval of this call is bound to: anything else is a different call."""
        return Binding(
            skill=self.ready.skill.name,
            content_hash=self.ready.skill.content_hash,
            tool=self.ready.tool.name,
            input_hash=canonical_hash(self.input_value),
            requested_by=self.request.principal.name,
        )

    def audit_fields(self) -> dict[str, Any]:
        """What an audit entry says about the call: never the input itself, only its hash."""
        prepared = self.ready
        return {
            "skill": prepared.skill.name,
            "version": prepared.skill.version,
            "content_hash": prepared.skill.content_hash,
            "tool": prepared.tool.name,
            "input_hash": canonical_hash(self.input_value),
            "profile": prepared.profile.name,
            "limits": asdict(prepared.spec.limits),
        }


def parse_input(text: str) -> Any:
    try:
        return strict_json(text)
    except ValueError as exc:
        raise BadRequest(f"input: not valid JSON: {exc}") from exc


@dataclass(frozen=True)
class Accepted:
    invocation_id: str


@dataclass(frozen=True)
class PendingApproval:
    invocation_id: str
    approval_id: str
    expires_ms: int


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


Event = Accepted | PendingApproval | Started | OutputChunk | Finished
EventSink = Callable[[Event], Awaitable[None]]


async def discard(event: Event) -> None:
    return None
