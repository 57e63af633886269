"""What a skill may reach beyond its sandbox: egress allowlist, secrets, extra read-only paths.

The same three keys are read from a tool skill's ``[permissions]`` (skill.toml) and from the
operator's grants to an instruction skill (skills-policy.toml), with the same rules, so that an
entry means the same wherever it is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.sandbox.egress.policy import EgressRule, parse_rule
from runtime.secrets.names import check_secret_name
from runtime.util.tomlfields import Table

__all__ = ["NO_PERMISSIONS", "Permissions", "network_rules", "parse_permissions"]


@dataclass(frozen=True, kw_only=True)
class Permissions:
    network: tuple[str, ...]
    secrets: tuple[str, ...]
    readonly_paths: tuple[str, ...]


NO_PERMISSIONS = Permissions(network=(), secrets=(), readonly_paths=())


def parse_permissions(table: Table) -> Permissions:
    """``network``, ``secrets`` and ``readonly_paths`` of ``table``; errors name file and key."""
    permissions = Permissions(
        network=table.str_list("network"),
        secrets=table.str_list("secrets"),
        readonly_paths=table.str_list("readonly_paths"),
    )
    network_rules(table, "network", permissions.network)
    for name in permissions.secrets:
        try:
            check_secret_name(name)
        except ValueError as exc:
            raise table.error("secrets", str(exc)) from exc
        if permissions.secrets.count(name) > 1:
            raise table.error("secrets", f"{name!r} is listed twice")
    for path in permissions.readonly_paths:
        if not path.startswith("/") or ".." in path.split("/"):
            raise table.error("readonly_paths", f"{path!r} must be an absolute path without '..'")
    table.finish()
    return permissions


def network_rules(table: Table, key: str, entries: tuple[str, ...]) -> tuple[EgressRule, ...]:
    """The allowlist entries under ``key`` as rules; a bad entry is an error naming it."""
    rules = []
    for index, entry in enumerate(entries):
        try:
            rules.append(parse_rule(entry))
        except ValueError as exc:
            raise table.error(f"{key}[{index}]", str(exc)) from exc
    return tuple(rules)
