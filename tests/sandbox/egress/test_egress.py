"""Egress by allowlist, end to end: a real sandbox, its bridge, the real proxy, a real origin.

The origin listens on a loopback address of its own; the launcher's test-only settings resolve
the test names to it and allow exactly that address.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets

from runtime.sandbox.egress.attempt import EgressAttempt
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.result import SandboxResult, Status, result_dict
from tests.sandbox.probes import explain, out

from .conftest import (
    CA_MOUNT,
    HTTP_PORT,
    HTTPS_PORT,
    MIXED_NAME,
    MIXED_PRIVATE,
    PRIVATE_ADDRESS,
    PRIVATE_NAME,
    NetJail,
    Origin,
    live_socket_dir,
    origin_settings,
)

ALLOWED = f"allowed.test:{HTTP_PORT}"


def token() -> str:
    return secrets.token_hex(6)


def test_allowed_http_request_reaches_the_origin(net: NetJail, origin: Origin) -> None:
    """A plain-HTTP GET to an allowed host goes through the proxy and reaches the origin."""
    tag = token()
    result = net.python(
        f"""
        status, body = get("http://allowed.test/echo?t={tag}")
        print(status, json.loads(body)["host"])
        """,
        [ALLOWED],
    )
    assert out(result) == "200 allowed.test", explain(result)
    assert len(origin.requests_for(tag)) == 1
    (attempt,) = result.egress
    assert (attempt.method, attempt.host, attempt.port, attempt.allowed) == (
        "GET",
        "allowed.test",
        HTTP_PORT,
        True,
    )
    assert attempt.address == origin.address
    assert attempt.bytes_up > 0 and attempt.bytes_down > 0
    assert "TEST-ONLY" in attempt.reason
    assert result.violations == ()


def test_https_goes_through_a_connect_tunnel(net: NetJail, origin: Origin) -> None:
    """HTTPS to an allowed host works end to end through CONNECT, verified by its certificate."""
    tag = token()
    result = net.python(
        f"""
        status, body = get("https://example.com/echo?t={tag}", cafile="{CA_MOUNT}/cert.pem")
        print(status, json.loads(body)["path"])
        """,
        [f"example.com:{HTTPS_PORT}"],
    )
    assert out(result) == f"200 /echo?t={tag}", explain(result)
    (attempt,) = result.egress
    assert (attempt.method, attempt.allowed, attempt.address) == ("CONNECT", True, origin.address)
    assert attempt.bytes_down > 0


def test_proxy_never_decrypts_a_tunnel(net: NetJail) -> None:
    """Without the test CA the tool's TLS handshake fails: the proxy passes TLS through as is."""
    result = net.python(
        """
        try:
            get("https://example.com/echo")
        except urllib.error.URLError as exc:
            print(type(exc.reason).__name__)
        """,
        [f"example.com:{HTTPS_PORT}"],
    )
    assert out(result) == "SSLCertVerificationError", explain(result)


def test_host_not_on_the_allowlist_is_refused(net: NetJail, origin: Origin) -> None:
    """A host missing from the allowlist gets 403 from the proxy and never sees the request."""
    tag = token()
    result = net.python(
        f"""
        status, body = get("http://blocked.test/echo?t={tag}")
        print(status, body.decode().strip())
        """,
        [ALLOWED],
    )
    assert out(result) == (
        f"403 skillrt: egress denied: blocked.test:{HTTP_PORT} (not on the allowlist)"
    ), explain(result)
    assert origin.requests_for(tag) == []
    assert result.violations == (f"egress denied: blocked.test:{HTTP_PORT} (not on the allowlist)",)


def test_wrong_port_is_refused(net: NetJail) -> None:
    """An allowed host on a port its rule does not name is refused."""
    result = net.python('print(get("http://allowed.test:8080/echo")[0])', [ALLOWED])
    assert out(result) == "403", explain(result)
    assert result.egress[0].reason == "not on the allowlist"


