"""The tamper-evident audit log: an append-only hash chain of JSON lines.

Each line is one entry ``{seq, ts, event, actor, ...fields, prev, hash}``: ``hash`` is the sha256
of the entry's canonical JSON without ``hash``, and ``prev`` is the hash of the entry before it
(``""`` for the very first), so editing, removing or reordering a line breaks the chain where it
happened and ``verify`` names that line. Appends are serialized across threads and processes (a
lock file beside the log), written with one ``write`` and fsync'd.

Retention prunes the oldest entries but keeps the rest verifiable: the new file starts with a
checkpoint entry that stands for the pruned range. Its ``seq`` is the last pruned entry's seq and
it records how many entries were pruned and the last pruned hash, from which the chain continues.
A checkpoint is authenticated with an HMAC whose key lives in a 0600 file beside the log, so
whoever can delete lines still cannot forge one. Cutting lines off the end of the log leaves a
valid chain: only a copy of the last hash kept elsewhere can show that.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import hashlib
import hmac
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

import structlog

from runtime.errors import BadRequest, IntegrityError, NoSuchEntity
from runtime.util.canonical import canonical_bytes, strict_json
from runtime.util.fsio import fsync_dir

_log = structlog.get_logger("skillrt.audit")

# Event vocabulary. Invocation events carry skill, tool, version, content_hash, input_hash,
# profile and limits; invocation.finished adds status and usage. No event carries an input, an
# output or a secret value: the log is kept for 30 days and cannot be edited to remove one.
AUTH_FAILED = "auth.failed"
RPC_CALLED = "rpc.called"
INVOCATION_REQUESTED = "invocation.requested"
INVOCATION_STARTED = "invocation.started"
INVOCATION_FINISHED = "invocation.finished"
APPROVAL_REQUESTED = "approval.requested"
APPROVAL_DECIDED = "approval.decided"
APPROVAL_EXPIRED = "approval.expired"
TOKEN_CREATED = "token.created"
TOKEN_REVOKED = "token.revoked"
TOKEN_ROTATED = "token.rotated"
SECRET_SET = "secret.set"
SECRET_REMOVED = "secret.removed"
SECRET_ACCESSED = "secret.accessed"
SECRET_REFRESHED = "secret.refreshed"
SECRET_REVOKED = "secret.revoked"
SECRET_KEY_ROTATED = "secret.key_rotated"
CONFIG_RELOADED = "config.reloaded"
DATA_EXPORTED = "data.exported"
DATA_DELETED = "data.deleted"
EGRESS_DECIDED = "egress.decided"  # one network connection a sandbox asked for, and the answer
CHECKPOINT = "audit.checkpoint"  # written by prune only
EVENTS = frozenset(
    {
        EGRESS_DECIDED,
        AUTH_FAILED,
        RPC_CALLED,
        INVOCATION_REQUESTED,
        INVOCATION_STARTED,
        INVOCATION_FINISHED,
        APPROVAL_REQUESTED,
        APPROVAL_DECIDED,
        APPROVAL_EXPIRED,
        TOKEN_CREATED,
        TOKEN_REVOKED,
        TOKEN_ROTATED,
        SECRET_SET,
        SECRET_REMOVED,
        SECRET_ACCESSED,
        SECRET_REFRESHED,
        SECRET_REVOKED,
        SECRET_KEY_ROTATED,
        CONFIG_RELOADED,
        DATA_EXPORTED,
        DATA_DELETED,
    }
)
DEFAULT_RETENTION_MS = 30 * 86_400_000
GENESIS = ""
_HEADER = ("seq", "ts", "event", "actor")
_RESERVED = frozenset({*_HEADER, "prev", "hash", "mac"})
_KEY_BYTES = 32
_CHUNK = 65536


@dataclass(frozen=True, kw_only=True)
class Entry:
    seq: int
    ts: str  # RFC 3339, UTC, milliseconds
    event: str
    actor: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    prev: str
    hash: str

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
        return _dumps(self.to_dict())


class Problem(StrEnum):
    BAD_JSON = "bad JSON"
    EDITED = "edited"
    REMOVED = "removed"
    REORDERED = "reordered"
    FORGED = "forged checkpoint"


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


@dataclass(frozen=True, kw_only=True)
class Query:
    """Which entries to read: event names (``token.*`` for a family), actor, time range."""

    events: Collection[str] = ()
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, entry: Entry) -> bool:
        if self.events and not any(_event_matches(entry.event, e) for e in self.events):
            return False
        if self.actor is not None and entry.actor != self.actor:
            return False
        if self.since is not None and entry.time < self.since:
            return False
        return self.until is None or entry.time < self.until


@dataclass(frozen=True, kw_only=True)
class PruneReport:
    pruned: int
    kept: int
    checkpoint: Entry | None  # None when nothing was old enough


def default_key_path(log: Path) -> Path:
    return log.with_suffix(".key")


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


class BackgroundAudit:
    """Appends for the daemon's event loop without making a request wait for the fsync.

    One writer task takes entries in the order they were emitted and appends them in a thread;
    ``close`` writes out everything emitted before returning, so a clean stop loses nothing.
    """

    def __init__(self, log: AuditLog) -> None:
        self.log = log
        self._queue: asyncio.Queue[tuple[str, str, dict[str, Any]]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    def emit(self, event: str, *, actor: str, **fields: Any) -> None:
        check_entry(event, actor, fields)
        self._queue.put_nowait((event, actor, fields))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while True:
            event, actor, fields = await self._queue.get()
            try:
                await asyncio.to_thread(
                    functools.partial(self.log.append, event, actor=actor, **fields)
                )
            except Exception:
                # One unwritable entry must not silence every later one.
                _log.exception("audit entry not written", audit_event=event)
            finally:
                self._queue.task_done()

    async def close(self) -> None:
        await self._queue.join()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer


class AuditLog:
    """Appends entries to one log file; safe to share between threads and event loops."""

    def __init__(self, path: Path, *, clock: Callable[[], float] | None = None) -> None:
        self.path = path
        self._clock = clock or time.time
        self._lock = _ProcessLock(path)
        # (inode, size) of the file when this process last wrote, and the link that follows:
        # while the file is unchanged the last line need not be read again.
        self._tail: tuple[int, int, int, str] | None = None

    def append(self, event: str, *, actor: str, **fields: Any) -> Entry:
        check_entry(event, actor, fields)
        with self._lock:
            return self._write(event, actor, fields)

    async def append_async(self, event: str, *, actor: str, **fields: Any) -> Entry:
        """``append`` off the event loop: the fsync must not stall other requests."""
        return await asyncio.to_thread(lambda: self.append(event, actor=actor, **fields))

    def _write(self, event: str, actor: str, fields: dict[str, Any]) -> Entry:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            st = os.fstat(fd)
            if st.st_mode & 0o077:
                os.fchmod(fd, 0o600)
            if self._tail is not None and self._tail[:2] == (st.st_ino, st.st_size):
                seq, prev = self._tail[2:]
            else:
                seq, prev = _next_link(self.path)
            body: dict[str, Any] = {
                "seq": seq,
                "ts": format_ts(self._clock()),
                "event": event,
                "actor": actor,
                **fields,
                "prev": prev,
            }
            try:
                # Hash what a reader will parse back, not Python values that JSON changes (an
                # int key becomes a string, a tuple a list).
                body = json.loads(_dumps(body))
                entry = _entry({**body, "hash": entry_hash(body)})
                data = (entry.line() + "\n").encode()
            except (TypeError, ValueError) as exc:
                raise BadRequest(f"audit: fields must be JSON values: {exc}") from exc
            if os.write(fd, data) != len(data):
                raise OSError(f"short write to {self.path}")
            os.fsync(fd)
            if st.st_size == 0:
                fsync_dir(self.path.parent)
            self._tail = (st.st_ino, st.st_size + len(data), seq + 1, entry.hash)
            return entry
        finally:
            os.close(fd)


def entry_hash(body: Mapping[str, Any]) -> str:
    """sha256 of an entry's canonical JSON, ``hash`` itself left out."""
    return hashlib.sha256(
        canonical_bytes({k: v for k, v in body.items() if k != "hash"})
    ).hexdigest()


