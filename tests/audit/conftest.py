"""Audit logs written with a controllable clock, and helpers to tamper with their lines."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.audit import events
from runtime.audit.entry import entry_hash
from runtime.audit.writer import AuditLog

DAY = 86_400.0
START = 1_700_000_000.0  # 2023-11-14, a fixed past moment


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "audit.log"


@pytest.fixture
def write_days(log_path: Path, clock: Clock) -> Callable[[int], AuditLog]:
    """Append one rpc.called entry per day for ``days`` days, starting at START."""

    def write(days: int) -> AuditLog:
        log = AuditLog(log_path, clock=clock)
        for day in range(days):
            clock.now = START + day * DAY
            log.append(events.RPC_CALLED, actor="agent-1", method="/skillrt.v1/Invoke", day=day)
        return log

    return write


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def rewrite(path: Path, new_lines: list[str]) -> None:
    path.write_text("".join(new_lines))


def relinked_unkeyed(
    text: list[str], *, start: int = 0, stop: int | None = None, renumber: bool = False
) -> list[str]:
    """``text`` with lines ``start:stop`` relinked with plain sha256, as skillrt wrote logs
    before it keyed its chain (and as anyone can, without the key); ``renumber`` makes their
    seqs run on from the line before."""
    relinked = list(text)
    previous = json.loads(text[start - 1]) if start else {"hash": "", "seq": 0}
    for index in range(start, len(text) if stop is None else stop):
        body = json.loads(text[index])
        if renumber:
            body["seq"] = previous["seq"] + 1
        body["prev"] = previous["hash"]
        body["hash"] = entry_hash(body)
        relinked[index] = json.dumps(body, separators=(",", ":")) + "\n"
        previous = body
    return relinked
