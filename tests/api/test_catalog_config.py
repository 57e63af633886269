"""The [catalog] section of the daemon's configuration file (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.api.config import load
from runtime.errors import ConfigError


def test_policy_path_is_relative_to_the_file(tmp_path: Path) -> None:
    """[catalog] policy names the operator's grants file, relative to the config file."""
    file = tmp_path / "skillrt.toml"
    file.write_text('[catalog]\nskills = "skills"\npolicy = "grants/skills-policy.toml"\n')
    config = load(file)
    assert config.catalog_policy == tmp_path / "grants" / "skills-policy.toml"


def test_policy_defaults_beside_the_catalog(tmp_path: Path) -> None:
    """Without [catalog] policy, the catalog looks beside its folder (None here)."""
    file = tmp_path / "skillrt.toml"
    file.write_text('[catalog]\nskills = "skills"\n')
    assert load(file).catalog_policy is None


def test_policy_of_the_wrong_type_names_the_key(tmp_path: Path) -> None:
    """A policy that is not a path string is a ConfigError naming the key."""
    file = tmp_path / "skillrt.toml"
    file.write_text("[catalog]\npolicy = 3\n")
    with pytest.raises(ConfigError, match=r"skillrt\.toml: catalog\.policy: expected a string"):
        load(file)


@pytest.mark.parametrize(
    "text",
    [
        '[server]\nstate_dir = "/tmp/a\\u0000b"\n',
        '[catalog]\nallowed_readonly_paths = ["/a\\u0000"]\n',
    ],
)
def test_a_nul_in_a_string_names_the_key(tmp_path: Path, text: str) -> None:
    """TOML can spell a NUL; a path holding one is a ConfigError, not a ValueError from the OS."""
    file = tmp_path / "skillrt.toml"
    file.write_text(text)
    with pytest.raises(ConfigError, match="must not contain a NUL character"):
        load(file)
