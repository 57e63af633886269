"""Text the command line did not write (what a skill printed, an agent's input) made safe to
show on a person's terminal.

A terminal obeys control sequences in what it shows: a tool's output could set the window
title, write the clipboard (OSC 52), move the cursor up to overwrite the lines above, or
reorder a line with Unicode bidi controls so that an approver reads something other than what
is there. Shown to a person, every such character is written out as an escape instead (``\\x1b``,
``\\u202e``) and bytes that are not UTF-8 as ``\\xNN``; newlines and tabs stay as they are.
``--json`` and output sent to a file or pipe keep the exact bytes.
"""

from __future__ import annotations

import codecs

__all__ = ["TerminalText", "printable"]

# Characters that change how the text after them is shown: C0 and C1 controls and DEL, and
# the bidi controls (embeddings, overrides, isolates and marks).
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_KEPT = "\n\t"


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


_TABLE = {
    code: _escape(chr(code))
    for code in (*range(0x20), *range(0x7F, 0xA0), *map(ord, _BIDI), *range(0xDC80, 0xDD00))
    if chr(code) not in _KEPT
}


def printable(text: str) -> str:
    """``text`` with every character that a terminal would act on written out as an escape."""
    return text.translate(_TABLE)


class TerminalText:
    """One stream of bytes shown as it comes: a character cut between two chunks is decoded
    whole, and what it cannot decode is shown as ``\\xNN``."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")

    def feed(self, data: bytes) -> bytes:
        return printable(self._decoder.decode(data)).encode()

    def end(self) -> bytes:
        return printable(self._decoder.decode(b"", final=True)).encode()
