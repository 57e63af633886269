"""Tool skills: a skill folder with ``skill.toml`` -> frozen ``SkillSpec``.

A tool skill's folder holds ``SKILL.md`` (runtime/core/skillmd.py), so the same folder works in
OpenClaw, and ``skill.toml``, the runtime manifest: version, profile, tools (entrypoint argv,
input JSON Schema, elevation, approval mode), permissions and limits. The folder is snapshotted
at load (runtime/core/snapshots.py) and parsed from the snapshot, which is mounted read-only at
``/skill`` inside the sandbox.

``permissions.network`` is the skill's egress allowlist (``host:port`` or ``*.domain:port``, see
runtime/sandbox/egress/policy.py). A tool's own ``network`` list replaces it for that tool and
may only narrow it: each entry must be covered by one of the skill's. Entries need a profile in
network mode allowlist, which is checked when the sandbox is built (runtime/core/spec.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from runtime.core.permissions import Permissions, network_rules, parse_permissions
from runtime.core.skillmd import Requirements, read_skill_md
from runtime.core.snapshots import SkillSnapshots, Snapshot, local_snapshots
from runtime.errors import InputValidationError, NoSuchEntity
from runtime.sandbox.egress.policy import EgressRule, parse_rule
from runtime.sandbox.profiles import LimitOverrides, parse_overrides
from runtime.util.schema import SchemaValidator, check_schema
from runtime.util.tomlfields import Table
from runtime.util.units import parse_duration_ms

__all__ = [
    "APPROVAL_MODES",
    "SKILL_MOUNT",
    "SkillSpec",
    "ToolSpec",
    "load_skill",
    "validate_input",
]

SKILL_MOUNT = "/skill"
APPROVAL_MODES = ("never", "before_run", "before_return")
_TOOL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    name: str
    description: str
    entrypoint: tuple[str, ...]
    input_schema: dict[str, Any]
    elevated: bool
    approval: str
    limits: LimitOverrides
    approval_timeout_ms: int | None = None  # None: the daemon's configured default
    # The tool's own allowlist, which replaces the skill's and may only narrow it; None: the
    # skill's permissions.network applies.
    network: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class SkillSpec:
    name: str
    description: str
    version: str
    profile: str
    directory: Path  # the author's folder, which messages name
    tools: tuple[ToolSpec, ...]
    permissions: Permissions
    limits: LimitOverrides
    snapshot: Snapshot  # what was parsed, and what sandboxes bind
    requires: Requirements = field(default_factory=Requirements)  # from SKILL.md

    @property
    def content_hash(self) -> str:
        """sha256 over every file of the folder: a changed skill is a new skill."""
        return self.snapshot.content_hash

    def tool(self, name: str) -> ToolSpec:
        for tool in self.tools:
            if tool.name == name:
                return tool
        known = ", ".join(t.name for t in self.tools)
        raise NoSuchEntity(f"skill {self.name!r} has no tool {name!r} (tools: {known})")


def load_skill(directory: Path, snapshots: SkillSnapshots | None = None) -> SkillSpec:
    """Snapshot one skill folder, then parse and validate the snapshot; errors name the
    author's file and key. Without ``snapshots``, the process's own store."""
    directory = directory.resolve()
    snapshot = (snapshots or local_snapshots()).take(directory)
    with snapshot.read_as(directory) as source:
        return _parse(directory, source, snapshot)


def _parse(directory: Path, source: Path, snapshot: Snapshot) -> SkillSpec:
    front = read_skill_md(source, name=directory.name)
    doc = Table.load(source / "skill.toml")
    version = doc.string("version")
    if not _VERSION.match(version):
        raise doc.error("version", f"{version!r} is not a semantic version like 1.2.3")
    permissions = parse_permissions(doc.table("permissions"))
    skill_rules = tuple(parse_rule(entry) for entry in permissions.network)
    tools = tuple(_tool(source, t, skill_rules) for t in doc.tables("tools"))
    if not tools:
        raise doc.error("tools", "a skill needs at least one [[tools]] entry")
    names = [t.name for t in tools]
    for tool_name in names:
        if names.count(tool_name) > 1:
            raise doc.error("tools", f"tool {tool_name!r} is defined twice")
    skill = SkillSpec(
        name=front.name,
        description=front.description,
        version=version,
        profile=doc.string("profile", "default"),
        directory=directory,
        tools=tools,
        permissions=permissions,
        limits=parse_overrides(doc.table("limits")),
        snapshot=snapshot,
        requires=front.requires,
    )
    doc.finish()
    return skill


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tool(directory: Path, table: Table, skill_rules: tuple[EgressRule, ...]) -> ToolSpec:
    name = table.string("name")
    if not _TOOL_NAME.match(name):
        raise table.error("name", f"{name!r} must match {_TOOL_NAME.pattern}")
    entrypoint = table.str_list("entrypoint")
    if not entrypoint:
        raise table.error("entrypoint", "missing or empty (an argv list)")
    if not entrypoint[0].startswith("/"):
        raise table.error("entrypoint", "the program must be an absolute path inside the sandbox")
    elevated = table.boolean("elevated", False)
    approval = table.string("approval", "before_run" if elevated else "never")
    if approval not in APPROVAL_MODES:
        raise table.error("approval", f"must be one of {', '.join(APPROVAL_MODES)}")
    if elevated and approval == "never":
        raise table.error("approval", "an elevated tool cannot skip approval")
    tool = ToolSpec(
        name=name,
        description=table.string("description", ""),
        entrypoint=entrypoint,
        input_schema=_schema(directory, table),
        elevated=elevated,
        approval=approval,
        approval_timeout_ms=(
            table.parsed("approval_timeout", parse_duration_ms)
            if table.has("approval_timeout")
            else None
        ),
        limits=parse_overrides(table.table("limits")),
        network=_tool_network(table, skill_rules),
    )
    table.finish()
    return tool


def _tool_network(table: Table, skill_rules: tuple[EgressRule, ...]) -> tuple[str, ...] | None:
    if not table.has("network"):
        return None
    entries = table.str_list("network")
    for index, rule in enumerate(network_rules(table, "network", entries)):
        if not any(allowed.covers(rule) for allowed in skill_rules):
            raise table.error(
                f"network[{index}]",
                f"{entries[index]!r} is not covered by the skill's permissions.network "
                "(a tool's list may only narrow the skill's)",
            )
    return entries


def _schema(directory: Path, table: Table) -> dict[str, Any]:
    if not table.has("input_schema"):
        raise table.error("input_schema", "missing (a JSON Schema table or a .json file path)")
    raw = table.raw("input_schema")
    if isinstance(raw, str):
        file = (directory / raw).resolve()
        if directory not in file.parents:
            raise table.error("input_schema", f"{raw!r} must be a file inside the skill folder")
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            reason = _one_line(str(exc))
            raise table.error("input_schema", f"cannot read {raw!r}: {reason}") from exc
    if not isinstance(raw, dict):
        raise table.error("input_schema", "must be a JSON Schema object")
    try:
        check_schema(raw)
    except jsonschema.SchemaError as exc:
        raise table.error("input_schema", f"not a valid JSON Schema: {exc.message}") from exc
    return raw


def validate_input(tool: ToolSpec, value: Any) -> None:
    """Raise InputValidationError when ``value`` does not match the tool's schema."""
    validator = SchemaValidator(tool.input_schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        where = "input" + "".join(f"[{p!r}]" for p in error.absolute_path)
        raise InputValidationError(f"{where}: {error.message}")
