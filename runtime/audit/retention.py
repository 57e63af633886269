"""Retention: prune the oldest entries and keep the rest verifiable.

The new file starts with a checkpoint entry that stands for the pruned range. Its ``seq`` is the
last pruned entry's seq and it records how many entries were pruned and the last pruned hash,
from which the chain continues. Its hash is keyed like every entry's (see ``chainkey``), so
whoever can delete lines still cannot forge one.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from runtime.audit.chainkey import default_key_dir
from runtime.audit.entry import GENESIS, Entry, format_ts, parse_ts
from runtime.audit.events import CHECKPOINT
from runtime.audit.lock import ProcessLock
from runtime.audit.verify import check
from runtime.errors import IntegrityError
from runtime.util.fsio import fsync_dir

__all__ = ["DEFAULT_RETENTION_MS", "PruneReport", "prune"]

DEFAULT_RETENTION_MS = 30 * 86_400_000


@dataclass(frozen=True, kw_only=True)
class PruneReport:
    pruned: int
    kept: int
    checkpoint: Entry | None  # None when nothing was old enough


def prune(
    path: Path,
    *,
    older_than_ms: int = DEFAULT_RETENTION_MS,
    now: float | None = None,
    actor: str = "skillrt",
    keys: Path | None = None,
) -> PruneReport:
    """Drop the entries older than ``older_than_ms``, keeping the rest verifiable.

    Refuses a log that does not verify: pruning it would erase the evidence of tampering.
    The file is replaced atomically (temporary file, fsync, rename).
    """
    moment = time.time() if now is None else now
    cutoff = moment - older_than_ms / 1000
    directory = keys or default_key_dir(path)
    with ProcessLock(path):
        verdict = check(path, keys=directory)
        if verdict.broken is not None:
            raise IntegrityError(
                f"{path}: {verdict.broken}; refusing to prune a log that does not verify"
            )
        with path.open("rb") as source:
            earlier, newly, last = _skip_old(source, cutoff)
            if last is None or verdict.last is None:
                return PruneReport(pruned=0, kept=sum(1 for _ in source), checkpoint=None)
            key = verdict.key
            assert key is not None  # check refuses a log with entries and no chain key
            body: dict[str, Any] = {
                "seq": last["seq"],
                "ts": format_ts(moment),
                "event": CHECKPOINT,
                "actor": actor,
                "pruned": earlier + newly,
                "pruned_before": format_ts(cutoff),
                "last_pruned_hash": last["hash"],
                "prev": GENESIS,
            }
            checkpoint = Entry.from_body({**body, "hash": key.link(body)})
            kept = _replace(path, checkpoint, source)
    return PruneReport(pruned=newly, kept=kept, checkpoint=checkpoint)


def _skip_old(source: BinaryIO, cutoff: float) -> tuple[int, int, dict[str, Any] | None]:
    """Read past the entries older than ``cutoff``: a prefix, so the rest stays one chain.

    Returns (pruned by earlier checkpoints, old entries now, the last old entry), leaving
    ``source`` at the first line to keep. The log has just verified, so every line parses.
    """
    earlier = newly = 0
    last = None
    while True:
        start = source.tell()
        raw = source.readline()
        if not raw:
            break
        body = json.loads(raw)
        if body["event"] == CHECKPOINT:
            earlier = body["pruned"]
            continue
        if parse_ts(body["ts"]).timestamp() >= cutoff:
            source.seek(start)
            break
        newly, last = newly + 1, body
    return earlier, newly, last


def _replace(path: Path, checkpoint: Entry, rest: BinaryIO) -> int:
    """Write the checkpoint and the ``rest`` lines to a new file and rename it over ``path``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write((checkpoint.line() + "\n").encode())
            kept = 0
            for raw in rest:
                out.write(raw)
                kept += 1
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return kept
