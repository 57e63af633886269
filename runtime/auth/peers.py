"""Who is at the other end of a connection, as the kernel tells it.

A caller on this host is known by its uid: the kernel gives it for a Unix-socket peer
(SO_PEERCRED) and lists it for the client end of a local TCP connection (/proc/net/tcp{,6}). All
of one user's processes are one identity (they can act for each other anyway); different users
are different identities even though they share 127.0.0.1 or one socket. A caller on another host
is known by its address. Failures are counted against these identities, so a guesser locks out
itself and nobody else.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Peer", "tcp_peer", "unix_peer"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Endpoint = tuple[IPAddress, int]

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
_TCP_TABLES = (Path("/proc/self/net/tcp"), Path("/proc/self/net/tcp6"))  # this netns's sockets
_TIME_WAIT = "06"  # a closed socket's remains: owned by no process (uid 0, inode 0)


@dataclass(frozen=True, kw_only=True)
class Peer:
    uid: int | None = None  # a process of this host
    pid: int | None = None  # the connecting process (Unix socket only), for the record
    address: str | None = None  # the client's IP address

    @property
    def identity(self) -> str:
        """What failures count against: the uid on this host, the address from elsewhere."""
        return f"uid:{self.uid}" if self.uid is not None else f"address:{self.address}"

    @property
    def label(self) -> str:
        """The identity with what else is known, for logs and the audit log."""
        parts = [self.identity]
        if self.pid is not None:
            parts.append(f"pid:{self.pid}")
        if self.uid is not None and self.address is not None:
            parts.append(f"address:{self.address}")
        return " ".join(parts)


def unix_peer(sock: socket.socket) -> Peer:
    """The credentials the kernel recorded when the peer connected."""
    pid, uid, _ = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))
    return Peer(uid=uid, pid=pid)


def tcp_peer(server: tuple[str, int], client: tuple[str, int]) -> Peer | None:
    """The peer of an accepted TCP connection (``server`` is its local end, ``client`` its
    remote end): the owner of the client's socket if it is on this host, else its address.

    None when the client claims a loopback address but its socket cannot be found (it is gone
    already, or several owners match): unknown is refused, never guessed.
    """
    client_ip, client_port = _endpoint(client)
    uid = _local_owner(client=(client_ip, client_port), server=_endpoint(server))
    if uid is not None:
        return Peer(uid=uid, address=str(client_ip))
    if client_ip.is_loopback:
        return None
    return Peer(address=str(client_ip))


def _local_owner(*, client: Endpoint, server: Endpoint) -> int | None:
    """The uid owning the client end of the connection ``client`` -> ``server``, if that socket
    is in this network namespace; None if it is not, or if owners disagree."""
    owners = {
        uid
        for table in _TCP_TABLES
        if table.exists()
        for local, remote, uid in _rows(table.read_text())
        if local == client and remote == server
    }
    return owners.pop() if len(owners) == 1 else None


def _rows(text: str) -> list[tuple[Endpoint, Endpoint, int]]:
    """(local end, remote end, owner uid) of each live socket in a /proc/net/tcp{,6} table."""
    rows = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] == _TIME_WAIT or fields[9] == "0":
            continue  # fields[9] is the inode: 0 for a socket no process holds
        rows.append((_proc_endpoint(fields[1]), _proc_endpoint(fields[2]), int(fields[7])))
    return rows


def _proc_endpoint(text: str) -> Endpoint:
    """``0100007F:1F90`` -> (127.0.0.1, 8080): the address is printed as 32-bit words in host
    byte order, the port as a number."""
    address, port = text.split(":")
    raw = bytes.fromhex(address)
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return _unmapped(ipaddress.ip_address(raw)), int(port, 16)


def _endpoint(pair: tuple[str, int]) -> Endpoint:
    return _unmapped(ipaddress.ip_address(pair[0].split("%")[0])), pair[1]


def _unmapped(address: IPAddress) -> IPAddress:
    """An IPv4 client of a dual-stack listener appears as ::ffff:a.b.c.d on one side only."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
