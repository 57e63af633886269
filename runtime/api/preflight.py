"""What the daemon checks of its configuration before it starts, with no side effect.

``skillrt serve`` runs these checks first, and ``skillrt config check`` runs them too, so a file
that passes the check gets past them at start: the catalog and profile folders exist, the skills
policy parses, the TLS files load, and the sockets' paths fit. The check also parses every
profile; the start does not stop for a broken one, since profiles are read again for each call
and a broken one makes only the skills that use it unavailable, as a broken skill folder does.
What needs the daemon's own rights (the state directory's lock, cgroups, the snapshot folder) is
left to the start itself.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from runtime.api.config import DaemonConfig
from runtime.api.tlsfront import TlsSettings, server_context
from runtime.core.skill_policy import default_policy_file, load_policy
from runtime.core.skillmd import SKILL_NAME
from runtime.errors import ConfigError
from runtime.sandbox.profiles import load_profile

__all__ = ["PRIVATE_SOCKET", "Preflight", "preflight"]

_SUN_PATH_MAX = 108  # bytes in sockaddr_un's path, its terminating NUL included
# gRPC's own socket, which the daemon keeps in its state directory (see server.py).
PRIVATE_SOCKET = "grpc.sock"


@dataclass(frozen=True, kw_only=True)
class Preflight:
    """What the checks found, for a summary."""

    skills: tuple[int, ...]  # skill folders in each catalog folder, in the configured order
    profiles: tuple[str, ...]
    policy_file: Path
    policy_present: bool


def preflight(config: DaemonConfig, *, every_profile: bool = True) -> Preflight:
    """Raise a ConfigError naming the key for the first problem; else what was found.
    ``every_profile``: a profile that does not parse is a problem too."""
    _socket_fits("server.socket", config.socket_path)
    _socket_fits("server.state_dir", config.state_dir / PRIVATE_SOCKET)
    skills = tuple(_skill_folders(folder) for folder in config.catalog_dirs)
    profiles = _profiles(config.profiles_dir, parse=every_profile)
    policy = config.catalog_policy or default_policy_file(config.catalog_dirs[0])
    load_policy(policy)  # names its own file and key
    if config.tls is not None:
        _tls(config.tls)
    return Preflight(
        skills=skills, profiles=profiles, policy_file=policy, policy_present=policy.exists()
    )


def _socket_fits(key: str, path: Path) -> None:
    if len(os.fsencode(path)) >= _SUN_PATH_MAX:
        raise ConfigError(f"{key}: {path}: too long a path for a Unix socket")


def _skill_folders(folder: Path) -> int:
    if not folder.is_dir():
        raise ConfigError(f"catalog.skills: {folder}: not a folder")
    try:
        return sum(1 for p in folder.iterdir() if p.is_dir() and SKILL_NAME.match(p.name))
    except OSError as exc:
        raise ConfigError(f"catalog.skills: {folder}: cannot list: {exc.strerror}") from exc


def _profiles(folder: Path, *, parse: bool) -> tuple[str, ...]:
    if not folder.is_dir():
        raise ConfigError(f"catalog.profiles: {folder}: not a folder")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ConfigError(f"catalog.profiles: {folder}: holds no profile (*.toml)")
    for file in files if parse else ():
        load_profile(file)  # a profile with an error names its file and key
    return tuple(file.stem for file in files)


def _tls(settings: TlsSettings) -> None:
    named = [("tls.cert", settings.cert), ("tls.key", settings.key)]
    if settings.client_ca is not None:
        named.append(("tls.client_ca", settings.client_ca))
    for key, path in named:
        try:
            path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{key}: {path}: {exc.strerror}") from exc
    try:
        server_context(settings)
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"tls: the certificate, key or CA does not load: {exc}") from exc
