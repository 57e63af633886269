"""The console's web application: sessions, CSRF, who may see what, and errors as pages.

Every request but the sign-in page and static files needs a live session. Every change a
request asks for (any method but GET and HEAD) must come from this console: its Origin, when
the browser sends one, must be this site, and it must carry the session's CSRF token (a form's
``csrf`` field, or the ``X-CSRF-Token`` header of the console's script); the sign-in form,
before any session, carries a token equal to a cookie of its own. Cookies are HttpOnly and
SameSite=Strict, and Secure whenever the console is served over TLS.

Who may open a page or act is the role table of ``runtime.auth.roles``: each page and action
names the RPC it stands for (``ACTIONS``), so that the console and the API never disagree.
"""

from __future__ import annotations

import asyncio
import secrets
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from runtime.auth.peers import Peer, tcp_peer
from runtime.auth.roles import Principal, allowed_roles
from runtime.console.backend import Backend
from runtime.console.render import Renderer
from runtime.console.sessions import Session, Sessions
from runtime.console.signin import SignIn
from runtime.console.status import http_status
from runtime.errors import BadCredentials, BadRequest, NotAllowed, SkillRuntimeError
from runtime.util.clock import SYSTEM_CLOCK, Clock

__all__ = [
    "ACTIONS",
    "LOGIN_COOKIE",
    "SITE",
    "Site",
    "clear_cookie",
    "cookie_name",
    "home",
    "may",
    "page",
    "peer_of",
    "require",
    "secure_headers",
    "see_other",
    "session_of",
    "set_cookie",
    "static_dir",
]

log = structlog.get_logger("skillrt.console")

_RPC = "/skillrt.v1."
# What each page or action of the console stands for in the API's role table.
ACTIONS = {
    "approvals": _RPC + "Approvals/ListApprovals",
    "decide": _RPC + "Approvals/Decide",
    "invocations": _RPC + "SkillRuntime/ListInvocations",
    "invocation": _RPC + "SkillRuntime/GetInvocation",
    "dashboard": _RPC + "Admin/GetUsage",
    "audit": _RPC + "Admin/QueryAudit",
    "skills": _RPC + "SkillRuntime/ListSkills",
}
# The navigation, in order; a person sees the pages their role may open.
_NAV = (
    ("approvals", "Approvals"),
    ("invocations", "Invocations"),
    ("dashboard", "Dashboard"),
    ("audit", "Audit log"),
    ("skills", "Skills"),
)
_SAFE_METHODS = frozenset({"GET", "HEAD"})
LOGIN_COOKIE = "skillrt-login"  # the sign-in form's CSRF token, before any session
_OPEN_PATHS = ("/login", "/static/", "/favicon.ico")
_BODY_SECONDS = 10.0  # a form is small: a body not in after this is someone holding on


@dataclass(frozen=True, kw_only=True)
class Site:
    backend: Backend
    sessions: Sessions
    signin: SignIn
    renderer: Renderer
    tls: bool
    clock: Clock = SYSTEM_CLOCK
    # The Host values a plain-HTTP console answers (its own address); empty: any. Another name
    # that resolves to loopback is a DNS-rebinding page's, and gets nothing.
    hosts: frozenset[str] = frozenset()


SITE = web.AppKey("site", Site)
_SESSION = "skillrt.session"


def may(who: Principal, action: str) -> bool:
    roles = allowed_roles(ACTIONS[action])
    return isinstance(roles, frozenset) and who.role in roles


def cookie_name(site: Site) -> str:
    # __Host-: the browser keeps it only if Secure, for this host alone, on path /.
    return "__Host-skillrt-session" if site.tls else "skillrt-session"


def set_cookie(response: web.StreamResponse, site: Site, name: str, value: str) -> None:
    # Secure needs TLS: over plain HTTP a browser would not send the cookie back at all. That is
    # allowed only on loopback (the configuration refuses plain HTTP elsewhere), where the
    # cookie never crosses a network.
    response.set_cookie(name, value, path="/", httponly=True, secure=site.tls, samesite="Strict")


def clear_cookie(response: web.StreamResponse, site: Site, name: str) -> None:
    response.set_cookie(
        name, "", path="/", httponly=True, secure=site.tls, samesite="Strict", max_age=0
    )


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def session_of(request: web.Request) -> Session | None:
    found: Session | None = request.get(_SESSION)
    return found


def require(request: web.Request, action: str) -> Session:
    """The request's session if its role may do ``action``, else the refusal."""
    session = session_of(request)
    if session is None:
        raise _sign_in(request)
    if not may(session.principal, action):
        raise NotAllowed(f"the {session.principal.role.value} role may not open this")
    return session


