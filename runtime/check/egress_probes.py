"""The egress area of ``skillrt profile check``: in allowlist mode the proxy is the one way out;
what it recorded and the rules it applies are seen from outside the sandbox."""

from __future__ import annotations

from runtime.check.model import RESOLVE_NAME, Observation, Probe
from runtime.sandbox.egress import BRIDGE_PORT
from runtime.sandbox.egress.policy import REFUSED_ADDRESSES, EgressSettings
from runtime.sandbox.egress.session import SANDBOX_SOCKET_DIR, SOCKET_NAME
from runtime.sandbox.profiles import SandboxProfile
from runtime.sandbox.result import SandboxResult
from runtime.util.units import format_size

__all__ = ["egress_observations", "egress_probes"]


def egress_probes(profile: SandboxProfile, settings: EgressSettings) -> tuple[Probe, ...]:
    """Allowlist mode: the proxy is the one way out, and the rules it applies."""
    if profile.network.mode != "allowlist":
        return ()
    socket_path = f"{SANDBOX_SOCKET_DIR}/{SOCKET_NAME}"
    limits = profile.limits
    return (
        Probe(
            key="egress.socket",
            area="egress",
            label=f"proxy socket {socket_path}",
            expected="present",
            accept=frozenset({"value:present"}),
            action="exists",
            args=(socket_path,),
        ),
        Probe(
            key="egress.proxy_connect",
            area="egress",
            label=f"CONNECT {RESOLVE_NAME}:443 via 127.0.0.1:{BRIDGE_PORT}",
            expected="403 (on no allowlist)",
            accept=frozenset({"value:403"}),
            action="proxy_connect",
            args=(BRIDGE_PORT, RESOLVE_NAME, 443),
            isolated=True,
        ),
        Probe(
            key="egress.recorded",
            area="egress",
            label="attempts in the result",
            expected="1 denied, 0 allowed",
            accept=frozenset({"value:1 denied, 0 allowed"}),
        ),
        Probe(
            key="egress.allowlist",
            area="egress",
            label="allowlist",
            expected="each skill's permissions.network",
        ),
        Probe(key="egress.refused", area="egress", label="refused", expected=REFUSED_ADDRESSES),
        Probe(
            key="egress.limits",
            area="egress",
            label="limits",
            expected=f"{format_size(limits.egress_bytes or 0)} up and down, "
            f"{limits.egress_connections} connections",
        ),
        Probe(
            key="egress.test_settings",
            area="egress",
            label="test-only settings",
            expected="none",
            accept=frozenset({"value:none"}),
        ),
    )


def egress_observations(result: SandboxResult, settings: EgressSettings) -> dict[str, Observation]:
    """What the proxy recorded and the settings it ran with, seen from outside the sandbox."""
    denied = sum(not attempt.allowed for attempt in result.egress)
    allowed = len(result.egress) - denied
    return {
        "egress.recorded": Observation(
            result="value", detail=f"{denied} denied, {allowed} allowed"
        ),
        "egress.allowlist": Observation(result="value", detail="none (no skill)"),
        "egress.refused": Observation(result="value", detail="after resolving on the host"),
        "egress.limits": Observation(result="value", detail="enforced by the proxy"),
        "egress.test_settings": Observation(
            result="value", detail=settings.describe() if settings.active else "none"
        ),
    }
