"""ListInvocations' request and page tokens, between the API and the pipeline's query."""

from __future__ import annotations

import base64
import binascii

from runtime.core.records import InvocationQuery, InvocationRecord, State
from runtime.errors import BadRequest
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb

__all__ = ["page_token", "query_from_proto"]

_DEFAULT_PAGE = 50
_MAX_PAGE = 500
_LAST_MS = 2**63 - 1
_STATES = {pb.InvocationState.Value(f"INVOCATION_STATE_{state.name}"): state for state in State}


def query_from_proto(request: pb.ListInvocationsRequest) -> InvocationQuery:
    """The query a request asks for; BadRequest naming the field that is wrong."""
    states = []
    for value in request.states:
        if value not in _STATES:
            raise BadRequest(f"states: {value} is not an invocation state")
        states.append(_STATES[value])
    if request.page_size > _MAX_PAGE:
        raise BadRequest(f"page_size: at most {_MAX_PAGE}")
    if request.since_ms < 0:
        raise BadRequest("since_ms: must not be negative")
    return InvocationQuery(
        states=tuple(states),
        skill=request.skill or None,
        tool=request.tool or None,
        principal=request.principal or None,
        since_ms=request.since_ms or None,
        limit=request.page_size or _DEFAULT_PAGE,
        before=_cursor(request.page_token) if request.page_token else None,
    )


def page_token(last: InvocationRecord | None) -> str:
    """Where the next page starts (after ``last``), or "" when there is none."""
    if last is None:
        return ""
    return base64.urlsafe_b64encode(f"{last.created_ms}:{last.id}".encode()).decode()


def _cursor(token: str) -> tuple[int, str]:
    try:
        created, _, invocation_id = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if not invocation_id:
            raise ValueError("no id")
        created_ms = int(created)
        if not 0 <= created_ms <= _LAST_MS:  # SQLite compares 64-bit integers only
            raise ValueError("no time of an invocation")
        return created_ms, invocation_id
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise BadRequest("page_token: not a token from a previous page") from exc
