"""What one run is, before a sandbox exists: ``Prepared``, and building it for a tool (pure).

``prepare`` does everything that can fail on bad input before a sandbox exists: resolve the tool,
validate the input against its schema, and build the sandbox spec from profile + manifest +
request, in that order of tightening; ``with_secrets`` adds the declared secrets at the last
moment, after any approval. A session command is prepared elsewhere (``runtime.core.commands``)
into the same ``Prepared``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from runtime.core.manifest import SKILL_MOUNT, SkillSpec, ToolSpec, validate_input
from runtime.core.snapshots import Snapshot
from runtime.errors import BadRequest, ConfigError, NoSuchEntity
from runtime.sandbox.egress.policy import EgressRule, parse_rules
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.profiles import Bind, LimitOverrides, ProfileStore, SandboxProfile

__all__ = ["Label", "Prepared", "SecretGrant", "build_spec", "prepare", "with_secrets"]


@dataclass(frozen=True, kw_only=True)
class Label:
    """What records, audit entries and results call a run."""

    skill: str
    tool: str
    version: str
    content_hash: str


@dataclass(frozen=True, kw_only=True)
class SecretGrant:
    """The secrets a run may receive, and who asked for them (for messages)."""

    names: tuple[str, ...] = ()
    owner: str = ""  # "skill 'x'": who declares them
    source: str = ""  # the file and key that declare them


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """A validated invocation, ready to start."""

    label: Label
    profile: SandboxProfile
    spec: SandboxSpec
    stdin: bytes | AsyncIterable[bytes]
    secrets: SecretGrant = SecretGrant()  # resolved at the last moment, after any approval
    json_output: bool = True  # a tool prints one JSON value; a command prints what it likes
    # The skill snapshots the sandbox binds: held while the invocation is, so that none is
    # collected under a queued or running call.
    snapshots: tuple[Snapshot, ...] = ()
    # It may run in a sandbox started ahead of it (the warm pool): only a call no person has to
    # approve before it runs, so that such a tool's code never starts before its approval.
    warm: bool = False
    # A call of a skill's tool: its trips of the sandbox count toward the skill's quarantine
    # (runtime/core/quarantine.py). A session command is no skill's call.
    quarantinable: bool = False


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
        Bind(source=str(skill.snapshot.path), target=SKILL_MOUNT),
        *(Bind(source=p, target=p) for p in skill.permissions.readonly_paths),
    )
    return SandboxSpec(
        argv=tool.entrypoint,
        profile=profile,
        limits=limits,
        binds=binds,
        # Unresolved (None): the spec is for validation; with_secrets adds them before a run.
        secret_env=_secret_env(_grant(skill), profile, secrets) if secrets is not None else (),
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


def _grant(skill: SkillSpec) -> SecretGrant:
    return SecretGrant(
        names=skill.permissions.secrets,
        owner=f"skill {skill.name!r}",
        source=f"{skill.directory / 'skill.toml'}: permissions.secrets",
    )


def _secret_env(
    grant: SecretGrant, profile: SandboxProfile, values: Mapping[str, bytes]
) -> tuple[tuple[str, str], ...]:
    taken = {key for key, _ in profile.env}
    env = []
    for name in grant.names:
        if name in taken:
            raise ConfigError(
                f"{grant.source}: {name} is already an environment variable of profile "
                f"{profile.name!r}"
            )
        if name not in values:
            raise NoSuchEntity(f"{grant.owner} declares secret {name}, which was not given")
        try:
            text = values[name].decode("utf-8")
        except UnicodeDecodeError:
            # Not chained: the decode error holds the value.
            raise BadRequest(f"secret {name}: not UTF-8 text") from None
        if "\0" in text:
            raise BadRequest(f"secret {name}: contains a NUL byte")
        env.append((name, text))
    return tuple(env)


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
    return Prepared(
        label=Label(
            skill=skill.name,
            tool=tool.name,
            version=skill.version,
            content_hash=skill.content_hash,
        ),
        profile=profile,
        spec=spec,
        stdin=json.dumps(input_value).encode(),
        secrets=_grant(skill),
        snapshots=(skill.snapshot,),
        quarantinable=True,
    )


def with_secrets(prepared: Prepared, secrets: Mapping[str, bytes]) -> Prepared:
    """The same invocation with its granted secrets resolved into its sandbox."""
    env = _secret_env(prepared.secrets, prepared.profile, secrets)
    return replace(prepared, spec=replace(prepared.spec, secret_env=env))
