"""Verifying the chain: the first line of a log that was edited, removed, reordered or forged.

A log verifies from its first line, which is either the genesis entry or a checkpoint left by
retention. Every hash after the chain key's ``legacy_until`` must be keyed (see ``chainkey``), so
without the key no rewrite verifies. Cutting lines off the end of the log still leaves a valid
chain: an anchor of the head kept off the host (see ``anchor``) is what shows that. A log that
is empty, or has lost every keyed line, while its chain key exists is reported as cut.

A log with entries and no chain key is refused too: its hashes are plain sha256, which anyone
who can write the log can recompute, so its chain proves nothing, and a chain key moved away is
indistinguishable from one never made. Only ``unkeyed=True`` (the operator checking a log from
before skillrt keyed its chain, say to adopt it) checks such a log link by link.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.audit.chainkey import (
    ChainKey,
    Link,
    default_key_dir,
    link_kind,
    missing_key,
    read_chain_key,
)
from runtime.audit.entry import GENESIS, Break, Problem, parse_line
from runtime.audit.events import CHECKPOINT
from runtime.audit.keys import checkpoint_macs, default_key_path, read_key
from runtime.errors import NoSuchEntity

__all__ = ["Head", "Verdict", "check", "verify"]


@dataclass(frozen=True, kw_only=True)
class Head:
    """One line as a link of the chain: its seq and hash (for a checkpoint, the seq and hash of
    the last entry it stands for, which the chain continues from)."""

    line: int
    seq: int
    hash: str
    ts: str
    keyed: bool


@dataclass(frozen=True, kw_only=True)
class Verdict:
    broken: Break | None
    key: ChainKey | None
    first: Head | None = None
    last: Head | None = None
    found: Head | None = None  # the line at the seq asked for, when the log has it


def verify(path: Path, *, keys: Path | None = None, unkeyed: bool = False) -> Break | None:
    """None when every line holds, else the first line that does not."""
    return check(path, keys=keys, unkeyed=unkeyed).broken


def check(
    path: Path, *, keys: Path | None = None, at_seq: int | None = None, unkeyed: bool = False
) -> Verdict:
    """The chain of ``path`` checked under the chain key in ``keys``, and the line at
    ``at_seq``; ``unkeyed`` accepts a log that has no chain key by its plain hashes alone."""
    directory = keys or default_key_dir(path)
    key = read_chain_key(directory)
    legacy = default_key_path(path)
    try:
        file = path.open("rb")
    except FileNotFoundError as exc:
        cut = f", but its chain key {key.path} exists: it was removed" if key else ""
        raise NoSuchEntity(f"{path}: no audit log{cut}") from exc
    first = last = found = None
    keyed = False
    with file:
        for step in _links(enumerate(file, 1), key, directory, lambda: read_key(legacy)):
            if isinstance(step, Break):
                return Verdict(broken=step, key=key)
            first, last, keyed = first or step, step, keyed or step.keyed
            found = step if step.seq == at_seq else found
    broken = _keyless(directory, last) if key is None and not unkeyed else _cut(key, last, keyed)
    return Verdict(broken=broken, key=key, first=first, last=last, found=found)


def _links(
    lines: Iterator[tuple[int, bytes]],
    key: ChainKey | None,
    directory: Path,
    legacy_key: Callable[[], bytes | None],
) -> Iterator[Head | Break]:
    """Each line as a link while the chain holds; then the break, if there is one."""
    want_seq, want_prev = 1, GENESIS
    for number, raw in lines:
        body, broken = parse_line(number, raw)
        if broken is not None:
            yield broken
            return
        assert body is not None
        seq = body["seq"]
        try:
            kind = link_kind(key, body)
        except ValueError:  # nested too deeply: nothing skillrt writes
            yield Break(line=number, seq=seq, problem=Problem.BAD_JSON, detail="not canonical JSON")
            return
        broken = _unlinked(number, body, kind, key, directory)
        if broken is None and body["event"] == CHECKPOINT:
            broken = _check_checkpoint(number, body, kind, legacy_key)
        elif broken is None and seq != want_seq:
            broken = _sequence_break(number, seq, want_seq, lines)
        elif broken is None and body["prev"] != want_prev:
            broken = Break(
                line=number,
                seq=seq,
                problem=Problem.EDITED,
                detail=f"prev does not match the hash of line {number - 1}: "
                "one of the two was rewritten",
            )
        if broken is not None:
            yield broken
            return
        link = body["last_pruned_hash"] if body["event"] == CHECKPOINT else body["hash"]
        want_seq, want_prev = seq + 1, link
        yield Head(line=number, seq=seq, hash=link, ts=body["ts"], keyed=kind is Link.KEYED)


def _unlinked(
    number: int, body: dict[str, Any], kind: Link | None, key: ChainKey | None, directory: Path
) -> Break | None:
    """Why a line's hash is not one this log may carry at its seq, if it is not."""
    seq = body["seq"]

    def broken(problem: Problem, detail: str) -> Break:
        return Break(line=number, seq=seq, problem=problem, detail=detail)

    if kind is None:
        unchecked = "" if key else f" (no chain key in {directory} to check a keyed hash)"
        return broken(Problem.EDITED, f"its hash does not match its content{unchecked}")
    if kind is Link.UNKEYED and key is not None and seq > key.legacy_until:
        keyed = f"after seq {key.legacy_until}" if key.legacy_until else "in this log"
        problem = Problem.FORGED if body["event"] == CHECKPOINT else Problem.EDITED
        return broken(
            problem,
            f"its hash is not keyed, but every entry {keyed} is: it was rewritten without "
            "the chain key",
        )
    return None