def test_name_resolving_to_a_private_address_is_refused(net: NetJail) -> None:
    """An allowed name that resolves to an RFC 1918 address is refused before any connection."""
    result = net.python(f'print(get("http://{PRIVATE_NAME}/")[0])', [f"{PRIVATE_NAME}:{HTTP_PORT}"])
    assert out(result) == "403", explain(result)
    (attempt,) = result.egress
    assert (attempt.allowed, attempt.address) == (False, None)
    assert attempt.reason == f"resolves to {PRIVATE_ADDRESS}: private"


def test_one_private_answer_refuses_the_name(net: NetJail, origin: Origin) -> None:
    """A name with one allowed and one private address is refused: every answer must pass."""
    tag = token()
    result = net.python(
        f'print(get("http://{MIXED_NAME}/echo?t={tag}")[0])', [f"{MIXED_NAME}:{HTTP_PORT}"]
    )
    assert out(result) == "403", explain(result)
    assert result.egress[0].reason == f"resolves to {MIXED_PRIVATE}: private"
    assert origin.requests_for(tag) == []


def test_localhost_is_refused(net: NetJail) -> None:
    """'localhost', resolved on the host to 127.0.0.1 (not test-allowed), is refused."""
    result = net.python('print(get("http://localhost/")[0])', [f"localhost:{HTTP_PORT}"])
    assert out(result) == "403", explain(result)
    assert result.egress[0].reason.endswith(": loopback")


def test_loopback_origin_needs_the_test_allowance(
    launcher: Launcher, net: NetJail, origin: Origin
) -> None:
    """Without the test-only allowance the origin's loopback address is refused like any other."""
    strict = Launcher(
        cgroups=launcher.cgroups,
        nsjail=launcher.nsjail,
        egress=origin_settings(origin, allow=False),
    )
    tag = token()
    result = NetJail(strict, net.profile, origin).python(
        f'print(get("http://allowed.test/echo?t={tag}")[0])', [ALLOWED]
    )
    assert out(result) == "403", explain(result)
    assert result.egress[0].reason == f"resolves to {origin.address}: loopback"
    assert origin.requests_for(tag) == []


def test_direct_connections_bypassing_the_proxy_fail(net: NetJail, origin: Origin) -> None:
    """Connecting straight to the origin or to a public address fails: the proxy is the only way."""
    result = net.python(
        f"""
        for address in [("{origin.address}", {HTTP_PORT}), ("203.0.113.7", 443)]:
            try:
                socket.create_connection(address, timeout=5).close()
                print("connected")
            except OSError as exc:
                print(errno_name(exc))
        """,
        [ALLOWED],
    )
    assert out(result).split() == ["ECONNREFUSED", "ENETUNREACH"], explain(result)
    assert result.egress == ()


def test_pipelined_request_after_an_allowed_one_is_never_forwarded(
    net: NetJail, origin: Origin
) -> None:
    """Bytes after the first request (here a CONNECT to a blocked host) are never sent on."""
    tag = token()
    request = (
        f"GET http://allowed.test/echo?t={tag} HTTP/1.1\\r\\nHost: allowed.test\\r\\n\\r\\n"
        f"CONNECT blocked.test:443 HTTP/1.1\\r\\n\\r\\n"
        f"GET /echo?t={tag}-second HTTP/1.1\\r\\nHost: blocked.test\\r\\n\\r\\n"
    )
    result = net.python(f'print(raw(b"{request}").count(b"HTTP/1."))', [ALLOWED])
    assert out(result) == "1", explain(result)
    assert [r["path"] for r in origin.requests_for(tag)] == [f"/echo?t={tag}"]
    assert len(result.egress) == 1


def test_connect_with_a_disagreeing_host_header_is_refused(net: NetJail) -> None:
    """A CONNECT whose Host header names another host than its target is refused."""
    request = "CONNECT allowed.test:80 HTTP/1.1\\r\\nHost: blocked.test:443\\r\\n\\r\\n"
    result = net.python(f'print(raw(b"{request}").split(b"\\r\\n")[0].decode())', [ALLOWED])
    assert out(result) == "HTTP/1.1 400 Bad Request", explain(result)
    assert result.violations == (
        f"egress denied: {ALLOWED} (the Host header disagrees with the target)",
    )


