"""The operator verbs' plain text and flags (pure): usage windows, ps rows, top frames."""

from __future__ import annotations

import pytest

from runtime.cli.figures import cpu_text, size_text
from runtime.cli.ps import COLUMNS, table_row
from runtime.cli.top import frame, totals
from runtime.cli.usage import since_ms
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb

NOW = 1_800_000_000_000


def _running(cpu_ms: int, memory: int) -> pb.Invocation:
    return pb.Invocation(
        id="inv_1",
        skill="s",
        tool="t",
        state=pb.INVOCATION_STATE_RUNNING,
        created_at_ms=NOW - 5000,
        usage=pb.Usage(cpu_ms=cpu_ms, peak_memory_bytes=2 * memory),
        memory_bytes=memory,
    )


def test_a_usage_window_is_a_duration_back_or_a_date() -> None:
    """--since 1h counts back from now; a date without a zone is UTC; anything else is refused."""
    assert since_ms("1h", NOW) == NOW - 3_600_000
    assert since_ms("2025-01-31", NOW) == 1_738_281_600_000
    assert since_ms("2025-01-31T01:00+01:00", NOW) == 1_738_281_600_000
    with pytest.raises(ValueError, match="like 1h or 7d"):
        since_ms("yesterday", NOW)


def test_a_running_call_shows_cpu_so_far_and_memory_held_now() -> None:
    """ps: CPU so far and the memory held now; a call not started shows neither."""
    row = dict(zip(COLUMNS, table_row(_running(1234, 3 * 1024 * 1024), NOW), strict=True))
    assert (row["AGE"], row["CPU"], row["MEM"], row["STATE"]) == (
        "5s",
        "1.23s",
        "3.0MiB",
        "running",
    )
    queued = pb.Invocation(id="inv_2", state=pb.INVOCATION_STATE_QUEUED, created_at_ms=NOW)
    row = dict(zip(COLUMNS, table_row(queued, NOW), strict=True))
    assert row["CPU"] == row["MEM"] == ""


def test_a_top_frame_adds_up_what_runs() -> None:
    """top's first line counts per state and sums CPU and memory held now."""
    found = [_running(1000, 1024), _running(500, 2048)]
    assert totals(found) == {"states": {"running": 2}, "cpu_ms": 1500, "memory_bytes": 3072}
    head = frame(found, NOW)[0]
    assert "2 running" in head and "CPU 1.50s" in head and "memory 3.0KiB" in head


def test_times_and_sizes_read_at_a_glance() -> None:
    assert [cpu_text(ms) for ms in (40, 12_345, 4_512_000)] == ["0.04s", "12.3s", "4512s"]
    assert [size_text(n) for n in (512, 1536, 5 * 1024**3)] == ["512B", "1.5KiB", "5.0GiB"]