def _check_checkpoint(
    number: int,
    body: dict[str, Any],
    kind: Link | None,
    legacy_key: Callable[[], bytes | None],
) -> Break | None:
    def forged(detail: str) -> Break:
        return Break(line=number, seq=body["seq"], problem=Problem.FORGED, detail=detail)

    if number != 1:
        return forged("a checkpoint can only be the first line")
    if not isinstance(body.get("last_pruned_hash"), str):
        return forged("the checkpoint lacks last_pruned_hash")
    if kind is Link.KEYED:
        return None
    # Pruned before the chain was keyed: authenticated by the checkpoint key beside the log.
    if not isinstance(body.get("mac"), str):
        return forged("the checkpoint lacks its mac")
    secret = legacy_key()
    if secret is None:
        return forged("no key file to authenticate the checkpoint with")
    given = body["mac"].encode()
    if not any(hmac.compare_digest(m.encode(), given) for m in checkpoint_macs(secret, body)):
        return forged("its HMAC does not match: skillrt did not write it")
    return None


def _keyless(directory: Path, last: Head | None) -> Break | None:
    """A log with entries but no chain key to check them with."""
    if last is None:
        return None
    return Break(
        line=1,
        seq=None,
        problem=Problem.UNKEYED,
        detail=f"nothing shows the log was not rewritten: {missing_key(directory)}",
    )


def _cut(key: ChainKey | None, last: Head | None, keyed: bool) -> Break | None:
    """A log that has lost what its chain key says it had: its keyed lines, or more."""
    if key is None:
        return None
    line = last.line + 1 if last else 1
    if last is not None and last.seq < key.legacy_until:
        return Break(
            line=line,
            seq=None,
            problem=Problem.REMOVED,
            detail=f"the log ends at seq {last.seq}, but seq {key.legacy_until} was written "
            "before the chain was keyed: entries were cut off",
        )
    if keyed:
        return None
    what = "the log is empty" if last is None else "no line is keyed"
    return Break(
        line=line,
        seq=None,
        problem=Problem.REMOVED,
        detail=f"{what}, but its chain key {key.path} exists: keyed entries were removed",
    )


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
