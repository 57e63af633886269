"""What a client that never finishes its request holds: its connection, for a short while."""

from __future__ import annotations

import socket

from tests.console.conftest import ConsoleDaemon
from tests.timing import scaled

_HEAD = b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def _closed(connection: socket.socket) -> bool:
    """Whether the console closes ``connection`` (after answering, if it does) in time."""
    connection.settimeout(scaled(60))
    try:
        while connection.recv(4096):
            pass
    except TimeoutError:
        return False
    return True


def test_a_request_sent_too_slowly_is_cut_off(console: ConsoleDaemon) -> None:
    """A connection that stops halfway through its headers, or its body, is closed before a
    minute is out: an anonymous peer cannot hold connections open for free."""
    address = ("127.0.0.1", console.port)
    with socket.create_connection(address) as headers, socket.create_connection(address) as body:
        headers.sendall(_HEAD)
        body.sendall(_HEAD + b"Content-Length: 1000\r\n\r\ncsrf=")
        assert _closed(headers)
        assert _closed(body)
