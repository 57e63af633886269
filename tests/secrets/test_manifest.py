"""Manifests declare the secrets a skill may see, by name; bad names fail at load time."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.core.manifest import load_skill
from runtime.errors import ConfigError
from tests.secrets.conftest import secret_skill_toml
from tests.skill_fixture import make_skill


def test_declared_secrets_are_loaded(tmp_path: Path) -> None:
    """permissions.secrets becomes the skill's tuple of secret names."""
    skill = load_skill(make_skill(tmp_path, toml=secret_skill_toml(["API_KEY", "DB_PASSWORD"])))
    assert skill.permissions.secrets == ("API_KEY", "DB_PASSWORD")


@pytest.mark.parametrize(
    ("names", "reason"),
    [
        (["api-key"], r"secret name 'api-key' must match"),
        (["LD_PRELOAD"], r"secret name 'LD_PRELOAD' is reserved"),
        (["API_KEY", "API_KEY"], r"'API_KEY' is listed twice"),
    ],
    ids=["pattern", "reserved", "duplicate"],
)
def test_bad_declarations_are_refused(tmp_path: Path, names: list[str], reason: str) -> None:
    """A malformed, reserved or repeated name is a ConfigError naming the key."""
    with pytest.raises(ConfigError, match=rf"skill\.toml: permissions\.secrets: {reason}"):
        load_skill(make_skill(tmp_path, toml=secret_skill_toml(names)))
