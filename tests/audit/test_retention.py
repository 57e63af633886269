"""Retention: pruning keeps the rest verifiable, and a forged checkpoint is caught."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.audit import events
from runtime.audit.chainkey import default_key_dir
from runtime.audit.entry import Problem, entry_hash
from runtime.audit.keys import checkpoint_mac, default_key_path
from runtime.audit.query import entries
from runtime.audit.retention import PruneReport, prune
from runtime.audit.verify import verify
from runtime.audit.writer import AuditLog
from runtime.errors import IntegrityError
from tests.audit.conftest import DAY, START, Clock, lines, rewrite

WriteDays = Callable[[int], AuditLog]
FIVE_DAYS_MS = 5 * 86_400_000


def _prune(log_path: Path, *, at_day: float) -> PruneReport:
    return prune(log_path, older_than_ms=FIVE_DAYS_MS, now=START + at_day * DAY)


def test_prune_keeps_the_rest_verifiable(log_path: Path, write_days: WriteDays) -> None:
    """Entries older than the age go; a checkpoint leads a file that still verifies."""
    write_days(10)
    report = _prune(log_path, at_day=9)
    assert (report.pruned, report.kept) == (4, 6)
    assert verify(log_path) is None
    checkpoint = json.loads(lines(log_path)[0])
    assert checkpoint["event"] == events.CHECKPOINT
    assert (checkpoint["seq"], checkpoint["pruned"]) == (4, 4)
    assert [e.fields.get("day") for e in entries(log_path)][1:] == list(range(4, 10))


def test_checkpoint_records_the_last_pruned_hash(log_path: Path, write_days: WriteDays) -> None:
    """The checkpoint carries the hash the first kept entry links to."""
    write_days(10)
    pruned_hash = json.loads(lines(log_path)[3])["hash"]
    _prune(log_path, at_day=9)
    checkpoint, first_kept = (json.loads(line) for line in lines(log_path)[:2])
    assert checkpoint["last_pruned_hash"] == pruned_hash == first_kept["prev"]


def test_checkpoint_is_keyed_by_the_chain_key(log_path: Path, write_days: WriteDays) -> None:
    """The checkpoint is keyed like the entries, in a private directory apart from the log; no
    key is left beside the log any more."""
    write_days(10)
    _prune(log_path, at_day=9)
    checkpoint = json.loads(lines(log_path)[0])
    assert "mac" not in checkpoint
    assert checkpoint["hash"] != entry_hash(checkpoint)
    directory = default_key_dir(log_path)
    assert directory.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in directory.iterdir()] == ["chain.key"]
    assert (directory / "chain.key").stat().st_mode & 0o777 == 0o600
    assert not default_key_path(log_path).exists()


def test_pruning_again_adds_up(log_path: Path, write_days: WriteDays, clock: Clock) -> None:
    """A second prune replaces the checkpoint and counts every pruned entry."""
    log = write_days(10)
    _prune(log_path, at_day=9)
    clock.now = START + 12 * DAY
    log.append(events.RPC_CALLED, actor="agent-1", day=12)
    report = _prune(log_path, at_day=12)
    assert report.pruned == 3
    assert json.loads(lines(log_path)[0])["pruned"] == 7
    assert verify(log_path) is None


def test_appends_continue_after_everything_is_pruned(
    log_path: Path, write_days: WriteDays, clock: Clock
) -> None:
    """With only the checkpoint left, the next entry continues the chain from it."""
    log = write_days(3)
    _prune(log_path, at_day=30)
    assert len(lines(log_path)) == 1
    clock.now = START + 30 * DAY
    entry = log.append(events.CONFIG_RELOADED, actor="skillrt")
    assert entry.seq == 4
    assert verify(log_path) is None


def test_nothing_old_enough_leaves_the_file(log_path: Path, write_days: WriteDays) -> None:
    """When no entry is old enough, the file is untouched."""
    write_days(3)
    before = log_path.read_bytes()
    report = _prune(log_path, at_day=3)
    assert (report.pruned, report.kept, report.checkpoint) == (0, 3, None)
    assert log_path.read_bytes() == before


def test_forged_checkpoint_is_detected(log_path: Path, write_days: WriteDays) -> None:
    """Lines deleted under a checkpoint made without the key are caught at line 1."""
    write_days(10)
    _prune(log_path, at_day=6)  # a real checkpoint exists, and so does the key
    text = lines(log_path)
    victim = json.loads(text[4])
    forged: dict[str, object] = {
        "seq": victim["seq"],
        "ts": victim["ts"],
        "event": events.CHECKPOINT,
        "actor": "skillrt",
        "pruned": victim["seq"],
        "last_pruned_hash": victim["hash"],
        "prev": "",
    }
    forged["mac"] = checkpoint_mac(os.urandom(32), forged)
    forged["hash"] = entry_hash(forged)
    rewrite(log_path, [json.dumps(forged) + "\n", *text[5:]])
    broken = verify(log_path)
    assert broken is not None
    assert (broken.line, broken.problem) == (1, Problem.FORGED)
    assert "rewritten without the chain key" in broken.detail


def test_checkpoint_with_a_strange_mac_is_forged(log_path: Path, write_days: WriteDays) -> None:
    """A non-hex mac is reported as a forgery, not an error of the verifier."""
    write_days(10)
    _prune(log_path, at_day=9)
    text = lines(log_path)
    checkpoint = json.loads(text[0])
    checkpoint["mac"] = "\u00e9"
    checkpoint["hash"] = entry_hash(checkpoint)
    rewrite(log_path, [json.dumps(checkpoint) + "\n", *text[1:]])
    broken = verify(log_path)
    assert broken is not None
    assert (broken.line, broken.problem) == (1, Problem.FORGED)


def test_removed_checkpoint_is_detected(log_path: Path, write_days: WriteDays) -> None:
    """Deleting the checkpoint leaves entries no checkpoint accounts for."""
    write_days(10)
    _prune(log_path, at_day=9)
    rewrite(log_path, lines(log_path)[1:])
    broken = verify(log_path)
    assert broken is not None
    assert (broken.line, broken.problem) == (1, Problem.REMOVED)


def test_checkpoint_needs_its_key(log_path: Path, write_days: WriteDays) -> None:
    """Without the chain key a checkpoint cannot be trusted."""
    write_days(10)
    _prune(log_path, at_day=9)
    (default_key_dir(log_path) / "chain.key").unlink()
    broken = verify(log_path)
    assert broken is not None
    assert (broken.line, broken.problem) == (1, Problem.EDITED)
    assert "no chain key" in broken.detail


def test_prune_refuses_a_broken_log(log_path: Path, write_days: WriteDays) -> None:
    """Pruning a tampered log would launder it: refused, file untouched."""
    write_days(10)
    text = lines(log_path)
    del text[1]
    rewrite(log_path, text)
    before = log_path.read_bytes()
    with pytest.raises(IntegrityError, match="refusing to prune"):
        _prune(log_path, at_day=9)
    assert log_path.read_bytes() == before