async def peer_of(request: web.Request) -> Peer:
    """Who is at the other end, as for the gRPC listener: a uid on this host, an address
    elsewhere; a loopback connection whose owner cannot be told is refused."""
    transport = request.transport
    server = transport.get_extra_info("sockname") if transport is not None else None
    client = transport.get_extra_info("peername") if transport is not None else None
    if server is None or client is None:
        raise BadCredentials()
    # The kernel's socket tables are read from /proc: off the event loop.
    found = await asyncio.to_thread(tcp_peer, (server[0], server[1]), (client[0], client[1]))
    if found is None:
        raise BadCredentials()
    return found


def page(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    site = request.app[SITE]
    session = session_of(request)
    nav = [
        (name, title)
        for name, title in _NAV
        if session is not None and may(session.principal, name)
    ]
    body = site.renderer.render(
        template, session=session, nav=nav, path=request.path, may=may, **context
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def home(session: Session) -> str:
    """The first page the session's role may open."""
    for name, _ in _NAV:
        if may(session.principal, name):
            return f"/{name}"
    return "/login"


def _sign_in(request: web.Request) -> web.HTTPException:
    if request.method in _SAFE_METHODS and not _wants_json(request):
        # Quoted whole, so that every filter of the page asked for comes back after sign-in.
        return web.HTTPSeeOther(f"/login?next={urllib.parse.quote(str(request.rel_url), safe='/')}")
    return web.HTTPUnauthorized(text="sign in first", content_type="text/plain")


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every answer; skillrt's errors as a page (or JSON for the script)."""
    try:
        response = await handler(request)
    except SkillRuntimeError as exc:
        response = _error(request, exc)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
        response = page(request, "error.html", status=exc.status, message=exc.reason)
    secure_headers(response)
    return response


def _error(request: web.Request, exc: SkillRuntimeError) -> web.StreamResponse:
    status = http_status(exc)
    if _wants_json(request):
        return web.json_response({"error": exc.message}, status=status)
    return page(request, "error.html", status=status, message=exc.message)


def secure_headers(response: web.StreamResponse) -> None:
    """What every answer carries (set before a streamed answer starts)."""
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Not no-referrer: with it, browsers send "Origin: null" on the console's own forms.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Find the request's session, and refuse a change that did not come from this console."""
    site = request.app[SITE]
    if site.hosts and request.headers.get("Host", "").lower() not in site.hosts:
        raise BadRequest("Host: not this console's address")
    cookie = request.cookies.get(cookie_name(site))
    if cookie:
        session = site.sessions.get(cookie, site.clock.now_ms())
        if session is not None and not await site.signin.still_valid(session):
            site.sessions.close(session)
            site.signin.signed_out(session, None, why="its credential changed")
            session = None
        request[_SESSION] = session
    if request.method not in _SAFE_METHODS:
        await _read_body(request)
        await _check_origin(request)
        if request.path == "/login":
            await _check_login_token(request)
        else:
            await _check_csrf(request)
    elif not request.path.startswith(_OPEN_PATHS) and session_of(request) is None:
        raise _sign_in(request)
    return await handler(request)


async def _read_body(request: web.Request) -> None:
    """Read the body now, in bounded time (``request.post()`` then finds it read): a client
    that sends a few bytes of it and stops would otherwise hold its connection for ever."""
    try:
        await asyncio.wait_for(request.read(), _BODY_SECONDS)
    except TimeoutError:
        raise web.HTTPRequestTimeout(
            text="the request's body came too slowly", headers={"Connection": "close"}
        ) from None


async def _check_origin(request: web.Request) -> None:
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        raise NotAllowed("refused: the request came from another site")


async def _check_login_token(request: web.Request) -> None:
    form = await request.post()
    expected = request.cookies.get(LOGIN_COOKIE, "")
    sent = form.get("csrf")
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent, expected):
        raise NotAllowed("refused: the sign-in form was stale; load it again")


async def _check_csrf(request: web.Request) -> None:
    session = session_of(request)
    if session is None:
        raise _sign_in(request)
    sent = request.headers.get("X-CSRF-Token")
    if sent is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        field = (await request.post()).get("csrf")
        sent = field if isinstance(field, str) else None
    if sent is None or not secrets.compare_digest(sent, session.csrf):
        raise NotAllowed("refused: the form did not come from this session of the console")


def static_dir() -> Path:
    return Path(__file__).parent / "static"