def checkpoint_mac(key: bytes, body: Mapping[str, Any]) -> str:
    unsigned = {k: v for k, v in body.items() if k not in ("hash", "mac")}
    return hmac.new(key, canonical_bytes(unsigned), hashlib.sha256).hexdigest()


def verify(path: Path, *, key_path: Path | None = None) -> Break | None:
    """None when every line holds, else the first line that does not."""
    key_file = key_path or default_key_path(path)
    try:
        with path.open("rb") as file:
            return _verify(enumerate(file, 1), lambda: _read_key(key_file))
    except FileNotFoundError as exc:
        raise NoSuchEntity(f"{path}: no audit log") from exc


def _verify(lines: Iterator[tuple[int, bytes]], key: Callable[[], bytes | None]) -> Break | None:
    want_seq, want_prev = 1, GENESIS
    for number, raw in lines:
        body, broken = _parse_line(number, raw)
        if broken is not None:
            return broken
        assert body is not None
        seq = body["seq"]
        try:
            digest = entry_hash(body)
        except ValueError:  # a lone surrogate: nothing skillrt writes
            return Break(
                line=number, seq=seq, problem=Problem.BAD_JSON, detail="not canonical JSON"
            )
        if digest != body["hash"]:
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
    if not hmac.compare_digest(checkpoint_mac(secret, body).encode(), body["mac"].encode()):
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
        body, _ = _parse_line(later, raw)
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


