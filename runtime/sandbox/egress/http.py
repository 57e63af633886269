"""HTTP/1 proxy requests (pure): parse a request head, rewrite it for the origin server.

Only two request forms are proxied: ``CONNECT host:port`` (a tunnel, usually for TLS) and an
absolute ``http://`` URI (plain HTTP, forwarded). Anything ambiguous is refused rather than
guessed at: header folding, both Content-Length and Transfer-Encoding, credentials in the URL, a
Host header naming another host than the target. Refusal reasons never quote the request: they
end up in results and logs, and a request line is a channel the tool controls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runtime.sandbox.egress.policy import split_authority

__all__ = [
    "HEAD_END",
    "MAX_HEAD_BYTES",
    "TUNNEL_ESTABLISHED",
    "ProxyRequest",
    "RequestError",
    "chunk_size",
    "forward_head",
    "parse_request",
    "response",
]

# Request heads larger than this are refused; real clients send well under a kilobyte.
MAX_HEAD_BYTES = 16384
HEAD_END = b"\r\n\r\n"
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_ABSOLUTE = re.compile(r"(?i:http)://([^/?#]*)([/?][^#]*)?")
_VERSIONS = ("HTTP/1.0", "HTTP/1.1")
_DIGITS = re.compile(r"[0-9]{1,18}")
# Hop-by-hop headers (RFC 9110 7.6.1) and proxy credentials never reach the origin server; Host
# is rewritten from the checked target.
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
    }
)
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})(;[^\r\n]*)?\r\n")


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
    version: str
    headers: tuple[tuple[str, str], ...]
    content_length: int  # 0 without a body
    chunked: bool


def parse_request(head: bytes) -> ProxyRequest:
    """A request head (up to and including the blank line) as a ProxyRequest."""
    # Latin-1 maps every byte to one character, so the head is forwarded byte for byte.
    text = head.decode("latin-1")
    if not text.endswith("\r\n\r\n"):
        raise RequestError("request head does not end with a blank line")
    lines = text[:-4].split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or parts[2] not in _VERSIONS:
        raise RequestError("malformed request line")
    method, target, version = parts
    headers = tuple(_header(line) for line in lines[1:])
    tunnel = method == "CONNECT"
    host, port, path = _target(target, tunnel=tunnel)
    _check_host_header(headers, host, port, tunnel=tunnel)
    content_length, chunked = _framing(headers, host, port)
    return ProxyRequest(
        method=method,
        host=host,
        port=port,
        tunnel=tunnel,
        path=path,
        version=version,
        headers=headers,
        content_length=content_length,
        chunked=chunked,
    )


def _header(line: str) -> tuple[str, str]:
    name, sep, value = line.partition(":")
    if not sep or not _TOKEN.fullmatch(name):
        raise RequestError("malformed header line")
    if "\r" in value or "\n" in value:
        raise RequestError("a header value holds a line break")
    return name, value.strip(" \t")


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
    values = _values(headers, "host")
    if len(values) > 1:
        raise RequestError("more than one Host header", host=host, port=port)
    if not values:
        return
    try:
        named = split_authority(values[0], default_port=port if tunnel else 80)
    except ValueError as exc:
        raise RequestError("the Host header is not a valid host", host=host, port=port) from exc
    if named != (host, port):
        raise RequestError("the Host header disagrees with the target", host=host, port=port)


def _framing(headers: tuple[tuple[str, str], ...], host: str, port: int) -> tuple[int, bool]:
    lengths = _values(headers, "content-length")
    encodings = _values(headers, "transfer-encoding")
    if lengths and encodings:
        raise RequestError("both Content-Length and Transfer-Encoding", host=host, port=port)
    if encodings:
        if [e.lower() for e in encodings] != ["chunked"]:
            raise RequestError("only Transfer-Encoding: chunked is supported", host=host, port=port)
        return 0, True
    if not lengths:
        return 0, False
    if len(set(lengths)) != 1 or not _DIGITS.fullmatch(lengths[0]):
        raise RequestError("invalid Content-Length", host=host, port=port)
    return int(lengths[0]), False


def forward_head(request: ProxyRequest) -> bytes:
    """The request head sent to the origin: origin-form target, one request per connection."""
    named = {v.strip().lower() for v in ",".join(_values(request.headers, "connection")).split(",")}
    kept = [
        f"{name}: {value}\r\n"
        for name, value in request.headers
        if name.lower() not in _DROPPED and name.lower() not in named
    ]
    host = f"[{request.host}]" if ":" in request.host else request.host
    if request.port != 80:
        host = f"{host}:{request.port}"
    lines = [
        f"{request.method} {request.path} {request.version}\r\n",
        f"Host: {host}\r\n",
        *kept,
        "Connection: close\r\n\r\n",
    ]
    return "".join(lines).encode("latin-1")


def chunk_size(line: bytes) -> int:
    """The size announced by a chunked body's size line (with its CRLF)."""
    match = _CHUNK_SIZE.fullmatch(line)
    if match is None:
        raise RequestError("malformed chunk size line")
    return int(match.group(1), 16)


def response(status: int, reason: str, message: str) -> bytes:
    """A complete response from the proxy itself, closing the connection."""
    body = f"skillrt: {message}\n".encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


TUNNEL_ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"
