"""What each audit entry does to the metrics (pure: no daemon, the registry read directly)."""

from __future__ import annotations

from dataclasses import asdict

from runtime.api.metrics import SESSION_LABEL, Metrics
from runtime.audit import events
from runtime.sandbox.result import Usage

USAGE = Usage(wall_ms=1500, cpu_ms=250, peak_memory_bytes=8 * 1024 * 1024)


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def finished(metrics: Metrics, skill: str, **extra: object) -> None:
    metrics.audited(
        events.INVOCATION_FINISHED,
        {"invocation_id": "inv_1", "skill": skill, "tool": "t", "status": "ok", **extra},
    )


def test_a_finished_invocation_is_counted_and_its_usage_observed() -> None:
    """Status counter, wall-time histogram, CPU seconds and peak memory all take one call."""
    metrics = Metrics()
    finished(metrics, "calc", usage=asdict(USAGE))
    assert sample(metrics, "skillrt_invocations_total", skill="calc", tool="t", status="ok") == 1
    assert sample(metrics, "skillrt_invocation_duration_seconds_sum", skill="calc", tool="t") == 1.5
    assert sample(metrics, "skillrt_sandbox_cpu_seconds_total", skill="calc") == 0.25
    assert sample(metrics, "skillrt_sandbox_peak_memory_bytes_count", skill="calc") == 1


def test_an_interrupted_invocation_without_usage_is_counted_only() -> None:
    """An end a restart recorded (no usage) counts, and observes no histogram."""
    metrics = Metrics()
    finished(metrics, "calc", reason="interrupted")
    assert sample(metrics, "skillrt_invocations_total", skill="calc", tool="t", status="ok") == 1
    walls = "skillrt_invocation_duration_seconds_count"
    assert sample(metrics, walls, skill="calc", tool="t") is None


def test_a_sandbox_never_measured_adds_no_peak_memory() -> None:
    """A call that ended before its sandbox ran has no peak to observe."""
    metrics = Metrics()
    finished(metrics, "calc", usage=asdict(Usage(wall_ms=0, cpu_ms=0, peak_memory_bytes=0)))
    assert sample(metrics, "skillrt_sandbox_peak_memory_bytes_count", skill="calc") is None


def test_session_commands_share_one_label() -> None:
    """Sessions' ids never become label values: every session counts under one."""
    metrics = Metrics()
    for session in ("ses_0123456789abcdef01234567", "ses_fedcba987654321001234567"):
        finished(metrics, session, usage=asdict(USAGE))
    calls = "skillrt_invocations_total"
    assert sample(metrics, calls, skill=SESSION_LABEL, tool="t", status="ok") == 2


def test_queue_wait_comes_from_the_started_entry() -> None:
    """invocation.started's queued_ms is observed in seconds."""
    metrics = Metrics()
    metrics.audited(
        events.INVOCATION_STARTED,
        {"invocation_id": "inv_1", "skill": "calc", "tool": "t", "queued_ms": 40},
    )
    assert sample(metrics, "skillrt_invocation_queue_seconds_sum", skill="calc", tool="t") == 0.04


def test_egress_decisions_count_by_answer() -> None:
    """Allowed and denied egress attempts are counted apart, denied starting at zero."""
    metrics = Metrics()
    metrics.audited(events.EGRESS_DECIDED, {"host": "example.com", "allowed": True})
    assert sample(metrics, "skillrt_egress_decisions_total", decision="allowed") == 1
    assert sample(metrics, "skillrt_egress_decisions_total", decision="denied") == 0


def test_approval_decisions_count_by_outcome() -> None:
    """Approved, denied, cancelled and expired requests each count under their own name."""
    metrics = Metrics()
    metrics.audited(events.APPROVAL_DECIDED, {"approval_id": "a", "approved": True})
    metrics.audited(events.APPROVAL_DECIDED, {"approval_id": "b", "approved": False})
    metrics.audited(events.APPROVAL_DECIDED, {"approval_id": "c", "cancelled": True})
    metrics.audited(events.APPROVAL_EXPIRED, {"approval_id": "d"})
    for decision in ("approved", "denied", "cancelled", "expired"):
        assert sample(metrics, "skillrt_approvals_decided_total", decision=decision) == 1


def test_failed_authentications_and_unwritten_entries_are_counted() -> None:
    """auth.failed entries, and entries the log could not take, each add one."""
    metrics = Metrics()
    metrics.audited(events.AUTH_FAILED, {"peer": "uid:1000", "token_id": None})
    metrics.unwritten(events.AUTH_FAILED)
    assert sample(metrics, "skillrt_auth_failures_total") == 1
    assert sample(metrics, "skillrt_audit_write_failures_total") == 1


def test_each_daemon_has_its_own_registry() -> None:
    """Two metrics objects in one process neither collide nor share counts."""
    first, second = Metrics(), Metrics()
    first.audited(events.AUTH_FAILED, {"peer": "uid:1000"})
    assert sample(first, "skillrt_auth_failures_total") == 1
    assert sample(second, "skillrt_auth_failures_total") == 0


def test_a_quarantine_is_counted_by_skill_and_kind() -> None:
    """Each skill.quarantined entry counts once, by skill and the kind that tripped it."""
    metrics = Metrics()
    fields = {"skill": "probe", "content_hash": "sha256:a", "reason": "r", "counts": {}}
    metrics.audited(events.SKILL_QUARANTINED, {**fields, "kind": "seccomp_kills"})
    metrics.audited(events.SKILL_QUARANTINED, {**fields, "kind": "manual"})
    total = "skillrt_quarantines_total"
    assert sample(metrics, total, skill="probe", kind="seccomp_kills") == 1
    assert sample(metrics, total, skill="probe", kind="manual") == 1
