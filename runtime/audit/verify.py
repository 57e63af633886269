"""Verifying the chain: the first line of a log that was edited, removed, reordered or forged.

A log verifies from its first line, which is either the genesis entry or a checkpoint left by
retention. Cutting lines off the end of the log leaves a valid chain: only a copy of the last
hash kept elsewhere can show that.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from runtime.audit.entry import GENESIS, Break, Problem, entry_hashes, parse_line
from runtime.audit.events import CHECKPOINT
from runtime.audit.keys import checkpoint_macs, default_key_path, read_key
from runtime.errors import NoSuchEntity

__all__ = ["verify"]


def verify(path: Path, *, key_path: Path | None = None) -> Break | None:
    """None when every line holds, else the first line that does not."""
    key_file = key_path or default_key_path(path)
    try:
        with path.open("rb") as file:
            return _verify(enumerate(file, 1), lambda: read_key(key_file))
    except FileNotFoundError as exc:
        raise NoSuchEntity(f"{path}: no audit log") from exc


def _verify(lines: Iterator[tuple[int, bytes]], key: Callable[[], bytes | None]) -> Break | None:
    want_seq, want_prev = 1, GENESIS
    for number, raw in lines:
        body, broken = parse_line(number, raw)
        if broken is not None:
            return broken
        assert body is not None
        seq = body["seq"]
        try:
            digests = entry_hashes(body)
        except ValueError:  # nested too deeply: nothing skillrt writes
            return Break(
                line=number, seq=seq, problem=Problem.BAD_JSON, detail="not canonical JSON"
            )
        if body["hash"] not in digests:
            return Break(
                line=number,
                seq=seq,
                problem=Problem.EDITED,
                detail="its hash does not match its content",
            )
        if body["event"] == CHECKPOINT:
            forged = _check_checkpoint(number, body, key)
            if forged is not None:
                return forged
            want_seq, want_prev = seq + 1, body["last_pruned_hash"]
            continue
        if seq != want_seq:
            return _sequence_break(number, seq, want_seq, lines)
        if body["prev"] != want_prev:
            return Break(
                line=number,
                seq=seq,
                problem=Problem.EDITED,
                detail=f"prev does not match the hash of line {number - 1}: "
                "one of the two was rewritten",
            )
        want_seq, want_prev = seq + 1, body["hash"]
    return None


def _check_checkpoint(
    number: int, body: dict[str, Any], key: Callable[[], bytes | None]
) -> Break | None:
    def forged(detail: str) -> Break:
        return Break(line=number, seq=body["seq"], problem=Problem.FORGED, detail=detail)

    if number != 1:
        return forged("a checkpoint can only be the first line")
    if not isinstance(body.get("last_pruned_hash"), str) or not isinstance(body.get("mac"), str):
        return forged("the checkpoint lacks last_pruned_hash or mac")
    secret = key()
    if secret is None:
        return forged("no key file to authenticate the checkpoint with")
    given = body["mac"].encode()
    if not any(hmac.compare_digest(m.encode(), given) for m in checkpoint_macs(secret, body)):
        return forged("its HMAC does not match: skillrt did not write it")
    return None


def _sequence_break(number: int, seq: int, want: int, rest: Iterator[tuple[int, bytes]]) -> Break:
    if seq < want:
        return Break(
            line=number,
            seq=seq,
            problem=Problem.REORDERED,
            detail=f"seq {seq} comes after seq {want - 1}",
        )
    for later, raw in rest:
        body, _ = parse_line(later, raw)
        if body is not None and body["seq"] == want:
            return Break(
                line=number,
                seq=seq,
                problem=Problem.REORDERED,
                detail=f"seq {want} should come first but is at line {later}",
            )
    missing = f"seq {want}" if seq == want + 1 else f"seqs {want} to {seq - 1}"
    unaccounted = " and no checkpoint accounts for them" if number == 1 else ""
    return Break(
        line=number,
        seq=seq,
        problem=Problem.REMOVED,
        detail=f"{missing} missing before it{unaccounted}",
    )