def _parse_line(number: int, raw: bytes) -> tuple[dict[str, Any] | None, Break | None]:
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


def entries(path: Path, query: Query | None = None) -> Iterator[Entry]:
    """Every entry of the log that ``query`` matches, oldest first."""
    wanted = query or Query()
    with contextlib.closing(_Reader(path)) as reader:
        yield from (e for e in reader.available() if wanted.matches(e))


def tail(
    path: Path,
    count: int,
    query: Query | None = None,
    *,
    follow: bool = False,
    poll_seconds: float = 0.5,
    stop: Callable[[], bool] | None = None,
) -> Iterator[Entry]:
    """The last ``count`` matching entries; with ``follow``, then each new one as it comes.

    Following survives a prune (the file is replaced): the new file is read from its start and
    entries already seen are skipped. ``stop`` is asked between polls.
    """
    wanted = query or Query()
    with contextlib.closing(_Reader(path)) as reader:
        yield from deque((e for e in reader.available() if wanted.matches(e)), maxlen=count)
        while follow and not (stop is not None and stop()):
            fresh = list(reader.available())
            yield from (e for e in fresh if wanted.matches(e))
            if not fresh:
                time.sleep(poll_seconds)


class _Reader:
    """Reads complete lines as they are appended; reopens the file when a prune replaces it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._inode = -1
        self._line = 0
        self._last_seq = 0

    def available(self) -> Iterator[Entry]:
        self._reopen_if_replaced()
        if self._file is None:
            return
        while True:
            start = self._file.tell()
            raw = self._file.readline()
            if not raw.endswith(b"\n"):
                self._file.seek(start)  # a line still being written
                return
            self._line += 1
            body, broken = _parse_line(self._line, raw)
            if broken is not None:
                raise IntegrityError(f"{self.path}: {broken}; run `skillrt audit verify`")
            assert body is not None
            # After a prune replaced the file, what was already read is read again: skip it.
            if body["seq"] > self._last_seq:
                self._last_seq = body["seq"]
                yield _entry(body)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def _reopen_if_replaced(self) -> None:
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            if self._file is None:
                raise NoSuchEntity(f"{self.path}: no audit log") from None
            return
        if inode == self._inode:
            return
        self.close()
        self._file = self.path.open("rb")
        self._inode = os.fstat(self._file.fileno()).st_ino
        self._line = 0


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
    with _ProcessLock(path):
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
            body["mac"] = checkpoint_mac(_key_for_writing(key_file), body)
            checkpoint = _entry({**body, "hash": entry_hash(body)})
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


def _next_link(path: Path) -> tuple[int, str]:
    """The seq and prev of the entry that follows the last line of ``path``."""
    raw = _last_line(path)
    if raw is None:
        return 1, GENESIS
    body, broken = _parse_line(0, raw)
    if broken is not None or not raw.endswith(b"\n"):
        raise IntegrityError(
            f"{path}: the last line is not a complete entry; run `skillrt audit verify`"
        )
    assert body is not None
    if body["event"] == CHECKPOINT:
        return body["seq"] + 1, str(body["last_pruned_hash"])
    return body["seq"] + 1, str(body["hash"])


def _last_line(path: Path) -> bytes | None:
    with path.open("rb") as file:
        end = file.seek(0, os.SEEK_END)
        if end == 0:
            return None
        tail = b""
        position = end
        # Read backwards until the newline that ends the line before the last one.
        while position > 0 and tail.count(b"\n") < 2:
            step = min(_CHUNK, position)
            position -= step
            file.seek(position)
            tail = file.read(step) + tail
        return tail.rstrip(b"\n").rsplit(b"\n", 1)[-1] + (b"\n" if tail.endswith(b"\n") else b"")


def _entry(body: Mapping[str, Any]) -> Entry:
    fields = {k: v for k, v in body.items() if k not in (*_HEADER, "prev", "hash")}
    return Entry(
        seq=body["seq"],
        ts=body["ts"],
        event=body["event"],
        actor=body["actor"],
        fields=fields,
        prev=body["prev"],
        hash=body["hash"],
    )


def _event_matches(event: str, pattern: str) -> bool:
    if pattern.endswith(".*"):
        return event.startswith(pattern[:-1])
    return event == pattern


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _read_key(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if mode & 0o077:
            raise IntegrityError(
                f"{path}: readable by others (mode {mode & 0o777:04o}): whoever reads it can "
                "forge checkpoints; chmod 600 it"
            )
        try:
            key = bytes.fromhex(file.read().decode("ascii").strip())
        except ValueError as exc:
            raise IntegrityError(f"{path}: not a hex key") from exc
    if len(key) != _KEY_BYTES:
        raise IntegrityError(f"{path}: expected a {_KEY_BYTES}-byte key")
    return key


def _key_for_writing(path: Path) -> bytes:
    """The checkpoint key, created (0600) the first time a log is pruned."""
    existing = _read_key(path)
    if existing is not None:
        return existing
    key = os.urandom(_KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return _read_key(path) or key
    with os.fdopen(fd, "wb") as file:
        file.write(key.hex().encode() + b"\n")
        file.flush()
        os.fsync(file.fileno())
    fsync_dir(path.parent)
    return key


class _ProcessLock:
    """Serializes writers of one log: a thread lock, then ``flock`` on a lock file beside it.

    The lock file is never replaced, unlike the log, so a prune and an append in two processes
    always lock the same inode.
    """

    def __init__(self, log: Path) -> None:
        self._path = log.with_name(log.name + ".lock")
        self._thread = threading.Lock()
        self._fd = -1

    def __enter__(self) -> None:
        self._thread.acquire()
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
        except BaseException:
            self._thread.release()
            raise

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)  # closing the last descriptor releases the flock
        self._fd = -1
        self._thread.release()
