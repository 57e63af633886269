"""Tables of the daemon's configuration file that parse on their own (see ``config``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime.api.metrics_listener import parse_endpoint
from runtime.core.commands import CommandPolicy
from runtime.sandbox.pool import PoolSettings
from runtime.util.tomlfields import Table
from runtime.util.units import parse_duration_ms, parse_size

__all__ = ["metrics_table", "pool_table", "sessions_table"]


def sessions_table(table: Table, base: Path) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if table.has("root"):
        changes["sessions_root"] = base / table.string("root")
    if table.has("default_profile"):
        changes["session_default_profile"] = table.string("default_profile")
    for key, attr in (
        ("max_sessions", "max_sessions"),
        ("max_per_principal", "max_sessions_per_principal"),
    ):
        if table.has(key):
            value = table.integer(key)
            if value < 1:
                raise table.error(key, "must be at least 1")
            changes[attr] = value
    if table.has("max_total_size"):
        changes["max_session_bytes"] = table.parsed("max_total_size", parse_size)
    commands = table.table("commands")
    policies = {}
    for profile in commands.names():
        entry = commands.table(profile)
        policies[profile] = CommandPolicy(
            deny=entry.str_list("deny"), approve=entry.str_list("approve")
        )
        entry.finish()
    commands.finish()
    table.finish()
    if policies:
        changes["session_commands"] = policies
    return changes


def pool_table(table: Table) -> dict[str, Any]:
    """``[pool]``: the warm sandboxes' limits."""
    settings = PoolSettings()
    values: dict[str, Any] = {"enabled": table.boolean("enabled", settings.enabled)}
    for key in ("max_per_key", "max_total"):
        if table.has(key):
            value = table.integer(key)
            if value < 0:
                raise table.error(key, "must not be negative")
            values[key] = value
    if table.has("memory_budget"):
        values["memory_budget_bytes"] = table.parsed("memory_budget", parse_size)
    if table.has("idle"):
        idle = table.parsed("idle", parse_duration_ms)
        if idle < 1000:
            raise table.error("idle", "must be at least 1s")
        values["idle_ms"] = idle
    table.finish()
    return {"pool": PoolSettings(**values)}


def metrics_table(table: Table, base: Path) -> dict[str, Any]:
    """``[metrics]``: where Prometheus metrics are served; nowhere without ``listen``."""
    changes: dict[str, Any] = {}
    if table.has("listen"):
        try:
            changes["metrics_listen"] = parse_endpoint(table.string("listen"), base)
        except ValueError as exc:
            raise table.error("listen", str(exc)) from exc
    table.finish()
    return changes
