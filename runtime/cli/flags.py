"""Flags that several verbs share: limits, sizes, durations, dates, and ``@FILE`` arguments.

Kept light (no sandbox or daemon imports): every verb's parser is built from it, and the
quick client verbs must not pay for what only ``run`` and ``exec`` need.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runtime.errors import BadRequest
from runtime.sandbox.profiles import LimitOverrides
from runtime.util.units import parse_duration_ms, parse_size

__all__ = [
    "DATE_HELP",
    "DURATION_HELP",
    "SIZE_HELP",
    "date_flag",
    "duration_flag",
    "limit_flags",
    "overrides",
    "read_arg",
]

# How sizes and durations are written, for the help of every flag that takes one.
SIZE_HELP = "e.g. 64MiB or 512KiB (B, KiB, MiB, GiB; kB, MB, GB; a bare number is bytes)"
DURATION_HELP = "e.g. 2s, 500ms, 5m, 1h or 7d (a bare number is seconds)"
DATE_HELP = (
    "e.g. 2026-11-01 or 2026-11-01T12:00Z (UTC unless a zone is given), or 7d: that long ago"
)
# An age is a duration with its unit: a bare number is too easily a date cut short.
_AGE = re.compile(r"^\d+(\.\d+)?(ms|s|m|min|h|d)$")


def limit_flags(parser: argparse.ArgumentParser) -> None:
    """Limits that may tighten the profile's, never loosen them."""
    parser.add_argument(
        "--memory",
        type=_flag(parse_size, "--memory"),
        metavar="SIZE",
        help=f"memory limit, {SIZE_HELP}",
    )
    parser.add_argument(
        "--wall-time",
        type=_flag(parse_duration_ms, "--wall-time"),
        metavar="DUR",
        help=f"wall-clock limit, {DURATION_HELP}",
    )
    parser.add_argument(
        "--cpu-time",
        type=_flag(parse_duration_ms, "--cpu-time"),
        metavar="DUR",
        help=f"CPU time limit, {DURATION_HELP}",
    )
    parser.add_argument(
        "--pids",
        type=_flag(_positive_int, "--pids"),
        metavar="N",
        help="at most N processes and threads",
    )


def duration_flag(name: str) -> Any:
    return _flag(parse_duration_ms, name)


def date_flag(name: str) -> Any:
    """A moment given as an ISO date (UTC unless it names a zone) or as an age (``7d``)."""
    return _flag(_moment, name)


def _moment(text: str) -> datetime:
    if _AGE.match(text.strip()):
        return datetime.now(UTC) - timedelta(milliseconds=parse_duration_ms(text.strip()))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"expected a date like 2026-11-01 or 2026-11-01T12:00Z, or an age like 7d, got {text!r}"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _flag(parse: Any, name: str) -> Any:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    convert.__name__ = name
    return convert


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"expected a positive integer, got {text!r}")
    return int(text)


def overrides(args: argparse.Namespace) -> LimitOverrides:
    """The limits given by the flags that limit_flags adds."""
    return LimitOverrides(
        memory_bytes=args.memory,
        wall_time_ms=args.wall_time,
        cpu_time_ms=args.cpu_time,
        pids=args.pids,
    )


def read_arg(value: str, name: str) -> str:
    if not value.startswith("@"):
        return value
    source = value[1:]
    try:
        return sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadRequest(f"{name}: cannot read {source}: {exc}") from exc
