"""The hash chain: every append verifies, and any edit, removal or reordering is named."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.audit import events
from runtime.audit.chainkey import default_key_dir, read_chain_key
from runtime.audit.entry import Problem, entry_hash
from runtime.audit.query import entries
from runtime.audit.verify import verify
from runtime.audit.writer import AuditLog
from runtime.errors import BadRequest, IntegrityError
from runtime.util import paths
from tests.audit.conftest import lines, rewrite

WriteDays = Callable[[int], AuditLog]


def test_appended_entries_verify(log_path: Path, write_days: WriteDays) -> None:
    """A log written only by appends verifies, and is readable by its owner only."""
    write_days(5)
    assert verify(log_path) is None
    assert log_path.stat().st_mode & 0o777 == 0o600


def test_entry_links_to_the_previous_hash(log_path: Path, write_days: WriteDays) -> None:
    """Each entry carries seq, ts, event, actor, its fields, prev and its own hash, which is
    keyed: not the sha256 anyone could recompute."""
    write_days(2)
    first, second = (json.loads(line) for line in lines(log_path))
    assert list(first) == ["seq", "ts", "event", "actor", "method", "day", "prev", "hash"]
    assert (first["seq"], first["prev"]) == (1, "")
    assert (second["seq"], second["prev"]) == (2, first["hash"])
    key = read_chain_key(default_key_dir(log_path))
    assert key is not None
    assert first["hash"] == key.link(first) != entry_hash(first)


def test_edited_line_is_named(log_path: Path, write_days: WriteDays) -> None:
    """Changing one field of a line breaks that line's hash."""
    write_days(5)
    text = lines(log_path)
    text[2] = text[2].replace('"agent-1"', '"agent-2"')
    rewrite(log_path, text)
    broken = verify(log_path)
    assert broken is not None
    assert (broken.line, broken.seq, broken.problem) == (3, 3, Problem.EDITED)


def test_rehashed_edit_is_named(log_path: Path, write_days: WriteDays) -> None:
    """An edit given a recomputed sha256 is named: only the chain key makes a hash that holds."""
    write_days(5)
    text = lines(log_path)
    body = json.loads(text[1])
    body["actor"] = "someone-else"
    body["hash"] = entry_hash(body)
    text[1] = json.dumps(body) + "\n"
    rewrite(log_path, text)
    broken = verify(log_path)
    assert broken is not None
    assert (broken.line, broken.problem) == (2, Problem.EDITED)
    assert "rewritten without the chain key" in broken.detail


def test_keyed_edit_breaks_the_next_link(log_path: Path, write_days: WriteDays) -> None:
    """An edit rehashed with the key itself no longer matches the next entry's prev."""
    write_days(5)
    key = read_chain_key(default_key_dir(log_path))
    assert key is not None
    text = lines(log_path)
    body = json.loads(text[1])
    body["actor"] = "someone-else"
    body["hash"] = key.link(body)
    text[1] = json.dumps(body) + "\n"
    rewrite(log_path, text)
    broken = verify(log_path)
    assert broken is not None
    assert (broken.line, broken.problem) == (3, Problem.EDITED)
    assert "prev does not match the hash of line 2" in broken.detail


def test_removed_line_is_named(log_path: Path, write_days: WriteDays) -> None:
    """Deleting a line in the middle names the line after the gap and the missing seq."""
    write_days(5)
    text = lines(log_path)
    del text[2]
    rewrite(log_path, text)
    broken = verify(log_path)
    assert broken is not None
    assert (broken.line, broken.seq, broken.problem) == (3, 4, Problem.REMOVED)
    assert "seq 3 missing" in broken.detail


def test_removed_first_lines_are_named(log_path: Path, write_days: WriteDays) -> None:
    """Deleting the oldest lines without a checkpoint is a removal at line 1."""
    write_days(5)
    rewrite(log_path, lines(log_path)[2:])
    broken = verify(log_path)
    assert broken is not None
    assert (broken.line, broken.problem) == (1, Problem.REMOVED)
    assert "no checkpoint accounts for them" in broken.detail


def test_reordered_lines_are_named(log_path: Path, write_days: WriteDays) -> None:
    """Swapping two lines names the first of them as out of order."""
    write_days(5)
    text = lines(log_path)
    text[1], text[2] = text[2], text[1]
    rewrite(log_path, text)
    broken = verify(log_path)
    assert broken is not None
    assert (broken.line, broken.seq, broken.problem) == (2, 3, Problem.REORDERED)


