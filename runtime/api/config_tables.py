"""Tables of the daemon's configuration file that parse on their own (see ``config``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime.api.metrics_listener import parse_endpoint
from runtime.console.settings import ConsoleSettings, parse_listen
from runtime.core.commands import CommandPolicy
from runtime.sandbox.pool import PoolSettings
from runtime.util.tomlfields import Table
from runtime.util.units import parse_duration_ms, parse_size

__all__ = ["catalog_table", "console_table", "metrics_table", "pool_table", "sessions_table"]


def catalog_table(table: Table, base: Path) -> dict[str, Any]:
    """``[catalog]``: where skills, profiles and the operator's grants are, and what skills may
    ask to have bound."""
    changes: dict[str, Any] = {}
    if table.has("skills"):
        changes["catalog_dirs"] = _folders(table, "skills", base)
    if table.has("profiles"):
        changes["profiles_dir"] = base / table.string("profiles")
    if table.has("policy"):
        changes["catalog_policy"] = base / table.string("policy")
    if table.has("allowed_readonly_paths"):
        paths_key = "allowed_readonly_paths"
        changes[paths_key] = tuple(Path(p) for p in table.str_list(paths_key))
    if table.has("snapshot_dir"):
        changes["snapshot_dir"] = base / table.string("snapshot_dir")
    table.finish()
    return changes


def _folders(table: Table, key: str, base: Path) -> tuple[Path, ...]:
    """One folder as a string, or several as a list; the same folder twice is a mistake."""
    value = table.raw(key)
    if not isinstance(value, str | list):
        raise table.error(key, f"expected a folder or a list of folders, got {value!r}")
    names = (table.string(key),) if isinstance(value, str) else table.str_list(key)
    if not names:
        raise table.error(key, "names no folder")
    folders = tuple(base / name for name in names)
    seen: set[Path] = set()
    for folder in folders:
        if folder.resolve() in seen:
            raise table.error(key, f"{folder} is listed twice")
        seen.add(folder.resolve())
    return folders


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


def console_table(table: Table) -> dict[str, Any]:
    """``[console]``: the web console; off unless ``enabled``."""
    settings = ConsoleSettings()
    values: dict[str, Any] = {"enabled": table.boolean("enabled", settings.enabled)}
    if table.has("listen"):
        try:
            values["host"], values["port"] = parse_listen(table.string("listen"))
        except ValueError as exc:
            raise table.error("listen", str(exc)) from exc
    for key, attr in (("session_idle", "session_idle_ms"), ("session_max", "session_max_ms")):
        if table.has(key):
            duration = table.parsed(key, parse_duration_ms)
            if duration < 60_000:
                raise table.error(key, "must be at least 1m")
            values[attr] = duration
    table.finish()
    return {"console": ConsoleSettings(**values)}
