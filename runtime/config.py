"""Daemon configuration: embedded defaults, then a TOML file, then command-line flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from runtime import paths
from runtime.errors import ConfigError
from runtime.tomlfields import Table
from runtime.units import parse_duration_ms

DEFAULT_SOCKET = Path("/run/skillrt/skillrt.sock")
DEFAULT_STATE_DIR = Path("/var/lib/skillrt")


@dataclass(frozen=True, kw_only=True)
class DaemonConfig:
    socket_path: Path
    tcp_address: str | None  # host:port, loopback only until TLS exists
    state_dir: Path
    catalog_dir: Path
    profiles_dir: Path
    max_running: int
    max_queued: int
    shutdown_grace_ms: int
    cgroup_root: str

    @property
    def database(self) -> Path:
        return self.state_dir / "skillrt.db"


def defaults() -> DaemonConfig:
    return DaemonConfig(
        socket_path=Path(os.environ.get("SKILLRT_SOCKET") or DEFAULT_SOCKET),
        tcp_address=None,
        state_dir=DEFAULT_STATE_DIR,
        catalog_dir=paths.catalog_dir(),
        profiles_dir=paths.profiles_dir(),
        max_running=2 * (os.cpu_count() or 1),
        max_queued=64,
        shutdown_grace_ms=10_000,
        cgroup_root="skillrt",
    )


def load(file: Path | None, **flags: Any) -> DaemonConfig:
    """Defaults, overridden by ``file`` (if given), overridden by flags that are not None."""
    config = defaults()
    if file is not None:
        config = _from_file(config, file)
    config = replace(config, **{k: v for k, v in flags.items() if v is not None})
    _check(config)
    return config


def _from_file(config: DaemonConfig, file: Path) -> DaemonConfig:
    doc = Table.load(file)
    server, catalog, sandboxes = doc.table("server"), doc.table("catalog"), doc.table("sandboxes")
    changes: dict[str, Any] = {}
    base = file.parent
    if server.has("socket"):
        changes["socket_path"] = base / server.string("socket")
    if server.has("tcp"):
        changes["tcp_address"] = server.string("tcp") or None
    if server.has("state_dir"):
        changes["state_dir"] = base / server.string("state_dir")
    if server.has("shutdown_grace"):
        changes["shutdown_grace_ms"] = server.parsed("shutdown_grace", parse_duration_ms)
    if catalog.has("skills"):
        changes["catalog_dir"] = base / catalog.string("skills")
    if catalog.has("profiles"):
        changes["profiles_dir"] = base / catalog.string("profiles")
    for key in ("max_running", "max_queued"):
        if sandboxes.has(key):
            changes[key] = sandboxes.integer(key)
    if sandboxes.has("cgroup_root"):
        changes["cgroup_root"] = sandboxes.string("cgroup_root")
    for table in (server, catalog, sandboxes, doc):
        table.finish()
    return replace(config, **changes)


def _check(config: DaemonConfig) -> None:
    if config.max_running < 1:
        raise ConfigError("sandboxes.max_running: must be at least 1")
    if config.max_queued < 0:
        raise ConfigError("sandboxes.max_queued: must not be negative")
    if not config.cgroup_root or "/" in config.cgroup_root or config.cgroup_root.startswith("."):
        raise ConfigError("sandboxes.cgroup_root: must be a plain directory name")
    if config.tcp_address is not None:
        host, _, port = config.tcp_address.rpartition(":")
        if not port.isdigit() or host not in ("127.0.0.1", "localhost", "[::1]"):
            raise ConfigError(
                f"server.tcp: {config.tcp_address!r}: only a loopback host:port is allowed "
                "(TCP has no TLS yet)"
            )
