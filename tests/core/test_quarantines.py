"""The daemon's quarantine against a real catalog and SQLite store, with an audit log that cannot
be written: containment comes first for the daemon's own quarantine, while an operator's
quarantine or release happens only on record. (The real daemon's quarantine is tested in
tests/api/test_quarantine.py; an audit log that fails at that very moment cannot be staged
there.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.core.catalog import Catalog
from runtime.core.quarantine import QuarantineSettings, TripKind
from runtime.core.quarantine_store import QuarantineStore
from runtime.core.quarantines import Quarantines
from runtime.core.spec import Label
from runtime.errors import StateUnwritable, WrongState
from runtime.sandbox.result import Status, failed_result
from runtime.state.schema import open_main
from tests.fakes import FakeClock
from tests.skill_fixture import make_skill

SECCOMP = failed_result(Status.SECCOMP_VIOLATION, "killed")


class UnwritableAudit:
    """An audit log whose disk is full: every entry that must be on disk is refused."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    async def record(self, event: str, *, actor: str, **fields: Any) -> None:
        self.refused.append(event)
        raise StateUnwritable("audit log cannot be written: No space left on device")


@dataclass
class Setup:
    catalog: Catalog
    quarantines: Quarantines
    label: Label
    audit: UnwritableAudit


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    """A skill in a catalog gated by a quarantine whose threshold is 2 seccomp kills."""
    folder = make_skill(tmp_path / "catalog")
    audit = UnwritableAudit()
    db = open_main(tmp_path / "skillrt.db")
    quarantines = Quarantines(
        store=QuarantineStore(db),
        settings=QuarantineSettings(thresholds={TripKind.SECCOMP: 2}),
        audit_log=audit,  # type: ignore[arg-type]
        clock=FakeClock(),
    )
    catalog = Catalog(folder.parent, gates=[quarantines.gate])
    skill = catalog.get("echo-skill")
    label = Label(skill=skill.name, tool="echo", version="1", content_hash=skill.content_hash)
    yield Setup(catalog, quarantines, label, audit)
    db.close()


def test_an_automatic_quarantine_holds_when_it_cannot_be_audited(setup: Setup) -> None:
    """The crossing call's end returns with the skill refused and the quarantine stored,
    though its audit entry was refused."""
    catalog, quarantines, label, audit = setup.catalog, setup.quarantines, setup.label, setup.audit

    async def trip_twice() -> None:
        await quarantines.ended(label, SECCOMP, "inv_1")
        await quarantines.ended(label, SECCOMP, "inv_2")

    asyncio.run(trip_twice())
    assert audit.refused == ["skill.quarantined"]
    with pytest.raises(WrongState, match=r"quarantined since .*: 2 seccomp kills in 60 s"):
        catalog.get("echo-skill")
    stored = quarantines.store.active()
    assert [(q.skill, q.content_hash, q.by) for q in stored] == [
        ("echo-skill", label.content_hash, "automatic")
    ]


def test_a_manual_quarantine_that_cannot_be_audited_does_not_happen(setup: Setup) -> None:
    """An operator's quarantine refused by the audit log leaves the skill served and unstored."""
    catalog, quarantines, label = setup.catalog, setup.quarantines, setup.label
    impose = quarantines.impose(
        skill=label.skill, content_hash=label.content_hash, reason="suspicious", by="alice"
    )
    with pytest.raises(StateUnwritable):
        asyncio.run(impose)
    assert catalog.get("echo-skill").name == "echo-skill"
    assert quarantines.store.active() == []


def test_a_release_that_cannot_be_audited_does_not_happen(setup: Setup) -> None:
    """A release refused by the audit log leaves the quarantine in force and stored."""
    catalog, quarantines, label = setup.catalog, setup.quarantines, setup.label

    async def trip_then_release() -> None:
        await quarantines.ended(label, SECCOMP, "inv_1")
        await quarantines.ended(label, SECCOMP, "inv_2")
        await quarantines.release(skill=label.skill, by="alice")

    with pytest.raises(StateUnwritable):
        asyncio.run(trip_then_release())
    with pytest.raises(WrongState, match="quarantined"):
        catalog.get("echo-skill")
    assert len(quarantines.store.active()) == 1
