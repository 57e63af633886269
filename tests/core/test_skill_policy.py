"""The operator's policy file: grants per instruction skill, read strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.core.permissions import NO_PERMISSIONS
from runtime.core.skill_policy import default_policy_file, load_policy
from runtime.errors import ConfigError


def test_absent_file_grants_nothing(tmp_path: Path) -> None:
    """No policy file: every skill has no grants."""
    assert load_policy(tmp_path / "skills-policy.toml").granted("weather") == NO_PERMISSIONS


def test_default_file_is_beside_the_catalog(tmp_path: Path) -> None:
    """The default policy file sits next to the catalog folder, not inside it."""
    assert default_policy_file(tmp_path / "catalog") == tmp_path / "skills-policy.toml"


def test_grants_are_read_per_skill(tmp_path: Path) -> None:
    """Each skill's network, paths and secrets are its own."""
    file = tmp_path / "p.toml"
    file.write_text(
        '[skills.weather]\nnetwork = ["wttr.in:443", "*.open-meteo.com:443"]\n'
        '[skills.places]\nsecrets = ["PLACES_KEY"]\nreadonly_paths = ["/etc/ssl/certs"]\n'
    )
    policy = load_policy(file)
    assert policy.granted("weather").network == ("wttr.in:443", "*.open-meteo.com:443")
    assert policy.granted("places").secrets == ("PLACES_KEY",)
    assert policy.granted("weather").secrets == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[skills.weather]\nnetwrok = []\n", r"skills\.weather\.netwrok: unknown key"),
        ("[skill.weather]\n", r"skill: unknown key"),
        ('[skills.weather]\nsecrets = "KEY"\n', r"skills\.weather\.secrets: expected a list"),
        ('[skills.weather]\nnetwork = ["wttr.in"]\n', r"skills\.weather\.network\[0\]"),
        ('[skills.weather]\nsecrets = ["PATH"]\n', r"skills\.weather\.secrets: .*reserved"),
        (
            '[skills.weather]\nreadonly_paths = ["etc"]\n',
            r"skills\.weather\.readonly_paths: 'etc' must be",
        ),
        ("[skills.Weather_Now]\n", r"skills\.Weather_Now: not a skill name"),
        ("[skills.weather\n", r"invalid TOML"),
    ],
)
def test_malformed_policy_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    """Unknown keys, wrong types, bad entries and TOML errors are one ConfigError line."""
    file = tmp_path / "skills-policy.toml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=r"skills-policy\.toml: " + message):
        load_policy(file)
