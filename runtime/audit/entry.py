"""One entry of the audit log: its model, its line of JSON, its hash, and a line that breaks.

Each line is one entry ``{seq, ts, event, actor, ...fields, prev, hash}``: ``hash`` is computed
over the entry's canonical JSON without ``hash`` (keyed with the chain key, see ``chainkey``; the
unkeyed sha256 here is what logs written before that carry), and ``prev`` is the hash of the
entry before it (``GENESIS`` for the very first), so editing, removing or reordering a line breaks
the chain where it happened.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from runtime.audit.events import EVENTS
from runtime.errors import BadRequest
from runtime.util.canonical import canonical_bytes, strict_json

__all__ = [
    "GENESIS",
    "Break",
    "Entry",
    "Problem",
    "check_entry",
    "entry_hash",
    "entry_hashes",
    "format_ts",
    "legacy_bytes",
    "legacy_digests",
    "parse_line",
    "parse_ts",
    "render_line",
]

GENESIS = ""
_HEADER = ("seq", "ts", "event", "actor")
_RESERVED = frozenset({*_HEADER, "prev", "hash", "mac"})


@dataclass(frozen=True, kw_only=True)
class Entry:
    seq: int
    ts: str  # RFC 3339, UTC, milliseconds
    event: str
    actor: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    prev: str
    hash: str

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Entry:
        """The entry a parsed line stands for: what is not header or link is a field."""
        fields = {k: v for k, v in body.items() if k not in (*_HEADER, "prev", "hash")}
        return cls(
            seq=body["seq"],
            ts=body["ts"],
            event=body["event"],
            actor=body["actor"],
            fields=fields,
            prev=body["prev"],
            hash=body["hash"],
        )

    @property
    def time(self) -> datetime:
        return parse_ts(self.ts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "event": self.event,
            "actor": self.actor,
            **self.fields,
            "prev": self.prev,
            "hash": self.hash,
        }

    def line(self) -> str:
        return render_line(self.to_dict())


class Problem(StrEnum):
    BAD_JSON = "bad JSON"
    EDITED = "edited"
    REMOVED = "removed"
    REORDERED = "reordered"
    FORGED = "forged checkpoint"
    UNKEYED = "unkeyed"


@dataclass(frozen=True, kw_only=True)
class Break:
    """The first entry where the chain does not hold, and why."""

    line: int
    seq: int | None
    problem: Problem
    detail: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" (seq {self.seq})" if self.seq is not None else "")
        return f"{where}: {self.detail} ({self.problem})"


def format_ts(epoch_seconds: float) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_ts(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_entry(event: str, actor: str, fields: Mapping[str, Any]) -> None:
    """Refuse an entry the log would not accept, at the place that makes it."""
    if event not in EVENTS:
        raise BadRequest(f"audit: unknown event {event!r}")
    if not actor:
        raise BadRequest("audit: an entry needs an actor")
    reserved = sorted(_RESERVED & fields.keys())
    if reserved:
        raise BadRequest(f"audit: field {reserved[0]!r} is reserved")


def entry_hash(body: Mapping[str, Any]) -> str:
    """sha256 of an entry's canonical JSON, ``hash`` itself left out."""
    return hashlib.sha256(
        canonical_bytes({k: v for k, v in body.items() if k != "hash"})
    ).hexdigest()


def entry_hashes(body: Mapping[str, Any]) -> tuple[str, ...]:
    """Every unkeyed hash a genuine entry may carry: over RFC 8785 and over the form of logs
    written before it, so that an upgraded daemon still verifies and prunes its old log."""
    unsigned = {k: v for k, v in body.items() if k != "hash"}
    return (entry_hash(body), *legacy_digests(unsigned))


def legacy_bytes(value: Any) -> bytes | None:
    """The canonical form skillrt used before RFC 8785: sorted keys, compact, UTF-8."""
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode()
    except ValueError:  # a lone surrogate, NaN: nothing the old writer could have written
        return None


def legacy_digests(value: Any) -> tuple[str, ...]:
    data = legacy_bytes(value)
    return (hashlib.sha256(data).hexdigest(),) if data is not None else ()


def render_line(body: Mapping[str, Any]) -> str:
    """The text of one line, without its newline: compact JSON in the body's own key order.

    Readers see the fields in the order they were written; only the hash is over canonical JSON.
    """
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def parse_line(number: int, raw: bytes) -> tuple[dict[str, Any] | None, Break | None]:
    """The body of line ``number`` with its header and links checked, or why it is not one."""

    def bad(detail: str) -> tuple[None, Break]:
        return None, Break(line=number, seq=None, problem=Problem.BAD_JSON, detail=detail)

    try:
        body = strict_json(raw)
    except (ValueError, RecursionError):
        return bad("not a JSON object")
    if not isinstance(body, dict):
        return bad("not a JSON object")
    seq = body.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        return bad("seq missing or not a positive integer")
    for key in ("ts", "event", "actor", "prev", "hash"):
        if not isinstance(body.get(key), str):
            return bad(f"{key} missing or not a string")
    return body, None
