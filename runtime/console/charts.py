"""Charts as inline SVG, drawn on the server: no script, nothing fetched, and they scale to any
screen (a viewBox, drawn 100% wide). Pure: data in, markup out; every label is escaped."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

__all__ = ["bars", "lines"]

_WIDTH, _HEIGHT = 600, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 12, 12, 28
# Told apart by people with the common colour blindnesses (Okabe-Ito).
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442")

Format = Callable[[float], str]


def _svg(title: str, body: list[str], height: int = _HEIGHT) -> str:
    label = escape(title)
    return (
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {height}" role="img" aria-label="{label}"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{label}</title>{"".join(body)}</svg>'
    )


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 11) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"'
        f' fill="#5f6b76">{escape(text)}</text>'
    )


def bars(title: str, items: Sequence[tuple[str, float]], fmt: Format) -> str:
    """Horizontal bars, one per (label, value), longest first as given."""
    if not items:
        return _svg(title, [_text(_WIDTH / 2, 40, "nothing yet", "middle")], 60)
    row = 24
    height = _TOP + row * len(items) + 8
    top = max(value for _, value in items) or 1.0
    body = []
    for index, (label, value) in enumerate(items):
        y = _TOP + index * row
        width = (_WIDTH - 260) * value / top
        color = PALETTE[index % len(PALETTE)]
        body.append(_text(150, y + 15, label, "end"))
        body.append(
            f'<rect x="160" y="{y + 3}" width="{max(width, 1):.1f}" height="{row - 8}"'
            f' fill="{color}"><title>{escape(f"{label}: {fmt(value)}")}</title></rect>'
        )
        body.append(_text(166 + width, y + 15, fmt(value)))
    return _svg(title, body, height)


def lines(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    fmt: Format,
) -> str:
    """One line per series over the same ``labels`` (the x axis), with a legend."""
    if not series or not labels:
        return _svg(title, [_text(_WIDTH / 2, 40, "nothing yet", "middle")], 60)
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM
    top = max((max(values) for values in series.values()), default=0.0) or 1.0
    step = plot_w / max(len(labels) - 1, 1)
    body = [
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{_LEFT + plot_w}" y2="{_TOP + plot_h}"'
        ' stroke="#d9dee3"/>',
        _text(_LEFT - 6, _TOP + 10, fmt(top), "end"),
        _text(_LEFT - 6, _TOP + plot_h, fmt(0), "end"),
        _text(_LEFT, _HEIGHT - 8, labels[0]),
        _text(_LEFT + plot_w, _HEIGHT - 8, labels[-1], "end"),
    ]
    legend = []
    for index, (name, values) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        points = " ".join(
            f"{_LEFT + i * step:.1f},{_TOP + plot_h - plot_h * v / top:.1f}"
            for i, v in enumerate(values)
        )
        body.append(
            f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2">'
            f"<title>{escape(name)}</title></polyline>"
        )
        legend.append(
            f'<tspan fill="{color}">■ </tspan><tspan fill="#1d2125">{escape(name)}</tspan> '
        )
    body.append(f'<text x="{_LEFT}" y="{_TOP + 10}" font-size="11">{"".join(legend)}</text>')
    return _svg(title, body)
