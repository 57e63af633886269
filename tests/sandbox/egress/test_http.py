"""Proxy requests, parsed strictly: the two forms proxied, and everything ambiguous refused."""

from __future__ import annotations

import pytest

from runtime.sandbox.egress.http import RequestError, chunk_size, forward_head, parse_request


def head(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_connect_names_host_and_port() -> None:
    """CONNECT host:port is a tunnel request for that host and port."""
    request = parse_request(head("CONNECT Example.com:443 HTTP/1.1", "Host: example.com:443"))
    assert (request.tunnel, request.host, request.port) == (True, "example.com", 443)


def test_absolute_uri_names_host_port_and_path() -> None:
    """An absolute http:// URI gives host, port (80 by default) and the origin-form path."""
    request = parse_request(head("GET http://example.com/a/b?c=1 HTTP/1.1"))
    assert (request.tunnel, request.host, request.port, request.path) == (
        False,
        "example.com",
        80,
        "/a/b?c=1",
    )
    assert parse_request(head("GET http://[::1]:8080 HTTP/1.0")).path == "/"


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (("GET /path HTTP/1.1", "Host: example.com"), "not a proxy request"),
        (("GET https://example.com/ HTTP/1.1",), "https:// must be requested with CONNECT"),
        (("GET ftp://example.com/ HTTP/1.1",), "only http:// URIs"),
        (("GET http://example.com@evil.test/ HTTP/1.1",), "credentials in the URL"),
        (("CONNECT example.com HTTP/1.1",), "not a valid host:port"),
        (("GET http://example.com/ HTTP/2.0",), "malformed request line"),
        (("GET  http://example.com/ HTTP/1.1",), "malformed request line"),
        (("GET http://example.com/ HTTP/1.1", " folded: header"), "malformed header line"),
        (("GET http://example.com/ HTTP/1.1", "Host: evil.test"), "disagrees with the target"),
        (("GET http://example.com/ HTTP/1.1", "Host: example.com:8080"), "disagrees"),
        (("CONNECT example.com:443 HTTP/1.1", "Host: evil.test:443"), "disagrees"),
        (("GET http://example.com/ HTTP/1.1", "Host: a", "Host: a"), "more than one Host"),
        (
            (
                "POST http://example.com/ HTTP/1.1",
                "Content-Length: 3",
                "Transfer-Encoding: chunked",
            ),
            "both Content-Length and Transfer-Encoding",
        ),
        (("POST http://example.com/ HTTP/1.1", "Transfer-Encoding: gzip"), "only Transfer"),
        (("POST http://example.com/ HTTP/1.1", "Content-Length: ²"), "invalid Content-Length"),
        (
            ("POST http://example.com/ HTTP/1.1", "Content-Length: 3", "Content-Length: 4"),
            "invalid Content-Length",
        ),
    ],
)
def test_ambiguous_request_is_refused(lines: tuple[str, ...], reason: str) -> None:
    """Requests the proxy would have to guess about are refused, with the reason."""
    with pytest.raises(RequestError, match=reason):
        parse_request(head(*lines))


@pytest.mark.parametrize(
    "lines",
    [
        ("GET Secret-Value HTTP/1.1",),
        ("GET http://example.com/ HTTP/1.1", "Secret-Value"),
        ("CONNECT Secret-Value!:443 HTTP/1.1",),
        ("GET gopher://Secret-Value/ HTTP/1.1",),
        ("GET http://example.com/ HTTP/1.1", "Host: Secret-Value!"),
    ],
)
def test_refusal_reasons_never_quote_the_request(lines: tuple[str, ...]) -> None:
    """What the tool sent never appears in a refusal reason, which results and logs carry."""
    with pytest.raises(RequestError) as refused:
        parse_request(head(*lines))
    assert "secret" not in refused.value.reason.lower()


def test_host_header_with_the_default_port_agrees() -> None:
    """Host: example.com:80 names the same target as http://example.com/."""
    request = parse_request(head("GET http://example.com/ HTTP/1.1", "Host: EXAMPLE.com:80"))
    assert request.host == "example.com"


def test_forwarded_head_drops_proxy_and_hop_headers() -> None:
    """The origin gets origin-form, its own Host, no proxy credentials and Connection: close."""
    request = parse_request(
        head(
            "GET http://example.com:8080/x HTTP/1.1",
            "Proxy-Authorization: Basic c2VjcmV0",
            "Connection: keep-alive, X-Drop",
            "X-Drop: 1",
            "Accept: */*",
        )
    )
    assert forward_head(request) == head(
        "GET /x HTTP/1.1", "Host: example.com:8080", "Accept: */*", "Connection: close"
    )


def test_chunk_size_lines() -> None:
    """Chunk sizes are hexadecimal with optional extensions; anything else is refused."""
    assert chunk_size(b"1a;name=value\r\n") == 26
    with pytest.raises(RequestError):
        chunk_size(b"-1\r\n")
