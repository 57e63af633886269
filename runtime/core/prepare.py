"""The life of one tool invocation, as a flat list of steps.

``prepare`` does everything that can fail on bad input before a sandbox exists (resolve the tool,
validate the input against its schema, build the sandbox spec from profile + manifest + request,
including the secrets the skill declared); ``execute`` starts the sandbox, runs it once, parses
the tool's JSON output and masks the invocation's secret values in everything it returns.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from runtime.core.catalog import SKILL_MOUNT, SkillSpec, ToolSpec, validate_input
from runtime.core.redact import Redactor, StreamRedactor
from runtime.errors import BadRequest, ConfigError, NoSuchEntity
from runtime.sandbox.egress.attempt import EgressAttempt
from runtime.sandbox.egress.policy import EgressRule, parse_rules
from runtime.sandbox.egress.proxy import AttemptCallback
from runtime.sandbox.launcher import Launcher, OutputCallback
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.profiles import Bind, LimitOverrides, ProfileStore, SandboxProfile
from runtime.sandbox.result import SandboxResult, Status
from runtime.util.canonical import strict_json


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """A validated invocation, ready to start."""

    skill: SkillSpec
    tool: ToolSpec
    profile: SandboxProfile
    spec: SandboxSpec
    stdin: bytes


@dataclass(frozen=True, kw_only=True)
class ToolRun:
    """A finished invocation: the sandbox result plus the tool's parsed JSON output."""

    skill: str
    tool: str
    version: str
    profile: str
    result: SandboxResult
    output: Any


def build_spec(
    skill: SkillSpec,
    tool: ToolSpec,
    profile: SandboxProfile,
    overrides: LimitOverrides,
    secrets: Mapping[str, bytes] | None = None,
) -> SandboxSpec:
    """The sandbox for one tool: profile limits tightened by skill, tool and caller, in order.

    ``secrets`` are resolved values by name; only those the skill declares reach the sandbox.
    """
    manifest = f"{skill.directory / 'skill.toml'}"
    limits = (
        profile.limits.tighten(skill.limits, source=f"{manifest}: limits")
        .tighten(tool.limits, source=f"{manifest}: tools.{tool.name}.limits")
        .tighten(overrides, source="requested limits")
    )
    binds = (
        Bind(source=str(skill.directory), target=SKILL_MOUNT),
        *(Bind(source=p, target=p) for p in skill.permissions.readonly_paths),
    )
    return SandboxSpec(
        argv=tool.entrypoint,
        profile=profile,
        limits=limits,
        binds=binds,
        # Unresolved (None): the spec is for validation; with_secrets adds them before a run.
        secret_env=_secret_env(skill, profile, secrets) if secrets is not None else (),
        egress=_egress_rules(skill, tool, profile),
        elevated=tool.elevated,
    )


def _egress_rules(
    skill: SkillSpec, tool: ToolSpec, profile: SandboxProfile
) -> tuple[EgressRule, ...]:
    """The tool's allowlist (its own, else the skill's), if the profile's network mode fits."""
    manifest = f"{skill.directory / 'skill.toml'}"
    mode = profile.network.mode
    if mode == "host" and not tool.elevated:
        raise ConfigError(
            f"{manifest}: profile: {profile.name!r} has network mode host, which only elevated "
            f"tools may use (tool {tool.name!r} is not elevated)"
        )
    own = tool.network is not None
    entries = tool.network if tool.network is not None else skill.permissions.network
    if entries and mode != "allowlist":
        key = f"tools.{tool.name}.network" if own else "permissions.network"
        raise ConfigError(
            f"{manifest}: {key}: network entries need a profile with network mode allowlist "
            f"(profile {profile.name!r} has {mode!r})"
        )
    return parse_rules(entries)


def _secret_env(
    skill: SkillSpec, profile: SandboxProfile, values: Mapping[str, bytes]
) -> tuple[tuple[str, str], ...]:
    taken = {key for key, _ in profile.env}
    env = []
    for name in skill.permissions.secrets:
        if name in taken:
            raise ConfigError(
                f"{skill.directory / 'skill.toml'}: permissions.secrets: {name} is already an "
                f"environment variable of profile {profile.name!r}"
            )
        if name not in values:
            raise NoSuchEntity(f"skill {skill.name!r} declares secret {name}, which was not given")
        try:
            text = values[name].decode("utf-8")
        except UnicodeDecodeError:
            # Not chained: the decode error holds the value.
            raise BadRequest(f"secret {name}: not UTF-8 text") from None
        if "\0" in text:
            raise BadRequest(f"secret {name}: contains a NUL byte")
        env.append((name, text))
    return tuple(env)


def parse_input(text: str) -> Any:
    try:
        return strict_json(text)
    except ValueError as exc:
        raise BadRequest(f"input: not valid JSON: {exc}") from exc


def prepare(
    *,
    skill: SkillSpec,
    tool_name: str,
    input_value: Any,
    profiles: ProfileStore,
    overrides: LimitOverrides,
    secrets: Mapping[str, bytes] | None = None,
) -> Prepared:
    tool = skill.tool(tool_name)
    validate_input(tool, input_value)
    profile = profiles.get(skill.profile)
    spec = build_spec(skill, tool, profile, overrides, secrets)
    stdin = json.dumps(input_value).encode()
    return Prepared(skill=skill, tool=tool, profile=profile, spec=spec, stdin=stdin)


def with_secrets(prepared: Prepared, secrets: Mapping[str, bytes]) -> Prepared:
    """The same invocation with the skill's declared secrets resolved into its sandbox."""
    env = _secret_env(prepared.skill, prepared.profile, secrets)
    return replace(prepared, spec=replace(prepared.spec, secret_env=env))


async def execute(
    prepared: Prepared,
    launcher: Launcher,
    *,
    on_started: Callable[[], Awaitable[None]] | None = None,
    on_output: OutputCallback | None = None,
    on_egress: AttemptCallback | None = None,
    on_cancelled: Callable[[int], None] | None = None,
) -> ToolRun:
    """Run a prepared invocation; ``on_egress`` hears of each egress attempt as it ends (the
    result lists them all as well)."""
    redactor = Redactor(dict(prepared.spec.secret_env))
    streamed = _RedactedOutput(on_output, redactor) if on_output and redactor else None
    if on_egress is not None and redactor:
        # The hook feeds logs and the audit log: they get masked records too.
        hook = on_egress

        def on_egress(attempt: EgressAttempt) -> None:
            hook(_masked_attempt(attempt, redactor))

    sandbox = await launcher.start(prepared.spec, on_egress=on_egress)
    try:
        if on_started is not None:
            await on_started()
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
    result, output = _parse_output(result)
    if redactor:
        result, output = _redact(result, output, redactor)
    return ToolRun(
        skill=prepared.skill.name,
        tool=prepared.tool.name,
        version=prepared.skill.version,
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
