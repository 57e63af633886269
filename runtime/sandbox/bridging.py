"""Network mode allowlist, the sandbox's side: its egress session, and its spec behind it.

The egress package opens a proxy for rules and limits and says what a sandbox must add to use
it (``Attachment``); this module reads those from a spec and applies the attachment to it, so
that the dependency points one way: sandbox -> egress.
"""

from __future__ import annotations

from dataclasses import replace

from runtime.errors import IsolationUnavailable
from runtime.sandbox.egress.policy import EgressSettings
from runtime.sandbox.egress.proxy import AttemptCallback, EgressLimits
from runtime.sandbox.egress.session import Attachment, EgressSession
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.profiles import Bind

__all__ = ["bridged", "open_egress"]


async def open_egress(
    spec: SandboxSpec,
    *,
    settings: EgressSettings,
    owner: int,
    on_attempt: AttemptCallback | None = None,
) -> EgressSession:
    """The egress session for ``spec``'s allowlist and limits, reachable only by the sandbox's
    host uid ``owner`` (and its gid of the same number)."""
    limits = spec.limits
    if limits.egress_bytes is None or limits.egress_connections is None:
        raise IsolationUnavailable(
            f"profile {spec.profile.name}: network mode allowlist without egress limits"
        )
    return await EgressSession.open(
        rules=spec.egress,
        limits=EgressLimits(bytes=limits.egress_bytes, connections=limits.egress_connections),
        settings=settings,
        owner_uid=owner,
        owner_gid=owner,
        on_attempt=on_attempt,
    )


def bridged(spec: SandboxSpec, attachment: Attachment) -> SandboxSpec:
    """``spec`` behind the bridge: socket directory bound, proxy variables set (pure)."""
    return replace(
        spec,
        argv=(*attachment.argv_prefix, *spec.argv),
        env=(*spec.env, *attachment.env),
        binds=(*spec.binds, Bind(source=attachment.socket_dir, target=attachment.mount_point)),
    )
