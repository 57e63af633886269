"""The daemon's Prometheus metrics: one private registry per daemon, small typed methods, and
what reads them off the audit log.

Counters and histograms follow the audit log's entries (``Metrics`` is its observer): every
invocation's end, every egress decision, failed authentication, approval decision and quarantine
already makes one, once, so no place in the core calls the metrics itself. Gauges (queue, slots,
the warm pool, pending approvals, lockouts, skills quarantined) are read from the daemon's
objects at each scrape.

Label values stay few: skill and tool names from the catalog, statuses and decisions from fixed
vocabularies; never principals, peers, hosts or invocation ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from runtime.approvals.store import ApprovalState, ApprovalStore
from runtime.audit import events
from runtime.auth.lockout import Lockout
from runtime.core.admission import Admission
from runtime.core.quarantines import Quarantines
from runtime.core.skillmd import SKILL_NAME
from runtime.sandbox.pool import WarmPool
from runtime.sandbox.result import Usage

__all__ = ["SESSION_LABEL", "Metrics", "Watched"]

# Session commands are recorded under their session's id, which is no skill's name (it holds an
# underscore): one label value for all of them keeps the series bounded.
SESSION_LABEL = "(session)"
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
_BYTES = tuple(float(4**n * 1024**2) for n in range(7))  # 1 MiB to 4 GiB


@dataclass(frozen=True, kw_only=True)
class Watched:
    """The daemon's objects whose state the gauges show."""

    admission: Admission
    pool: WarmPool
    lockout: Lockout
    approvals: ApprovalStore
    quarantines: Quarantines | None = None


class Metrics:
    def __init__(self) -> None:
        # Private, never prometheus_client's global one: daemons and tests in one process must
        # not share or collide on series.
        self.registry = CollectorRegistry()
        registry = self.registry
        call = ("skill", "tool")
        self._invocations = Counter(
            "skillrt_invocations",
            "Invocations finished, by skill, tool and status.",
            (*call, "status"),
            registry=registry,
        )
        self._duration = Histogram(
            "skillrt_invocation_duration_seconds",
            "Wall time of each finished invocation's sandbox (0 for one that ended before it ran).",
            call,
            buckets=_SECONDS,
            registry=registry,
        )
        self._queued = Histogram(
            "skillrt_invocation_queue_seconds",
            "Time each invocation waited for a sandbox slot before it started.",
            call,
            buckets=_SECONDS,
            registry=registry,
        )
        self._cpu = Counter(
            "skillrt_sandbox_cpu_seconds",
            "CPU time used in sandboxes, by skill.",
            ("skill",),
            registry=registry,
        )
        self._memory = Histogram(
            "skillrt_sandbox_peak_memory_bytes",
            "Peak memory of each sandbox that ran, by skill.",
            ("skill",),
            buckets=_BYTES,
            registry=registry,
        )
        self._egress = Counter(
            "skillrt_egress_decisions",
            "Connections sandboxes asked their egress proxy for, allowed or denied.",
            ("decision",),
            registry=registry,
        )
        self._auth_failures = Counter(
            "skillrt_auth_failures", "Failed authentications.", registry=registry
        )
        self._approvals_decided = Counter(
            "skillrt_approvals_decided",
            "Approval requests settled: approved, denied, cancelled or expired.",
            ("decision",),
            registry=registry,
        )
        self._approvals_pending = Gauge(
            "skillrt_approvals_pending",
            "Approval requests waiting for a person.",
            registry=registry,
        )
        self._quarantines = Counter(
            "skillrt_quarantines",
            "Skill contents quarantined, by skill and the kind of trip that crossed its threshold "
            "(manual: by an operator).",
            ("skill", "kind"),
            registry=registry,
        )
        self._audit_failures = Counter(
            "skillrt_audit_write_failures",
            "Audit entries the log could not take (a full or failing disk).",
            registry=registry,
        )
        # Known label values start at 0, so that a rate is defined before the first event.
        for decision in ("allowed", "denied"):
            self._egress.labels(decision)
        for decision in ("approved", "denied", "cancelled", "expired"):
            self._approvals_decided.labels(decision)
        self._watched: Watched | None = None

    def watch(self, watched: Watched) -> None:
        """Show ``watched``'s state at each scrape, from now on."""
        self._watched = watched
        self.registry.register(_Live(watched))

    async def exposition(self) -> bytes:
        """Every metric in Prometheus's text format, as it stands now."""
        if self._watched is not None:
            store = self._watched.approvals
            self._approvals_pending.set(await store.db.call(store.count, ApprovalState.PENDING))
        return generate_latest(self.registry)

    # What happened, one typed method each.

    def invocation_started(self, skill: str, tool: str, queued_ms: int) -> None:
        self._queued.labels(_skill(skill), tool).observe(queued_ms / 1000)

    def invocation_finished(self, skill: str, tool: str, status: str, usage: Usage | None) -> None:
        self._invocations.labels(_skill(skill), tool, status).inc()
        if usage is None:
            return
        self._duration.labels(_skill(skill), tool).observe(usage.wall_ms / 1000)
        self._cpu.labels(_skill(skill)).inc(usage.cpu_ms / 1000)
        if usage.peak_memory_bytes > 0:  # 0: no sandbox ran to be measured
            self._memory.labels(_skill(skill)).observe(usage.peak_memory_bytes)

    def egress_decided(self, allowed: bool) -> None:
        self._egress.labels("allowed" if allowed else "denied").inc()

    def auth_failed(self) -> None:
        self._auth_failures.inc()

    def approval_decided(self, decision: str) -> None:
        self._approvals_decided.labels(decision).inc()

    def skill_quarantined(self, skill: str, kind: str) -> None:
        self._quarantines.labels(_skill(skill), kind).inc()

    # The audit log's observer.

    def audited(self, event: str, fields: Mapping[str, Any]) -> None:
        match event:
            case events.INVOCATION_STARTED:
                self.invocation_started(fields["skill"], fields["tool"], fields["queued_ms"])
            case events.INVOCATION_FINISHED:
                usage = fields.get("usage")  # none for a call a restart found interrupted
                self.invocation_finished(
                    fields["skill"],
                    fields["tool"],
                    fields["status"],
                    Usage(**usage) if usage is not None else None,
                )
            case events.EGRESS_DECIDED:
                self.egress_decided(bool(fields["allowed"]))
            case events.AUTH_FAILED:
                self.auth_failed()
            case events.APPROVAL_DECIDED:
                self.approval_decided(_decision(fields))
            case events.APPROVAL_EXPIRED:
                self.approval_decided("expired")
            case events.SKILL_QUARANTINED:
                self.skill_quarantined(fields["skill"], fields["kind"])

    def unwritten(self, event: str) -> None:
        self._audit_failures.inc()


