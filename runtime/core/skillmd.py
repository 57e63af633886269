"""SKILL.md, the OpenClaw/AgentSkills file every skill folder holds: its YAML frontmatter (pure).

``name`` and ``description`` are required; ``metadata.openclaw`` (``clawdbot``, OpenClaw's
former name, in older published skills) says what the skill needs from the host. Published
skills write metadata as a YAML mapping, as JSON inside the YAML, or as a string of JSON; all
three are read. skillrt reads only what it enforces (``requires.bins``, ``requires.anyBins``,
``requires.env``, ``os``); the rest (emoji, install, primaryEnv, ...) is left to OpenClaw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runtime.errors import ConfigError
from runtime.secrets.names import check_secret_name

__all__ = ["SKILL_NAME", "Frontmatter", "Requirements", "read_skill_md"]

SKILL_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_FRONTMATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
_MANIFEST_KEYS = ("openclaw", "clawdbot")


@dataclass(frozen=True, kw_only=True)
class Requirements:
    """What a skill needs from the host, as its SKILL.md declares it."""

    bins: tuple[str, ...] = ()  # every one on the PATH
    any_bins: tuple[str, ...] = ()  # at least one on the PATH
    env: tuple[str, ...] = ()  # secrets it needs, by environment variable name
    os: tuple[str, ...] = ()  # the systems it runs on (darwin, linux, win32); empty: any


@dataclass(frozen=True, kw_only=True)
class Frontmatter:
    name: str
    description: str
    requires: Requirements


def read_skill_md(directory: Path, name: str | None = None) -> Frontmatter:
    """The frontmatter of ``directory``/SKILL.md; its name must be the folder's name (``name``
    when read from a copy of the folder)."""
    file = directory / "SKILL.md"
    data = _frontmatter(file)
    if data["name"] != (name or directory.name):
        raise ConfigError(f"{file}: name {data['name']!r} must match the folder name")
    return Frontmatter(
        name=data["name"],
        description=data["description"],
        requires=_requirements(file, data.get("metadata")),
    )


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
        reason = " ".join(str(exc).split())
        raise ConfigError(f"{file}: invalid YAML frontmatter: {reason}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: frontmatter must be a mapping")
    for key in ("name", "description"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ConfigError(f"{file}: frontmatter.{key}: missing or not a string")
    if not SKILL_NAME.match(data["name"]):
        raise ConfigError(
            f"{file}: frontmatter.name: {data['name']!r} must match {SKILL_NAME.pattern}"
        )
    return data


def _requirements(file: Path, metadata: Any) -> Requirements:
    where = "frontmatter.metadata"
    if isinstance(metadata, str):
        try:
            metadata = yaml.safe_load(metadata)  # JSON is YAML: one parser reads both
        except yaml.YAMLError as exc:
            raise ConfigError(f"{file}: {where}: text that is not a JSON object") from exc
    if metadata is None:
        return Requirements()
    if not isinstance(metadata, dict):
        raise ConfigError(f"{file}: {where}: must be a mapping")
    key = next((k for k in _MANIFEST_KEYS if k in metadata), None)
    if key is None:
        return Requirements()
    where = f"{where}.{key}"
    manifest = metadata[key]
    if not isinstance(manifest, dict):
        raise ConfigError(f"{file}: {where}: must be a mapping")
    requires = manifest.get("requires") or {}
    if not isinstance(requires, dict):
        raise ConfigError(f"{file}: {where}.requires: must be a mapping")
    bins = _names(file, f"{where}.requires.bins", requires.get("bins"))
    any_bins = _names(file, f"{where}.requires.anyBins", requires.get("anyBins"))
    for key_name, names in (("bins", bins), ("anyBins", any_bins)):
        for index, name in enumerate(names):
            if "/" in name or name in (".", ".."):
                raise ConfigError(
                    f"{file}: {where}.requires.{key_name}[{index}]: {name!r} must be a program "
                    "name, not a path"
                )
    env = _names(file, f"{where}.requires.env", requires.get("env"))
    for index, name in enumerate(env):
        try:
            check_secret_name(name)
        except ValueError as exc:
            raise ConfigError(f"{file}: {where}.requires.env[{index}]: {exc}") from exc
    return Requirements(
        bins=bins, any_bins=any_bins, env=env, os=_names(file, f"{where}.os", manifest.get("os"))
    )


def _names(file: Path, where: str, value: Any) -> tuple[str, ...]:
    """A list of names; as in OpenClaw, a comma-separated string is a list too."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if not isinstance(value, list):
        raise ConfigError(f"{file}: {where}: expected a list of strings")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{file}: {where}[{index}]: expected a name, got {item!r}")
    return tuple(item.strip() for item in value)
