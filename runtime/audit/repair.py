"""Finding a torn tail: where the last complete, valid entry of a log ends.

A write cut short (a full disk, a crash mid-write) leaves the start of a line without its
newline, and every later append refuses to extend it. What follows the last complete line that
parses as an entry is the torn tail; the writer cuts it and says so in the log itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from runtime.audit.entry import parse_line

__all__ = ["Tail", "find_tail"]

_CHUNK = 65536


@dataclass(frozen=True, kw_only=True)
class Tail:
    size: int  # the log's size now
    intact: int  # where its last complete, valid entry ends
    last_seq: int  # that entry's seq; 0 when no entry is intact

    @property
    def torn(self) -> int:
        """Bytes after the last intact entry."""
        return self.size - self.intact


def find_tail(path: Path) -> Tail:
    """Where ``path``'s intact entries end (an absent log has none, and nothing torn)."""
    try:
        file = path.open("rb")
    except FileNotFoundError:
        return Tail(size=0, intact=0, last_seq=0)
    with file:
        size = file.seek(0, os.SEEK_END)
        for start, raw in _lines_backwards(file, size):
            body, broken = parse_line(0, raw)
            if raw.endswith(b"\n") and broken is None:
                assert body is not None
                return Tail(size=size, intact=start + len(raw), last_seq=body["seq"])
        return Tail(size=size, intact=0, last_seq=0)


def _lines_backwards(file: BinaryIO, end: int) -> Iterator[tuple[int, bytes]]:
    """Each line of ``file`` before ``end`` with its offset, the last first; a line keeps its
    newline, and the bytes after the last newline count as a line of their own."""
    buffer = b""
    position = end
    while position > 0 or buffer:
        # The newline that ends the line before the last one in the buffer, if read yet.
        cut = buffer.rfind(b"\n", 0, len(buffer) - 1)
        if cut < 0 and position > 0:
            step = min(_CHUNK, position)
            position -= step
            file.seek(position)
            buffer = file.read(step) + buffer
            continue
        yield position + cut + 1, buffer[cut + 1 :]
        buffer = buffer[: cut + 1]
