"""Mutated profiles and manifests give one clear line naming the key, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runtime.util import paths
from tests.cli.test_cli import assert_one_line_error, skillrt
from tests.skill_fixture import SKILL_TOML, make_skill

_DEFAULT = (paths.PROJECT_ROOT / "sandbox_profiles" / "default.toml").read_text()


def _profile(tmp_path: Path, key: str, value: str | None) -> Path:
    """default.toml with ``[limits] key`` rewritten to ``value`` (dropped when None)."""
    line = "" if value is None else f"{key} = {value}"
    text, count = re.subn(rf"(?m)^{key} = .*$", line, _DEFAULT)
    assert count == 1
    (tmp_path / "mutant.toml").write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("cpus", None, "limits.cpus: missing"),
        ("output", None, "limits.output: missing"),
        ("wall_time", "2024-01-01T00:00:00Z", "limits.wall_time: expected a duration"),
        ("wall_time", "[30]", "limits.wall_time: expected a duration"),
        ("wall_time", "nan", "limits.wall_time: duration must be a finite number"),
        ("memory", "1e300", "limits.memory: size 1e+300 is too large"),
    ],
)
def test_mutated_profile_is_a_config_error(
    tmp_path: Path, key: str, value: str | None, message: str
) -> None:
    """A profile missing a required limit, or with a value of the wrong kind, names the key."""
    proc = skillrt(
        "--profiles",
        str(_profile(tmp_path, key, value)),
        "exec",
        "--profile",
        "mutant",
        "--",
        "/bin/true",
    )
    assert_one_line_error(proc, f"mutant.toml: {message}")


@pytest.mark.parametrize("value", ["30", '"30"', "2.5", '"2.5"'])
def test_duration_without_unit_is_seconds_everywhere(reachable_tmp: Path, value: str) -> None:
    """A duration written without a unit, as a number or a string, counts in seconds."""
    folder = make_skill(reachable_tmp, toml=SKILL_TOML + f"\n[limits]\nwall_time = {value}\n")
    proc = skillrt("run", str(folder), "--tool", "echo", "--input", '{"n": 1}', "--json")
    assert proc.returncode == 0, proc.stderr
    assert '"status": "ok"' in proc.stdout


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1970-01-01T00:00:30Z", "limits.wall_time: expected a duration"),
        ("[30]", "limits.wall_time: expected a duration"),
        ("inf", "limits.wall_time: duration must be a finite number"),
        ("true", "limits.wall_time: expected a duration"),
    ],
)
def test_mutated_manifest_is_a_config_error(reachable_tmp: Path, value: str, message: str) -> None:
    """A skill.toml duration of the wrong kind is one line naming the key."""
    folder = make_skill(reachable_tmp, toml=SKILL_TOML + f"\n[limits]\nwall_time = {value}\n")
    proc = skillrt("run", str(folder), "--tool", "echo", "--input", '{"n": 1}')
    assert_one_line_error(proc, f"skill.toml: {message}")
