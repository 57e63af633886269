"""Sizes and durations as people write them."""

from __future__ import annotations

import pytest

from runtime.util.units import format_size, parse_duration_ms, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("128MiB", 128 * 1024**2),
        ("512KiB", 512 * 1024),
        ("1GiB", 1024**3),
        ("10", 10),
        ("2MB", 2_000_000),
    ],
)
def test_parse_size_units(text: str, expected: int) -> None:
    """Binary and decimal units give exact byte counts."""
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("5s", 5000), ("500ms", 500), ("2m", 120_000), ("3", 3000)]
)
def test_parse_duration(text: str, expected: int) -> None:
    """Durations become milliseconds; a bare number means seconds."""
    assert parse_duration_ms(text) == expected


@pytest.mark.parametrize("text", ["12 parsecs", "-1MiB", "MiB", ""])
def test_parse_size_rejects_garbage(text: str) -> None:
    """Anything that is not a size is a ValueError that quotes it."""
    with pytest.raises(ValueError, match="expected a size"):
        parse_size(text)


def test_format_size_picks_exact_unit() -> None:
    """Formatting uses the largest binary unit that divides the size exactly."""
    assert [format_size(n) for n in (256 * 1024**2, 3072, 1536)] == ["256MiB", "3KiB", "1536B"]


@pytest.mark.parametrize(("value", "expected"), [(30, 30_000), (2.5, 2500), ("2.5", 2500)])
def test_bare_number_is_seconds_as_number_or_string(value: object, expected: int) -> None:
    """A duration without a unit counts in seconds, whether TOML gave a number or a string."""
    assert parse_duration_ms(value) == expected


@pytest.mark.parametrize("value", [[30], {"s": 30}, float("nan"), float("inf"), -1.0, 2**63])
def test_values_that_are_no_duration_or_size_are_value_errors(value: object) -> None:
    """Lists, tables, non-finite, negative and oversized numbers are ValueErrors, not TypeErrors."""
    with pytest.raises(ValueError):
        parse_duration_ms(value)
    with pytest.raises(ValueError):
        parse_size(value if value != 2**63 else 2**64)
