"""The life of one tool invocation, as a flat list of steps.

``prepare`` does everything that can fail on bad input before a sandbox exists (resolve the tool,
validate the input against its schema, build the sandbox spec from profile + manifest + request);
``execute`` starts the sandbox, runs it once and parses the tool's JSON output.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from runtime.catalog import SKILL_MOUNT, SkillSpec, ToolSpec, validate_input
from runtime.errors import InvalidArgument
from runtime.profiles import Bind, LimitOverrides, ProfileStore, SandboxProfile
from runtime.sandbox.launcher import Launcher, OutputCallback
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.result import SandboxResult, Status


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
    skill: SkillSpec, tool: ToolSpec, profile: SandboxProfile, overrides: LimitOverrides
) -> SandboxSpec:
    """The sandbox for one tool: profile limits tightened by skill, tool and caller, in order."""
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
    return SandboxSpec(argv=tool.entrypoint, profile=profile, limits=limits, binds=binds)


def strict_json(text: str | bytes) -> Any:
    """Parse JSON as the standard defines it: no NaN or Infinity, no runaway nesting.

    Raises ValueError for anything else, so callers have one exception to translate.
    """
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:20]} is too large to represent")
    return value


def parse_input(text: str) -> Any:
    try:
        return strict_json(text)
    except ValueError as exc:
        raise InvalidArgument(f"input: not valid JSON: {exc}") from exc


def prepare(
    *,
    skill: SkillSpec,
    tool_name: str,
    input_value: Any,
    profiles: ProfileStore,
    overrides: LimitOverrides,
) -> Prepared:
    tool = skill.tool(tool_name)
    validate_input(tool, input_value)
    profile = profiles.get(skill.profile)
    spec = build_spec(skill, tool, profile, overrides)
    stdin = json.dumps(input_value).encode()
    return Prepared(skill=skill, tool=tool, profile=profile, spec=spec, stdin=stdin)


async def execute(
    prepared: Prepared,
    launcher: Launcher,
    *,
    on_started: Callable[[], Awaitable[None]] | None = None,
    on_output: OutputCallback | None = None,
) -> ToolRun:
    sandbox = await launcher.start(prepared.spec)
    try:
        if on_started is not None:
            await on_started()
    except BaseException:
        await sandbox.close()
        raise
    result = await sandbox.run(prepared.stdin, on_output=on_output)
    result, output = _parse_output(result)
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
) -> ToolRun:
    prepared = prepare(
        skill=skill,
        tool_name=tool_name,
        input_value=input_value,
        profiles=profiles,
        overrides=overrides or LimitOverrides(),
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
