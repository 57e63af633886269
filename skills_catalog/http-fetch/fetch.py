"""http-fetch/fetch: GET one http(s) URL and return its title, readable text and links.

Under skillrt the request leaves the sandbox only through the runtime's egress proxy (urllib
reads HTTP_PROXY/HTTPS_PROXY), which allows the hosts of skill.toml and nothing else; redirects
go through it too. TLS certificates are verified against the system's CAs.

Input (JSON on stdin): {"url": str, "max_bytes": int, "max_text": int, "max_links": int}.
Output (JSON on stdout): url, status, content_type, title, text, links [{url, text}], bytes,
truncated; on an error, {"error": str} on stderr and exit 1.
"""

from __future__ import annotations

import codecs
import json
import re
import ssl
import sys
import urllib.error
import urllib.request
from email.message import Message
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

MAX_URL = 2048
DEFAULT_MAX_BYTES = 1 << 20
MAX_BYTES = 4 << 20
DEFAULT_MAX_TEXT = 20_000
MAX_TEXT = 200_000
DEFAULT_MAX_LINKS = 100
MAX_LINKS = 1_000
# Below the skill's wall time limit, so that a slow server is reported rather than killed.
TIMEOUT_SECONDS = 15
USER_AGENT = "skillrt-http-fetch/1.0"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("application/json", "application/xml")
# Text inside these elements is not part of what a reader sees.
_HIDDEN = frozenset({"script", "style", "noscript", "template", "svg"})
# Elements that start a new line of text.
_BLOCKS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt"),
        *("figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6"),
        *("header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td"),
        *("th", "tr", "ul"),
    }
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class FetchError(Exception):
    """A problem reported to the caller as one line."""


class _Page(HTMLParser):
    """Title, visible text and links of an HTML document."""

    def __init__(self, base_url: str, max_links: int) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.max_links = max_links
        self.title: list[str] = []
        self.text: list[str] = []
        self.links: list[dict[str, str]] = []
        self._seen: set[str] = set()
        self._hidden = 0
        self._in_title = False
        self._anchor: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _HIDDEN:
            self._hidden += 1
        elif tag == "a":
            href = dict(attrs).get("href")
            self._anchor = (href, []) if href else None
        if tag in _BLOCKS:
            self.text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag == "a" and self._anchor is not None:
            self._add_link(*self._anchor)
            self._anchor = None
        if tag in _BLOCKS:
            self.text.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._hidden:
            self.text.append(data)
            if self._anchor is not None:
                self._anchor[1].append(data)

    def _add_link(self, href: str, words: list[str]) -> None:
        url = urljoin(self.base_url, href.strip()).split("#")[0]
        if urlsplit(url).scheme not in ("http", "https") or url in self._seen:
            return
        if len(self.links) < self.max_links:
            self._seen.add(url)
            self.links.append({"url": url, "text": _one_line("".join(words))})


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tidy(text: str) -> str:
    """Spaces collapsed within lines, blank lines collapsed to one."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _charset(headers: Message, body: bytes) -> str:
    declared = headers.get_content_charset()
    if declared is None:
        match = _META_CHARSET.search(body[:4096])
        declared = match.group(1).decode("ascii") if match else None
    try:
        return codecs.lookup(declared or "utf-8").name
    except LookupError:
        return "utf-8"


def _egress_message(url: str, reason: object) -> str | None:
    """The proxy's refusal of an https:// tunnel, in words; None for other failures."""
    text = str(reason)
    if "Tunnel connection failed: 403" in text:
        parts = urlsplit(url)
        return (
            f"egress denied: {parts.hostname}:{parts.port or 443} (refused by skillrt's egress "
            "proxy: not on this skill's allowlist, or not a public address)"
        )
    return None


def fetch(url: str, max_bytes: int) -> tuple[int, str, Message, bytes, bool]:
    """(status, final url, headers, body, truncated) of a GET of ``url``."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    context = ssl.create_default_context()
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            body = response.read(max_bytes + 1)
            truncated = len(body) > max_bytes
            return response.status, response.url, response.headers, body[:max_bytes], truncated
    except urllib.error.HTTPError as exc:
        detail = exc.read(1024).decode("utf-8", "replace").strip()
        if detail.startswith("skillrt: egress"):
            raise FetchError(detail.removeprefix("skillrt: ")) from None
        raise FetchError(f"HTTP {exc.code} {exc.reason} for {exc.url}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ssl.SSLCertVerificationError):
            why = exc.reason.verify_message or "verification failed"
            host = urlsplit(url).hostname
            raise FetchError(f"TLS certificate of {host} not trusted: {why}") from None
        message = _egress_message(url, exc.reason)
        raise FetchError(message or f"cannot fetch {url}: {exc.reason}") from None
    except (OSError, ValueError) as exc:
        raise FetchError(f"cannot fetch {url}: {exc}") from None


def page(url: str, max_bytes: int, max_text: int, max_links: int) -> dict[str, Any]:
    status, final_url, headers, body, truncated = fetch(url, max_bytes)
    content_type = headers.get_content_type()
    text = body.decode(_charset(headers, body), "replace")
    if content_type in _HTML_TYPES:
        parser = _Page(final_url, max_links)
        parser.feed(text)
        parser.close()
        title, text, links = _one_line("".join(parser.title)), "".join(parser.text), parser.links
    elif (
        content_type.startswith("text/")
        or content_type in _TEXT_TYPES
        or (content_type.endswith(("+json", "+xml")))
    ):
        title, links = "", []
    else:
        raise FetchError(f"unsupported content type {content_type} (only HTML and text)")
    text = _tidy(text)
    return {
        "url": final_url,
        "status": status,
        "content_type": content_type,
        "title": title,
        "text": text[:max_text],
        "text_truncated": len(text) > max_text,
        "links": links,
        "bytes": len(body),
        "truncated": truncated,
    }


def _parse_request(request: Any) -> tuple[str, int, int, int]:
    if not isinstance(request, dict) or not isinstance(request.get("url"), str):
        raise FetchError('input must be an object with a "url" string')
    url = request["url"]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL:
        raise FetchError(f"not an http(s) URL of at most {MAX_URL} characters: {url[:100]!r}")
    if parts.username or parts.password:
        raise FetchError("credentials in the URL are not supported")
    limits = []
    for key, default, ceiling in (
        ("max_bytes", DEFAULT_MAX_BYTES, MAX_BYTES),
        ("max_text", DEFAULT_MAX_TEXT, MAX_TEXT),
        ("max_links", DEFAULT_MAX_LINKS, MAX_LINKS),
    ):
        value = request.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= ceiling:
            raise FetchError(f"{key} must be an integer from 0 to {ceiling}")
        limits.append(value)
    return url, limits[0], limits[1], limits[2]


def main() -> int:
    try:
        request = json.loads(sys.stdin.buffer.read())
    except (ValueError, RecursionError) as exc:
        return _fail(f"input is not valid JSON: {exc}")
    try:
        result = page(*_parse_request(request))
    except FetchError as exc:
        return _fail(str(exc))
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


def _fail(message: str) -> int:
    sys.stderr.write(json.dumps({"error": message}) + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