def test_plain_request_with_a_disagreeing_host_header_is_refused(
    net: NetJail, origin: Origin
) -> None:
    """An absolute-URI request to an allowed host with a Host header for another is refused."""
    tag = token()
    request = f"GET http://allowed.test/echo?t={tag} HTTP/1.1\\r\\nHost: blocked.test\\r\\n\\r\\n"
    result = net.python(f'print(raw(b"{request}").split()[1].decode())', [ALLOWED])
    assert out(result) == "400", explain(result)
    assert origin.requests_for(tag) == []


def test_origin_form_request_is_refused(net: NetJail) -> None:
    """A request that names no target but a Host header is not guessed at: 400, recorded."""
    request = "GET /echo HTTP/1.1\\r\\nHost: allowed.test\\r\\n\\r\\n"
    result = net.python(f'print(raw(b"{request}").split()[1].decode())', [ALLOWED])
    assert out(result) == "400", explain(result)
    assert result.violations == (
        "egress denied: malformed request (not a proxy request: expected an absolute http:// URI)",
    )


def test_request_body_is_forwarded(net: NetJail) -> None:
    """A POST body reaches the origin exactly, framed by its Content-Length."""
    result = net.python(
        """
        status, body = get("http://allowed.test/echo", data=b"a=1&b=2")
        print(status, json.loads(body)["body"])
        """,
        [ALLOWED],
    )
    assert out(result) == "200 a=1&b=2", explain(result)


def test_chunked_request_body_is_forwarded(net: NetJail) -> None:
    """A chunked POST body, trailers included, reaches the origin whole."""
    request = (
        "POST http://allowed.test/echo HTTP/1.1\\r\\nHost: allowed.test\\r\\n"
        "Transfer-Encoding: chunked\\r\\n\\r\\n"
        "3\\r\\nabc\\r\\n4;ext=1\\r\\ndefg\\r\\n0\\r\\nX-Sum: 7\\r\\n\\r\\n"
    )
    result = net.python(
        f"""
        reply = raw(b"{request}")
        print(json.loads(reply.split(b"\\r\\n\\r\\n", 1)[1])["body"])
        """,
        [ALLOWED],
    )
    assert out(result) == "abcdefg", explain(result)


def test_proxy_credentials_and_hop_headers_stay_behind(net: NetJail) -> None:
    """Proxy-Authorization and Proxy-Connection never reach the origin; Connection is close."""
    request = (
        "GET http://allowed.test/echo HTTP/1.1\\r\\nHost: allowed.test\\r\\n"
        "Proxy-Authorization: Basic c2VjcmV0\\r\\nProxy-Connection: keep-alive\\r\\n\\r\\n"
    )
    result = net.python(
        f"""
        reply = raw(b"{request}")
        print(json.loads(reply.split(b"\\r\\n\\r\\n", 1)[1])["headers"])
        """,
        [ALLOWED],
    )
    assert out(result) == "['Connection', 'Host']", explain(result)


def test_byte_limit_cuts_the_transfer(net: NetJail) -> None:
    """A download past egress_bytes is cut at exactly the limit and recorded as a violation."""
    result = net.python(
        """
        import http.client
        try:
            status, body = get("http://allowed.test/bytes?n=1048576")
            print("complete", len(body))
        except http.client.IncompleteRead as exc:
            print("cut", len(exc.partial) < 65536)
        """,
        [ALLOWED],
        egress_bytes=65536,
    )
    assert out(result) == "cut True", explain(result)
    (attempt,) = result.egress
    assert attempt.bytes_up + attempt.bytes_down == 65536
    assert attempt.error == "cut at the egress_bytes limit of 64KiB"
    assert result.violations == (f"egress limit: {ALLOWED} cut at the egress_bytes limit of 64KiB",)


