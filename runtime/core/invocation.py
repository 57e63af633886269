"""The values that travel through the invocation pipeline, the strategy that tells one kind of
call from another, and the events a caller hears.

Two kinds of call share one pipeline (``runtime.core.invoke``): a skill's tool
(``runtime.core.tools``) and a command in an agent session (``runtime.core.commands``). What
differs between them — how the request is read, what it resolves to, which rules decide it, how
an approved call is rebuilt — is a ``Strategy``; everything else (rate limits, approval, admission,
the run, records, audit) is the same code for both.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from runtime.approvals.rules import Rule
from runtime.approvals.store import ApprovalRecord, Binding
from runtime.auth.roles import Principal
from runtime.core.policy import Decision, Verdict
from runtime.core.records import InvocationRecord
from runtime.core.spec import Prepared
from runtime.sandbox.profiles import LimitOverrides
from runtime.util.canonical import canonical_hash, legacy_hash

__all__ = [
    "Accepted",
    "CallRequest",
    "CommandRequest",
    "Event",
    "EventSink",
    "Finished",
    "Invocation",
    "InvocationRequest",
    "OutputChunk",
    "PendingApproval",
    "Started",
    "Strategy",
    "discard",
]


@dataclass(frozen=True, kw_only=True)
class InvocationRequest:
    """A call of a skill's tool, as the API layer hands it to the pipeline."""

    principal: Principal
    skill: str
    tool: str
    input_json: str
    overrides: LimitOverrides
    idempotency_key: str | None = None
    wait_for_approval: bool = False
    approval_id: str | None = None


async def _no_stdin() -> AsyncIterable[bytes]:
    return
    yield b""  # pragma: no cover - makes this an (empty) async generator


@dataclass(frozen=True, kw_only=True)
class CommandRequest:
    """A command to run in an agent session, as the API layer hands it to the pipeline."""

    principal: Principal
    session_id: str
    argv: tuple[str, ...]
    cwd: str = ""
    env: tuple[tuple[str, str], ...] = ()
    overrides: LimitOverrides = field(default_factory=LimitOverrides)
    stdin: AsyncIterable[bytes] = field(default_factory=_no_stdin, repr=False)
    wait_for_approval: bool = False
    approval_id: str | None = None
    idempotency_key: str | None = None  # commands are not replayed: always None


CallRequest = InvocationRequest | CommandRequest


@dataclass(frozen=True, kw_only=True)
class Invocation:
    """One call as the pipeline knows it; each step returns a copy with a little more known."""

    request: CallRequest
    input_value: Any  # what identifies the call's input: hashed for approvals and the audit log
    request_hash: str  # what an idempotency key stands for
    legacy_request_hash: str = ""  # the same, as skillrt hashed it before RFC 8785
    prepared: Prepared | None = None  # profile, sandbox spec and stdin, once resolved
    resolved: Any = None  # what the strategy resolved the call to (a skill and tool, a session)
    decision: Decision | None = None

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
        label = self.ready.label
        return Binding(
            skill=label.skill,
            content_hash=label.content_hash,
            tool=label.tool,
            input_hash=canonical_hash(self.input_value),
            requested_by=self.request.principal.name,
        )

    def bindings(self) -> tuple[Binding, ...]:
        """The binding, and the same as an approval requested before RFC 8785 stored it."""
        binding = self.binding()
        return binding, replace(binding, input_hash=legacy_hash(self.input_value))

    def audit_fields(self) -> dict[str, Any]:
        """What an audit entry says about the call: never the input itself, only its hash."""
        prepared = self.ready
        return {
            "skill": prepared.label.skill,
            "version": prepared.label.version,
            "content_hash": prepared.label.content_hash,
            "tool": prepared.label.tool,
            "input_hash": canonical_hash(self.input_value),
            "profile": prepared.profile.name,
            "limits": asdict(prepared.spec.limits),
        }


class Strategy(Protocol):
    """What one kind of call does at the steps where kinds differ."""

    def parse(self, request: Any) -> Invocation:
        """Read the request (strict JSON input, what an idempotency key stands for)."""
        ...

    async def resolve(self, call: Invocation) -> Invocation:
        """Everything that can fail on bad input, before a sandbox exists: sets ``prepared``."""
        ...

    def decide(self, call: Invocation, rules: list[Rule]) -> Decision:
        """Run, deny, or wait for a person: the standing rules and the kind's own policy."""
        ...

    def approval_details(self, call: Invocation) -> tuple[dict[str, Any], int | None]:
        """What an approver is shown besides the input, and this call's approval timeout."""
        ...

    async def reprepare(self, approval: ApprovalRecord) -> Prepared:
        """The approved call rebuilt from what was stored; refused if what it named changed."""
        ...

    def track(self, record: InvocationRecord, finished: Awaitable[object]) -> None:
        """Bookkeeping while the call runs (a session counts its running commands)."""
        ...


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
