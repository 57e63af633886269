"""What the daemon claims and opens before it serves: its state directory, its sockets, and the
catalog with the checks that stop a start."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Sequence
from pathlib import Path

import structlog

from runtime.api.config import DaemonConfig
from runtime.api.preflight import PRIVATE_SOCKET
from runtime.core.availability import Host
from runtime.core.catalog import Catalog, Gate
from runtime.core.snapshots import SkillSnapshots
from runtime.errors import ConfigError, SkillRuntimeError
from runtime.sandbox.profiles import ProfileStore
from runtime.util.fsio import hold_exclusive

__all__ = ["lock_state_dir", "open_catalog", "prepare_socket", "private_socket"]

log = structlog.get_logger("skillrt.server")


def lock_state_dir(state_dir: Path) -> int:
    """One daemon per state directory: it owns the cgroups and records found there."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return hold_exclusive(
        state_dir / "daemon.lock",
        busy=f"{state_dir}: another skillrt daemon is using this state directory",
    )


def prepare_socket(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    if not path.exists():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()  # left behind by a daemon that died
    else:
        raise ConfigError(f"{path}: another daemon is already listening on this socket")
    finally:
        probe.close()


def private_socket(state_dir: Path) -> Path:
    """gRPC's own socket, in the state directory that only this daemon uses (it holds the
    lock): one left by a daemon that died is removed. Its path's length passed the preflight."""
    path = state_dir / PRIVATE_SOCKET
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return path


def open_catalog(
    config: DaemonConfig, profiles: ProfileStore, snapshots: SkillSnapshots, gates: Sequence[Gate]
) -> Catalog:
    """The daemon's catalog. A malformed policy file stops the start, naming file and key; the
    operator hears at once of every folder that cannot be used."""
    catalog = Catalog(
        config.catalog_dirs,
        policy_file=config.catalog_policy,
        allowed_paths=config.allowed_readonly_paths,
        profiles=profiles,
        host=_session_host(profiles, config.session_default_profile),
        notice=lambda folder, reason: log.warning("skill unusable", folder=folder, reason=reason),
        snapshots=snapshots,
        gates=gates,
    )
    catalog.policy()
    catalog.listing()
    return catalog


def _session_host(profiles: ProfileStore, profile: str) -> Host:
    """Programs an instruction skill needs are looked for where session commands find them."""
    try:
        env = dict(profiles.get(profile).env)
    except SkillRuntimeError:
        return Host()  # no session profile: sessions will refuse, skills still list
    return Host(search_path=env.get("PATH", Host().search_path))
