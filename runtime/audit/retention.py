"""Retention: prune the oldest entries and keep the rest verifiable.

The new file starts with a checkpoint entry that stands for the pruned range. Its ``seq`` is the
last pruned entry's seq and it records how many entries were pruned and the last pruned hash,
from which the chain continues. A checkpoint is authenticated with an HMAC under the key beside
the log (see ``keys``), so whoever can delete lines still cannot forge one.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from runtime.audit.entry import GENESIS, Entry, entry_hash, format_ts, parse_ts
from runtime.audit.events import CHECKPOINT
from runtime.audit.keys import checkpoint_mac, default_key_path, key_for_writing
from runtime.audit.lock import ProcessLock
from runtime.audit.verify import verify
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
    key_path: Path | None = None,
) -> PruneReport:
    """Drop the entries older than ``older_than_ms``, keeping the rest verifiable.

    Refuses a log that does not verify: pruning it would erase the evidence of tampering.
    The file is replaced atomically (temporary file, fsync, rename).
    """
    moment = time.time() if now is None else now
    cutoff = moment - older_than_ms / 1000
    key_file = key_path or default_key_path(path)
    with ProcessLock(path):
        broken = verify(path, key_path=key_file)
        if broken is not None:
            raise IntegrityError(f"{path}: {broken}; refusing to prune a log that does not verify")
        with path.open("rb") as source:
            earlier, newly, last = _skip_old(source, cutoff)
            if last is None:
                return PruneReport(pruned=0, kept=sum(1 for _ in source), checkpoint=None)
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
            body["mac"] = checkpoint_mac(key_for_writing(key_file), body)
            checkpoint = Entry.from_body({**body, "hash": entry_hash(body)})
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
