"""What one tool may do when it runs, in plain words: the summary an approver is shown (pure).

``skillrt approvals`` shows it beside each request and ``skillrt vet`` for each tool of the skill
it reviews; both render it with ``scope_lines``, so that what a reviewer passed and what an
approver is asked about read the same, word for word.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.core.manifest import SkillSpec, ToolSpec
from runtime.sandbox.profiles import LimitOverrides, Limits
from runtime.util.units import format_duration, format_size

__all__ = ["Scope", "limits_text", "scope_lines", "tool_scope"]

_APPROVAL = {
    "never": "none; it runs whenever it is called",
    "before_run": "a person approves each call before it runs",
    "before_return": "a person approves each result before the caller receives it",
}


@dataclass(frozen=True, kw_only=True)
class Scope:
    """What one call of a tool may reach, and under which limits and approval."""

    network: tuple[str, ...]  # host:port entries of its egress allowlist
    secrets: tuple[str, ...]  # environment variables it receives
    readonly_paths: tuple[str, ...]  # host paths bound read-only
    limits: Limits | LimitOverrides  # a limit left None is not known, and not shown
    approval: str  # never, before_run, before_return
    profile: str = ""  # "": not known (a request recorded before it was kept)
    elevated: bool | None = None  # None: not known


def tool_scope(skill: SkillSpec, tool: ToolSpec, limits: Limits) -> Scope:
    """The scope of ``tool`` of ``skill`` with its effective ``limits``: its own network list
    when it has one (which narrows the skill's), else the skill's."""
    granted = skill.permissions
    return Scope(
        network=granted.network if tool.network is None else tool.network,
        secrets=granted.secrets,
        readonly_paths=granted.readonly_paths,
        limits=limits,
        approval=tool.approval,
        profile=skill.profile,
        elevated=tool.elevated,
    )


def scope_lines(scope: Scope) -> list[str]:
    """One line per aspect, each starting with what it is about."""
    lines = [
        "network: "
        + (
            f"{', '.join(scope.network)} only, through the egress proxy"
            if scope.network
            else "none"
        ),
        "secrets: "
        + (f"{', '.join(scope.secrets)}, as environment variables" if scope.secrets else "none"),
        "host paths: "
        + (f"{', '.join(scope.readonly_paths)}, read-only" if scope.readonly_paths else "none"),
    ]
    if scope.profile:
        lines.append(f"profile: {scope.profile}")
    limits = limits_text(scope.limits)
    if limits:
        lines.append(f"limits: {limits}")
    approval = _APPROVAL.get(scope.approval, scope.approval)
    if scope.elevated:
        approval = f"elevated; {approval}"
    lines.append(f"approval: {approval}")
    return lines


def limits_text(limits: Limits | LimitOverrides) -> str:
    """The limits that matter to a reader, those known, in the units they are written in."""
    parts = []
    if limits.memory_bytes is not None:
        parts.append(f"memory {format_size(limits.memory_bytes)}")
    if limits.cpu_time_ms is not None:
        parts.append(f"cpu {format_duration(limits.cpu_time_ms)}")
    if limits.wall_time_ms is not None:
        parts.append(f"wall {format_duration(limits.wall_time_ms)}")
    if limits.pids is not None:
        parts.append(f"pids {limits.pids}")
    if limits.output_bytes is not None:
        parts.append(f"output {format_size(limits.output_bytes)}")
    if limits.egress_bytes is not None:
        parts.append(f"egress {format_size(limits.egress_bytes)}")
    if limits.egress_connections is not None:
        parts.append(f"egress connections {limits.egress_connections}")
    return ", ".join(parts)
