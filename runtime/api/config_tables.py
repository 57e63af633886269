"""Tables of the daemon's configuration file that parse on their own (see ``config``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime.api.metrics_listener import parse_endpoint
from runtime.api.tlsfront import TlsSettings
from runtime.auth.roles import Role
from runtime.console.settings import ConsoleSettings, parse_listen
from runtime.core.commands import CommandPolicy
from runtime.core.quarantine import QuarantineSettings, Running, TripKind
from runtime.sandbox.pool import PoolSettings
from runtime.util.tomlfields import Table
from runtime.util.units import parse_duration_ms, parse_size

__all__ = [
    "catalog_table",
    "console_table",
    "metrics_table",
    "pool_table",
    "quarantine_table",
    "sessions_table",
    "tls_table",
]


def catalog_table(table: Table, base: Path) -> dict[str, Any]:
    """``[catalog]``: where skills, profiles and the operator's grants are, what skills may ask
    to have bound, and whether only signed skills are served."""
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
    if table.has("require_signed"):
        changes["require_signed"] = table.boolean("require_signed", False)
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


def quarantine_table(table: Table) -> dict[str, Any]:
    """``[quarantine]``: when a skill whose calls keep tripping the sandbox is quarantined,
    and what becomes of its calls already running."""
    settings = QuarantineSettings()
    values: dict[str, Any] = {"enabled": table.boolean("enabled", settings.enabled)}
    if table.has("window"):
        window = table.parsed("window", parse_duration_ms)
        if window < 1000:
            raise table.error("window", "must be at least 1s")
        values["window_ms"] = window
    thresholds = dict(settings.thresholds)
    for kind in TripKind:
        if table.has(kind.value):
            threshold = table.integer(kind.value)
            if threshold < 0:
                raise table.error(kind.value, "must not be negative (0 turns it off)")
            thresholds[kind] = threshold
    values["thresholds"] = thresholds
    if table.has("running"):
        running = table.string("running")
        try:
            values["running"] = Running(running)
        except ValueError as exc:
            choices = " or ".join(repr(r.value) for r in Running)
            raise table.error("running", f"must be {choices}, not {running!r}") from exc
    table.finish()
    return {"quarantine": QuarantineSettings(**values)}


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


def tls_table(table: Table, base: Path) -> TlsSettings:
    """``[tls]``: the certificate and key, and how client certificates map to roles."""
    roles = table.table("client_roles")
    client_roles = tuple((name, _role(roles, name)) for name in roles.names())
    roles.finish()
    settings = TlsSettings(
        cert=base / table.string("cert"),
        key=base / table.string("key"),
        client_ca=base / table.string("client_ca") if table.has("client_ca") else None,
        require_client_cert=table.boolean("require_client_cert", False),
        client_roles=client_roles,
    )
    table.finish()
    return settings


def _role(table: Table, key: str) -> Role:
    value = table.string(key)
    try:
        return Role(value)
    except ValueError as exc:
        raise table.error(key, f"unknown role {value!r} ({', '.join(Role)})") from exc
