"""The invocations pages: running and recent calls with filters, and one call in detail.

What a person sees is what ListInvocations and GetInvocation would answer them: an agent its
own calls, a viewer others' without what they printed, a result held for approval not at all.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from runtime.console.web import SITE, page, require
from runtime.core.live import LiveUsage
from runtime.core.records import InvocationQuery, InvocationRecord, State
from runtime.errors import BadRequest
from runtime.sandbox.result import Status, Usage

__all__ = ["setup"]

_PAGE = 50
_LAST_MS = 2**63 - 1
_STATES = {state.value: state for state in State}
_STATUSES = {status.value: status for status in Status}
_FILTERS = ("skill", "status", "principal")


def setup(app: web.Application) -> None:
    app.router.add_get("/invocations", listing)
    app.router.add_get("/invocations/{id}", detail)


async def listing(request: web.Request) -> web.StreamResponse:
    session = require(request, "invocations")
    invocations = request.app[SITE].backend.invocations
    chosen = {key: request.query.get(key, "").strip() for key in _FILTERS}
    query = _query(chosen, request.query.get("before", ""))
    found, last = await invocations.listing(session.principal, query)
    return page(
        request,
        "invocations.html",
        title="Invocations",
        rows=[_row(r, invocations.runner.live.usage(r.id)) for r in found],
        chosen=chosen,
        states=list(_STATES),
        statuses=[s for s in _STATUSES if s != Status.PENDING_APPROVAL.value],
        older=_older(chosen, last),
    )


async def detail(request: web.Request) -> web.StreamResponse:
    session = require(request, "invocation")
    invocations = request.app[SITE].backend.invocations
    record = await invocations.get(request.match_info["id"], session.principal)
    live = invocations.runner.live.usage(record.id)
    return page(
        request,
        "invocation.html",
        title=record.id,
        row=_row(record, live),
        record=record,
        result=record.result,
        stdout=_text(record.result.stdout) if record.result else "",
        stderr=_text(record.result.stderr) if record.result else "",
    )


def _query(chosen: dict[str, str], before: str) -> InvocationQuery:
    query = InvocationQuery(
        skill=chosen["skill"] or None, principal=chosen["principal"] or None, limit=_PAGE
    )
    status = chosen["status"]
    if status in _STATES:
        query = replace(query, states=(_STATES[status],))
    elif status in _STATUSES:
        query = replace(query, statuses=(_STATUSES[status],))
    elif status:
        raise BadRequest(f"status: {status!r} is no state or status of an invocation")
    return replace(query, before=_cursor(before)) if before else query


def _cursor(text: str) -> tuple[int, str]:
    created, _, invocation_id = text.partition(":")
    if not (created.isascii() and created.isdigit()) or not invocation_id:
        raise BadRequest("before: not where an earlier page ended")
    if int(created) > _LAST_MS:  # SQLite compares 64-bit integers only
        raise BadRequest("before: not where an earlier page ended")
    return int(created), invocation_id


def _older(chosen: dict[str, str], last: InvocationRecord | None) -> str:
    """The query string of the next, older page; "" when there is none."""
    if last is None:
        return ""
    kept = {k: v for k, v in chosen.items() if v}
    return urlencode({**kept, "before": f"{last.created_ms}:{last.id}"})


def _row(record: InvocationRecord, live: LiveUsage | None) -> dict[str, Any]:
    result = record.result
    finished = result is not None and record.state is State.FINISHED
    usage: Usage | LiveUsage | None = result.usage if finished and result else live
    status = result.status.value if result is not None else record.state.value
    if record.state is State.RUNNING:
        status = "running"
    return {
        "id": record.id,
        "skill": record.skill,
        "tool": record.tool,
        "version": record.version,
        "principal": record.principal,
        "state": record.state.value,
        "status": status,
        "good": status == Status.OK.value,
        "bad": record.state is State.FINISHED and status != Status.OK.value,
        "created_ms": record.created_ms,
        "finished_ms": record.finished_ms,
        "wall_ms": usage.wall_ms if usage is not None else None,
        "cpu_ms": usage.cpu_ms if usage is not None else None,
        "peak_memory_bytes": usage.peak_memory_bytes if usage is not None else None,
    }


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
