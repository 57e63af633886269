"""Every bundled skill in skills_catalog loads and fits inside its profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.core.catalog import Catalog
from runtime.core.manifest import SKILL_MOUNT, load_skill
from runtime.core.spec import build_spec
from runtime.sandbox.profiles import LimitOverrides, ProfileStore
from runtime.util import paths

BUNDLED = Catalog(paths.PROJECT_ROOT / "skills_catalog").names()


def test_the_bundled_skills_are_present() -> None:
    """The catalog ships text-stats, json-transform and calc."""
    assert {"text-stats", "json-transform", "calc"} <= set(BUNDLED)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_skill_loads(catalog: Catalog, name: str) -> None:
    """SKILL.md and skill.toml parse, and the skill is named after its folder."""
    skill = load_skill(catalog.directories[0] / name)
    assert skill.name == name
    assert skill.tools


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_skill_limits_tighten_its_profile(
    catalog: Catalog, profiles: ProfileStore, name: str
) -> None:
    """Each tool's sandbox spec builds: skill and tool limits only tighten the profile's."""
    skill = catalog.get(name)
    profile = profiles.get(skill.profile)
    for tool in skill.tools:
        spec = build_spec(skill, tool, profile, LimitOverrides())
        assert spec.limits.memory_bytes <= profile.limits.memory_bytes
        assert spec.limits.cpu_time_ms <= profile.limits.cpu_time_ms


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_entrypoints_exist_in_the_skill_folder(catalog: Catalog, name: str) -> None:
    """Every /skill/... path a tool's argv names is a file of the skill folder."""
    skill = catalog.get(name)
    for tool in skill.tools:
        files = [arg for arg in tool.entrypoint if arg.startswith(SKILL_MOUNT + "/")]
        assert files, f"{name}/{tool.name} runs no file of its folder"
        for arg in files:
            assert (skill.directory / Path(arg).relative_to(SKILL_MOUNT)).is_file(), arg
