"""What starts one call's sandbox through the warm pool: cold, or warm when one is ready."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.sandbox.egress.proxy import AttemptCallback
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.pool_keys import PoolLabel
from runtime.sandbox.started import Sandbox

if TYPE_CHECKING:  # the pool hands these out; at run time they only call it
    from runtime.sandbox.pool import WarmPool

__all__ = ["ColdStart", "WarmStart"]


class ColdStart:
    """Starts a sandbox for one call without the pool (what the pool does on a miss)."""

    def __init__(self, pool: WarmPool) -> None:
        self._pool = pool

    async def start(
        self, spec: SandboxSpec, *, on_egress: AttemptCallback | None = None
    ) -> Sandbox:
        return await self._pool.cold(spec, on_egress=on_egress)


class WarmStart:
    """Starts a sandbox for one call, from the pool when one is warm for its spec."""

    def __init__(self, pool: WarmPool, label: PoolLabel, keep: tuple[object, ...]) -> None:
        self._pool, self._label, self._keep = pool, label, keep

    async def start(
        self, spec: SandboxSpec, *, on_egress: AttemptCallback | None = None
    ) -> Sandbox:
        return await self._pool.take(spec, self._label, self._keep, on_egress=on_egress)
