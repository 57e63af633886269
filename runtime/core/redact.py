"""Masking the secret values given to an invocation in everything it returns (pure).

Redaction guards against accidental disclosure: a tool that prints its API key in a debug line
or an error message. It is no barrier against a skill that was granted a secret and means to leak
it (it can reverse or encrypt the value first); keeping secrets from skills that were not granted
them is the sandbox's job. Besides the raw value, its common encodings are masked too: base64
(standard and URL-safe, also embedded at an aligned offset), URL encoding and JSON escaping.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections import Counter
from collections.abc import Mapping
from typing import Any

__all__ = ["Redactor", "StreamRedactor", "marker"]

# Shorter encoded forms (of very short values) would mask unrelated text.
_MIN_ENCODED = 8


def marker(name: str) -> bytes:
    return f"[REDACTED:{name}]".encode()


class Redactor:
    """Masks every occurrence of the given secrets; counts what it masked, per secret name."""

    def __init__(self, secrets: Mapping[str, str | bytes]) -> None:
        forms: dict[bytes, str] = {}
        for name, value in secrets.items():
            raw = value.encode() if isinstance(value, str) else value
            # Lower case too: a secret smuggled out as a host name comes back lowered.
            for form in (*_forms(raw), *_forms(raw.lower())):
                forms.setdefault(form, name)
        self._names = forms
        # Longest first, so that a value is masked whole rather than a shorter one inside it.
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile(b"|".join(re.escape(f) for f in ordered)) if ordered else None
        self.longest = len(ordered[0]) if ordered else 0
        # What a stream's end may be while a secret is still coming: the start of a form. The
        # forms are kept by their first byte, never as the set of every prefix: that set grows
        # with the square of a secret's length (hundreds of MiB for a private key).
        starting: dict[int, list[bytes]] = {}
        for form in ordered:
            starting.setdefault(form[0], []).append(form)
        self._starting = {first: tuple(forms) for first, forms in starting.items()}

    def __repr__(self) -> str:
        return f"Redactor({len(set(self._names.values()))} secrets)"

    def __bool__(self) -> bool:
        return self._pattern is not None

    def mask_bytes(self, data: bytes, counts: Counter[str] | None = None) -> bytes:
        """``data`` with every occurrence masked; each one is added to ``counts``."""
        if self._pattern is None or not data:
            return data

        def mask(match: re.Match[bytes]) -> bytes:
            name = self._names[match.group(0)]
            if counts is not None:
                counts[name] += 1
            return marker(name)

        return self._pattern.sub(mask, data)

    def mask_text(self, text: str, counts: Counter[str] | None = None) -> str:
        if self._pattern is None:
            return text
        return self.mask_bytes(text.encode("utf-8", "surrogatepass"), counts).decode(
            "utf-8", "surrogatepass"
        )

    def mask_value(self, value: Any, counts: Counter[str] | None = None) -> Any:
        """A parsed JSON value with every string (keys too) masked."""
        if isinstance(value, str):
            return self.mask_text(value, counts)
        if isinstance(value, list):
            return [self.mask_value(item, counts) for item in value]
        if isinstance(value, dict):
            return {self.mask_text(k, counts): self.mask_value(v, counts) for k, v in value.items()}
        return value

    def stream(self) -> StreamRedactor:
        return StreamRedactor(self)

    def spans(self, data: bytes) -> list[tuple[int, int]]:
        if self._pattern is None:
            return []
        return [m.span() for m in self._pattern.finditer(data)]

    def pending_from(self, data: bytes) -> int:
        """Where the longest end of ``data`` that a secret's form begins with starts (so the
        rest of the form may be yet to come); ``len(data)`` when no such end exists."""
        view = memoryview(data)
        for start in range(max(len(data) - self.longest + 1, 0), len(data)):
            rest = view[start:]
            for form in self._starting.get(data[start], ()):
                if len(form) > len(rest) and form.startswith(rest):
                    return start
        return len(data)


class StreamRedactor:
    """Redacts a stream chunk by chunk, holding back just enough to catch a split secret.

    A secret cut in two by a chunk boundary must not leak either half, so an end of the data
    that could be the beginning of a secret (at most ``longest - 1`` bytes) waits for the next
    chunk (or ``flush``); output that cannot be goes out at once, for those who follow it live.
    """

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._held = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._held + chunk
        cut = self._redactor.pending_from(data)
        for start, end in self._redactor.spans(data):
            # A match that starts before the cut is complete: were a longer form still coming
            # from there, the cut would be at or before its start.
            if start < cut < end:
                cut = end
        self._held = data[cut:]
        return self._redactor.mask_bytes(data[:cut])

    def flush(self) -> bytes:
        data, self._held = self._held, b""
        return self._redactor.mask_bytes(data)


def _forms(value: bytes) -> list[bytes]:
    if not value:
        return []
    forms = [value]
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(value)
        forms.append(encoded)
        # Inside longer base64 text the last character depends on the bytes that follow.
        forms.append(encoded[: len(value) * 8 // 6])
    text = value.decode("utf-8", "surrogateescape")
    forms.append(urllib.parse.quote(text, safe="").encode())
    forms.append(urllib.parse.quote_plus(text, safe="").encode())
    forms.append(json.dumps(text)[1:-1].encode())
    return [form for form in dict.fromkeys(forms) if form == value or len(form) >= _MIN_ENCODED]
