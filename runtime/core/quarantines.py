"""The daemon's quarantine: each skill call's trips counted, a skill content that crosses a
threshold refused at once, and operators' quarantines and releases.

What counts and how is ``runtime.core.quarantine``; this is where it meets the daemon. The runner
tells ``Quarantines`` of every egress denial as it happens and of every result before its end is
recorded (``TripObserver``). A crossing quarantines the content in memory at once, so the very
next call is refused by the catalog's gate (FAILED_PRECONDITION naming the quarantine, and
approved calls too when they are rebuilt); then, before the tripping call is answered, its calls
already admitted are killed (or left to finish), its warm sandboxes retired, the quarantine
stored (it survives a restart), audited and announced to watchers. Quarantines are loaded at
start and bound to the content hash: a changed skill is a new skill, with no trips and no
quarantine, while its quarantined content stays refused should it come back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import structlog

from runtime.audit import events
from runtime.audit.background import BackgroundAudit
from runtime.core.catalog import SkillEntry
from runtime.core.manifest import SkillSpec
from runtime.core.quarantine import (
    AUTOMATIC,
    MANUAL,
    Quarantine,
    QuarantineSettings,
    Running,
    SkillKey,
    TripCounter,
    TripKind,
    result_trips,
)
from runtime.core.quarantine_store import QuarantineStore
from runtime.core.runner import Runner
from runtime.core.spec import Label
from runtime.errors import StateUnwritable, WrongState
from runtime.sandbox.result import SandboxResult
from runtime.util.clock import SYSTEM_CLOCK, Clock

__all__ = ["QuarantineListener", "Quarantines"]

log = structlog.get_logger("skillrt.quarantine")

QuarantineListener = Callable[[Quarantine], None]


class Quarantines:
    def __init__(
        self,
        *,
        store: QuarantineStore,
        settings: QuarantineSettings,
        audit_log: BackgroundAudit | None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self._sql = store.db.call  # SQLite work runs off the event loop
        self._audit = audit_log
        self._clock = clock
        self._counter = TripCounter(settings)
        self._active: dict[SkillKey, Quarantine] = {}
        self._imposing: dict[SkillKey, asyncio.Task[None]] = {}  # automatic ones, being recorded
        self._listeners: set[QuarantineListener] = set()
        self._runner: Runner | None = None
        # An operator's changes one at a time: what was checked before the audit entry still
        # holds when the change is stored after it.
        self._changing = asyncio.Lock()

    @property
    def settings(self) -> QuarantineSettings:
        return self._counter.settings

    def configure(self, settings: QuarantineSettings) -> None:
        """New settings (a reload): thresholds and window apply to the next trip."""
        self._counter.settings = settings

    async def load(self) -> None:
        """The quarantines in force, as stored (at start)."""
        self._active = {q.key: q for q in await self._sql(self.store.active)}

    def watch(self, runner: Runner) -> None:
        """Count the trips of ``runner``'s skill calls, and stop its calls of a quarantined
        content."""
        runner.trips = self
        self._runner = runner

    def listen(self, listener: QuarantineListener) -> Callable[[], None]:
        """Call ``listener`` with each new quarantine; returns the way to stop."""
        self._listeners.add(listener)
        return lambda: self._listeners.discard(listener)

    def active(self) -> list[Quarantine]:
        """The quarantines in force, oldest first."""
        return sorted(self._active.values(), key=lambda q: (q.since_ms, q.skill))

    def gate(self, entry: SkillEntry) -> str | None:
        """The catalog's gate: why a tool skill whose content is quarantined is not served."""
        skill = entry.skill
        if not isinstance(skill, SkillSpec):
            return None  # instruction skills are mounted into sessions, never quarantined
        found = self._active.get((skill.name, skill.content_hash))
        return found.refusal() if found is not None else None

    # What the runner tells (TripObserver).

    def egress_denied(self, label: Label) -> None:
        self._count(label, (TripKind.EGRESS,), spare=None)

    async def ended(self, label: Label, result: SandboxResult, invocation_id: str) -> None:
        try:
            # The call that crosses is ending already: it is spared, and answered as it ran.
            self._count(label, result_trips(result), spare=invocation_id)
        except Exception:
            # Counting is never a reason for a call to end without its record.
            log.exception("trips not counted", invocation_id=invocation_id)
        imposing = self._imposing.get((label.skill, label.content_hash))
        if imposing is not None:
            # Answered only once the quarantine is stored, audited and announced (however that
            # went: the call's end is recorded all the same).
            await asyncio.wait([imposing])

    def refusal(self, label: Label) -> str | None:
        found = self._active.get((label.skill, label.content_hash))
        return None if found is None else f"not run: skill {label.skill!r} was {found.refusal()}"

    def _count(self, label: Label, kinds: Iterable[TripKind], *, spare: str | None) -> None:
        kinds = tuple(kinds)
        key = (label.skill, label.content_hash)
        if not kinds or key in self._active:
            return  # calls still finishing after it was quarantined add nothing
        now = self._clock.now_ms()
        crossing = self._counter.add(key, kinds, now)
        if crossing is None:
            return
        quarantine = Quarantine(
            skill=label.skill,
            content_hash=label.content_hash,
            kind=crossing.kind.value,
            reason=crossing.reason,
            counts=crossing.counts,
            since_ms=now,
            by=AUTOMATIC,
        )
        self._active[key] = quarantine  # from here the catalog refuses it: the very next call
        self._counter.reset(key)
        task = asyncio.create_task(self._impose(quarantine, spare))
        self._imposing[key] = task
        task.add_done_callback(
            lambda done: self._imposing.pop(key) if self._imposing.get(key) is done else None
        )

    async def _impose(self, quarantine: Quarantine, spare: str | None) -> None:
        """Contain, store, audit and announce an automatic quarantine.

        Containment comes first and does not wait for the records. A quarantine only refuses
        calls, it authorizes nothing; if it waited for the disk, a full disk or a failing audit
        log would leave a skill that is attacking the sandbox running. So it holds even when it
        cannot be stored (then only until the daemon stops) or audited, and the daemon's log
        says so loudly. An operator's quarantine or release is a person's decision instead, and
        happens only once it is on record (``impose``, ``release``).
        """
        fields = _fields(quarantine)
        try:
            stopped = self._contain(quarantine, spare)
            log.error("skill quarantined", **fields, calls_stopped=stopped)
            try:
                await self._sql(self.store.add, quarantine)
            except StateUnwritable as exc:
                log.error(
                    "QUARANTINE NOT STORED: it holds only until the daemon stops",
                    **fields,
                    error=str(exc),
                )
            try:
                await self._record(events.SKILL_QUARANTINED, AUTOMATIC, **fields)
            except StateUnwritable as exc:
                log.error("QUARANTINE NOT AUDITED: it holds all the same", **fields, error=str(exc))
            self._tell(quarantine)
        except Exception:
            log.exception("quarantine not fully recorded; it holds all the same", **fields)

    def _contain(self, quarantine: Quarantine, spare: str | None) -> int:
        """Retire the skill's warm sandboxes; kill its admitted calls if so configured."""
        runner = self._runner
        if runner is None:
            return 0
        runner.pool.forget(quarantine.skill)
        if self.settings.running is not Running.KILL:
            return 0
        why = f"killed: skill {quarantine.skill!r} was {quarantine.refusal()}"
        return runner.stop(quarantine.skill, quarantine.content_hash, why, spare=spare)

    # An operator's acts.

    async def impose(self, *, skill: str, content_hash: str, reason: str, by: str) -> Quarantine:
        """Quarantine ``skill`` at ``content_hash`` by hand; StateUnwritable (nothing done) when
        the audit log cannot take it."""
        async with self._changing:
            key = (skill, content_hash)
            if key in self._active:
                raise WrongState(f"skill {skill!r} is already {self._active[key].refusal()}")
            quarantine = Quarantine(
                skill=skill,
                content_hash=content_hash,
                kind=MANUAL,
                reason=reason,
                counts={},
                since_ms=self._clock.now_ms(),
                by=by,
            )
            await self._record(events.SKILL_QUARANTINED, by, **_fields(quarantine))
            await self._sql(self.store.add, quarantine)
            self._active[key] = quarantine
            self._counter.reset(key)
            stopped = self._contain(quarantine, None)
        log.warning("skill quarantined", **_fields(quarantine), calls_stopped=stopped)
        self._tell(quarantine)
        return quarantine

    async def release(self, *, skill: str, by: str) -> list[Quarantine]:
        """Release every quarantine of ``skill``, whatever its content, and start its counts
        over; WrongState when there is none, StateUnwritable (nothing done) when the audit log
        cannot take it."""
        async with self._changing:
            held = [q for q in self._active.values() if q.skill == skill]
            if not held:
                raise WrongState(f"skill {skill!r} is not quarantined")
            # One being recorded is stored before it is released, never after.
            imposing = [t for q in held if (t := self._imposing.get(q.key)) is not None]
            if imposing:
                await asyncio.wait(imposing)
            await self._record(
                events.SKILL_RELEASED,
                by,
                skill=skill,
                content_hashes=[q.content_hash for q in held],
                quarantined_since_ms=[q.since_ms for q in held],
            )
            now = self._clock.now_ms()
            await self._sql(self.store.release, skill, by, now)
            for quarantine in held:
                self._active.pop(quarantine.key, None)
                self._counter.reset(quarantine.key)
        log.warning(
            "skill released", skill=skill, by=by, content_hashes=[q.content_hash for q in held]
        )
        return [replace(q, released_by=by, released_ms=now) for q in held]

    def _tell(self, quarantine: Quarantine) -> None:
        for listener in list(self._listeners):
            listener(quarantine)

    async def _record(self, event: str, actor: str, **fields: Any) -> None:
        if self._audit is not None:
            await self._audit.record(event, actor=actor, **fields)


def _fields(quarantine: Quarantine) -> dict[str, Any]:
    """A quarantine as its audit entry and log lines name it."""
    return {
        "skill": quarantine.skill,
        "content_hash": quarantine.content_hash,
        "kind": quarantine.kind,
        "reason": quarantine.reason,
        "counts": dict(quarantine.counts),
        "by": quarantine.by,
    }
