"""Strict JSON in, RFC 8785 canonical JSON out, and the one hash over it."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.util.canonical import canonical_bytes, canonical_hash, strict_json

# RFC 8785 section 3.2.2: numbers, escapes and literals in their one canonical form.
RFC_INPUT = r"""{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
RFC_OUTPUT = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
).encode()

# RFC 8785 section 3.2.3: keys sort by UTF-16 code units, so U+1F600 (D83D DE00) comes
# before U+FB33, unlike in code point order.
RFC_KEYS_INPUT = r"""{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"""
RFC_KEYS_ORDER = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_rfc_8785_example_is_reproduced() -> None:
    """The RFC's example of numbers, string escapes and literals comes out byte for byte."""
    assert canonical_bytes(strict_json(RFC_INPUT)) == RFC_OUTPUT


def test_keys_sort_by_utf16_code_units() -> None:
    """Object keys come out in the RFC's UTF-16 order, not in code point order."""
    text = canonical_bytes(strict_json(RFC_KEYS_INPUT)).decode()
    positions = [text.index(f'"{key}"'.replace("\r", "\\r")) for key in RFC_KEYS_ORDER]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    ("value", "form"),
    [
        (-0.0, b"0"),
        (1.0, b"1"),
        (1e21, b"1e+21"),
        (1e-7, b"1e-7"),
        (5e-324, b"5e-324"),
        (2**53 - 1, b"9007199254740991"),
    ],
    ids=["minus-zero", "whole-float", "large", "small", "subnormal", "largest-exact-int"],
)
def test_numbers_take_their_shortest_es6_form(value: float, form: bytes) -> None:
    """Numbers are written as ECMAScript writes doubles, one form per value."""
    assert canonical_bytes(value) == form


def test_equal_values_have_equal_hashes() -> None:
    """Texts that differ only in key order, spacing and number spelling hash the same."""
    one = strict_json('{"b": [1.0, 2e0, "\\u0041"], "a": {"y": null, "x": true}}')
    other = strict_json('{"a":{"x":true,"y":null},"b":[1,2,"A"]}')
    assert canonical_hash(one) == canonical_hash(other)


def test_different_values_have_different_hashes() -> None:
    """A changed value changes the hash."""
    assert canonical_hash({"n": 1}) != canonical_hash({"n": 2})


def test_the_hash_is_sha256_of_the_canonical_form() -> None:
    """The hash is the hex SHA-256 of the canonical bytes, recomputable by anyone."""
    assert canonical_hash({}) == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


@pytest.mark.parametrize(
    "value",
    ["\ud800", 2**53, -(2**53), 2**64, {"k": ["\udfff"]}],
    ids=["lone-surrogate", "2**53", "-2**53", "2**64", "nested"],
)
def test_values_outside_i_json_get_a_form_no_json_text_has(value: Any) -> None:
    """Lone surrogates and integers beyond 2**53 get a fallback form that is not JSON."""
    form = canonical_bytes(value)
    assert form.startswith(b"non-i-json:")
    with pytest.raises(ValueError):
        strict_json(form)


def test_integers_beyond_2_53_stay_distinct() -> None:
    """Integers that one double would round together still hash apart."""
    assert canonical_hash(2**53) != canonical_hash(2**53 + 1)


def test_a_large_integer_does_not_hash_as_its_double() -> None:
    """2**64 and the double nearest to it are different values with different hashes."""
    assert canonical_hash(2**64) != canonical_hash(float(2**64))


def test_a_lone_surrogate_does_not_hash_as_its_escape_spelled_out() -> None:
    """A lone surrogate and the six-character text of its escape hash apart."""
    assert canonical_hash("\ud800") != canonical_hash("\\ud800")


def test_canonical_form_refuses_deep_nesting() -> None:
    """A value nested past the recursion limit is a ValueError, not a crash."""
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(ValueError, match="nested too deeply"):
        canonical_bytes(deep)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"n": NaN}', "NaN is not a JSON value"),
        ('{"n": Infinity}', "Infinity is not a JSON value"),
        ('{"n": -Infinity}', "-Infinity is not a JSON value"),
        ('{"n": 1e400}', "the number 1e400 is too large to represent"),
        ('{"n": -1e400}', "the number -1e400 is too large to represent"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
    ids=["nan", "infinity", "minus-infinity", "overflow", "minus-overflow", "deep"],
)
def test_strict_json_refuses_what_json_does_not_define(text: str, reason: str) -> None:
    """NaN, infinities, numbers no double can hold and runaway nesting are ValueErrors."""
    with pytest.raises(ValueError, match=reason):
        strict_json(text)


def test_strict_json_reads_bytes() -> None:
    """UTF-8 bytes parse like the text they encode."""
    assert strict_json('{"\u20ac": [1, 2.5]}'.encode()) == {"\u20ac": [1, 2.5]}
