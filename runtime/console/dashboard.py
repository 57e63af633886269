"""The dashboard: calls, failures by status, and CPU and memory per skill over time.

Built from the invocation records as GetUsage reads them, with GetUsage's rule: a principal
that does not see everything sees its own calls only.
"""

from __future__ import annotations

import datetime

from aiohttp import web
from markupsafe import Markup

from runtime.console import charts
from runtime.console.render import visible
from runtime.console.web import SITE, page, require
from runtime.core.records import State
from runtime.core.usage import UsageBucket, UsageQuery, usage_over_time, usage_report
from runtime.errors import BadRequest

__all__ = ["setup"]

# The windows one may pick: (label, length, the span of one point).
_WINDOWS = {
    "1h": (3_600_000, 300_000),
    "24h": (86_400_000, 3_600_000),
    "7d": (7 * 86_400_000, 6 * 3_600_000),
}
# The skills that used the most CPU; the rest would be an unreadable tangle.
_SKILLS_DRAWN = 6
# Outcomes that are no failure: a success, or calls not finished yet (counted by their state).
_NOT_FAILURES = frozenset({"ok", *(s.value for s in State if s is not State.FINISHED)})


def setup(app: web.Application) -> None:
    app.router.add_get("/dashboard", dashboard)


async def dashboard(request: web.Request) -> web.StreamResponse:
    session = require(request, "dashboard")
    site = request.app[SITE]
    window = request.query.get("window", "24h")
    if window not in _WINDOWS:
        raise BadRequest(f"window: one of {', '.join(_WINDOWS)}")
    length, span = _WINDOWS[window]
    now = site.clock.now_ms()
    start = (now - length) // span * span + span
    who = session.principal
    query = UsageQuery(since_ms=start, principal=None if who.sees_everything() else who.name)
    db = site.backend.invocations.store.db
    report = await db.call(usage_report, db, query)
    buckets = await db.call(usage_over_time, db, query, span)
    starts = list(range(start, now + 1, span))
    labels = [_label(ms, span) for ms in starts]
    drawn = [row.key for row in report.rows[:_SKILLS_DRAWN]]
    failures = sorted(
        ((s, float(n)) for s, n in report.total.statuses.items() if s not in _NOT_FAILURES),
        key=lambda item: -item[1],
    )
    return page(
        request,
        "dashboard.html",
        title="Dashboard",
        window=window,
        windows=list(_WINDOWS),
        report=report,
        calls_chart=Markup(
            charts.lines(
                "Calls and failures",
                labels,
                {
                    "calls": _series(buckets, starts, None, "calls"),
                    "failures": _series(buckets, starts, None, "failures"),
                },
                lambda v: f"{v:.0f}",
            )
        ),
        failures_chart=Markup(charts.bars("Failures by status", failures, lambda v: f"{v:.0f}")),
        cpu_chart=Markup(
            charts.lines(
                "CPU time per skill",
                labels,
                {visible(s): _series(buckets, starts, s, "cpu_ms") for s in drawn},
                _seconds,
            )
        ),
        memory_chart=Markup(
            charts.lines(
                "Peak memory per skill",
                labels,
                {visible(s): _series(buckets, starts, s, "peak_memory_bytes") for s in drawn},
                _mebibytes,
            )
        ),
    )


def _series(
    buckets: list[UsageBucket], starts: list[int], skill: str | None, field: str
) -> list[float]:
    """One value per span: ``field`` of ``skill`` (of every skill when None: summed)."""
    values = dict.fromkeys(starts, 0.0)
    for bucket in buckets:
        if bucket.start_ms in values and (skill is None or bucket.skill == skill):
            value = float(getattr(bucket, field))
            keep = max if field == "peak_memory_bytes" else sum
            values[bucket.start_ms] = keep((values[bucket.start_ms], value))
    return list(values.values())


def _label(ms: int, span: int) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return moment.strftime("%H:%M" if span < 86_400_000 / 4 else "%m-%d %H:%M")


def _seconds(value: float) -> str:
    return f"{value / 1000:.1f} s"


def _mebibytes(value: float) -> str:
    return f"{value / 1024**2:.0f} MiB"
