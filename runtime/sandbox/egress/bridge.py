"""The in-sandbox end of the egress path: 127.0.0.1:PORT inside the sandbox -> the proxy's socket.

The launcher runs it as the sandbox's first program,
``python3 -I -S -c SOURCE SOCKET PORT -- TOOL [ARG...]``: it listens on the sandbox's own
loopback, forks the relay and then execs the tool, so the tool runs as PID 1 with the relay as
its child, and the kernel kills the relay when the tool exits. Listening before the fork means
a tool that connects at once finds the port ready. Only the standard library is used: skillrt
itself is not inside the sandbox.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys
import time

__all__ = ["serve"]

_CHUNK = 65536
_BACKLOG = 128
_EXEC_FAILED = 127
_USAGE = 2
# accept() failing (EMFILE at the open files limit) leaves the connection queued and the
# listener readable: pausing keeps the relay from spinning until a descriptor frees up.
_ACCEPT_RETRY_SECONDS = 0.05


class _Pair:
    """One relayed connection: the tool's TCP socket and the proxy's Unix socket.

    Each socket reads only while the bytes it last read have all been written to its peer, so a
    slow reader slows its writer instead of filling memory; an end of stream is passed on with
    shutdown(SHUT_WR) once everything before it is written.
    """

    def __init__(
        self, selector: selectors.BaseSelector, first: socket.socket, second: socket.socket
    ) -> None:
        self.selector = selector
        self.peer = {first: second, second: first}
        self.outbox = {first: b"", second: b""}  # bytes waiting to be written to that socket
        self.reading = {first: True, second: True}
        self.registered: set[socket.socket] = set()
        self.closed = False
        for sock in self.peer:
            sock.setblocking(False)
        self.update()

    def handle(self, sock: socket.socket, mask: int) -> None:
        if self.closed:  # closed by its other socket's event in the same round
            return
        try:
            if mask & selectors.EVENT_WRITE:
                self.flush(sock)
            if mask & selectors.EVENT_READ:
                self.receive(sock)
        except OSError:
            self.close()
            return
        self.update()

    def receive(self, sock: socket.socket) -> None:
        data = sock.recv(_CHUNK)
        peer = self.peer[sock]
        if data:
            self.outbox[peer] += data
            self.flush(peer)
            return
        self.reading[sock] = False
        if not self.outbox[peer]:
            peer.shutdown(socket.SHUT_WR)

    def flush(self, sock: socket.socket) -> None:
        if self.outbox[sock]:
            sent = sock.send(self.outbox[sock])
            self.outbox[sock] = self.outbox[sock][sent:]
        if not self.outbox[sock] and not self.reading[self.peer[sock]]:
            sock.shutdown(socket.SHUT_WR)

    def update(self) -> None:
        if not any(self.reading.values()) and not any(self.outbox.values()):
            self.close()
            return
        for sock, peer in self.peer.items():
            events = 0
            if self.reading[sock] and not self.outbox[peer]:
                events |= selectors.EVENT_READ
            if self.outbox[sock]:
                events |= selectors.EVENT_WRITE
            if events and sock in self.registered:
                self.selector.modify(sock, events, self)
            elif events:
                self.selector.register(sock, events, self)
                self.registered.add(sock)
            elif sock in self.registered:
                self.selector.unregister(sock)
                self.registered.discard(sock)

    def close(self) -> None:
        self.closed = True
        for sock in self.peer:
            if sock in self.registered:
                self.selector.unregister(sock)
            sock.close()
        self.registered.clear()


def serve(listener: socket.socket, socket_path: str) -> None:
    """Relay every connection made to ``listener`` to a new connection to ``socket_path``."""
    selector = selectors.DefaultSelector()
    listener.setblocking(False)
    selector.register(listener, selectors.EVENT_READ, None)
    while True:
        for key, mask in selector.select():
            if isinstance(key.data, _Pair):
                key.data.handle(key.fileobj, mask)  # type: ignore[arg-type]
                continue
            try:
                client, _ = listener.accept()
            except BlockingIOError:
                continue
            except OSError:
                time.sleep(_ACCEPT_RETRY_SECONDS)
                continue
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(socket_path)
            except OSError:
                client.close()
                upstream.close()
                continue
            _Pair(selector, client, upstream)


def _quiet() -> None:
    """The relay writes nothing: the tool's stdout and stderr are its result."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--" or not argv[1].isdigit():
        sys.stderr.write("usage: bridge SOCKET PORT -- COMMAND [ARG...]\n")
        return _USAGE
    socket_path, port, command = argv[0], int(argv[1]), argv[3:]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(_BACKLOG)
    if os.fork() == 0:
        try:
            _quiet()
            serve(listener, socket_path)
        finally:
            os._exit(0)
    listener.close()
    try:
        os.execv(command[0], command)
    except OSError as exc:
        sys.stderr.write(f"skillrt egress bridge: cannot run {command[0]}: {exc.strerror}\n")
    return _EXEC_FAILED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
