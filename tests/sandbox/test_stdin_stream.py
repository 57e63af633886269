"""Streaming stdin: chunks reach the jail as they arrive, and their end is the jail's EOF."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from runtime.sandbox.result import SandboxResult, Status

from .probes import Jail, explain, leftover_cgroup_dirs, sandbox_processes_with, unique_token

_READ_ALL = "import sys; sys.stdin.read()"


class _InputFailed(Exception):
    pass


def test_chunks_arrive_while_the_command_runs(jail: Jail) -> None:
    """cat echoes each chunk before the next one is sent: nothing waits for the input's end."""

    async def go() -> SandboxResult:
        echoed: asyncio.Queue[bytes] = asyncio.Queue()

        async def on_output(stream: str, chunk: bytes) -> None:
            await echoed.put(chunk)

        async def chunks() -> AsyncIterator[bytes]:
            for line in (b"one\n", b"two\n", b"three\n"):
                yield line
                assert await asyncio.wait_for(echoed.get(), timeout=10) == line

        sandbox = await jail.launcher.start(jail.spec(["/usr/bin/cat"], wall_time_ms=20_000))
        return await sandbox.run(chunks(), on_output=on_output)

    result = asyncio.run(go())
    assert result.status is Status.OK, explain(result)
    assert result.stdout == b"one\ntwo\nthree\n"


def test_end_of_chunks_is_end_of_input(jail: Jail) -> None:
    """When the chunks end, stdin is closed: wc sees EOF and counts what came."""

    async def go() -> SandboxResult:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(3):
                await asyncio.sleep(0.05)
                yield b"x" * 1000

        sandbox = await jail.launcher.start(jail.spec(["/usr/bin/wc", "-c"], wall_time_ms=20_000))
        return await sandbox.run(chunks())

    result = asyncio.run(go())
    assert result.status is Status.OK, explain(result)
    assert result.stdout.strip() == b"3000"


def test_command_that_exits_first_stops_the_feeder_quietly(jail: Jail) -> None:
    """A command that never reads ends the run at once, however much input is still coming."""

    async def go() -> SandboxResult:
        async def endless() -> AsyncIterator[bytes]:
            while True:
                yield b"y" * 65536
                await asyncio.sleep(0.01)

        sandbox = await jail.launcher.start(jail.spec(["/usr/bin/true"], wall_time_ms=20_000))
        return await sandbox.run(endless())

    result = asyncio.run(go())
    assert result.status is Status.OK, explain(result)
    assert result.usage.wall_ms < 5000


def test_failing_input_kills_the_command_and_is_raised(jail: Jail) -> None:
    """An error from the chunks kills the jail, leaves nothing behind, and reaches the caller."""
    marker, name = unique_token(), f"test-{secrets.token_hex(6)}"

    async def go() -> None:
        async def failing() -> AsyncIterator[bytes]:
            yield b"partial"
            raise _InputFailed("the client went away")

        spec = jail.spec(["/usr/bin/python3", "-c", _READ_ALL, marker], wall_time_ms=20_000)
        sandbox = await jail.launcher.start(spec, name=name)
        await sandbox.run(failing())

    with pytest.raises(_InputFailed):
        asyncio.run(go())
    assert sandbox_processes_with(marker) == []
    assert leftover_cgroup_dirs(jail.launcher, name) == []


def test_cancelling_a_streaming_run_kills_everything(jail: Jail) -> None:
    """Cancelling the run while input is still coming kills the jail and removes its cgroup."""
    marker, name = unique_token(), f"test-{secrets.token_hex(6)}"

    async def go() -> None:
        async def slow() -> AsyncIterator[bytes]:
            while True:
                yield b"z"
                await asyncio.sleep(0.05)

        spec = jail.spec(["/usr/bin/python3", "-c", _READ_ALL, marker], wall_time_ms=20_000)
        sandbox = await jail.launcher.start(spec, name=name)
        task = asyncio.create_task(sandbox.run(slow()))
        await asyncio.sleep(0.3)
        assert sandbox_processes_with(marker) != [], "the command should be reading by now"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert sandbox_processes_with(marker) == []
    assert leftover_cgroup_dirs(jail.launcher, name) == []