def test_requests_past_the_connection_limit_are_refused(net: NetJail) -> None:
    """With egress_connections 2 the third request is refused, and then the proxy stops
    listening: the fourth connection never reaches it."""
    result = net.python(
        """
        def attempt():
            try:
                return get("http://allowed.test/echo")[0]
            except OSError as exc:
                return type(exc).__name__
        print(*[attempt() for _ in range(4)])
        """,
        [ALLOWED],
        egress_connections=2,
    )
    assert out(result).split()[:3] == ["200", "200", "403"], explain(result)
    assert out(result).split()[3] in ("RemoteDisconnected", "ConnectionResetError")
    assert [a.allowed for a in result.egress] == [True, True, False]
    assert result.violations == (
        f"egress denied: {ALLOWED} (egress_connections limit of 2 reached)",
    )


def test_every_decision_is_in_the_result_and_the_hook(net: NetJail) -> None:
    """Allowed and denied attempts are in the result, its dict and the hook, in request order."""
    heard: list[EgressAttempt] = []
    result = net.python(
        """
        print(get("http://allowed.test/echo")[0], get("http://blocked.test/")[0])
        """,
        [ALLOWED],
        on_egress=heard.append,
    )
    assert out(result) == "200 403", explain(result)
    assert [(a.host, a.allowed) for a in result.egress] == [
        ("allowed.test", True),
        ("blocked.test", False),
    ]
    assert heard == list(result.egress)
    listed = result_dict(result)["egress"]
    assert isinstance(listed, list)
    assert [entry["allowed"] for entry in listed] == [True, False]
    json.dumps(listed)


def test_proxy_socket_and_directory_are_removed(net: NetJail) -> None:
    """The proxy's socket directory exists during the run under a name nsjail's argv does not
    show, and is gone once the run has finished."""
    spec = net.spec("print(open('/run/skillrt-egress/proxy.sock', 'rb') and 1)", [ALLOWED])

    async def go() -> tuple[SandboxResult, str, str]:
        sandbox = await net.launcher.start(spec)
        (named,) = [b.source for b in sandbox.spec.binds if b.target == "/run/skillrt-egress"]
        live = live_socket_dir(sandbox)
        return await sandbox.run(b""), named, live

    result, named, live = asyncio.run(go())
    assert live != named
    assert result.status is Status.NONZERO_EXIT  # a socket cannot be opened as a file
    assert "No such device or address" in result.stderr.decode()
    assert not os.path.exists(named) and not os.path.exists(live)


def test_cancelled_run_closes_the_proxy_and_its_open_tunnel(net: NetJail, origin: Origin) -> None:
    """Cancelling a run that holds a tunnel open cuts it, tells the hook, removes the socket."""
    heard: list[EgressAttempt] = []
    tag = token()
    spec = net.spec(
        f"""
        import time
        conn = socket.create_connection(("127.0.0.1", 3128))
        conn.sendall(b"CONNECT allowed.test:80 HTTP/1.1\\r\\nHost: allowed.test:80\\r\\n\\r\\n")
        conn.recv(100)
        conn.sendall(b"GET /echo?t={tag} HTTP/1.1\\r\\nHost: allowed.test\\r\\n\\r\\n")
        time.sleep(60)
        """,
        [ALLOWED],
    )

    async def go() -> str:
        sandbox = await net.launcher.start(spec, on_egress=heard.append)
        run = asyncio.ensure_future(sandbox.run(b""))
        while not origin.requests_for(tag):
            await asyncio.sleep(0.02)
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run
        (source,) = [b.source for b in sandbox.spec.binds if b.target == "/run/skillrt-egress"]
        return source

    socket_dir = asyncio.run(asyncio.wait_for(go(), timeout=20))
    assert not os.path.exists(socket_dir)
    assert [(a.method, a.allowed) for a in heard] == [("CONNECT", True)]
    assert heard[0].bytes_down > 0


def test_the_tool_is_pid_1_and_the_bridge_its_only_companion(net: NetJail) -> None:
    """The tool runs as PID 1 (it was exec'd by the bridge); the relay is PID 2."""
    result = net.python(
        'import os; print(os.getpid(), sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))'
    )
    assert out(result) == "1 [1, 2]", explain(result)
