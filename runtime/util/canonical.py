"""Strict JSON in, canonical JSON out: the one parser and the one hash of skillrt.

Hashes that others must be able to recompute (approval bindings, the audit chain, idempotency
keys) are SHA-256 of the RFC 8785 (JSON Canonicalization Scheme) form of a value, produced by the
``rfc8785`` package. RFC 8785 is defined only for I-JSON values: strings must be valid Unicode
and integers must fit an IEEE-754 double exactly. JSON that is valid but outside I-JSON (a lone
surrogate escape, a 2**64 integer) is still accepted by skillrt, so such values get a fallback
form, marked by a prefix that no JSON text can start with, which keeps the two forms apart.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import rfc8785

from runtime.errors import BadRequest

__all__ = ["canonical_bytes", "canonical_hash", "legacy_hash", "parse_input", "strict_json"]

_FALLBACK_PREFIX = b"non-i-json:"


def strict_json(text: str | bytes) -> Any:
    """Parse JSON as the standard defines it: no NaN or Infinity, no runaway nesting.

    Raises ValueError for anything else, so callers have one exception to translate.
    """
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 form of a JSON value (the fallback form outside I-JSON, see above)."""
    try:
        return bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError:
        pass
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    try:
        fallback = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    return _FALLBACK_PREFIX + fallback.encode("ascii")


def canonical_hash(value: Any) -> str:
    """Hex SHA-256 of ``canonical_bytes(value)``: equal values, equal hashes."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


def legacy_hash(value: Any) -> str:
    """The hash skillrt wrote before it used RFC 8785 (sorted keys, compact, ASCII escapes).

    Only for recognising what was stored then (idempotency keys, approval bindings); never
    written anew.
    """
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    return hashlib.sha256(text.encode()).hexdigest()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:20]} is too large to represent")
    return value


def parse_input(text: str) -> Any:
    """A tool's input as strict JSON; anything else is the caller's mistake, naming the input."""
    try:
        return strict_json(text)
    except ValueError as exc:
        raise BadRequest(f"input: not valid JSON: {exc}") from exc
