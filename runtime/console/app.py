"""The console's application: its middlewares, pages and static files."""

from __future__ import annotations

from aiohttp import web

from runtime.console import approvals, audit, dashboard, invocations, login_pages, skills
from runtime.console.web import SITE, Site, guard, secure_headers, sessions, static_dir

__all__ = ["make_app"]

# Forms are small; nothing the console takes needs more.
_MAX_REQUEST_BYTES = 64 * 1024


def make_app(site: Site) -> web.Application:
    # guard first: it turns what the session check refuses into a page, with the headers.
    app = web.Application(middlewares=[guard, sessions], client_max_size=_MAX_REQUEST_BYTES)
    app[SITE] = site
    login_pages.add_routes(app.router)
    approvals.setup(app)
    invocations.setup(app)
    audit.setup(app)
    dashboard.setup(app)
    skills.setup(app)
    app.router.add_static("/static/", static_dir())
    # Also on what aiohttp answers by itself (a body too large or too slow, a redirect to sign
    # in, a server error): those never pass through guard.
    app.on_response_prepare.append(_with_headers)
    return app


async def _with_headers(_: web.Request, response: web.StreamResponse) -> None:
    secure_headers(response)
