"""HTTP/1.1 proxy requests (pure), parsed strictly with h11: heads, bodies, what the origin gets.

Only two request forms are proxied: ``CONNECT host:port`` (a tunnel, usually for TLS) and an
absolute ``http://`` URI (plain HTTP, forwarded). h11 parses; on top of it, framing that two
parsers could read two ways is refused rather than guessed at, because the origin's parser is not
h11: a bare LF line ending and obs-fold (h11 tolerates both in heads and trailers), both
Content-Length and Transfer-Encoding, Content-Length twice; also credentials in the URL and a Host
header naming another host than the target. A forwarded request is written anew by h11 from what
was parsed, never copied byte for byte, so nothing after its end can reach the origin.

Refusal reasons never quote the request: they end up in results and logs, and a request line is
a channel the tool controls (h11's own messages quote it, so they are never passed on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import h11

from runtime.sandbox.egress.policy import split_authority

__all__ = [
    "HEAD_END",
    "MAX_HEAD_BYTES",
    "TUNNEL_ESTABLISHED",
    "OriginRequest",
    "ProxyRequest",
    "RequestBody",
    "RequestError",
    "parse_request",
    "response",
]

# Request heads larger than this are refused; real clients send well under a kilobyte.
MAX_HEAD_BYTES = 16384
HEAD_END = b"\r\n\r\n"
_ABSOLUTE = re.compile(r"(?i:http)://([^/?#]*)([/?][^#]*)?")
_VERSIONS = (b"1.0", b"1.1")
_BARE_LF = re.compile(rb"(?<!\r)\n")
_FOLDED = re.compile(rb"\r\n[ \t]")
_FIELD_NAMED_CONTENT_LENGTH = re.compile(rb"\r\n(?i:content-length)[ \t]*:")
# Hop-by-hop headers (RFC 9110 7.6.1) and proxy credentials never reach the origin server; Host
# and the framing headers are written from what was checked and parsed.
_DROPPED = frozenset(
    {
        "connection",
        "proxy-connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "upgrade",
        "host",
        "content-length",
        "transfer-encoding",
    }
)


class RequestError(ValueError):
    """A request the proxy refuses to interpret; ``host``/``port`` when the target is known."""

    def __init__(self, reason: str, *, host: str = "", port: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.host = host
        self.port = port


@dataclass(frozen=True, kw_only=True)
class ProxyRequest:
    method: str
    host: str  # normalized
    port: int
    tunnel: bool  # CONNECT
    path: str  # the origin-form target to forward ("" for CONNECT)
    headers: tuple[tuple[str, str], ...]  # as sent, h11's parse
    content_length: int | None  # None without a Content-Length header
    chunked: bool


def parse_request(head: bytes) -> ProxyRequest:
    """A request head (up to and including the blank line) as a ProxyRequest."""
    _check_lines(head, "request head")
    if not head.endswith(HEAD_END):
        raise RequestError("request head does not end with a blank line")
    if len(_FIELD_NAMED_CONTENT_LENGTH.findall(head)) > 1:
        raise RequestError("more than one Content-Length header")
    parser = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
    parser.receive_data(head)
    try:
        event = parser.next_event()
    except h11.RemoteProtocolError as exc:
        raise RequestError("malformed request head (refused by the HTTP/1.1 parser)") from exc
    if not isinstance(event, h11.Request) or event.http_version not in _VERSIONS:
        raise RequestError("malformed request head (refused by the HTTP/1.1 parser)")
    method = event.method.decode("ascii")
    headers = tuple(
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in event.headers.raw_items()
    )
    tunnel = method == "CONNECT"
    host, port, path = _target(event.target.decode("ascii"), tunnel=tunnel)
    _check_host_header(headers, host, port, tunnel=tunnel)
    content_length, chunked = _framing(headers, host, port)
    return ProxyRequest(
        method=method,
        host=host,
        port=port,
        tunnel=tunnel,
        path=path,
        headers=headers,
        content_length=content_length,
        chunked=chunked,
    )


def _check_lines(block: bytes, what: str) -> None:
    """Refuse line framing that parsers disagree on: a bare LF, a folded (continued) line."""
    if _BARE_LF.search(block):
        raise RequestError(f"bare LF line ending in the {what}")
    if _FOLDED.search(block):
        raise RequestError(f"folded header line (obs-fold) in the {what}")


def _target(target: str, *, tunnel: bool) -> tuple[str, int, str]:
    if tunnel:
        try:
            host, port = split_authority(target, default_port=None)
        except ValueError as exc:
            raise RequestError("the CONNECT target is not a valid host:port") from exc
        return host, port, ""
    if target.startswith("/"):
        raise RequestError("not a proxy request: expected an absolute http:// URI")
    if target.lower().startswith("https://"):
        raise RequestError("https:// must be requested with CONNECT")
    match = _ABSOLUTE.fullmatch(target)
    if match is None:
        raise RequestError("unsupported request target (only http:// URIs)")
    if "@" in match.group(1):
        raise RequestError("credentials in the URL are not supported")
    try:
        host, port = split_authority(match.group(1), default_port=80)
    except ValueError as exc:
        raise RequestError("the request target has no valid host or port") from exc
    return host, port, match.group(2) or "/"


def _values(headers: tuple[tuple[str, str], ...], name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name]


def _check_host_header(
    headers: tuple[tuple[str, str], ...], host: str, port: int, *, tunnel: bool
) -> None:
    values = _values(headers, "host")  # h11 has refused more than one
    if not values:
        return
    try:
        named = split_authority(values[0], default_port=port if tunnel else 80)
    except ValueError as exc:
        raise RequestError("the Host header is not a valid host", host=host, port=port) from exc
    if named != (host, port):
        raise RequestError("the Host header disagrees with the target", host=host, port=port)


def _framing(headers: tuple[tuple[str, str], ...], host: str, port: int) -> tuple[int | None, bool]:
    """(Content-Length, chunked); h11 has checked each header's syntax, not their combination."""
    lengths = _values(headers, "content-length")
    chunked = bool(_values(headers, "transfer-encoding"))
    if lengths and chunked:
        raise RequestError("both Content-Length and Transfer-Encoding", host=host, port=port)
    return (int(lengths[0]) if lengths else None), chunked