def _skill(name: str) -> str:
    return name if SKILL_NAME.match(name) else SESSION_LABEL


def _decision(fields: Mapping[str, Any]) -> str:
    if fields.get("cancelled"):
        return "cancelled"
    return "approved" if fields.get("approved") else "denied"


class _Live(Collector):
    """Gauges and counters the daemon's objects keep themselves, read at each scrape on the
    event loop that owns them."""

    def __init__(self, watched: Watched) -> None:
        self._watched = watched

    def collect(self) -> Iterable[Metric]:
        admission, lockout = self._watched.admission, self._watched.lockout
        yield GaugeMetricFamily(
            "skillrt_invocations_queued",
            "Invocations waiting for a sandbox slot.",
            value=admission.waiting,
        )
        yield GaugeMetricFamily(
            "skillrt_invocations_running",
            "Invocations holding a sandbox slot.",
            value=admission.running,
        )
        yield CounterMetricFamily(
            "skillrt_auth_lockouts",
            "Lockouts after repeated failed authentications (of a caller, or of a caller with "
            "one token id).",
            value=lockout.lockouts,
        )
        if self._watched.quarantines is not None:
            yield GaugeMetricFamily(
                "skillrt_skills_quarantined",
                "Skill contents quarantined now.",
                value=len(self._watched.quarantines.active()),
            )
        yield from _pool(self._watched.pool)


def _pool(pool: WarmPool) -> Iterable[Metric]:
    status = pool.status()
    yield GaugeMetricFamily(
        "skillrt_pool_enabled", "1 when the warm pool is on.", value=int(status.enabled)
    )
    sandboxes = GaugeMetricFamily(
        "skillrt_pool_sandboxes", "Warm sandboxes, ready or starting.", labels=("state",)
    )
    sandboxes.add_metric(("ready",), status.ready)
    sandboxes.add_metric(("starting",), sum(key.starting for key in status.keys))
    yield sandboxes
    yield GaugeMetricFamily(
        "skillrt_pool_memory_bytes",
        "Cgroup memory of the ready warm sandboxes, as last measured.",
        value=status.memory_bytes,
    )
    for name, value, text in (
        ("hits", status.hits, "Calls served a warm sandbox."),
        ("misses", status.misses, "Calls a warm sandbox could serve that found none ready."),
        ("evictions", status.evictions, "Warm sandboxes stopped without serving a call."),
    ):
        yield CounterMetricFamily(f"skillrt_pool_{name}", text, value=value)
