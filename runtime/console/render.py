"""The console's pages: Jinja templates shipped in the package, escaped by default, and the
filters they use to show times, sizes and text the console did not write."""

from __future__ import annotations

import datetime
import json
from typing import Any

import jinja2

from runtime.util.display import printable

__all__ = ["Renderer", "pretty_json", "visible"]

_SIZES = ("B", "KiB", "MiB", "GiB", "TiB")


def visible(text: object) -> str:
    """``text`` with every character that would change how the rest is shown escaped (an
    agent's input could reorder what an approver reads)."""
    return printable(str(text))


def pretty_json(text: str) -> str:
    """JSON text indented for reading (as it was when it does not parse)."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return text


def _when(ms: int | None) -> str:
    if not ms:
        return "-"
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _size(count: int | None) -> str:
    if count is None:
        return "-"
    value = float(count)
    for unit in _SIZES:
        if value < 1024 or unit == _SIZES[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 120_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


class Renderer:
    def __init__(self) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("runtime.console", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters.update(
            when=_when, size=_size, duration=_duration, visible=visible, pretty_json=pretty_json
        )

    def render(self, template: str, **context: Any) -> str:
        return self._env.get_template(template).render(**context)
