"""JSON Schema (Draft 2020-12) whose regular expressions run on RE2, a linear-time engine.

Schemas come from skill authors and operators; with Python's backtracking ``re`` a pattern
such as ``^(a+)+$`` and a short hostile input would hold the daemon's event loop for seconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import jsonschema
import re2
from jsonschema.protocols import Validator

__all__ = ["SchemaValidator", "check_schema"]

# RE2 otherwise writes refused patterns to stderr, which is not the daemon's JSON log.
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, _OPTIONS)


def _search(pattern: str, text: str) -> bool:
    return _compiled(pattern).search(text) is not None


def _pattern(
    validator: Any, pattern: str, instance: Any, _schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, _schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    # The stock keyword matches patternProperties with ``re``; the messages are kept the same.
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = sorted(
        (
            key
            for key in instance
            if key not in properties and not any(_search(p, key) for p in patterns)
        ),
        key=str,
    )
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        joined = ", ".join(repr(each) for each in extras)
        if patterns:
            verb = "does" if len(extras) == 1 else "do"
            listed = ", ".join(repr(each) for each in sorted(patterns))
            yield jsonschema.ValidationError(
                f"{joined} {verb} not match any of the regexes: {listed}"
            )
        else:
            verb = "was" if len(extras) == 1 else "were"
            yield jsonschema.ValidationError(
                f"Additional properties are not allowed ({joined} {verb} unexpected)"
            )


# jsonschema leaves extend() and the validators' descend() untyped.
SchemaValidator: type[Validator] = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)


def _walk(schema: Any) -> Iterator[tuple[str, Any]]:
    """Every object of a schema with where it sits, iteratively: rule schemas may nest
    deeper than Python's recursion limit."""
    stack: list[tuple[Any, str]] = [(schema, "schema")]
    while stack:
        current, path = stack.pop()
        if isinstance(current, dict):
            yield path, current
            stack.extend((value, f"{path}.{key}") for key, value in current.items())
        elif isinstance(current, list):
            stack.extend((value, f"{path}[{index}]") for index, value in enumerate(current))


def check_schema(schema: Any) -> None:
    """Raise jsonschema.SchemaError unless ``schema`` is a valid Draft 2020-12 schema whose
    patterns all compile on RE2 (the message names the pattern's place in the schema)."""
    SchemaValidator.check_schema(schema)
    patterns: list[tuple[str, str]] = []
    pattern_properties = unevaluated = False
    for path, node in _walk(schema):
        if isinstance(node.get("pattern"), str):
            patterns.append((node["pattern"], f"{path}.pattern"))
        if isinstance(node.get("patternProperties"), dict):
            pattern_properties = True
            patterns.extend((key, f"{path}.patternProperties") for key in node["patternProperties"])
        unevaluated = unevaluated or "unevaluatedProperties" in node
    if pattern_properties and unevaluated:
        # jsonschema matches patternProperties for unevaluatedProperties with ``re``.
        raise jsonschema.SchemaError(
            "unevaluatedProperties cannot be combined with patternProperties"
        )
    for pattern, path in patterns:
        try:
            _compiled(pattern)
        except re2.error as exc:
            why = exc.args[0].decode(errors="replace") if exc.args else "invalid"
            raise jsonschema.SchemaError(
                f"{path}: {pattern[:100]!r} is not an RE2 pattern (linear-time syntax): {why}"
            ) from exc
