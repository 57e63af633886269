"""The daemon's own files at start: its state directory's lock and the sockets it listens on."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

from runtime.api.preflight import PRIVATE_SOCKET
from runtime.errors import ConfigError
from runtime.util.fsio import hold_exclusive

__all__ = ["lock_state_dir", "prepare_socket", "private_socket"]


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
