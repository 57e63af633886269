"""With network mode "none" the sandbox has only a loopback of its own: no host, no internet."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from .probes import Jail, explain, out, script, unique_token


@pytest.fixture
def host_server() -> Iterator[socket.socket]:
    """A TCP server listening on the host's loopback."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    try:
        yield server
    finally:
        server.close()


def test_host_loopback_server_is_unreachable(jail: Jail, host_server: socket.socket) -> None:
    """Connecting to a server on the host's 127.0.0.1 is refused and the server sees nothing."""
    port = host_server.getsockname()[1]
    result = jail.python(
        script(f"""
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", {port}))
            print("connected")
        except OSError as exc:
            print(errno_name(exc))
    """)
    )
    assert out(result) == "ECONNREFUSED", explain(result)
    with pytest.raises(BlockingIOError):
        host_server.accept()


def test_host_abstract_unix_socket_is_unreachable(jail: Jail) -> None:
    """A host abstract-namespace unix socket (scoped by network namespace) is unreachable."""
    address = "\0" + unique_token()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    server.listen(1)
    server.setblocking(False)
    try:
        result = jail.python(
            script(f"""
            import socket
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect({address!r})
                print("connected")
            except OSError as exc:
                print(errno_name(exc))
        """)
        )
        assert out(result) == "ECONNREFUSED", explain(result)
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()


def test_only_loopback_interface_exists(jail: Jail) -> None:
    """The process's net/dev lists a single interface, lo."""
    result = jail.python(
        script("""
        lines = open("/proc/self/net/dev").read().splitlines()[2:]
        print(" ".join(sorted(line.split(":")[0].strip() for line in lines)))
    """)
    )
    assert out(result) == "lo", explain(result)


def test_public_address_is_unreachable(jail: Jail) -> None:
    """A TCP connection to a public address fails with ENETUNREACH."""
    result = jail.python(
        script("""
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(("1.1.1.1", 443))
            print("connected")
        except OSError as exc:
            print(errno_name(exc))
    """)
    )
    assert out(result) == "ENETUNREACH", explain(result)


def test_raw_dns_query_cannot_be_sent(jail: Jail) -> None:
    """A UDP datagram to a public DNS resolver fails with ENETUNREACH."""
    result = jail.python(
        script("""
        import socket
        # A standard query for example.com A.
        query = bytes.fromhex("123401000001000000000000076578616d706c6503636f6d0000010001")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.sendto(query, ("8.8.8.8", 53))
            print("sent")
        except OSError as exc:
            print(errno_name(exc))
    """)
    )
    assert out(result) == "ENETUNREACH", explain(result)


def test_dns_resolution_fails(jail: Jail) -> None:
    """getaddrinfo for a public name raises gaierror instead of returning an address."""
    result = jail.python(
        script("""
        import socket
        try:
            print("resolved", socket.getaddrinfo("example.com", 443))
        except socket.gaierror as exc:
            print("gaierror", exc.errno in (socket.EAI_AGAIN, socket.EAI_NONAME))
    """)
    )
    assert out(result) == "gaierror True", explain(result)
