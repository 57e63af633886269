"""The daemon's background duties: expiry sweeps, collecting skill snapshots, daily audit
retention, SIGHUP reloads."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from runtime.api.config import DaemonConfig
from runtime.approvals.gate import SYSTEM_ACTOR
from runtime.audit import events
from runtime.audit.background import BackgroundAudit
from runtime.audit.retention import prune
from runtime.auth.lockout import Lockout
from runtime.core.invoke import Invocations
from runtime.core.quarantines import Quarantines
from runtime.core.recovery import INTERRUPTED, Recovery
from runtime.core.sessions import Sessions
from runtime.core.signature_gate import SignatureGate
from runtime.core.snapshots import SkillSnapshots
from runtime.errors import SkillRuntimeError, WrongState

__all__ = [
    "Reloader",
    "audit_auth_failure",
    "audit_recovery",
    "collect_snapshots",
    "prune_audit_daily",
    "reload_config",
    "repair_audit",
    "sweep_expired",
]

log = structlog.get_logger("skillrt.server")

_EXPIRY_SWEEP_SECONDS = 0.5
_SNAPSHOT_SWEEP_SECONDS = 2
_PRUNE_INTERVAL_SECONDS = 86_400
Reloader = Callable[[], DaemonConfig]


async def sweep_expired(invocations: Invocations, sessions: Sessions) -> None:
    """Requests nobody answered in time fail closed, even with no caller waiting on them; idle
    sessions end."""
    while True:
        await invocations.gate.expire_due()
        await sessions.expire_due()
        await asyncio.sleep(_EXPIRY_SWEEP_SECONDS)


async def collect_snapshots(snapshots: SkillSnapshots) -> None:
    """Skill snapshots nothing holds any more (a version replaced, a skill removed, once the
    calls that ran it have ended) are removed."""
    while True:
        await asyncio.sleep(_SNAPSHOT_SWEEP_SECONDS)
        try:
            removed = await asyncio.to_thread(snapshots.collect)
        except OSError as exc:
            log.error("skill snapshot collection failed", error=str(exc))
            continue
        if removed:
            log.info("skill snapshots removed", content_hashes=removed)


def reload_config(
    reload: Reloader,
    current: list[DaemonConfig],
    invocations: Invocations,
    lockout: Lockout,
    signatures: SignatureGate,
    audit_log: BackgroundAudit,
    quarantines: Quarantines,
    *,
    actor: str = SYSTEM_ACTOR,
) -> list[str]:
    """SIGHUP and Admin.Reload: re-read the configuration; rate limits, approval timeout, lockout
    policy, the warm pool's and the quarantine's settings and require_signed take effect at
    once. Returns what changed. A bad file changes nothing (the daemon keeps running as it
    was): WrongState naming its error. The other keys of [catalog] (its folders, say) need a
    restart."""
    try:
        new = reload()
    except SkillRuntimeError as exc:
        log.error("configuration reload refused", error=str(exc), by=actor)
        audit_log.emit(events.CONFIG_RELOADED, actor=actor, applied=False, error=str(exc))
        raise WrongState(f"configuration not reloaded: {exc}") from exc
    changed = sorted(
        name
        for name in (
            "rate_limits_by_role",
            "rate_limits_by_token",
            "approval_timeout_ms",
            "lockout",
            "pool",
            "quarantine",
            "require_signed",
        )
        if getattr(new, name) != getattr(current[0], name)
    )
    current[0] = new
    invocations.approval_timeout_ms = new.approval_timeout_ms
    lockout.policy = new.lockout
    invocations.runner.pool.configure(new.pool)
    signatures.required = new.require_signed
    quarantines.configure(new.quarantine)
    log.info("configuration reloaded", changed=changed, by=actor)
    audit_log.emit(events.CONFIG_RELOADED, actor=actor, applied=True, changed=changed)
    return changed


def audit_auth_failure(audit_log: BackgroundAudit, peer: str, token_id: str) -> None:
    log.warning("authentication failed", peer=peer, token_id=token_id or None)
    audit_log.emit(events.AUTH_FAILED, actor="anonymous", peer=peer, token_id=token_id or None)


async def prune_audit_daily(config: DaemonConfig) -> None:
    """Retention: once a day, drop audit entries older than the configured age."""
    while True:
        if config.audit_log.exists():
            try:
                await asyncio.to_thread(
                    prune,
                    config.audit_log,
                    older_than_ms=config.audit_retention_ms,
                    keys=config.audit_keys,
                )
            except SkillRuntimeError as exc:
                log.error("audit prune failed", error=str(exc))
        await asyncio.sleep(_PRUNE_INTERVAL_SECONDS)


async def repair_audit(audit_log: BackgroundAudit) -> None:
    """At start, a torn tail is cut before anything is appended. A log that cannot be written
    yet does not stop the start: calls that need it are refused until it can be."""
    try:
        await audit_log.repair()
    except SkillRuntimeError as exc:
        log.error("audit log cannot be repaired yet", error=str(exc))


def audit_recovery(audit_log: BackgroundAudit, recovery: Recovery) -> None:
    """A start after an unclean stop says what it cleaned up: each interrupted invocation's end,
    then the recovery itself."""
    if not recovery.sandboxes_killed and not recovery.interrupted:
        return
    for record in recovery.interrupted:
        audit_log.emit(
            events.INVOCATION_FINISHED,
            actor=SYSTEM_ACTOR,
            invocation_id=record.id,
            skill=record.skill,
            tool=record.tool,
            status="sandbox_error",
            reason=INTERRUPTED,
        )
    audit_log.emit(
        events.DAEMON_RECOVERED,
        actor=SYSTEM_ACTOR,
        sandboxes_killed=recovery.sandboxes_killed,
        invocations_failed=[record.id for record in recovery.interrupted],
    )
    log.warning(
        "recovered after an unclean stop",
        sandboxes_killed=recovery.sandboxes_killed,
        invocations_failed=len(recovery.interrupted),
    )
