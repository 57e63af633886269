"""Proxy requests, parsed strictly with h11: the two forms proxied, everything ambiguous refused,
and what the origin gets written anew."""

from __future__ import annotations

import pytest

from runtime.sandbox.egress.http import OriginRequest, RequestBody, RequestError, parse_request


def head(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_connect_names_host_and_port() -> None:
    """CONNECT host:port is a tunnel request for that host and port."""
    request = parse_request(head("CONNECT Example.com:443 HTTP/1.1", "Host: example.com:443"))
    assert (request.tunnel, request.host, request.port) == (True, "example.com", 443)


def test_absolute_uri_names_host_port_and_path() -> None:
    """An absolute http:// URI gives host, port (80 by default) and the origin-form path."""
    request = parse_request(head("GET http://example.com/a/b?c=1 HTTP/1.1", "Host: example.com"))
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
        (("GET https://example.com/ HTTP/1.0",), "https:// must be requested with CONNECT"),
        (("GET ftp://example.com/ HTTP/1.0",), "only http:// URIs"),
        (("GET http://example.com@evil.test/ HTTP/1.0",), "credentials in the URL"),
        (("CONNECT example.com HTTP/1.0",), "not a valid host:port"),
        (("GET http://example.com/ HTTP/2.0",), "malformed request head"),
        (("GET  http://example.com/ HTTP/1.0",), "malformed request head"),
        (("GET http://example.com/ HTTP/1.1", "Host : example.com"), "malformed request head"),
        (("GET http://example.com/ HTTP/1.1",), "malformed request head"),  # no Host in 1.1
        (("GET http://example.com/ HTTP/1.0", "X-A: 1", " folded"), "folded header line"),
        (("GET http://example.com/ HTTP/1.0", "X-A: 1\nX-B: 2"), "bare LF"),
        (("GET http://example.com/ HTTP/1.0\nX-B: 2",), "bare LF"),
        (("GET http://example.com/ HTTP/1.1", "Host: evil.test"), "disagrees with the target"),
        (("GET http://example.com/ HTTP/1.1", "Host: example.com:8080"), "disagrees"),
        (("CONNECT example.com:443 HTTP/1.1", "Host: evil.test:443"), "disagrees"),
        (("GET http://example.com/ HTTP/1.1", "Host: a", "Host: a"), "malformed request head"),
        (
            (
                "POST http://example.com/ HTTP/1.0",
                "Content-Length: 3",
                "Transfer-Encoding: chunked",
            ),
            "both Content-Length and Transfer-Encoding",
        ),
        (("POST http://example.com/ HTTP/1.0", "Transfer-Encoding: gzip"), "malformed"),
        (("POST http://example.com/ HTTP/1.0", "Content-Length: ²"), "malformed request head"),
        (
            ("POST http://example.com/ HTTP/1.0", "Content-Length: 3", "Content-Length: 4"),
            "more than one Content-Length",
        ),
        (
            ("POST http://example.com/ HTTP/1.0", "Content-Length: 3", "content-length: 3"),
            "more than one Content-Length",
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


def test_origin_head_drops_proxy_and_hop_headers() -> None:
    """The origin gets origin-form, its own Host, no proxy credentials and Connection: close."""
    request = parse_request(
        head(
            "GET http://example.com:8080/x HTTP/1.1",
            "Host: example.com:8080",
            "Proxy-Authorization: Basic c2VjcmV0",
            "Connection: keep-alive, X-Drop",
            "X-Drop: 1",
            "Accept: */*",
        )
    )
    assert OriginRequest(request).head() == head(
        "GET /x HTTP/1.1", "Host: example.com:8080", "Accept: */*", "Connection: close"
    )


def _post(*framing: str) -> OriginRequest:
    return OriginRequest(
        parse_request(head("POST http://a.test/ HTTP/1.1", "Host: a.test", *framing))
    )


def test_chunked_body_is_decoded_and_written_anew() -> None:
    """Chunk extensions and trailers stay behind; the origin gets h11's own chunks."""
    origin = _post("Transfer-Encoding: chunked")
    body = RequestBody(origin.request)
    pieces = body.feed(b"3;ext=1\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Sum: 7\r\n\r\nGET /x HTTP/1.1")
    assert body.done and pieces == [b"abc", b"defg"]
    written = b"".join([origin.head(), *map(origin.data, pieces), origin.end()])
    assert written.endswith(b"\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")


@pytest.mark.parametrize(
    "body",
    [
        b"3\r\nabc\n0\r\n\r\n",  # a bare LF ends the chunk
        b"3\nabc\r\n0\r\n\r\n",  # ... or the chunk size line
        b"3\r\nabc\r\n0\r\n\nGET /smuggled HTTP/1.1\r\n\r\n",  # ... or the body
        b"3\r\nabc\r\n0\r\nX-A: 1\n\r\n",  # ... or a trailer
        b"3\r\nabc\r\n0\r\nX-A: 1\r\n folded\r\n\r\n",  # obs-fold in the trailers
        b"3\r\nabcXY0\r\n\r\n",  # not CRLF after the data
        b"-1\r\n",
    ],
)
def test_ambiguous_chunked_framing_is_refused(body: bytes) -> None:
    """Every chunked framing an origin could read otherwise is refused, however it is split."""
    decoder = RequestBody(_post("Transfer-Encoding: chunked").request)
    with pytest.raises(RequestError):
        for index in range(len(body)):
            decoder.feed(body[index : index + 1])
        assert not decoder.done


def test_content_length_body_ends_at_its_length() -> None:
    """A Content-Length body is exactly that many bytes; what follows is never passed on."""
    decoder = RequestBody(_post("Content-Length: 3").request)
    assert decoder.feed(b"abcGET /x HTTP/1.1\r\n\r\n") == [b"abc"] and decoder.done
