"""Text the command line did not write (what a skill printed, an agent's input) made safe to
show on a person's terminal.

A terminal obeys control sequences in what it shows: a tool's output could set the window
title, write the clipboard (OSC 52), move the cursor up to overwrite the lines above, or
reorder a line with Unicode bidi controls so that an approver reads something other than what
is there. Shown to a person, every such character is written out as an escape instead
(runtime/util/display.py). ``--json`` and output sent to a file or pipe keep the exact bytes.
"""

from __future__ import annotations

import codecs

from runtime.util.display import printable

__all__ = ["TerminalText", "printable"]


class TerminalText:
    """One stream of bytes shown as it comes: a character cut between two chunks is decoded
    whole, and what it cannot decode is shown as ``\\xNN``."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")

    def feed(self, data: bytes) -> bytes:
        return printable(self._decoder.decode(data)).encode()

    def end(self) -> bytes:
        return printable(self._decoder.decode(b"", final=True)).encode()
