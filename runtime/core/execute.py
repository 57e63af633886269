"""Running a prepared invocation once: launch, collect, parse the tool's JSON, mask secrets."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from runtime.core.manifest import SkillSpec
from runtime.core.redact import Redactor, StreamRedactor
from runtime.core.spec import Prepared, prepare
from runtime.sandbox.egress.attempt import EgressAttempt
from runtime.sandbox.egress.proxy import AttemptCallback
from runtime.sandbox.launcher import Launcher, OutputCallback, Starter
from runtime.sandbox.profiles import LimitOverrides, ProfileStore
from runtime.sandbox.result import SandboxResult, Status
from runtime.sandbox.started import Sandbox
from runtime.util.canonical import strict_json

__all__ = ["ToolRun", "execute", "run_tool"]


@dataclass(frozen=True, kw_only=True)
class ToolRun:
    """A finished invocation: the sandbox result plus the tool's parsed JSON output."""

    skill: str
    tool: str
    version: str
    profile: str
    result: SandboxResult
    output: Any


async def execute(
    prepared: Prepared,
    starter: Starter,
    *,
    on_started: Callable[[Sandbox], Awaitable[None]] | None = None,
    on_output: OutputCallback | None = None,
    on_egress: AttemptCallback | None = None,
    on_cancelled: Callable[[int], None] | None = None,
) -> ToolRun:
    """Run a prepared invocation; ``on_started`` hears of its sandbox once started (to read its
    use from while it runs), ``on_output`` of its masked output as it comes, ``on_egress`` of
    each egress attempt as it ends (the result lists them all as well)."""
    redactor = Redactor(dict(prepared.spec.secret_env))
    streamed = _RedactedOutput(on_output, redactor) if on_output and redactor else None
    if on_egress is not None and redactor:
        # The hook feeds logs and the audit log: they get masked records too.
        hook = on_egress

        def on_egress(attempt: EgressAttempt) -> None:
            hook(_masked_attempt(attempt, redactor))

    sandbox = await starter.start(prepared.spec, on_egress=on_egress)
    try:
        if on_started is not None:
            await on_started(sandbox)
    except BaseException:
        await sandbox.close()
        raise
    try:
        result = await sandbox.run(prepared.stdin, on_output=streamed or on_output)
    except asyncio.CancelledError:
        # A cancelled run still cost CPU: say how much, so budgets cannot be dodged by cancelling.
        if on_cancelled is not None:
            on_cancelled(sandbox.cpu_ms)
        raise
    if streamed is not None:
        await streamed.flush()
    result, output = _parse_output(result) if prepared.json_output else (result, None)
    if redactor:
        result, output = _redact(result, output, redactor)
    return ToolRun(
        skill=prepared.label.skill,
        tool=prepared.label.tool,
        version=prepared.label.version,
        profile=prepared.profile.name,
        result=result,
        output=output,
    )


async def run_tool(
    *,
    skill: SkillSpec,
    tool_name: str,
    input_value: Any,
    profiles: ProfileStore,
    launcher: Launcher,
    overrides: LimitOverrides | None = None,
    secrets: Mapping[str, bytes] | None = None,
) -> ToolRun:
    prepared = prepare(
        skill=skill,
        tool_name=tool_name,
        input_value=input_value,
        profiles=profiles,
        overrides=overrides or LimitOverrides(),
        secrets=secrets or {},
    )
    return await execute(prepared, launcher)


def _parse_output(result: SandboxResult) -> tuple[SandboxResult, Any]:
    """A tool that exits 0 must print one JSON value on stdout; anything else is invalid output."""
    if result.status is not Status.OK:
        return result, None
    try:
        return result, strict_json(result.stdout)
    except ValueError:
        violations = (*result.violations, "stdout is not a JSON value")
        return replace(result, status=Status.INVALID_OUTPUT, violations=violations), None


def _masked_attempt(
    attempt: EgressAttempt, redactor: Redactor, counts: Counter[str] | None = None
) -> EgressAttempt:
    return replace(
        attempt,
        host=redactor.mask_text(attempt.host, counts),
        reason=redactor.mask_text(attempt.reason, counts),
        error=redactor.mask_text(attempt.error, counts) if attempt.error else attempt.error,
    )


def _redact(result: SandboxResult, output: Any, redactor: Redactor) -> tuple[SandboxResult, Any]:
    """Mask the secrets everywhere in the result and note, per secret, how often."""
    counts: Counter[str] = Counter()
    stdout_counts: Counter[str] = Counter()
    stdout = redactor.mask_bytes(result.stdout, stdout_counts)
    stderr = redactor.mask_bytes(result.stderr, counts)
    error = redactor.mask_text(result.error, counts) if result.error is not None else None
    # Violations and egress records quote what the sandbox sent (a host name can carry a secret).
    violations = tuple(redactor.mask_text(v, counts) for v in result.violations)
    egress = tuple(_masked_attempt(attempt, redactor, counts) for attempt in result.egress)
    output_counts: Counter[str] = Counter()
    output = redactor.mask_value(output, output_counts)
    # The output is parsed from stdout: count its occurrences once, unless parsing revealed
    # more (a value spelled with JSON \u escapes).
    counts += stdout_counts | output_counts
    notes = tuple(
        f"redacted {n} occurrence{'s' if n != 1 else ''} of secret {name}"
        for name, n in sorted(counts.items())
    )
    masked = replace(
        result,
        stdout=stdout,
        stderr=stderr,
        error=error,
        violations=(*violations, *notes),
        egress=egress,
    )
    return masked, output


class _RedactedOutput:
    """Masks secrets in streamed output before it leaves; ``flush`` sends what was held back."""

    def __init__(self, sink: OutputCallback, redactor: Redactor) -> None:
        self._sink = sink
        self._redactor = redactor
        self._streams: dict[str, StreamRedactor] = {}

    async def __call__(self, name: str, chunk: bytes) -> None:
        stream = self._streams.setdefault(name, self._redactor.stream())
        data = stream.feed(chunk)
        if data:
            await self._sink(name, data)

    async def flush(self) -> None:
        for name, stream in self._streams.items():
            data = stream.flush()
            if data:
                await self._sink(name, data)
