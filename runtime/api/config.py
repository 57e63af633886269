"""Daemon configuration: embedded defaults, then a TOML file, then command-line flags.

    [server]      socket, tcp ("host:port"), insecure_tcp, state_dir, shutdown_grace
    [tls]         cert, key, client_ca, require_client_cert; [tls.client_roles] CN = "role"
    [catalog]     skills (a folder, or a list of folders: a skill name in two of them is
                  unavailable, naming both), profiles, policy (the operator's grants to
                  instruction skills, and the secrets each tool skill may receive; default:
                  skills-policy.toml beside the first skills folder), allowed_readonly_paths
                  (host paths a skill.toml may bind read-only; none by default; /proc, /sys,
                  /dev, credentials and the daemon's own directories never), snapshot_dir
                  (where loaded skills are copied for sandboxes to bind; default
                  /run/skillrt-skills/<cgroup_root>; one daemon each, reachable by the sandbox
                  user, writable by the daemon only), require_signed (serve only skills
                  signed by a trusted key, with a passing vet of their content: false by
                  default; a reload applies it)
    [sandboxes]   max_running, max_queued, cgroup_root, host_uids ("first-last": the host uids
                  sandboxes run as, one per running sandbox or session; no account may be in it)
    [auth]        max_failures, failure_window, lockout, max_lockout, token_overlap,
                  admin_token_rotation
    [rate_limits.roles.<role>] and [rate_limits.tokens.<token name>]:
                  invocations_per_minute, concurrent, cpu_seconds_per_hour
    [approvals]   timeout (per tool: approval_timeout in the skill manifest)
    [audit]       retention (default 30 days), key_dir (the chain and head keys, a 0700
                  directory apart from the log: default audit-keys in the state directory;
                  $SKILLRT_AUDIT_KEY_DIR for the command line)
    [secrets]     key_command (a command that prints the secrets key, for a KMS)
    [sessions]    root, default_profile, max_sessions, max_per_principal, max_total_size
    [sessions.commands.<profile>] deny, approve: shell-style patterns of command lines
    [pool]        enabled (default false), max_per_key (4), max_total (16), memory_budget
                  ("256MiB"), idle ("60s"): warm sandboxes, started ahead of the calls that
                  need no approval before they run (see runtime/sandbox/pool.py)
    [quarantine]  enabled (true), window ("60s"), a threshold per kind of trip within the window
                  (seccomp_kills, egress_denials, memory_limit, pids_limit, output_limit,
                  invalid_output: 10 each, 0 turns one off), running ("kill" or "finish")
    [metrics]     listen: where Prometheus scrapes GET /metrics, "127.0.0.1:9464" (loopback
                  only) or "unix:/run/skillrt/metrics.sock" (a 0600 socket in a directory that
                  exists); nothing listens without it
    [console]     enabled (default false), listen ("127.0.0.1:7480"; TLS with [tls]'s certificate,
                  needed off loopback), session_idle ("30m"), session_max ("12h")

Relative paths in the file are relative to the file. skillrt.example.toml, at the top of the
project, shows every key with its default; ``skillrt config check FILE`` checks a file as the
daemon's start would.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from runtime.api.config_tables import (
    catalog_table,
    console_table,
    metrics_table,
    pool_table,
    quarantine_table,
    sessions_table,
    tls_table,
)
from runtime.api.locations import (
    ADMIN_TOKEN_NAME,
    DEFAULT_SOCKET,
    DEFAULT_STATE_DIR,
    default_socket,
    default_state_dir,
)
from runtime.api.metrics_listener import Endpoint
from runtime.api.tlsfront import TlsSettings
from runtime.audit.chainkey import default_key_dir
from runtime.auth.lockout import LockoutPolicy
from runtime.auth.ratelimit import RateLimits
from runtime.auth.roles import Role
from runtime.console.settings import ConsoleSettings
from runtime.core.commands import CommandPolicy
from runtime.core.host_paths import check_allowlist, never_bindable
from runtime.core.quarantine import QuarantineSettings
from runtime.core.sessions import SessionSettings
from runtime.core.snapshots import SNAPSHOTS_BASE
from runtime.errors import ConfigError
from runtime.sandbox.identity import DEFAULT_UIDS, UidRange, parse_uid_range
from runtime.sandbox.pool import PoolSettings
from runtime.util import paths
from runtime.util.tomlfields import Table
from runtime.util.units import parse_duration_ms

__all__ = ["DEFAULT_SOCKET", "DEFAULT_STATE_DIR", "DaemonConfig", "defaults", "load"]

# Session workspaces are mounted here, one folder per daemon (named like its cgroup root).
_SESSIONS_ROOT = Path("/run/skillrt-sessions")


def _default_rate_limits() -> dict[Role, RateLimits]:
    # Agents are the callers that can run away; people and the owner are not throttled.
    return {
        Role.AGENT: RateLimits(invocations_per_minute=600, concurrent=16, cpu_seconds_per_hour=3600)
    }


@dataclass(frozen=True, kw_only=True)
class DaemonConfig:
    socket_path: Path
    tcp_address: str | None
    insecure_tcp: bool
    tls: TlsSettings | None
    state_dir: Path
    catalog_dirs: tuple[Path, ...]  # one or more; a name in two of them is refused
    profiles_dir: Path
    max_running: int
    max_queued: int
    shutdown_grace_ms: int
    cgroup_root: str
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    token_overlap_ms: int = 3_600_000
    admin_token_rotation_ms: int = 86_400_000
    rate_limits_by_role: dict[Role, RateLimits] = field(default_factory=_default_rate_limits)
    rate_limits_by_token: dict[str, RateLimits] = field(default_factory=dict)
    approval_timeout_ms: int = 900_000  # unanswered requests fail closed after this
    audit_retention_ms: int = 30 * 86_400_000
    audit_key_dir: Path | None = None  # None: audit-keys in the state directory
    secrets_key_command: tuple[str, ...] | None = None  # a KMS helper that prints the key
    sessions_root: Path | None = None  # None: /run/skillrt-sessions/<cgroup_root>
    session_default_profile: str = "workspace"
    max_sessions: int = 64
    max_sessions_per_principal: int = 8
    max_session_bytes: int = 4 * 1024**3
    session_commands: dict[str, CommandPolicy] = field(default_factory=dict)
    catalog_policy: Path | None = None  # None: skills-policy.toml beside the first catalog
    allowed_readonly_paths: tuple[Path, ...] = ()  # what tool skills may ask to have bound
    snapshot_dir: Path | None = None  # None: /run/skillrt-skills/<cgroup_root>
    require_signed: bool = False  # serve only skills a trusted key signed (signature_gate.py)
    host_uids: UidRange = DEFAULT_UIDS
    pool: PoolSettings = field(default_factory=PoolSettings)
    metrics_listen: Endpoint | None = None  # None: no metrics listener
    quarantine: QuarantineSettings = field(default_factory=QuarantineSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)

    @property
    def database(self) -> Path:
        return self.state_dir / "skillrt.db"

    @property
    def server_key(self) -> Path:
        return self.state_dir / "server.key"

    @property
    def admin_token_file(self) -> Path:
        return self.state_dir / ADMIN_TOKEN_NAME

    @property
    def audit_log(self) -> Path:
        return self.state_dir / "audit.log"

    @property
    def audit_keys(self) -> Path:
        return self.audit_key_dir or default_key_dir(self.audit_log)

    @property
    def secrets_db(self) -> Path:
        return self.state_dir / "secrets.db"

    @property
    def secrets_key(self) -> Path:
        return self.state_dir / "secrets.key"

    @property
    def snapshot_root(self) -> Path:
        return self.snapshot_dir or SNAPSHOTS_BASE / self.cgroup_root

    @property
    def sessions(self) -> SessionSettings:
        return SessionSettings(
            root=self.sessions_root or _SESSIONS_ROOT / self.cgroup_root,
            default_profile=self.session_default_profile,
            max_sessions=self.max_sessions,
            max_per_principal=self.max_sessions_per_principal,
            max_total_bytes=self.max_session_bytes,
        )

    def listeners(self) -> str:
        """Where the daemon answers, in one phrase (its start-up line)."""
        tcp = self.tcp_listener()
        console = self.console.url(tls=self.tls is not None)
        where = f"unix:{self.socket_path}" + (f" and tcp {tcp}" if tcp else "")
        return where + (f" and the console at {console}" if console else "")

    def tcp_listener(self) -> str | None:
        """The TCP address and how it is secured, or None when there is none."""
        if self.tcp_address is None:
            return None
        if self.tls is None:
            return f"{self.tcp_address} (INSECURE: no TLS)"
        clients = ""
        if self.tls.client_ca is not None:
            wanted = "required" if self.tls.require_client_cert else "accepted"
            clients = f", client certificates {wanted}"
        return f"{self.tcp_address} (TLS 1.3{clients})"

    def rate_limits(self, role: Role, token_name: str) -> RateLimits:
        """A token's own limits win over its role's."""
        return self.rate_limits_by_token.get(token_name) or self.rate_limits_by_role.get(
            role, RateLimits()
        )


def defaults() -> DaemonConfig:
    return DaemonConfig(
        socket_path=default_socket(),
        tcp_address=None,
        insecure_tcp=False,
        tls=None,
        state_dir=default_state_dir(),
        catalog_dirs=(paths.catalog_dir(),),
        profiles_dir=paths.profiles_dir(),
        max_running=2 * (os.cpu_count() or 1),
        max_queued=64,
        shutdown_grace_ms=10_000,
        cgroup_root="skillrt",
        audit_key_dir=Path(os.environ["SKILLRT_AUDIT_KEY_DIR"])
        if os.environ.get("SKILLRT_AUDIT_KEY_DIR")
        else None,
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
    base = file.resolve().parent
    changes: dict[str, Any] = {}
    server = doc.table("server")
    if server.has("socket"):
        changes["socket_path"] = base / server.string("socket")
    if server.has("tcp"):
        changes["tcp_address"] = server.string("tcp") or None
    changes["insecure_tcp"] = server.boolean("insecure_tcp", config.insecure_tcp)
    if server.has("state_dir"):
        changes["state_dir"] = base / server.string("state_dir")
    if server.has("shutdown_grace"):
        changes["shutdown_grace_ms"] = server.parsed("shutdown_grace", parse_duration_ms)
    server.finish()
    changes.update(catalog_table(doc.table("catalog"), base))
    sandboxes = doc.table("sandboxes")
    for key in ("max_running", "max_queued"):
        if sandboxes.has(key):
            changes[key] = sandboxes.integer(key)
    if sandboxes.has("cgroup_root"):
        changes["cgroup_root"] = sandboxes.string("cgroup_root")
    if sandboxes.has("host_uids"):
        changes["host_uids"] = parse_uid_range(
            sandboxes.string("host_uids"), key="sandboxes.host_uids"
        )
    sandboxes.finish()
    if doc.has("tls"):
        changes["tls"] = tls_table(doc.table("tls"), base)
    changes.update(_auth(doc.table("auth"), config))
    changes.update(_rate_limits(doc.table("rate_limits"), config))
    approvals = doc.table("approvals")
    if approvals.has("timeout"):
        changes["approval_timeout_ms"] = approvals.parsed("timeout", parse_duration_ms)
    approvals.finish()
    audit_table = doc.table("audit")
    if audit_table.has("retention"):
        changes["audit_retention_ms"] = audit_table.parsed("retention", parse_duration_ms)
    if audit_table.has("key_dir"):
        changes["audit_key_dir"] = base / audit_table.string("key_dir")
    audit_table.finish()
    secrets_table = doc.table("secrets")
    if secrets_table.has("key_command"):
        changes["secrets_key_command"] = tuple(shlex.split(secrets_table.string("key_command")))
    secrets_table.finish()
    changes.update(sessions_table(doc.table("sessions"), base))
    changes.update(pool_table(doc.table("pool")))
    changes.update(quarantine_table(doc.table("quarantine")))
    changes.update(metrics_table(doc.table("metrics"), base))
    changes.update(console_table(doc.table("console")))
    doc.finish()
    return replace(config, **changes)


def _auth(table: Table, config: DaemonConfig) -> dict[str, Any]:
    lockout = config.lockout
    durations = {
        "failure_window": "window_ms",
        "lockout": "base_lockout_ms",
        "max_lockout": "max_lockout_ms",
    }
    lockout_changes: dict[str, int] = {}
    for key, attr in durations.items():
        if table.has(key):
            lockout_changes[attr] = table.parsed(key, parse_duration_ms)
    if table.has("max_failures"):
        lockout_changes["max_failures"] = table.integer("max_failures")
    changes: dict[str, Any] = {"lockout": replace(lockout, **lockout_changes)}
    if table.has("token_overlap"):
        changes["token_overlap_ms"] = table.parsed("token_overlap", parse_duration_ms)
    if table.has("admin_token_rotation"):
        changes["admin_token_rotation_ms"] = table.parsed("admin_token_rotation", parse_duration_ms)
    table.finish()
    return changes


def _limits(table: Table) -> RateLimits:
    values = {
        key: table.integer(key)
        for key in ("invocations_per_minute", "concurrent", "cpu_seconds_per_hour")
        if table.has(key)
    }
    for key, value in values.items():
        if value < 1:
            raise table.error(key, "must be at least 1")
    table.finish()
    return RateLimits(**values)


def _rate_limits(table: Table, config: DaemonConfig) -> dict[str, Any]:
    roles_table, tokens_table = table.table("roles"), table.table("tokens")
    by_role = dict(config.rate_limits_by_role)
    for name in roles_table.names():
        try:
            role = Role(name)
        except ValueError as exc:
            raise roles_table.error(name, "unknown role") from exc
        by_role[role] = _limits(roles_table.table(name))
    by_token = {name: _limits(tokens_table.table(name)) for name in tokens_table.names()}
    for sub in (roles_table, tokens_table, table):
        sub.finish()
    return {"rate_limits_by_role": by_role, "rate_limits_by_token": by_token}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check(config: DaemonConfig) -> None:
    if config.max_running < 1:
        raise ConfigError("sandboxes.max_running: must be at least 1")
    if config.max_queued < 0:
        raise ConfigError("sandboxes.max_queued: must not be negative")
    if not config.cgroup_root or "/" in config.cgroup_root or config.cgroup_root.startswith("."):
        raise ConfigError("sandboxes.cgroup_root: must be a plain directory name")
    if config.audit_keys.resolve() == config.audit_log.parent.resolve():
        # Whoever can edit the log could then read the key that makes its entries unforgeable.
        raise ConfigError("audit.key_dir: must not be the audit log's directory")
    daemon_dirs = (
        config.state_dir,
        config.socket_path.parent,
        config.sessions.root,
        config.snapshot_root,
        config.audit_keys,
    )
    check_allowlist(
        "catalog.allowed_readonly_paths", config.allowed_readonly_paths, never_bindable(daemon_dirs)
    )
    if config.console.enabled and config.tls is None and not config.console.loopback:
        # Passwords and session cookies would cross the network in the clear.
        raise ConfigError("console.listen: off loopback the console needs [tls] cert and key")
    if config.tcp_address is None:
        return
    host, _, port = config.tcp_address.rpartition(":")
    if not port.isdigit() or not host:
        raise ConfigError(f"server.tcp: {config.tcp_address!r} is not host:port")
    if config.tls is None and not config.insecure_tcp:
        raise ConfigError("server.tcp: TCP needs [tls] cert and key (or insecure_tcp on loopback)")
    if config.tls is None and not _is_loopback(host):
        raise ConfigError(f"server.tcp: insecure TCP is allowed on loopback only, not {host!r}")
