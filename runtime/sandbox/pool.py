"""Warm sandboxes: started before their calls arrive, each handed to exactly one call.

A warm sandbox is a started ``Sandbox``: its cgroup made, namespaces and mounts built, seccomp
applied, the tool's own process running and blocked reading its stdin. ``WarmPool`` keeps them
per key, the whole sandbox spec (argv, profile, limits, binds; the skill's snapshot path in its
binds is its content hash), so a sandbox is only ever served to a call that would have started
exactly that sandbox itself. A call takes one out (it is gone from the pool before the call sees
it: one call each) and a replacement starts in the background.

What may be warm is decided twice. Here, from the spec alone (``unpoolable``): no secrets (they
are given at start), no allowlist network (the egress proxy is opened per sandbox), no session
identity, nothing elevated. And by the caller, who asks for a warm sandbox only for a call that
needs no person's approval before it runs: the code of such a tool never starts ahead of it.

A tool that does not wait for its input (it ends before a call takes it, or keeps using the
CPU while it waits) is not kept warm: it would run, uncharged, between calls.

Sizing follows demand (``pool_keys``); all keys together stay within ``max_total`` sandboxes
and ``memory_budget`` bytes: each warm sandbox is charged its cgroup memory, at least the peak
of its tool's last runs (its memory limit before one is known). Background starts wait while
calls wait for a slot, and give up host uids a call or session needs. A key whose skill or
profile changed is retired at once, with every sandbox started for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter
from collections.abc import Callable

import structlog

from runtime.errors import OverLimit, SkillRuntimeError
from runtime.sandbox.cleanup import to_completion
from runtime.sandbox.egress.proxy import AttemptCallback
from runtime.sandbox.launcher import Launcher, Sandbox, Starter
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.pool_keys import (
    Key,
    PoolLabel,
    PoolSettings,
    PoolStatus,
    Warm,
    summary,
    unpoolable,
)
from runtime.sandbox.pool_starts import ColdStart, WarmStart
from runtime.sandbox.started import READY_TIMEOUT_SECONDS

__all__ = ["PoolLabel", "PoolSettings", "PoolStatus", "WarmPool"]

log = structlog.get_logger("skillrt.pool")

_MAINTENANCE_SECONDS = 1.0
# Background starts at once: each costs a core for tens of milliseconds.
_CONCURRENT_STARTS = 2
# A key whose start failed waits this long before it is tried in the background again.
_RETRY_AFTER_FAILURE_SECONDS = 5.0
# A served sandbox's replacement starts when it has run, or this long after it was taken.
_REFILL_AFTER_SECONDS = 0.25
_ANSWER_SECONDS = 0.02  # from its end until its call has been answered


class WarmPool:
    """The daemon's warm sandboxes; ``close`` stops every one of them."""

    def __init__(
        self,
        launcher: Launcher,
        settings: PoolSettings,
        *,
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        self.launcher = launcher
        self.settings = settings
        self._busy = busy  # real calls wait for a slot: no background start now
        self._keys: dict[SandboxSpec, Key] = {}
        self._starts = asyncio.Semaphore(_CONCURRENT_STARTS)
        self._closing: set[asyncio.Task[None]] = set()
        self._fills: set[asyncio.Task[None]] = set()
        self._uids_short_at = -math.inf
        self._gone = Counter[str]()  # what keys no longer here counted
        # The highest peak of a finished run per tool and content: until one is known, a warm
        # sandbox is charged its memory limit (the measure at its start misses what the tool
        # loads next).
        self._peaks: dict[PoolLabel, int] = {}
        self._maintenance: asyncio.Task[None] | None = None
        self._closed = False

    def for_call(self, label: PoolLabel | None, keep: tuple[object, ...] = ()) -> Starter:
        """What starts one call's sandbox: warm when ``label`` is given (the call may run a
        sandbox started ahead of it), cold otherwise."""
        if label is None or not self.settings.enabled:
            return ColdStart(self)
        return WarmStart(self, label, keep)

    async def take(
        self,
        spec: SandboxSpec,
        label: PoolLabel,
        keep: tuple[object, ...],
        *,
        on_egress: AttemptCallback | None = None,
    ) -> Sandbox:
        if self._closed or not self.settings.enabled or unpoolable(spec) is not None:
            return await self.cold(spec, on_egress=on_egress)
        now = time.monotonic()
        key = self._key(spec, label, keep)
        key.arrivals.append(now)
        key.last_used = now
        self._ensure_maintenance()
        while key.ready:
            warm = key.ready.popleft()
            why = key.unfit(warm, now, self.settings)
            if why is None:
                key.hits += 1
                self._after_run(key, warm.sandbox)
                return warm.sandbox
            self._evict(key, warm, why)
        key.misses += 1
        self._fill(key)
        sandbox = await self.cold(spec, on_egress=on_egress)
        sandbox.when_reaped(lambda: self._learn(key, sandbox))
        return sandbox

    def _after_run(self, key: Key, served: Sandbox) -> None:
        """Once ``served`` has run: learn its peak, and start its replacement when its call has
        had its answer (or soon, for a long run): a start beside it would take the CPU and the
        event loop the call waits for."""
        loop = asyncio.get_running_loop()
        served.when_reaped(lambda: self._learn(key, served))
        served.when_reaped(lambda: loop.call_later(_ANSWER_SECONDS, self._fill, key))
        loop.call_later(_REFILL_AFTER_SECONDS, self._fill, key)

    async def cold(self, spec: SandboxSpec, *, on_egress: AttemptCallback | None = None) -> Sandbox:
        """A sandbox started now; should the pool hold the host uid it needs, it gives it up."""
        try:
            return await self.launcher.start(spec, on_egress=on_egress)
        except OverLimit:
            if not await self.give_up_a_uid():
                raise
        return await self.launcher.start(spec, on_egress=on_egress)

    async def give_up_a_uid(self) -> bool:
        """For a call or session that found every host uid held: stop the oldest warm sandbox,
        else every start under way (a start holds its uid from its first step), and start none
        for a while; whether any uid was the pool's to give."""
        self._uids_short_at = time.monotonic()
        evicted = self._evict_oldest("a call needs its host uid")
        if evicted is not None:
            await asyncio.shield(evicted)  # its uid is free once it is gone
            return True
        starts = [task for task in self._fills if not task.done()]
        for task in starts:
            task.cancel()  # a cancelled start leaves nothing behind, its uid included
        if starts:
            await asyncio.wait(starts)
        return bool(starts)

    def configure(self, settings: PoolSettings) -> None:
        """New settings (a reload): every key starts over under them; turned off, none stays."""
        if settings == self.settings:
            return
        self.settings = settings
        for key in list(self._keys.values()):
            self._retire(key, "the pool's settings changed")

    def forget(self, skill: str, tool: str | None = None) -> None:
        """Retire every key of ``skill``'s ``tool``, or of all its tools (its calls now need
        approval before they run, or are refused: no sandbox of it may be running ahead of
        one)."""
        for key in list(self._keys.values()):
            if key.label.skill == skill and tool in (None, key.label.tool):
                self._retire(key, "its calls need approval before they run, or are refused")

    def status(self) -> PoolStatus:
        for key in self._keys.values():
            self._measure(key)
        return summary(self._keys.values(), self.settings, self._gone, time.monotonic())

    async def close(self) -> None:
        """Stop every warm sandbox and every start under way."""
        self._closed = True
        if self._maintenance is not None:
            self._maintenance.cancel()
        for key in list(self._keys.values()):
            self._retire(key, "the daemon stops")
        for task in self._fills:
            task.cancel()  # a start cut short leaves nothing behind (the launcher's promise)
        await asyncio.gather(*self._fills, return_exceptions=True)
        while self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # Keys.

    def _key(self, spec: SandboxSpec, label: PoolLabel, keep: tuple[object, ...]) -> Key:
        key = self._keys.get(spec)
        if key is not None:
            return key
        for other in list(self._keys.values()):
            same_tool = (other.label.skill, other.label.tool) == (label.skill, label.tool)
            if same_tool and (
                other.label.content_hash != label.content_hash or other.spec.profile != spec.profile
            ):
                self._retire(other, "its skill or profile changed")
        estimate = self._peaks.get(label, spec.limits.memory_bytes)
        key = Key(label=label, spec=spec, keep=keep, memory_estimate=estimate)
        self._keys[spec] = key
        return key

    def _retire(self, key: Key, why: str) -> None:
        key.retired = True
        while key.ready:
            self._evict(key, key.ready.popleft(), why)
        self._drop(key)

    def _drop(self, key: Key) -> None:
        """``key`` leaves the pool; what it counted stays in the totals (an eviction of a
        start under way for it comes later, and is counted then)."""
        if self._keys.get(key.spec) is key:
            del self._keys[key.spec]
            self._gone.update(hits=key.hits, misses=key.misses, evictions=key.evictions)

    # Filling.

    def _fill(self, key: Key) -> None:
        if self._closed or (key.filling is not None and not key.filling.done()):
            return
        key.filling = asyncio.create_task(self._fill_key(key))
        self._fills.add(key.filling)
        key.filling.add_done_callback(self._fills.discard)

    async def _fill_key(self, key: Key) -> None:
        while not self._closed and not key.retired:
            now = time.monotonic()
            if now - key.failed_at < _RETRY_AFTER_FAILURE_SECONDS:
                return
            if len(key.ready) + key.starting >= key.target(now, self.settings):
                return
            if self._busy() or not self._make_room(key, now):
                return
            key.starting += 1
            try:
                async with self._starts:
                    warm = await self._start_one(key)
            finally:
                key.starting -= 1
            if warm is None:
                return
            key.ready.append(warm)

    async def _start_one(self, key: Key) -> Warm | None:
        began = time.monotonic()
        try:
            # nsjail's clock runs from its start; one is served at most ``idle`` after it is ready.
            standby = 2 * self.settings.idle_ms + READY_TIMEOUT_SECONDS * 1000
            sandbox = await self.launcher.start(key.spec, standby_ms=standby)
        except Exception as exc:  # a background start that fails waits, whatever the cause
            key.failed_at = time.monotonic()
            log.warning(
                "warm start failed", skill=key.label.skill, tool=key.label.tool, error=str(exc)
            )
            return None
        ready = time.monotonic()
        key.start_seconds = 0.7 * key.start_seconds + 0.3 * (ready - began)
        warm = Warm(sandbox=sandbox, ready_at=ready, memory_bytes=0)
        self._measure_one(key, warm)
        if key.retired or self._closed:
            self._evict(key, warm, "its key was retired while it started")
            return None
        # Its own share was reserved (as ``starting``) before it started.
        if self._charged() - key.memory_estimate + key.charge(warm) > self._budget:
            self._evict(key, warm, "the pool's memory budget is spent")
            return None
        return warm

    @property
    def _budget(self) -> int:
        return self.settings.memory_budget_bytes

    def _make_room(self, key: Key, now: float) -> bool:
        """Room for one more of ``key``'s, taken if need be from warm sandboxes of keys in less
        demand: keys used a while ago keep no room from one in use now."""
        if now - self._uids_short_at < _RETRY_AFTER_FAILURE_SECONDS:
            return False
        if key.memory_estimate > self._budget:
            return False
        while not self._room_for(key):
            wanted = key.demand(now)
            less = [k for k in self._keys.values() if k.ready and k.demand(now) < wanted]
            if not less:
                return False
            other = min(less, key=lambda k: (k.demand(now), k.last_used))
            self._evict(other, other.ready.popleft(), "a key in more demand needs its room")
        return True

    def _room_for(self, key: Key) -> bool:
        held = sum(len(k.ready) + k.starting for k in self._keys.values())
        # At most half the host uids: the rest stay for calls and sessions.
        if held >= min(self.settings.max_total, self.launcher.identities.uids.count // 2):
            return False
        return self._charged() + key.memory_estimate <= self._budget

    def _charged(self) -> int:
        return sum(key.charged() for key in self._keys.values())

    def _measure(self, key: Key) -> None:
        for warm in key.ready:
            self._measure_one(key, warm)

    @staticmethod
    def _measure_one(key: Key, warm: Warm) -> None:
        warm.memory_bytes = warm.sandbox.memory_bytes()
        key.memory_estimate = max(key.memory_estimate, warm.memory_bytes)

    def _learn(self, key: Key, ran: Sandbox) -> None:
        """A run of ``key``'s tool ended: its peak bounds what a warm one of it holds (a warm
        sandbox is the start of such a run), so the key is charged that from now on, and what
        the budget allowed before is tried again."""
        peak = ran.peak_memory_bytes
        if peak <= 0:
            return
        self._peaks[key.label] = max(self._peaks.get(key.label, 0), peak)
        key.memory_estimate = max([self._peaks[key.label], *(w.memory_bytes for w in key.ready)])
        if not key.ready:  # the budget may have kept it empty
            asyncio.get_running_loop().call_later(_ANSWER_SECONDS, self._fill, key)

    # Eviction and upkeep.

    def _evict(self, key: Key, warm: Warm, why: str) -> asyncio.Task[None]:
        if self._keys.get(key.spec) is key:
            key.evictions += 1
        else:  # a start under way for a key that went meanwhile
            self._gone["evictions"] += 1
        log.info("warm sandbox evicted", skill=key.label.skill, tool=key.label.tool, reason=why)
        task = asyncio.create_task(to_completion(_discard(warm.sandbox)))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        return task

    def _evict_oldest(self, why: str) -> asyncio.Task[None] | None:
        candidates = [(w.ready_at, k, w) for k in self._keys.values() for w in k.ready]
        if not candidates:
            return None
        _, key, warm = min(candidates, key=lambda c: c[0])
        key.ready.remove(warm)
        return self._evict(key, warm, why)

    def _ensure_maintenance(self) -> None:
        if self._maintenance is None or self._maintenance.done():
            self._maintenance = asyncio.create_task(self._maintain())

    async def _maintain(self) -> None:
        """Once a second: replace stale sandboxes, drain idle keys, keep within the budget."""
        while self._keys and not self._closed:
            await asyncio.sleep(_MAINTENANCE_SECONDS)
            try:
                self._upkeep(time.monotonic())
            except Exception:  # a bug must not end the upkeep of every key
                log.exception("warm pool upkeep failed")

    def _upkeep(self, now: float) -> None:
        for key in list(self._keys.values()):
            self._measure(key)
            for warm in list(key.ready):
                if (why := key.unfit(warm, now, self.settings)) is not None:
                    key.ready.remove(warm)
                    self._evict(key, warm, why)
            target = key.target(now, self.settings)
            while len(key.ready) > target:
                self._evict(key, key.ready.pop(), "demand fell")
            if key.idle(now, self.settings) and not key.ready and not key.starting:
                self._drop(key)
            elif len(key.ready) < target:
                self._fill(key)
        while self._charged() > self._budget:
            if self._evict_oldest("the pool's memory budget is spent") is None:
                break


async def _discard(sandbox: Sandbox) -> None:
    with contextlib.suppress(SkillRuntimeError):  # a group that will not go is reaped at start
        await sandbox.close()
