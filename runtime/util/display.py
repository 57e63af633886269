"""Text skillrt did not write (what a skill printed, an agent's input) made safe to show a person.

A terminal obeys control sequences in what it shows, and Unicode bidi controls reorder a line in
a terminal and a web page alike, so that an approver reads something other than what is there.
Shown to a person, every such character is written out as an escape instead (``\\x1b``,
``\\u202e``), and bytes that were not UTF-8 (decoded with surrogateescape) as ``\\xNN``;
newlines and tabs stay as they are.
"""

from __future__ import annotations

__all__ = ["printable"]

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
    """``text`` with every character that would change how it is shown written out as an
    escape."""
    return text.translate(_TABLE)
