"""Limits merge by tightening only: a skill, a tool or a caller can lower a profile's limit, never
raise it, and a refusal names where the looser value came from (pure, no sandbox)."""

from __future__ import annotations

import re
from dataclasses import fields, replace

import pytest

from runtime.errors import BadRequest
from runtime.sandbox.profiles import LimitOverrides, Limits

PROFILE = Limits(
    memory_bytes=256 * 1024**2,
    pids=64,
    cpu_time_ms=10_000,
    wall_time_ms=30_000,
    output_bytes=1024**2,
    open_files=256,
    file_size_bytes=16 * 1024**2,
    cpus=1.0,
)
EGRESS_PROFILE = replace(PROFILE, egress_bytes=1024**2, egress_connections=8)
SKILL = "/skills/s/skill.toml: limits"


@pytest.mark.parametrize(
    ("looser", "message"),
    [
        (LimitOverrides(pids=65), "pids 65 exceeds the profile's 64"),
        (LimitOverrides(cpu_time_ms=10_001), "cpu_time 10001ms exceeds the profile's 10s"),
        (LimitOverrides(wall_time_ms=60_000), "wall_time 60s exceeds the profile's 30s"),
        (LimitOverrides(output_bytes=2 * 1024**2), "output 2MiB exceeds the profile's 1MiB"),
        (LimitOverrides(open_files=257), "open_files 257 exceeds the profile's 256"),
        (
            LimitOverrides(file_size_bytes=32 * 1024**2),
            "file_size 32MiB exceeds the profile's 16MiB",
        ),
        (LimitOverrides(cpus=1.5), "cpus 1.5 exceeds the profile's 1"),
    ],
    ids=["pids", "cpu_time", "wall_time", "output", "open_files", "file_size", "cpus"],
)
def test_no_limit_can_be_loosened(looser: LimitOverrides, message: str) -> None:
    """Raising any limit above the profile's is refused, naming the source, key and values."""
    expected = f"{SKILL}: {message}; limits may only be tightened"
    with pytest.raises(BadRequest, match=re.escape(expected)):
        PROFILE.tighten(looser, source=SKILL)


def test_the_profiles_own_value_is_allowed() -> None:
    """Asking for exactly the profile's limit is not loosening it."""
    same = LimitOverrides(**{f.name: getattr(PROFILE, f.name) for f in fields(LimitOverrides)})
    assert PROFILE.tighten(same, source=SKILL) == PROFILE


def test_no_overrides_keep_the_profile() -> None:
    """A skill that sets no limits runs with the profile's."""
    assert PROFILE.tighten(LimitOverrides(), source=SKILL) == PROFILE


def test_nan_is_no_tighter_than_anything() -> None:
    """A NaN limit, which compares false with everything, is refused rather than accepted."""
    with pytest.raises(BadRequest, match=re.escape(f"{SKILL}: cpus nan exceeds")):
        PROFILE.tighten(LimitOverrides(cpus=float("nan")), source=SKILL)


def test_a_later_source_cannot_undo_an_earlier_tightening() -> None:
    """After the skill tightens a limit, the caller is held to the skill's value, not the
    profile's, and the refusal names the caller."""
    skill = PROFILE.tighten(LimitOverrides(wall_time_ms=5_000), source=SKILL)
    with pytest.raises(BadRequest, match=re.escape("requested limits: wall_time 10s exceeds")):
        skill.tighten(LimitOverrides(wall_time_ms=10_000), source="requested limits")


def test_each_source_tightens_in_turn() -> None:
    """Skill, tool and caller each lower a different limit; all three apply."""
    limits = (
        PROFILE.tighten(LimitOverrides(memory_bytes=128 * 1024**2), source=SKILL)
        .tighten(LimitOverrides(pids=8), source="tools.t.limits")
        .tighten(LimitOverrides(cpu_time_ms=1_000), source="requested limits")
    )
    assert limits == replace(PROFILE, memory_bytes=128 * 1024**2, pids=8, cpu_time_ms=1_000)


@pytest.mark.parametrize("key", ["egress_bytes", "egress_connections"])
def test_egress_limits_need_an_allowlist_profile(key: str) -> None:
    """An egress limit on a profile without the egress proxy is refused, naming the source."""
    expected = f"{SKILL}: {key} needs a profile with network mode allowlist"
    with pytest.raises(BadRequest, match=re.escape(expected)):
        PROFILE.tighten(LimitOverrides(**{key: 1}), source=SKILL)


def test_egress_limits_tighten_an_allowlist_profile() -> None:
    """On an allowlist profile the egress limits tighten like any other."""
    limits = EGRESS_PROFILE.tighten(LimitOverrides(egress_connections=2), source=SKILL)
    assert (limits.egress_bytes, limits.egress_connections) == (1024**2, 2)


def test_egress_limits_cannot_be_loosened() -> None:
    """An allowlist profile's egress limit cannot be raised."""
    with pytest.raises(BadRequest, match=re.escape(f"{SKILL}: egress_connections 9 exceeds")):
        EGRESS_PROFILE.tighten(LimitOverrides(egress_connections=9), source=SKILL)
