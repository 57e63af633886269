"""The plan of ``skillrt profile check``: every probe and what the profile promises it observes.

The plan derives from the profile alone (no I/O); the probes run inside the sandbox are handed to
the probe program as its one argument.
"""

from __future__ import annotations

from collections.abc import Sequence

from runtime.check.egress_probes import egress_probes
from runtime.check.host_probes import file_probes, network_probes
from runtime.check.limit_probes import limit_probes
from runtime.check.model import KILLED, Probe
from runtime.check.syscall_probes import syscall_probes
from runtime.sandbox.egress.policy import EgressSettings
from runtime.sandbox.egress.session import proxy_env
from runtime.sandbox.nsjail import SANDBOX_GID, SANDBOX_UID
from runtime.sandbox.profiles import SandboxProfile

__all__ = ["probe_plan", "program_config"]

_NO_CAPABILITIES = "0000000000000000"


def probe_plan(
    profile: SandboxProfile, *, host_port: int, egress: EgressSettings | None = None
) -> tuple[Probe, ...]:
    """Every probe of ``profile``, in report order; ``host_port`` is the host's listener and
    ``egress`` the launcher's egress settings."""
    syscalls = syscall_probes(profile.seccomp)
    return (
        *_sandbox_probes(any(KILLED in p.accept for p in syscalls)),
        *file_probes(profile),
        *network_probes(profile, host_port),
        *egress_probes(profile, egress or EgressSettings()),
        *syscalls,
        *_identity_probes(),
        *_environment_probes(profile),
        *limit_probes(profile),
    )


def program_config(plan: Sequence[Probe], profile: SandboxProfile) -> dict[str, object]:
    """The probe program's one argument: the probes to run inside the sandbox."""
    return {
        # A hung probe must not take the whole run past the wall time limit.
        "child_timeout_s": max(2, profile.limits.wall_time_ms // 4000),
        "probes": [[p.key, p.action, p.isolated, list(p.args)] for p in plan if p.action],
    }


def _sandbox_probes(kills: bool) -> tuple[Probe, ...]:
    """``kills``: some probes make calls the policy kills for, so the run must report them."""
    status = "seccomp_violation" if kills else "ok"
    return (
        Probe(
            key="sandbox.run",
            area="sandbox",
            label="probe program run",
            expected=status + (" (the probes the policy killed)" if kills else ""),
            accept=frozenset({f"value:{status}"}),
        ),
        Probe(
            key="sandbox.report",
            area="sandbox",
            label="probe program report",
            expected="one JSON document",
            accept=frozenset({"ok"}),
        ),
    )


def _identity_probes() -> tuple[Probe, ...]:
    def field(name: str, label: str, want: str) -> Probe:
        return Probe(
            key=f"identity.{name}",
            area="identity",
            label=label,
            expected=want,
            accept=frozenset({f"value:{want}"}),
            action="status_field",
            args=(name,),
        )

    return (
        field("Uid", "uid (real/effective/saved/fs)", str(SANDBOX_UID)),
        field("Gid", "gid (real/effective/saved/fs)", str(SANDBOX_GID)),
        field("CapEff", "effective capabilities", _NO_CAPABILITIES),
    )


def _environment_probes(profile: SandboxProfile) -> tuple[Probe, ...]:
    env = (*profile.env, *(proxy_env() if profile.network.mode == "allowlist" else ()))
    probes = [
        Probe(
            key=f"environment.{name}",
            area="environment",
            label=f"${name}",
            expected=value,
            accept=frozenset({f"value:{value}"}),
            action="env_var",
            args=(name,),
        )
        for name, value in env
    ]
    names = [name for name, _ in env]
    probes.append(
        Probe(
            key="environment.others",
            area="environment",
            label="other variables",
            expected="none",
            accept=frozenset({"value:none"}),
            action="env_others",
            args=(names,),
        )
    )
    return tuple(probes)
