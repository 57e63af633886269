"""A running invocation's live view: output kept once up to its limit, read by any number of
watchers at their own pace, and its sandbox's use so far."""

from __future__ import annotations

import asyncio

import pytest

from runtime.core.invocation import OutputChunk
from runtime.core.live import LiveRun, LiveRuns, WatchCaps
from runtime.errors import OverLimit


class FakeMeter:
    def __init__(self, cpu_ns: int, memory: int, peak: int) -> None:
        self.cpu_ns, self.memory, self.peak = cpu_ns, memory, peak

    def cpu_ns_so_far(self) -> int:
        return self.cpu_ns

    def memory_bytes(self) -> int:
        return self.memory

    def peak_memory_so_far(self) -> int:
        return self.peak


class StepClock:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    def now_ms(self) -> int:
        return int(self.now * 1000)


def _sent() -> dict[str, int]:
    return {"stdout": 0, "stderr": 0}


async def _drain(run: LiveRun, sent: dict[str, int], *, follow: bool) -> list[OutputChunk]:
    return [chunk async for chunk in run.output(sent, follow=follow)]


def test_a_late_watcher_gets_what_was_printed_then_what_comes() -> None:
    """A watcher that comes after some output gets it first, then the output printed later."""

    async def scenario() -> list[OutputChunk]:
        run = LiveRun(output_limit=1000)
        run.publish("stdout", b"one ")
        watcher = asyncio.create_task(_drain(run, _sent(), follow=True))
        await asyncio.sleep(0)
        run.publish("stderr", b"warn")
        run.publish("stdout", b"two")
        await asyncio.sleep(0)
        run.end()
        return await asyncio.wait_for(watcher, 5)

    chunks = asyncio.run(scenario())
    by_stream = {s: b"".join(c.data for c in chunks if c.stream == s) for s in ("stdout", "stderr")}
    assert by_stream == {"stdout": b"one two", "stderr": b"warn"}


def test_without_follow_only_the_output_so_far_is_read() -> None:
    """Not following, a watcher of a run still going ends after what it printed so far."""

    async def scenario() -> list[OutputChunk]:
        run = LiveRun(output_limit=1000)
        run.publish("stdout", b"so far")
        return await asyncio.wait_for(_drain(run, _sent(), follow=False), 5)

    assert asyncio.run(scenario()) == [OutputChunk("stdout", b"so far")]


def test_output_past_the_limit_is_dropped_and_a_slow_watcher_holds_nothing_up() -> None:
    """Publishing never waits for watchers, and each stream keeps at most the output limit."""
    run = LiveRun(output_limit=10)
    for _ in range(1000):  # nobody reads: nothing waits, nothing grows past the limit
        run.publish("stdout", b"0123456789")
    run.end()
    chunks = asyncio.run(_drain(run, _sent(), follow=True))
    assert b"".join(c.data for c in chunks) == b"0123456789"


def test_sent_offsets_resume_where_a_watcher_left_off() -> None:
    """Bytes already sent are not sent again."""
    run = LiveRun(output_limit=100)
    run.publish("stdout", b"abcdef")
    sent = {"stdout": 4, "stderr": 0}
    assert asyncio.run(_drain(run, sent, follow=False)) == [OutputChunk("stdout", b"ef")]
    assert sent == {"stdout": 6, "stderr": 0}


def test_usage_so_far_reads_the_sandbox_once_started() -> None:
    """Before its sandbox starts a run has no usage; then CPU, memory now, peak and wall time."""
    clock = StepClock()
    runs = LiveRuns(clock)
    run = runs.begin("inv_1", output_limit=10)
    assert runs.usage("inv_1") is None
    run.attach(FakeMeter(cpu_ns=42_000_000, memory=3000, peak=5000))
    clock.now += 1.5
    usage = runs.usage("inv_1")
    assert usage is not None
    assert (usage.cpu_ms, usage.memory_bytes, usage.peak_memory_bytes, usage.wall_ms) == (
        42,
        3000,
        5000,
        1500,
    )
    run.attach(FakeMeter(cpu_ns=0, memory=0, peak=0))  # its cgroup is gone: reads give 0
    usage = runs.usage("inv_1")
    assert usage is not None and (usage.cpu_ms, usage.peak_memory_bytes) == (42, 5000)
    runs.end("inv_1")
    assert runs.get("inv_1") is None and run.ended


def test_a_change_wakes_whoever_waits_on_the_invocation() -> None:
    """Beginning or ending a run, or settling, sets the event each waiter took before."""
    runs = LiveRuns()
    with runs.next_change("inv_2") as one, runs.next_change("inv_2") as two:
        assert not one.is_set()
        runs.begin("inv_2", output_limit=1)
        assert one.is_set() and two.is_set()
    with runs.next_change("inv_2") as later:
        runs.end("inv_2")
        assert later.is_set()


def test_a_waiter_that_leaves_leaves_nothing_behind() -> None:
    """Waiters that saw no change are forgotten when they leave."""
    runs = LiveRuns()
    for n in range(100):
        with runs.next_change(f"inv_{n}"):
            pass
    assert not runs._waiting


def test_watchers_open_at_once_are_capped_per_principal_and_in_all() -> None:
    """A principal past its share, or anyone past the total, is OverLimit; a watcher that
    leaves gives its place back."""
    runs = LiveRuns(caps=WatchCaps(per_principal=2, total=3))
    with runs.watcher("a"), runs.watcher("a"):
        with pytest.raises(OverLimit, match="2 invocations followed at once by a"):
            runs.watcher("a").__enter__()
        with runs.watcher("b"), pytest.raises(OverLimit, match="followed at once by everyone"):
            runs.watcher("c").__enter__()
    with runs.watcher("a"), runs.watcher("a"), runs.watcher("c"):
        pass
