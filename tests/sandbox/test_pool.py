"""The warm pool over the real launcher: what it keeps, retires and leaves behind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from runtime.sandbox.launcher import Launcher
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.pool import PoolLabel, PoolSettings, WarmPool
from runtime.sandbox.profiles import ProfileStore

WAITS = "import select, sys; select.select([0], [], []); print(sys.stdin.read())"


def spec(profiles: ProfileStore, *argv: str) -> SandboxSpec:
    profile = profiles.get("default")
    return SandboxSpec(argv=argv, profile=profile, limits=profile.limits)


def label(content_hash: str = "a") -> PoolLabel:
    return PoolLabel(skill="s", tool="t", profile="default", content_hash=content_hash)


async def until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def with_pool(launcher: Launcher, body: Callable[[WarmPool], Awaitable[None]]) -> None:
    async def go() -> None:
        pool = WarmPool(launcher, PoolSettings(enabled=True, max_per_key=1))
        try:
            await body(pool)
        finally:
            await pool.close()

    asyncio.run(go())


def test_a_warm_sandbox_runs_its_call_input(launcher: Launcher, profiles: ProfileStore) -> None:
    waits = spec(profiles, "/usr/bin/python3", "-c", WAITS)

    async def body(pool: WarmPool) -> None:
        await (await pool.take(waits, label(), ())).close()
        await until(lambda: pool.status().ready == 1)
        result = await (await pool.take(waits, label(), ())).run(b"the call's own input")
        assert result.stdout == b"the call's own input\n"
        assert [k.hits for k in pool.status().keys] == [1]

    with_pool(launcher, body)


def test_a_tool_that_does_not_wait_for_input_is_not_kept_warm(
    launcher: Launcher, profiles: ProfileStore
) -> None:
    true = spec(profiles, "/bin/true")

    async def body(pool: WarmPool) -> None:
        for _ in range(5):
            await (await pool.take(true, label(), ())).run(b"")
            await asyncio.sleep(0.4)  # its warm sandbox starts, and ends on its own
        await asyncio.sleep(0.5)
        (key,) = pool.status().keys
        assert key.hits == 0 and key.ready == 0 and key.starting == 0

    with_pool(launcher, body)


def test_another_content_hash_retires_the_old_sandboxes(
    launcher: Launcher, profiles: ProfileStore
) -> None:
    old = spec(profiles, "/usr/bin/python3", "-c", WAITS)
    new = spec(profiles, "/usr/bin/python3", "-c", WAITS + "  # changed")

    async def body(pool: WarmPool) -> None:
        await (await pool.take(old, label("a"), ())).close()
        await until(lambda: pool.status().ready == 1)
        warm_groups = [
            d for k in pool._keys.values() for w in k.ready for d in w.sandbox.group.dirs
        ]
        await (await pool.take(new, label("b"), ())).close()
        assert [k.label.content_hash for k in pool.status().keys] == ["b"]
        await until(lambda: not any(d.exists() for d in warm_groups))

    with_pool(launcher, body)


def test_closing_the_pool_leaves_no_sandbox(launcher: Launcher, profiles: ProfileStore) -> None:
    waits = spec(profiles, "/usr/bin/python3", "-c", WAITS)

    async def go() -> None:
        pool = WarmPool(launcher, PoolSettings(enabled=True, max_per_key=1))
        await (await pool.take(waits, label(), ())).close()
        await until(lambda: pool.status().ready == 1)
        warm = [w.sandbox for k in pool._keys.values() for w in k.ready]
        await pool.close()
        assert all(not s.waiting for s in warm)
        assert not any(d.exists() for s in warm for d in s.group.dirs)

    asyncio.run(go())
