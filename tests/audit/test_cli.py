"""``skillrt audit`` and ``skillrt data``: verify fails loudly, exports and deletes are audited."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.audit import events
from runtime.audit.query import entries, tail
from runtime.audit.verify import verify
from runtime.audit.writer import AuditLog
from runtime.core.records import InvocationRecord, State
from runtime.core.store import Store
from runtime.sandbox.result import Status, failed_result
from runtime.state.schema import open_main
from tests.audit.conftest import DAY, START, lines, rewrite
from tests.cli.test_cli import assert_one_line_error, skillrt

WriteDays = Callable[[int], AuditLog]


def _state(log_path: Path) -> list[str]:
    return ["--state-dir", str(log_path.parent)]


def _swap(text: list[str]) -> None:
    text[1], text[2] = text[2], text[1]


def _edit(text: list[str]) -> None:
    text[2] = text[2].replace('"day":2', '"day":20')


def _delete(text: list[str]) -> None:
    del text[2]


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (_edit, "line 3 (seq 3): its hash does not match its content (edited)"),
        (_delete, "line 3 (seq 4): seq 3 missing before it (removed)"),
        (_swap, "line 2 (seq 3): seq 2 should come first but is at line 3 (reordered)"),
    ],
    ids=["edited", "removed", "reordered"],
)
def test_verify_names_the_broken_line(
    log_path: Path, write_days: WriteDays, tamper: Callable[[list[str]], None], named: str
) -> None:
    """audit verify exits non-zero with one line naming the first broken entry."""
    write_days(5)
    text = lines(log_path)
    tamper(text)
    rewrite(log_path, text)
    proc = skillrt("audit", "verify", *_state(log_path))
    assert_one_line_error(proc, named)
    assert proc.returncode == 1


def test_verify_intact_log(log_path: Path, write_days: WriteDays) -> None:
    """An untouched log verifies with exit 0."""
    write_days(3)
    proc = skillrt("audit", "verify", *_state(log_path))
    assert (proc.returncode, proc.stdout.strip()) == (
        0,
        f"{log_path}: chain intact (seqs 1-3, keyed)",
    )


def test_tail_filters_events(log_path: Path, write_days: WriteDays) -> None:
    """audit tail --filter prints only the matching events, newest last."""
    log = write_days(3)
    log.append(events.TOKEN_CREATED, actor="owner", token_id="tok_1")
    proc = skillrt("audit", "tail", "--filter", "token.*", "--json", *_state(log_path))
    assert proc.returncode == 0, proc.stderr
    [entry] = [json.loads(line) for line in proc.stdout.splitlines()]
    assert (entry["event"], entry["token_id"]) == (events.TOKEN_CREATED, "tok_1")


def test_export_since_is_audited(log_path: Path, write_days: WriteDays) -> None:
    """audit export --since prints the later entries as JSON lines, and is itself recorded."""
    write_days(5)
    proc = skillrt("audit", "export", "--since", "2023-11-16T23:00Z", *_state(log_path))
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["day"] for line in proc.stdout.splitlines()] == [3, 4]
    [last] = tail(log_path, 1)
    assert (last.event, last.fields["entries"]) == (events.DATA_EXPORTED, 2)
    assert verify(log_path) is None


def test_prune_older_than(log_path: Path, write_days: WriteDays) -> None:
    """audit prune --older-than drops old entries and the log still verifies."""
    write_days(3)
    proc = skillrt("audit", "prune", "--older-than", "5d", *_state(log_path))
    assert (proc.returncode, proc.stdout.strip()) == (0, "pruned 3 entries, kept 0")
    assert skillrt("audit", "verify", *_state(log_path)).returncode == 0


def _store_with_invocations(state_dir: Path) -> None:
    db = open_main(state_dir / "skillrt.db")
    store = Store(db)
    for n, (principal, day) in enumerate([("alice", 0), ("bob", 1), ("alice", 9)]):
        record = InvocationRecord(
            id=f"inv_{n}",
            skill="calc",
            tool="evaluate",
            version="1.0.0",
            profile="default",
            principal=principal,
            state=State.QUEUED,
            created_ms=int((START + day * DAY) * 1000),
        )
        store.create(record, request_hash=f"h{n}", idempotency_key=None)
        store.finish(record.id, failed_result(Status.CANCELLED, "cancelled"), None, 0)
    db.close()


def _invocation_ids(state_dir: Path) -> list[str]:
    with open_main(state_dir / "skillrt.db") as db:
        return [row["id"] for row in Store(db).export_invocations()]


def test_data_export(log_path: Path, write_days: WriteDays) -> None:
    """data export prints invocations and audit entries as one JSON document, and is audited."""
    write_days(2)
    _store_with_invocations(log_path.parent)
    proc = skillrt("data", "export", *_state(log_path))
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert [i["id"] for i in document["invocations"]] == ["inv_0", "inv_1", "inv_2"]
    assert [e["seq"] for e in document["audit"]] == [1, 2]
    [last] = tail(log_path, 1)
    assert (last.event, last.fields["invocations"]) == (events.DATA_EXPORTED, 3)


def test_data_delete_by_principal(log_path: Path) -> None:
    """data delete --principal removes that principal's invocations and records it."""
    _store_with_invocations(log_path.parent)
    proc = skillrt("data", "delete", "--principal", "alice", *_state(log_path))
    assert (proc.returncode, proc.stdout.strip()) == (0, "deleted 2 finished invocations")
    assert _invocation_ids(log_path.parent) == ["inv_1"]
    [entry] = entries(log_path)
    assert (entry.event, entry.fields) == (
        events.DATA_DELETED,
        {"invocations": 2, "principal": "alice"},
    )


def test_data_delete_before(log_path: Path) -> None:
    """data delete --before removes the invocations created before the date."""
    _store_with_invocations(log_path.parent)
    proc = skillrt("data", "delete", "--before", "2023-11-16", *_state(log_path))
    assert proc.returncode == 0, proc.stderr
    assert _invocation_ids(log_path.parent) == ["inv_2"]


def test_data_delete_needs_a_criterion(log_path: Path) -> None:
    """data delete without --before or --principal is a usage error."""
    proc = skillrt("data", "delete", *_state(log_path))
    assert_one_line_error(proc, "one of the arguments --before --principal is required")
