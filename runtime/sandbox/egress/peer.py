"""Who connected to a proxy socket: only the invocation's own sandbox may use its proxy.

The socket's directory must be reachable by the sandbox user, so a host process running as that
user can reach it too. The kernel's word on the connecting process settles it: its pid (from
SO_PEERCRED) must be one of the invocation's cgroup members, which only root can add. The pid is
read with a pidfd for the very process that connected (SO_PEERPIDFD, Linux 6.5), checked to be
alive after the membership was read, so that a recycled pid cannot pass for the sandbox's.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import struct
from collections.abc import Callable, Collection
from dataclasses import dataclass

__all__ = ["Members", "Peer", "close", "peer_of", "refusal"]

Members = Callable[[], Collection[int]]
"""The pids of the sandbox's processes, as the kernel lists them (its cgroup's members)."""

# Python 3.11's socket module does not name it; the number is the same on every Linux arch
# this runtime supports (asm-generic).
_SO_PEERPIDFD = getattr(socket, "SO_PEERPIDFD", 77)
_UCRED = struct.Struct("3i")


@dataclass(frozen=True, kw_only=True)
class Peer:
    pid: int
    uid: int
    pidfd: int | None  # None where the kernel has no SO_PEERPIDFD


def peer_of(sock: socket.socket) -> Peer:
    """The connecting process of a Unix stream socket (its pidfd is the caller's to close)."""
    pid, uid, _ = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))
    try:
        pidfd: int | None = sock.getsockopt(socket.SOL_SOCKET, _SO_PEERPIDFD)
    except OSError as exc:
        if exc.errno != errno.ENOPROTOOPT:
            raise
        pidfd = None
    return Peer(pid=pid, uid=uid, pidfd=pidfd)


def refusal(peer: Peer, members: Members | None) -> str | None:
    """Why ``peer`` may not use the proxy, or None when it is one of the sandbox's processes."""
    if members is None:
        return "the sandbox's processes are not known yet"
    if peer.pid <= 0:
        return "the kernel names no connecting process"
    try:
        member = peer.pid in members()
    except OSError as exc:
        return f"cannot list the sandbox's processes: {exc.strerror}"
    if not member:
        return "not a process of the invocation's sandbox"
    if peer.pidfd is not None:
        try:
            signal.pidfd_send_signal(peer.pidfd, 0)
        except ProcessLookupError:
            return "the connecting process is gone (its pid may have been reused)"
        except PermissionError:
            pass  # it exists; signalling it is another matter
    return None


def close(peer: Peer) -> None:
    """Release the peer's pidfd."""
    if peer.pidfd is not None:
        with contextlib.suppress(OSError):
            os.close(peer.pidfd)
