"""The approvals page: pending requests as they come (server-sent events), and decisions.

A decision goes through the daemon's approval gate exactly as the Approvals service's Decide
does, so the same checks hold (the role table's deciders, no principal deciding its own
request, first decision wins) and the gate records it in the audit log.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from runtime.approvals.store import ApprovalRecord, ApprovalState
from runtime.console.sessions import Session
from runtime.console.web import SITE, Site, may, page, require, secure_headers, see_other
from runtime.errors import BadRequest, OverLimit

__all__ = ["card", "setup"]

_HEARTBEAT_SECONDS = 15.0  # keeps proxies from closing a quiet stream; rechecks the session
# Each open stream holds a connection, a queue and two listeners on the gate: bounded per
# principal and in all, as the Approvals service bounds its watchers.
_STREAMS_PER_PRINCIPAL = 4
_STREAMS_IN_ALL = 32
Streams = dict[asyncio.Task[Any], tuple[str, web.Request]]  # each stream: whose, and its request
_STREAMS = web.AppKey("approval_streams", Streams)


def setup(app: web.Application) -> None:
    app[_STREAMS] = {}
    app.router.add_get("/approvals", approvals_page)
    app.router.add_get("/approvals/events", approval_events)
    app.router.add_post("/approvals/{id}/decide", decide)
    app.on_shutdown.append(_end_streams)


def card(approval: ApprovalRecord) -> dict[str, Any]:
    """What a person needs to judge one request, for the template."""
    details = dict(approval.details)
    return {
        "id": approval.id,
        "invocation_id": approval.invocation_id,
        "state": approval.state.value,
        "mode": approval.mode,
        "skill": approval.skill,
        "version": approval.version,
        "content_hash": approval.binding.content_hash,
        "tool": approval.binding.tool,
        "input_json": approval.input_json,
        "requested_by": approval.binding.requested_by,
        "requester_role": details.pop("principal_role", ""),
        "kind": details.pop("kind", "tool"),
        "profile": details.pop("profile", ""),
        "permissions": details.pop("permissions", {}),
        "limits": details.pop("limits", {}),
        "overrides": {k: v for k, v in details.pop("overrides", {}).items() if v is not None},
        "other": details,  # a session command's session, command line and skills
        "created_ms": approval.created_ms,
        "expires_ms": approval.expires_ms,
    }


async def approvals_page(request: web.Request) -> web.StreamResponse:
    session = require(request, "approvals")
    store = request.app[SITE].backend.invocations.gate.store
    pending = await store.db.call(store.find, ApprovalState.PENDING)
    return page(
        request,
        "approvals.html",
        title="Approvals",
        cards=[card(a) for a in pending],
        csrf=session.csrf,
        can_decide=may(session.principal, "decide"),
    )


async def approval_events(request: web.Request) -> web.StreamResponse:
    """Every pending request, then each new one and each settled one, until the session ends."""
    session = require(request, "approvals")
    site = request.app[SITE]
    gate = site.backend.invocations.gate
    queue: asyncio.Queue[tuple[str, ApprovalRecord]] = asyncio.Queue()
    stop_new = gate.listen(lambda a: queue.put_nowait(("pending", a)))
    stop_settled = gate.listen_settled(lambda a: queue.put_nowait(("settled", a)))
    task = asyncio.current_task()
    assert task is not None
    streams = request.app[_STREAMS]
    # A stream whose browser left is found out only at its next write: it does not count.
    open_now = [who for who, held in streams.values() if _connected(held)]
    mine = open_now.count(session.principal.name)
    if mine >= _STREAMS_PER_PRINCIPAL or len(open_now) >= _STREAMS_IN_ALL:
        raise OverLimit(
            f"too many open approval streams ({mine} of yours, {len(open_now)} in all; at most "
            f"{_STREAMS_PER_PRINCIPAL} and {_STREAMS_IN_ALL}): close one",
            retry_after_seconds=int(_HEARTBEAT_SECONDS),
        )
    streams[task] = (session.principal.name, request)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    secure_headers(response)
    try:
        await response.prepare(request)
        for approval in await gate.store.db.call(gate.store.find, ApprovalState.PENDING):
            await _send(response, "pending", _pending(request, approval, session))
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), _HEARTBEAT_SECONDS)
            except TimeoutError:
                item = None
            # Asked before anything is sent: a stream never makes a request, so nothing else
            # ends it when its session is signed out or its password reset or token revoked.
            if not await _still_open(site, session):
                break
            if item is None:
                await response.write(b": still here\n\n")
                continue
            kind, approval = item
            if kind == "pending":
                await _send(response, kind, _pending(request, approval, session))
            else:
                await _send(response, kind, _settled(approval))
    except ConnectionResetError:
        pass  # the browser left: there is nobody to tell
    finally:
        stop_new()
        stop_settled()
        streams.pop(task, None)
    return response


async def decide(request: web.Request) -> web.StreamResponse:
    session = require(request, "decide")
    form = await request.post()
    decision = form.get("decision")
    if decision not in ("approve", "deny"):
        raise BadRequest("decision: approve or deny")
    reason = form.get("reason", "")
    decided = await request.app[SITE].backend.invocations.gate.decide(
        request.match_info["id"],
        approve=decision == "approve",
        reason=reason if isinstance(reason, str) else "",
        decided_by=session.principal.name,
    )
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response(_settled(decided))
    return see_other("/approvals")


def _connected(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


async def _still_open(site: Site, session: Session) -> bool:
    return site.sessions.alive(session, site.clock.now_ms()) and await site.signin.still_valid(
        session
    )


def _pending(request: web.Request, approval: ApprovalRecord, session: Session) -> dict[str, Any]:
    html = request.app[SITE].renderer.render(
        "approval_card.html",
        card=card(approval),
        csrf=session.csrf,
        can_decide=may(session.principal, "decide"),
    )
    return {"id": approval.id, "html": html}


def _settled(approval: ApprovalRecord) -> dict[str, Any]:
    return {
        "id": approval.id,
        "state": approval.state.value,
        "decided_by": approval.decided_by or "",
        "reason": approval.reason or "",
    }


async def _send(response: web.StreamResponse, event: str, data: dict[str, Any]) -> None:
    # JSON holds no raw newline, so one data line carries the whole event.
    await response.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())


async def _end_streams(app: web.Application) -> None:
    streams: Streams = app[_STREAMS]
    for task in list(streams):
        task.cancel()
