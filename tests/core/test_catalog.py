"""Skill folders: parsing, validation, content hashes and input schemas."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.core.catalog import Catalog
from runtime.core.manifest import load_skill, validate_input
from runtime.errors import ConfigError, InputValidationError, NoSuchEntity
from tests.skill_fixture import SKILL_TOML, make_skill


def test_loads_skill_folder(tmp_path: Path) -> None:
    """A well-formed folder becomes a SkillSpec with its tools."""
    skill = load_skill(make_skill(tmp_path))
    assert (skill.name, skill.version, skill.profile) == ("echo-skill", "1.0.0", "default")
    assert skill.tool("echo").entrypoint == ("/usr/bin/python3", "/skill/echo.py")


def test_unknown_tool_lists_tools(tmp_path: Path) -> None:
    """Asking for a tool the skill lacks names the tools it has."""
    with pytest.raises(NoSuchEntity, match=r"has no tool 'nope' \(tools: echo\)"):
        load_skill(make_skill(tmp_path)).tool("nope")


def test_name_must_match_folder(tmp_path: Path) -> None:
    """SKILL.md's name must be the folder's name."""
    folder = make_skill(tmp_path)
    folder.rename(tmp_path / "other")
    with pytest.raises(ConfigError, match=r"SKILL\.md: name 'echo-skill' must match"):
        load_skill(tmp_path / "other")


def test_missing_frontmatter(tmp_path: Path) -> None:
    """A SKILL.md without frontmatter is named as such."""
    folder = make_skill(tmp_path)
    (folder / "SKILL.md").write_text("# no frontmatter\n")
    with pytest.raises(ConfigError, match="missing YAML frontmatter"):
        load_skill(folder)


def test_invalid_schema_is_refused(tmp_path: Path) -> None:
    """An input_schema that is not valid JSON Schema is refused at load time."""
    toml = SKILL_TOML.format().replace('type = "object"', 'type = "thing"')
    with pytest.raises(ConfigError, match=r"tools\[0\]\.input_schema: not a valid JSON Schema"):
        load_skill(make_skill(tmp_path, toml=toml))


def test_elevated_tool_cannot_skip_approval(tmp_path: Path) -> None:
    """elevated = true with approval = "never" is a contradiction, refused."""
    toml = SKILL_TOML.format() + 'elevated = true\napproval = "never"\n'
    with pytest.raises(ConfigError, match=r"tools\[0\]\.approval: an elevated tool cannot skip"):
        load_skill(make_skill(tmp_path, toml=toml))


def test_relative_entrypoint_is_refused(tmp_path: Path) -> None:
    """The entrypoint program must be an absolute path inside the sandbox."""
    toml = SKILL_TOML.format().replace('"/usr/bin/python3", ', '"python3", ')
    with pytest.raises(ConfigError, match=r"entrypoint: the program must be an absolute path"):
        load_skill(make_skill(tmp_path, toml=toml))


def test_content_hash_changes_with_code(tmp_path: Path) -> None:
    """Editing any file of the skill changes its content hash."""
    folder = make_skill(tmp_path)
    before = load_skill(folder).content_hash
    (folder / "echo.py").write_text("print(1)\n")
    assert load_skill(folder).content_hash != before


def test_schema_mismatch_names_the_field(tmp_path: Path) -> None:
    """Input that breaks the schema names the offending field."""
    tool = load_skill(make_skill(tmp_path)).tool("echo")
    with pytest.raises(InputValidationError, match=r"input\['n'\]: 'x' is not of type 'integer'"):
        validate_input(tool, {"n": "x"})


def test_catalog_resolves_names_and_paths(tmp_path: Path) -> None:
    """A catalog finds skills by name, and a path to a folder works too."""
    folder = make_skill(tmp_path)
    catalog = Catalog(tmp_path)
    assert catalog.names() == ["echo-skill"]
    assert catalog.resolve("echo-skill").directory == catalog.resolve(str(folder)).directory
