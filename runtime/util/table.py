"""Plain-text tables for the command line."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["text_table"]


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as aligned columns under ``header``; a one-cell row is a section title."""
    full = [r for r in rows if len(r) == len(header)]
    widths = [max(len(r[i]) for r in (header, *full)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(header), *(line(r) if len(r) == len(header) else r[0] for r in rows)]
