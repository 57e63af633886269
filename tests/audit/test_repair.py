"""Repairing a torn tail: cut back to the last complete entry, and say so in the log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.audit import events
from runtime.audit.verify import verify
from runtime.audit.writer import AuditLog
from runtime.errors import StateUnwritable
from tests.audit.conftest import lines

WriteDays = Callable[[int], AuditLog]


@pytest.mark.parametrize(
    "torn",
    [
        b'{"seq": 4, "ts"',  # a write cut short
        b'{"seq": 4, "ts"{"seq":4}\n',  # a later write appended to a cut one
        b"\0\0\0\0",  # a size extended by a crash before its data
    ],
)
def test_repair_cuts_a_torn_tail_and_says_what_it_cut(
    log_path: Path, write_days: WriteDays, torn: bytes
) -> None:
    """The tail after the last complete entry goes, and audit.repaired names its size and the
    seq the log resumes after; the log verifies and takes appends again."""
    log = write_days(3)
    with log_path.open("ab") as file:
        file.write(torn)
    assert verify(log_path) is not None
    repaired = log.repair(reason="test")
    assert repaired is not None
    assert (repaired.seq, repaired.event) == (4, events.AUDIT_REPAIRED)
    assert dict(repaired.fields) == {
        "cut_bytes": len(torn),
        "resumed_after_seq": 3,
        "reason": "test",
    }
    log.append(events.RPC_CALLED, actor="agent-1")
    assert verify(log_path) is None
    assert len(lines(log_path)) == 5


def test_repair_of_a_whole_log_changes_nothing(log_path: Path, write_days: WriteDays) -> None:
    """A log whose last line is complete is left as it is, with no entry added."""
    log = write_days(2)
    before = log_path.read_bytes()
    assert log.repair(reason="test") is None
    assert log_path.read_bytes() == before


def test_a_cut_not_yet_said_is_said_by_the_next_repair(
    log_path: Path, write_days: WriteDays, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the repair entry cannot be written, the next repair still reports the cut."""
    log = write_days(2)
    with log_path.open("ab") as file:
        file.write(b'{"seq": 3')
    real = AuditLog._write

    def full(self: AuditLog, *args: object) -> object:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(AuditLog, "_write", full)
    with pytest.raises(
        StateUnwritable, match="audit log cannot be written: No space left on device"
    ):
        log.repair(reason="test")
    monkeypatch.setattr(AuditLog, "_write", real)
    repaired = log.repair(reason="test")
    assert repaired is not None
    assert (repaired.fields["cut_bytes"], repaired.fields["resumed_after_seq"]) == (9, 2)
    assert verify(log_path) is None
