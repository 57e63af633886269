"""The audit log page: entries filtered and paged newest first, the chain's verification, and
an export of what a filter selects (recorded in the log itself, as ``skillrt audit export``).

Who may read it is QueryAudit's roles. The log is read from its file, off the event loop; the
chain is verified under the daemon's chain key once per version of the file.
"""

from __future__ import annotations

import asyncio
import datetime
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from runtime.audit import events
from runtime.audit.entry import Entry
from runtime.audit.query import Query, entries
from runtime.audit.verify import check
from runtime.console.web import SITE, page, require
from runtime.errors import BadRequest, NoSuchEntity, SkillRuntimeError

__all__ = ["setup"]

_PAGE = 100
_FILTERS = ("event", "actor", "since", "until")
_CHAIN = web.AppKey("audit_chain", dict[str, Any])


@dataclass(frozen=True, kw_only=True)
class _Chain:
    intact: bool
    text: str


def setup(app: web.Application) -> None:
    app[_CHAIN] = {}
    app.router.add_get("/audit", audit_page)
    app.router.add_get("/audit/export", export)


async def audit_page(request: web.Request) -> web.StreamResponse:
    require(request, "audit")
    backend = request.app[SITE].backend
    chosen = {key: request.query.get(key, "").strip() for key in _FILTERS}
    query = _query(chosen)
    before = _before(request.query.get("before", ""))
    path = backend.audit_log.log.path
    shown, more = await asyncio.to_thread(_page, path, query, before)
    chain = await _chain(request, path, backend.audit_keys)
    older = ""
    if more and shown:
        kept = {k: v for k, v in chosen.items() if v}
        older = urlencode({**kept, "before": str(shown[-1].seq)})
    return page(
        request,
        "audit.html",
        title="Audit log",
        entries=shown,
        chosen=chosen,
        chain=chain,
        older=older,
        exported=urlencode({k: v for k, v in chosen.items() if v}),
    )


async def export(request: web.Request) -> web.StreamResponse:
    """What the filter selects, oldest first, as JSON lines to download."""
    session = require(request, "audit")
    backend = request.app[SITE].backend
    query = _query({key: request.query.get(key, "").strip() for key in _FILTERS})
    path = backend.audit_log.log.path
    lines = await asyncio.to_thread(lambda: [e.line() for e in _read(path, query)])
    # On disk before the data leaves: an export the log cannot record is not made.
    await backend.audit_log.record(
        events.DATA_EXPORTED, actor=session.principal.name, what="audit", entries=len(lines)
    )
    body = "".join(line + "\n" for line in lines)
    return web.Response(
        text=body,
        content_type="application/jsonl",
        headers={"Content-Disposition": 'attachment; filename="skillrt-audit.jsonl"'},
    )


def _query(chosen: dict[str, str]) -> Query:
    return Query(
        events=(chosen["event"],) if chosen["event"] else (),
        actor=chosen["actor"] or None,
        since=_date(chosen["since"], "since"),
        until=_date(chosen["until"], "until", next_day=True),
    )


def _date(text: str, name: str, *, next_day: bool = False) -> datetime.datetime | None:
    if not text:
        return None
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(f"{name}: a date, YYYY-MM-DD") from exc
    if next_day:  # until a day means until its end
        if day == datetime.date.max:
            return None  # the end of the last day there is: no bound at all
        day += datetime.timedelta(days=1)
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)


def _before(text: str) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise BadRequest("before: not where an earlier page ended")
    return int(text)


def _read(path: Path, query: Query) -> list[Entry]:
    try:
        return list(entries(path, query))
    except NoSuchEntity:
        return []  # no entry yet


def _page(path: Path, query: Query, before: int | None) -> tuple[list[Entry], bool]:
    """The newest ``_PAGE`` matching entries before seq ``before``, newest first, and whether
    older ones match too."""
    found: deque[Entry] = deque(maxlen=_PAGE + 1)
    for entry in _read(path, query):
        if before is None or entry.seq < before:
            found.append(entry)
    newest = list(reversed(found))
    return newest[:_PAGE], len(newest) > _PAGE


async def _chain(request: web.Request, path: Path, keys: Path) -> _Chain:
    """The chain's verification, kept until the file changes (a log is only appended to)."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return _Chain(intact=False, text="no audit log yet")
    version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    cache: dict[str, Any] = request.app[_CHAIN]
    if cache.get("version") != version:
        cache["version"], cache["chain"] = version, await asyncio.to_thread(_verify, path, keys)
    chain: _Chain = cache["chain"]
    return chain


def _verify(path: Path, keys: Path) -> _Chain:
    try:
        verdict = check(path, keys=keys)
    except SkillRuntimeError as exc:
        return _Chain(intact=False, text=str(exc))
    if verdict.broken is not None:
        return _Chain(intact=False, text=f"broken at {verdict.broken}")
    first, last = verdict.first, verdict.last
    span = f"seq {first.seq} to {last.seq}" if first and last else "no entries"
    return _Chain(intact=True, text=f"intact, keyed: {span}")