def test_bad_json_line_is_named(log_path: Path, write_days: WriteDays) -> None:
    """A line that is not a JSON entry is named as such."""
    write_days(3)
    text = lines(log_path)
    text[1] = text[1][:40] + "\n"
    rewrite(log_path, text)
    broken = verify(log_path)
    assert broken is not None
    assert (broken.line, broken.problem) == (2, Problem.BAD_JSON)


@pytest.mark.parametrize(
    ("old", "new"),
    [('"day":1', '"day":NaN'), ('"agent-1"', '"\\ud800"')],
    ids=["nan", "surrogate"],
)
def test_hostile_edits_are_reported_not_raised(
    log_path: Path, write_days: WriteDays, old: str, new: str
) -> None:
    """Edits that no JSON encoder would write are reported as broken lines, never crash verify."""
    write_days(3)
    text = lines(log_path)
    text[1] = text[1].replace(old, new)
    rewrite(log_path, text)
    broken = verify(log_path)
    assert broken is not None
    assert broken.line == 2


def test_append_after_a_torn_line_is_refused(log_path: Path, write_days: WriteDays) -> None:
    """An append never extends a log whose last line is incomplete."""
    write_days(2)
    with log_path.open("a") as file:
        file.write('{"seq": 3, "ts"')
    with pytest.raises(IntegrityError, match="last line is not a complete entry"):
        AuditLog(log_path).append(events.RPC_CALLED, actor="x")


@pytest.mark.parametrize(
    ("event", "fields", "reason"),
    [
        ("rpc.invented", {}, "unknown event"),
        (events.CHECKPOINT, {}, "unknown event"),
        (events.RPC_CALLED, {"hash": "x"}, "field 'hash' is reserved"),
        (events.RPC_CALLED, {"value": float("nan")}, "must be JSON values"),
        (events.RPC_CALLED, {"value": object()}, "must be JSON values"),
    ],
    ids=["unknown", "checkpoint", "reserved", "nan", "object"],
)
def test_bad_entries_are_refused(
    log_path: Path, event: str, fields: dict[str, object], reason: str
) -> None:
    """Unknown events, reserved keys and non-JSON values are refused before anything is written."""
    with pytest.raises(BadRequest, match=reason):
        AuditLog(log_path).append(event, actor="x", **fields)
    assert not log_path.exists() or log_path.read_text() == ""


def test_a_new_writer_continues_the_chain(log_path: Path, write_days: WriteDays) -> None:
    """A second AuditLog on the same file (a restart) continues seq and prev."""
    write_days(3)
    entry = AuditLog(log_path).append(events.CONFIG_RELOADED, actor="skillrt")
    assert entry.seq == 4
    assert verify(log_path) is None


def test_concurrent_appends_keep_one_chain(log_path: Path) -> None:
    """Threads of this process and another process append at once; the chain holds."""
    code = (
        "import sys; from pathlib import Path\n"
        "from runtime.audit import events\n"
        "from runtime.audit.writer import AuditLog\n"
        "log = AuditLog(Path(sys.argv[1]))\n"
        "for i in range(40): log.append(events.RPC_CALLED, actor='other-process', i=i)\n"
    )
    other = subprocess.Popen([sys.executable, "-c", code, str(log_path)], cwd=paths.PROJECT_ROOT)
    log = AuditLog(log_path)

    def append_many(name: str) -> None:
        for i in range(20):
            log.append(events.RPC_CALLED, actor=name, i=i)

    threads = [threading.Thread(target=append_many, args=(f"t{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert other.wait(timeout=60) == 0
    assert verify(log_path) is None
    assert [e.seq for e in entries(log_path)] == list(range(1, 101))


def test_async_appends_are_serialized(log_path: Path) -> None:
    """append_async from many tasks yields distinct, gapless seqs."""
    log = AuditLog(log_path)

    async def main() -> list[int]:
        appended = await asyncio.gather(
            *(log.append_async(events.RPC_CALLED, actor="agent", i=i) for i in range(20))
        )
        return sorted(e.seq for e in appended)

    assert asyncio.run(main()) == list(range(1, 21))
    assert verify(log_path) is None
