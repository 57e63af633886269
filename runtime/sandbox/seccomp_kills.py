"""The kernel's own record of seccomp kills, for every process of a sandbox, not only PID 1.

nsjail sees only how its child, the jail's PID 1, ended: a child or grandchild killed by the
policy while PID 1 exits 0 would pass unnoticed. The kernel writes an audit record (AUDIT_SECCOMP)
for every kill, naming the host uid, pid, command and system call, before the process dies. A
read-only audit listener (the READLOG multicast group, which leaves auditd alone) opened before
the sandbox starts sees every record; the sandbox's host uid of its own (``identity``) makes
attribution exact. The jail cannot write or suppress audit records (that takes capabilities in
the host's user namespace). Records the kernel or this socket lost are reported, never ignored.

No library speaks the audit netlink protocol for Python short of libaudit's bindings; the few
messages needed here are decoded with ``struct``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import IsolationUnavailable

__all__ = ["KillWatch", "SeccompKill", "parse_record"]

_NETLINK_AUDIT = 9
_READLOG_GROUP = 1  # AUDIT_NLGRP_READLOG, as a bind() group mask
_AUDIT_GET = 1000
_AUDIT_SECCOMP = 1326
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, seq, pid
_STATUS = struct.Struct("=IIIIIIII")  # audit_status: mask ... lost, backlog
_NLM_F_REQUEST = 1
_SO_RCVBUFFORCE = 33  # <asm-generic/socket.h>; Python's socket module lacks it
_RECEIVE_BUFFER = 8 * 1024 * 1024  # records of the whole host queue here until the run ends
_ACTIONS_LOGGED = Path("/proc/sys/kernel/seccomp/actions_logged")
_POLL_SECONDS = 0.002
_DRAIN_TIMEOUT_SECONDS = 10


@dataclass(frozen=True, kw_only=True)
class SeccompKill:
    """One process the policy killed: its host pid, its command name, the call and its ABI."""

    pid: int
    comm: str
    arch: int
    syscall: int


def parse_record(text: str, uid: int) -> SeccompKill | None:
    """The kill an AUDIT_SECCOMP record's text describes, if it is of host ``uid`` and killed.

    Fields are space-separated ``key=value``; the kernel hex-encodes any value of the process's
    own choosing (comm, exe) that holds a space or a quote, so no field can be forged by one.
    """
    fields: dict[str, str] = {}
    for token in text.split(" "):
        key, sep, value = token.partition("=")
        if sep and key not in fields:
            fields[key] = value
    try:
        if int(fields["uid"]) != uid or int(fields["sig"]) == 0:
            return None
        return SeccompKill(
            pid=int(fields["pid"]),
            comm=_untrusted(fields.get("comm", "?")),
            arch=int(fields["arch"], 16),
            syscall=int(fields["syscall"]),
        )
    except (KeyError, ValueError):
        return None


def _untrusted(value: str) -> str:
    if value.startswith('"'):
        return value.strip('"')
    with contextlib.suppress(ValueError):
        return bytes.fromhex(value).decode("utf-8", "replace")
    return value


class KillWatch:
    """Audit records of seccomp kills from the moment it opens; ``collect`` reads them once."""

    def __init__(self, sock: socket.socket, lost_before: int) -> None:
        self._sock = sock
        self._lost_before = lost_before

    @classmethod
    def open(cls) -> KillWatch:
        """Listen before the sandbox starts; refuse when the kernel would not log its kills."""
        try:
            logged = _ACTIONS_LOGGED.read_text().split()
        except OSError as exc:
            raise IsolationUnavailable(f"cannot read {_ACTIONS_LOGGED}: {exc.strerror}") from exc
        if "kill_process" not in logged:
            raise IsolationUnavailable(
                f"{_ACTIONS_LOGGED} lacks kill_process: seccomp kills of a sandbox's children "
                "would go unreported"
            )
        try:
            sock = socket.socket(
                socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, _NETLINK_AUDIT
            )
        except OSError as exc:
            raise IsolationUnavailable(f"cannot open the kernel's audit log: {exc}") from exc
        try:
            sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, _RECEIVE_BUFFER)
            sock.bind((0, _READLOG_GROUP))
            return cls(sock, _status()[0])
        except OSError as exc:
            sock.close()
            raise IsolationUnavailable(f"cannot listen to the kernel's audit log: {exc}") from exc

    async def collect(self, uid: int) -> tuple[tuple[SeccompKill, ...], bool]:
        """The kills of host ``uid`` since ``open`` and whether records may have been lost;
        called once every process of the uid is gone. Closes the watch."""
        try:
            await self._settled()
            kills, overrun = self._drain(uid)
            lost, _ = _status()
        except OSError:
            return (), True
        finally:
            self._sock.close()
        return kills, overrun or lost != self._lost_before

    def close(self) -> None:
        self._sock.close()

    async def _settled(self) -> None:
        """Wait until the kernel's audit queue is empty: the record of a kill is queued before
        the process dies, so every record of the finished sandbox has been sent to us by then."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _DRAIN_TIMEOUT_SECONDS
        while _status()[1] > 0:
            if loop.time() > deadline:
                raise OSError(errno.ETIMEDOUT, "the kernel's audit queue did not empty")
            await asyncio.sleep(_POLL_SECONDS)

    def _drain(self, uid: int) -> tuple[tuple[SeccompKill, ...], bool]:
        kills = []
        overrun = False
        while True:
            try:
                data = self._sock.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    raise
                overrun = True
                continue
            for kind, payload in _messages(data):
                if kind == _AUDIT_SECCOMP:
                    kill = parse_record(payload.decode("utf-8", "replace"), uid)
                    if kill is not None:
                        kills.append(kill)
        return tuple(kills), overrun


def _messages(data: bytes) -> list[tuple[int, bytes]]:
    found = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, kind, _, _, _ = _HEADER.unpack_from(data, offset)
        if length < _HEADER.size:
            break
        found.append((kind, data[offset + _HEADER.size : offset + length].rstrip(b"\0")))
        offset += (length + 3) & ~3
    return found


def _status() -> tuple[int, int]:
    """(records the kernel lost, records still queued), from AUDIT_GET."""
    request = _HEADER.pack(_HEADER.size, _AUDIT_GET, _NLM_F_REQUEST, os.getpid(), 0)
    # Asked on a socket of its own: on the listening one the answer would arrive among records.
    with socket.socket(
        socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, _NETLINK_AUDIT
    ) as control:
        control.settimeout(_DRAIN_TIMEOUT_SECONDS)
        control.sendto(request, (0, 0))
        while True:
            for kind, payload in _messages(control.recv(65536)):
                if kind == _AUDIT_GET and len(payload) >= _STATUS.size:
                    fields = _STATUS.unpack_from(payload)
                    return fields[6], fields[7]
                if kind == 2:  # NLMSG_ERROR: refused (no CAP_AUDIT_CONTROL)
                    (code,) = struct.unpack_from("=i", payload)
                    if code != 0:
                        raise OSError(-code, os.strerror(-code))