class RequestBody:
    """Decodes one request's body with h11 from the bytes the client sends after the head.

    Every stretch of framing between the body's data (chunk sizes, chunk ends, the last chunk
    and the trailer section) is checked as strictly as the head. Trailers are dropped: an origin
    that merged them into the head would let them override checked headers.
    """

    def __init__(self, request: ProxyRequest) -> None:
        self._parser = h11.Connection(h11.SERVER)
        self._parser.receive_data(_framing_head(request))
        self._parser.next_event()  # the synthetic head's Request
        self._unread = bytearray()  # bytes received that h11 has not yet turned into events
        self.done = self._next() is None

    def feed(self, data: bytes) -> list[bytes]:
        """The body data in ``data``; ``done`` once the body is complete (later bytes are
        ignored). Raises RequestError for ambiguous or malformed framing."""
        self._unread += data
        self._parser.receive_data(data)
        pieces = []
        while not self.done:
            piece = self._next()
            if piece is None:
                self.done = True
            elif piece:
                pieces.append(piece)
            else:
                break
        return pieces

    def _next(self) -> bytes | None:
        """The next piece of data, b"" when more input is needed, None at the body's end."""
        try:
            event = self._parser.next_event()
        except h11.RemoteProtocolError as exc:
            raise RequestError("malformed request body (refused by the HTTP/1.1 parser)") from exc
        if event is h11.NEED_DATA:
            return b""
        consumed = len(self._unread) - len(self._parser.trailing_data[0])
        framing = bytes(self._unread[:consumed])
        del self._unread[:consumed]
        if isinstance(event, h11.Data):
            framing = framing[: len(framing) - len(event.data)]
        _check_lines(framing, "chunked body")
        if isinstance(event, h11.Data):
            return bytes(event.data)
        return None


def _framing_head(request: ProxyRequest) -> bytes:
    """A head with only the request's (checked) framing, for h11 to decode the body by."""
    if request.chunked:
        framing = b"Transfer-Encoding: chunked\r\n"
    elif request.content_length is not None:
        framing = b"Content-Length: %d\r\n" % request.content_length
    else:
        framing = b""
    return b"POST / HTTP/1.1\r\nHost: origin\r\n" + framing + b"\r\n"


class OriginRequest:
    """The request as the origin gets it, written by h11: origin-form target, its own Host, the
    client's end-to-end headers, the parsed framing, one request per connection."""

    def __init__(self, request: ProxyRequest) -> None:
        self.request = request
        self._writer = h11.Connection(h11.CLIENT)

    def head(self) -> bytes:
        request = self.request
        named = {
            v.strip().lower() for v in ",".join(_values(request.headers, "connection")).split(",")
        }
        kept = [
            (name, value)
            for name, value in request.headers
            if name.lower() not in _DROPPED and name.lower() not in named
        ]
        host = f"[{request.host}]" if ":" in request.host else request.host
        if request.port != 80:
            host = f"{host}:{request.port}"
        framing = []
        if request.chunked:
            framing.append(("Transfer-Encoding", "chunked"))
        elif request.content_length is not None:
            framing.append(("Content-Length", str(request.content_length)))
        headers = [("Host", host), *kept, *framing, ("Connection", "close")]
        # Latin-1 maps every byte back: header values are passed on byte for byte.
        encoded = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers]
        return self._send(h11.Request(method=request.method, target=request.path, headers=encoded))

    def data(self, data: bytes) -> bytes:
        return self._send(h11.Data(data=data))

    def end(self) -> bytes:
        return self._send(h11.EndOfMessage())

    def _send(self, event: h11.Event) -> bytes:
        written = self._writer.send(event)
        assert written is not None  # None only for ConnectionClosed, never sent here
        return written


def response(status: int, reason: str, message: str) -> bytes:
    """A complete response from the proxy itself, closing the connection."""
    body = f"skillrt: {message}\n".encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


TUNNEL_ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"
