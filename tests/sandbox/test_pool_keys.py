"""What may be warm, and how many each key wants (pure)."""

from __future__ import annotations

from dataclasses import replace

from runtime.sandbox.identity import HostIdentity
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.pool_keys import Key, PoolLabel, PoolSettings, unpoolable
from runtime.sandbox.profiles import ProfileStore

SETTINGS = PoolSettings(enabled=True, max_per_key=4, idle_ms=60_000)
LABEL = PoolLabel(skill="s", tool="t", profile="default", content_hash="h")


def spec(profiles: ProfileStore, **changes: object) -> SandboxSpec:
    profile = profiles.get("default")
    plain = SandboxSpec(argv=("/bin/true",), profile=profile, limits=profile.limits)
    return replace(plain, **changes)  # type: ignore[arg-type]


def key(profiles: ProfileStore) -> Key:
    return Key(label=LABEL, spec=spec(profiles), keep=(), memory_estimate=0)


def test_a_plain_tool_may_be_warm(profiles: ProfileStore) -> None:
    assert unpoolable(spec(profiles)) is None


def test_secrets_allowlist_sessions_and_elevation_are_never_warm(profiles: ProfileStore) -> None:
    allowlist = replace(
        profiles.get("default"),
        network=replace(profiles.get("default").network, mode="allowlist"),
    )
    assert unpoolable(spec(profiles, secret_env=(("KEY", "v"),))) == "it receives secrets at start"
    assert "egress" in (unpoolable(spec(profiles, profile=allowlist)) or "")
    assert "session" in (unpoolable(spec(profiles, identity=HostIdentity(1, -1))) or "")
    assert unpoolable(spec(profiles, elevated=True)) == "it is elevated"


def test_a_key_never_used_wants_none_and_one_used_once_wants_one(profiles: ProfileStore) -> None:
    fresh = key(profiles)
    assert fresh.target(now=1000.0, settings=SETTINGS) == 0
    fresh.arrivals.append(1000.0)
    fresh.last_used = 1000.0
    assert fresh.target(now=1000.5, settings=SETTINGS) == 1


def test_demand_raises_the_target_up_to_the_ceiling(profiles: ProfileStore) -> None:
    busy = key(profiles)
    busy.start_seconds = 0.05
    for i in range(100):  # 50 calls a second for two seconds
        busy.arrivals.append(1000.0 + i * 0.02)
    busy.last_used = 1002.0
    assert busy.target(now=1002.0, settings=SETTINGS) == 4  # 50/s * 0.05 s * 2 = 5, capped
    slower = replace(SETTINGS, max_per_key=10)
    assert busy.target(now=1002.0, settings=slower) == 5


def test_an_idle_key_drains_to_zero(profiles: ProfileStore) -> None:
    idle = key(profiles)
    idle.arrivals.append(1000.0)
    idle.last_used = 1000.0
    assert idle.target(now=1000.0 + 61, settings=SETTINGS) == 0


def test_a_retired_key_wants_none(profiles: ProfileStore) -> None:
    retired = key(profiles)
    retired.arrivals.append(1000.0)
    retired.last_used = 1000.0
    retired.retired = True
    assert retired.target(now=1000.0, settings=SETTINGS) == 0
