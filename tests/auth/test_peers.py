"""Who is at the other end of a real connection, as the kernel tells it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from runtime.auth.peers import Peer, tcp_peer, unix_peer

NOBODY = 65534


@contextmanager
def as_nobody() -> Iterator[None]:
    """Sockets made and connected meanwhile belong to uid 65534."""
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)


def connection(
    listener: socket.socket, client: socket.socket, address: str | tuple[str, int]
) -> tuple[socket.socket, socket.socket]:
    """(the daemon's end, the client's end) of a connection from ``client``, made by uid 65534,
    to ``listener`` at ``address``."""
    with listener:
        listener.listen()
        with as_nobody():
            client.connect(address)
        accepted, _ = listener.accept()
    return accepted, client


def tcp_pair(host: str, client_host: str) -> tuple[socket.socket, socket.socket]:
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.bind((host, 0))
    with as_nobody():
        client = socket.socket(socket.AF_INET6 if ":" in client_host else socket.AF_INET)
    return connection(listener, client, (client_host, listener.getsockname()[1]))


@pytest.mark.parametrize(
    ("host", "client_host"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
        ("::", "127.0.0.1"),  # an IPv4 client of a dual-stack listener
    ],
)
def test_a_local_tcp_client_is_its_sockets_owner(host: str, client_host: str) -> None:
    """A TCP client on this host is known by the uid that owns its socket, not its address."""
    accepted, client = tcp_pair(host, client_host)
    with accepted, client:
        peer = tcp_peer(accepted.getsockname()[:2], accepted.getpeername()[:2])
    assert peer is not None and peer.identity == f"uid:{NOBODY}"


def test_a_remote_client_is_its_address_whatever_its_port() -> None:
    """A client that is not on this host is known by its address alone."""
    server = ("192.0.2.10", 7000)
    peers = {tcp_peer(server, ("192.0.2.1", port)) for port in (40000, 40001)}
    assert peers == {Peer(address="192.0.2.1")}


def test_a_loopback_client_without_a_socket_is_unknown() -> None:
    """A loopback address whose socket the kernel does not list names nobody: it is refused."""
    assert tcp_peer(("127.0.0.1", 7000), ("127.0.0.1", 1)) is None


def test_a_unix_socket_client_is_its_credentials() -> None:
    """Over a Unix socket the kernel gives the uid and pid of the process that connected."""
    listener = socket.socket(socket.AF_UNIX)
    address = f"\0skillrt-test-{os.getpid()}"  # abstract: no file permissions in the way
    listener.bind(address)
    accepted, client = connection(listener, socket.socket(socket.AF_UNIX), address)
    with accepted, client:
        assert unix_peer(accepted) == Peer(uid=NOBODY, pid=os.getpid())
