"""Host paths a skill may have bound read-only: only those the operator allows, never the host's
kernel interfaces, the daemon's own state or anyone's credentials.

A skill's ``[permissions] readonly_paths`` is a request. The daemon grants it only for paths
inside the operator's allowlist (``[catalog] allowed_readonly_paths``); some paths are never
bindable, and listing them (or a folder holding them) in the allowlist is a configuration error.
Paths are compared after resolving symlinks, so a link inside an allowed folder does not lead
elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from runtime.errors import ConfigError

__all__ = ["check_allowlist", "never_bindable", "unallowed_path"]

# Kernel interfaces, and where credentials live on any host.
_ALWAYS_FORBIDDEN = (
    "/proc",
    "/sys",
    "/dev",
    "/root",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssh",
    "/etc/ssl/private",
)
# A folder of any of these names holds someone's keys (~/.ssh and the like).
_CREDENTIAL_NAMES = frozenset({".ssh", ".gnupg", ".aws", ".kube", ".docker", ".netrc"})


def never_bindable(daemon_dirs: Iterable[Path]) -> tuple[Path, ...]:
    """Every path no allowlist may reach: the fixed ones and the daemon's own directories
    (state, socket, session workspaces, skill snapshots, audit keys)."""
    fixed = tuple(Path(p) for p in _ALWAYS_FORBIDDEN)
    return tuple(_real(p) for p in (*fixed, *daemon_dirs))


def check_allowlist(key: str, allowed: Iterable[Path], forbidden: Iterable[Path]) -> None:
    """ConfigError naming ``key`` for an allowed path that is, holds or lies inside one that is
    never bindable."""
    forbidden = tuple(forbidden)
    for path in allowed:
        if not path.is_absolute():
            raise ConfigError(f"{key}: {str(path)!r} must be an absolute path")
        real = _real(path)
        if _CREDENTIAL_NAMES.intersection(real.parts):
            raise ConfigError(f"{key}: {path} holds credentials and is never bindable")
        for never in forbidden:
            if real.is_relative_to(never) or never.is_relative_to(real):
                raise ConfigError(f"{key}: {path} overlaps {never}, which is never bindable")


def unallowed_path(requested: Iterable[str], allowed: Iterable[Path]) -> str | None:
    """The first requested path not inside an allowed one (symlinks resolved), or None."""
    roots = tuple(_real(p) for p in allowed)
    for path in requested:
        real = _real(Path(path))
        if not any(real.is_relative_to(root) for root in roots):
            return path
    return None


def _real(path: Path) -> Path:
    return path.resolve(strict=False)
