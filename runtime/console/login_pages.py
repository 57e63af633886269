"""Signing in and out of the console, and its front door."""

from __future__ import annotations

import re
import secrets

from aiohttp import web

from runtime.console.web import (
    LOGIN_COOKIE,
    SITE,
    clear_cookie,
    cookie_name,
    home,
    page,
    peer_of,
    see_other,
    session_of,
    set_cookie,
)
from runtime.errors import BadCredentials

__all__ = ["add_routes"]

_MAX_FIELD = 4096
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
# A path of this site in printable ASCII: browsers drop tabs and line breaks from a URL (so
# "/<tab>/evil.example" would lead to //evil.example), and a header cannot carry a line break.
_LOCAL = re.compile(r"/(?![/\\])[!-~]*")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", front)
    router.add_get("/login", login_form)
    router.add_post("/login", login)
    router.add_post("/logout", logout)


async def front(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    raise web.HTTPSeeOther(home(session) if session is not None else "/login")


async def login_form(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    if session is not None:
        raise web.HTTPSeeOther(home(session))
    return _form(request, status=200, error="")


def _form(request: web.Request, *, status: int, error: str) -> web.StreamResponse:
    # One token while the cookie lasts: a second tab, or the browser fetching something else
    # that leads here, must not make the form already shown stale.
    kept = request.cookies.get(LOGIN_COOKIE, "")
    token = kept if _TOKEN.fullmatch(kept) else secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        status=status,
        csrf=token,
        error=error,
        next=_local(request.query.get("next", "")),
    )
    set_cookie(response, request.app[SITE], LOGIN_COOKIE, token)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    site = request.app[SITE]
    form = await request.post()
    fields = {
        key: value[:_MAX_FIELD] if isinstance(value, str) else ""
        for key in ("name", "password", "code", "token", "next")
        for value in (form.get(key, ""),)
    }
    try:
        peer = await peer_of(request)
        if fields["token"]:
            who, credential = await site.signin.with_token(peer, fields["token"].strip())
        else:
            who, credential = await site.signin.with_password(
                peer, fields["name"].strip(), fields["password"], fields["code"]
            )
    except BadCredentials:
        # Never which part was wrong: a name, a password, a code or a token.
        return _form(request, status=401, error="Sign-in failed.")
    cookie, session = site.sessions.open(who, credential, site.clock.now_ms())
    response = see_other(_local(fields["next"]) or home(session))
    set_cookie(response, site, cookie_name(site), cookie)
    clear_cookie(response, site, LOGIN_COOKIE)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    site = request.app[SITE]
    session = session_of(request)
    if session is not None:
        site.sessions.close(session)
        try:
            peer = await peer_of(request)
        except BadCredentials:
            peer = None  # signed out all the same; the record says who, not from where
        site.signin.signed_out(session, peer, why="signed out")
    response = see_other("/login")
    clear_cookie(response, site, cookie_name(site))
    return response


def _local(target: str) -> str:
    """Where to go after signing in: a path of this console only, never another site."""
    return target if _LOCAL.fullmatch(target) and "\\" not in target else ""
