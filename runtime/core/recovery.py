"""After a crash: no sandbox of the old daemon survives, and no invocation stays running."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.core.records import InvocationRecord
from runtime.core.store import Store
from runtime.sandbox.cgroups import Cgroups
from runtime.sandbox.result import Status, failed_result
from runtime.util.clock import SYSTEM_CLOCK, Clock

__all__ = ["INTERRUPTED", "Recovery", "recover"]

INTERRUPTED = "interrupted: the daemon stopped before the invocation finished"


@dataclass(frozen=True)
class Recovery:
    """What a start found of a daemon that stopped uncleanly, for the log and the audit log."""

    sandboxes_killed: int
    interrupted: tuple[InvocationRecord, ...]


def recover(cgroups: Cgroups, store: Store, clock: Clock = SYSTEM_CLOCK) -> Recovery:
    """After a crash: kill leftover sandboxes, remove their cgroups, fail their invocations.

    Invocations waiting for a person are left waiting: their requests are durable.
    """
    groups = cgroups.existing()
    for group in groups:
        group.kill()
        group.remove()
    interrupted = store.interrupted()
    for record in interrupted:
        store.finish(
            record.id,
            failed_result(Status.SANDBOX_ERROR, INTERRUPTED),
            None,
            clock.now_ms(),
        )
    return Recovery(sandboxes_killed=len(groups), interrupted=tuple(interrupted))
