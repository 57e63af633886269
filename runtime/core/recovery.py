"""After a crash: no sandbox of the old daemon survives, and no invocation stays running."""

from __future__ import annotations

from runtime.core.store import Store
from runtime.sandbox.cgroups import Cgroups
from runtime.sandbox.result import Status, failed_result
from runtime.util.clock import SYSTEM_CLOCK, Clock

__all__ = ["recover"]


def recover(cgroups: Cgroups, store: Store, clock: Clock = SYSTEM_CLOCK) -> tuple[int, int]:
    """After a crash: kill leftover sandboxes, remove their cgroups, fail their invocations.

    Invocations waiting for a person are left waiting: their requests are durable.
    Returns (sandboxes reaped, invocations failed).
    """
    groups = cgroups.existing()
    for group in groups:
        group.kill()
        group.remove()
    interrupted = store.interrupted()
    for record in interrupted:
        store.finish(
            record.id,
            failed_result(
                Status.SANDBOX_ERROR,
                "interrupted: the daemon stopped before the invocation finished",
            ),
            None,
            clock.now_ms(),
        )
    return len(groups), len(interrupted)
