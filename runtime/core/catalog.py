"""Skill folders -> frozen ``SkillSpec``.

A skill folder holds ``SKILL.md`` (OpenClaw/AgentSkills frontmatter: name, description, optional
metadata) so the same folder works in OpenClaw, and ``skill.toml``, the runtime manifest: version,
profile, tools (entrypoint argv, input JSON Schema, elevation, approval mode), permissions and
limits. The folder is mounted read-only at ``/skill`` inside the sandbox.

``permissions.network`` is the skill's egress allowlist (``host:port`` or ``*.domain:port``, see
runtime/egress/policy.py). A tool's own ``network`` list replaces it for that tool and may only
narrow it: each entry must be covered by one of the skill's. Entries need a profile in network
mode allowlist, which is checked when the sandbox is built (runtime/invoke.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from runtime.errors import (
    BadRequest,
    ConfigError,
    InputValidationError,
    NoSuchEntity,
    SkillRuntimeError,
)
from runtime.sandbox.egress.policy import EgressRule, parse_rule
from runtime.sandbox.profiles import LimitOverrides, parse_overrides
from runtime.secrets.names import check_secret_name
from runtime.util.filecache import FileCache
from runtime.util.tomlfields import Table
from runtime.util.units import parse_duration_ms

__all__ = [
    "APPROVAL_MODES",
    "SKILL_MOUNT",
    "Catalog",
    "Permissions",
    "SkillSpec",
    "ToolSpec",
    "content_hash",
    "load_skill",
    "secret_users",
    "validate_input",
]

SKILL_MOUNT = "/skill"
APPROVAL_MODES = ("never", "before_run", "before_return")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_TOOL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")
_FRONTMATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)


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
class Permissions:
    network: tuple[str, ...]
    secrets: tuple[str, ...]
    readonly_paths: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SkillSpec:
    name: str
    description: str
    version: str
    profile: str
    directory: Path
    tools: tuple[ToolSpec, ...]
    permissions: Permissions
    limits: LimitOverrides
    content_hash: str  # sha256 over every file of the folder: a changed skill is a new skill

    def tool(self, name: str) -> ToolSpec:
        for tool in self.tools:
            if tool.name == name:
                return tool
        known = ", ".join(t.name for t in self.tools)
        raise NoSuchEntity(f"skill {self.name!r} has no tool {name!r} (tools: {known})")


def load_skill(directory: Path) -> SkillSpec:
    """Parse and validate one skill folder; errors name the file and key."""
    directory = directory.resolve()
    front = _frontmatter(directory / "SKILL.md")
    name = front["name"]
    if name != directory.name:
        raise ConfigError(f"{directory / 'SKILL.md'}: name {name!r} must match the folder name")
    doc = Table.load(directory / "skill.toml")
    version = doc.string("version")
    if not _VERSION.match(version):
        raise doc.error("version", f"{version!r} is not a semantic version like 1.2.3")
    permissions = _permissions(doc.table("permissions"))
    skill_rules = tuple(parse_rule(entry) for entry in permissions.network)
    tools = tuple(_tool(directory, t, skill_rules) for t in doc.tables("tools"))
    if not tools:
        raise doc.error("tools", "a skill needs at least one [[tools]] entry")
    names = [t.name for t in tools]
    for tool_name in names:
        if names.count(tool_name) > 1:
            raise doc.error("tools", f"tool {tool_name!r} is defined twice")
    skill = SkillSpec(
        name=name,
        description=front["description"],
        version=version,
        profile=doc.string("profile", "default"),
        directory=directory,
        tools=tools,
        permissions=permissions,
        limits=parse_overrides(doc.table("limits")),
        content_hash=content_hash(directory),
    )
    doc.finish()
    return skill


def _frontmatter(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{file}: file not found (a skill folder needs SKILL.md)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from exc
    match = _FRONTMATTER.match(text)
    if not match:
        raise ConfigError(f"{file}: missing YAML frontmatter between '---' lines")
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: invalid YAML frontmatter: {_one_line(str(exc))}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: frontmatter must be a mapping")
    for key in ("name", "description"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ConfigError(f"{file}: frontmatter.{key}: missing or not a string")
    if not _NAME.match(data["name"]):
        raise ConfigError(f"{file}: frontmatter.name: {data['name']!r} must match {_NAME.pattern}")
    metadata = data.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ConfigError(f"{file}: frontmatter.metadata: must be a mapping")
    return data


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
    for index, rule in enumerate(_network_rules(table, "network", entries)):
        if not any(allowed.covers(rule) for allowed in skill_rules):
            raise table.error(
                f"network[{index}]",
                f"{entries[index]!r} is not covered by the skill's permissions.network "
                "(a tool's list may only narrow the skill's)",
            )
    return entries


def _network_rules(table: Table, key: str, entries: tuple[str, ...]) -> tuple[EgressRule, ...]:
    """The allowlist entries under ``key`` as rules; a bad entry is an error naming it."""
    rules = []
    for index, entry in enumerate(entries):
        try:
            rules.append(parse_rule(entry))
        except ValueError as exc:
            raise table.error(f"{key}[{index}]", str(exc)) from exc
    return tuple(rules)


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
        jsonschema.Draft202012Validator.check_schema(raw)
    except jsonschema.SchemaError as exc:
        raise table.error("input_schema", f"not a valid JSON Schema: {exc.message}") from exc
    return raw


def _permissions(table: Table) -> Permissions:
    permissions = Permissions(
        network=table.str_list("network"),
        secrets=table.str_list("secrets"),
        readonly_paths=table.str_list("readonly_paths"),
    )
    _network_rules(table, "network", permissions.network)
    for name in permissions.secrets:
        try:
            check_secret_name(name)
        except ValueError as exc:
            raise table.error("secrets", str(exc)) from exc
        if permissions.secrets.count(name) > 1:
            raise table.error("secrets", f"{name!r} is listed twice")
    for path in permissions.readonly_paths:
        if not path.startswith("/") or ".." in path.split("/"):
            raise table.error("readonly_paths", f"{path!r} must be an absolute path without '..'")
    table.finish()
    return permissions


def _skill_files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def content_hash(directory: Path) -> str:
    """sha256 over the relative path and bytes of every regular file, in a fixed order."""
    digest = hashlib.sha256()
    for file in sorted(_skill_files(directory)):
        digest.update(str(file.relative_to(directory)).encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def validate_input(tool: ToolSpec, value: Any) -> None:
    """Raise InputValidationError when ``value`` does not match the tool's schema."""
    validator = jsonschema.Draft202012Validator(tool.input_schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        where = "input" + "".join(f"[{p!r}]" for p in error.absolute_path)
        raise InputValidationError(f"{where}: {error.message}")


class Catalog:
    """The skills of one catalog folder, each loaded from disk when asked for."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: FileCache[SkillSpec] = FileCache()

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.name for p in self.directory.iterdir() if (p / "skill.toml").is_file())

    def get(self, name: str) -> SkillSpec:
        if not _NAME.match(name):
            raise BadRequest(f"skill name {name!r} is not valid")
        folder = self.directory / name
        if not (folder / "skill.toml").is_file():
            raise NoSuchEntity(f"unknown skill {name!r}")
        return self._cache.get(folder, _skill_files(folder), lambda: load_skill(folder))

    def resolve(self, name_or_path: str) -> SkillSpec:
        """A skill folder given as a path (it holds skill.toml), else a catalog name."""
        path = Path(name_or_path)
        if "/" in name_or_path or name_or_path.startswith("."):
            if not (path / "skill.toml").is_file():
                raise NoSuchEntity(f"{name_or_path}: not a skill folder (no skill.toml)")
            return load_skill(path)
        return self.get(name_or_path)


def secret_users(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """Secret name -> the skills whose manifest declares it."""
    users: dict[str, list[str]] = {}
    for skill_name in catalog.names():
        try:
            skill = catalog.get(skill_name)
        except SkillRuntimeError:
            continue  # a broken manifest is reported where it is used; list the rest
        for secret in skill.permissions.secrets:
            users.setdefault(secret, []).append(skill.name)
    return {name: tuple(skills) for name, skills in users.items()}
