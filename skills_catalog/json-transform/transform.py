"""json-transform: CSV to JSON rows, and picking values out of JSON by dotted paths.

Usage: transform.py csv_to_json|query, with the tool's input as JSON on stdin. The result is one
JSON value on stdout; on an error, {"error": str} on stderr and exit 1.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

MAX_CSV = 1_000_000
_INDEX = re.compile(r"-?[0-9]+")


class InputError(Exception):
    """Input the schema let through but the tool cannot use."""


# csv_to_json ------------------------------------------------------------------------------------


def csv_to_json(request: dict[str, Any]) -> dict[str, Any]:
    text = _field(request, "csv", str)
    if len(text) > MAX_CSV:
        raise InputError(f"input.csv is longer than {MAX_CSV} characters")
    delimiter = _field(request, "delimiter", str, ",")
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise InputError("input.delimiter must be one character other than a quote or line break")
    header = _field(request, "header", bool, True)
    records = list(_records(text.removeprefix("\ufeff"), delimiter))
    if header:
        columns = _header(records.pop(0)[1]) if records else []
    else:
        width = max((len(fields) for _, fields in records), default=0)
        columns = [f"column_{n}" for n in range(1, width + 1)]
    rows = []
    for line, fields in records:
        if len(fields) > len(columns):
            raise InputError(
                f"csv line {line}: {len(fields)} fields, but the header has {len(columns)}"
            )
        padded: list[str | None] = [*fields, *[None] * (len(columns) - len(fields))]
        rows.append(dict(zip(columns, padded, strict=True)))
    return {"columns": columns, "rows": rows}


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of every record that is not a blank line."""
    csv.field_size_limit(MAX_CSV + 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for fields in reader:
            if fields:
                yield reader.line_num, fields
    except csv.Error as exc:
        raise InputError(f"csv line {reader.line_num}: {exc}") from exc


def _header(fields: list[str]) -> list[str]:
    columns = [name.strip() or f"column_{n}" for n, name in enumerate(fields, start=1)]
    first: dict[str, int] = {}
    for n, name in enumerate(columns, start=1):
        if name in first:
            raise InputError(
                f"csv header: column {n} repeats the name {name!r} of column {first[name]} "
                '(rename it, or pass "header": false)'
            )
        first[name] = n
    return columns


# query ------------------------------------------------------------------------------------------

_WILDCARD = None  # a path segment: a key or index as text, or None for '*'


@dataclass(frozen=True)
class _Where:
    path: list[str | None]
    equals: Any


def query(request: dict[str, Any]) -> dict[str, Any]:
    if "data" not in request:
        raise InputError("input.data is missing")
    data = request["data"]
    select = _field(request, "select", list)
    if not select or not all(isinstance(p, str) for p in select):
        raise InputError("input.select must be a non-empty list of path strings")
    where = _where(request.get("where"))
    results: dict[str, Any] = {}
    missing: list[str] = []
    for text in select:
        path = _parse_path(text, "input.select")
        if _WILDCARD not in path:
            if where is not None:
                raise InputError(
                    f"select path {text!r} has no '*': 'where' filters the items a '*' matches"
                )
            found = list(_walk(data, path, None))
            results[text] = found[0] if found else None
            if not found:
                missing.append(text)
        else:
            results[text] = list(_walk(data, path, where))
    return {"results": results, "missing": missing}


def _where(raw: Any) -> _Where | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or "equals" not in raw or not isinstance(raw.get("path"), str):
        raise InputError('input.where must be {"path": string, "equals": any JSON value}')
    path = _parse_path(raw["path"], "input.where.path")
    if _WILDCARD in path:
        raise InputError("input.where.path cannot contain '*'")
    return _Where(path=path, equals=raw["equals"])


def _parse_path(text: str, where: str) -> list[str | None]:
    """Split at unescaped dots; a bare '*' is a wildcard; '\\.', '\\*', '\\\\' are literal."""
    if text == "":
        return []
    segments: list[str | None] = []
    current: list[tuple[str, bool]] = []  # (character, escaped)
    chars = iter(text)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            if escaped not in (".", "*", "\\"):
                raise InputError(f"{where}: {text!r}: '\\' must be followed by '.', '*' or '\\'")
            current.append((escaped, True))
        elif char == ".":
            segments.append(_segment(current, text, where))
            current = []
        else:
            current.append((char, False))
    segments.append(_segment(current, text, where))
    return segments


def _segment(chars: list[tuple[str, bool]], text: str, where: str) -> str | None:
    if not chars:
        raise InputError(f"{where}: {text!r} has an empty segment")
    if chars == [("*", False)]:
        return _WILDCARD
    if ("*", False) in chars:
        raise InputError(f"{where}: {text!r}: '*' must be a whole segment (or escaped as '\\*')")
    return "".join(char for char, _ in chars)


def _walk(value: Any, path: list[str | None], where: _Where | None) -> Iterator[Any]:
    """Every value ``path`` reaches from ``value``; ``where`` filters at the path's last '*'."""
    if not path:
        yield value
        return
    segment, rest = path[0], path[1:]
    if segment is _WILDCARD:
        children = list(value.values()) if isinstance(value, dict) else value
        if not isinstance(children, list):
            children = []
        if where is not None and _WILDCARD not in rest:
            children = [child for child in children if _matches(child, where)]
        for child in children:
            yield from _walk(child, rest, where)
        return
    found, child = _child(value, segment)
    if found:
        yield from _walk(child, rest, where)


def _child(value: Any, segment: str) -> tuple[bool, Any]:
    if isinstance(value, dict):
        return (segment in value), value.get(segment)
    if isinstance(value, list) and _INDEX.fullmatch(segment):
        index = int(segment)
        if -len(value) <= index < len(value):
            return True, value[index]
    return False, None


def _matches(item: Any, where: _Where) -> bool:
    found = list(_walk(item, where.path, None))
    return bool(found) and _json_equal(found[0], where.equals)


def _json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: unlike Python's ==, true is not 1 and "1" is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_json_equal, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


# shared -----------------------------------------------------------------------------------------


def _field(request: dict[str, Any], key: str, kind: type, default: Any = ...) -> Any:
    if key not in request:
        if default is ...:
            raise InputError(f"input.{key} is missing")
        return default
    value = request[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise InputError(f"input.{key} must be a {kind.__name__}")
    return value


TOOLS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "csv_to_json": csv_to_json,
    "query": query,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in TOOLS:
        return _fail(f"usage: transform.py {'|'.join(TOOLS)} (input as JSON on stdin)")
    try:
        request = json.loads(sys.stdin.buffer.read())
    except ValueError as exc:
        return _fail(f"input is not valid JSON: {exc}")
    except RecursionError:
        return _fail("input is nested too deeply")
    if not isinstance(request, dict):
        return _fail("input must be a JSON object")
    try:
        text = json.dumps(TOOLS[argv[1]](request))
    except InputError as exc:
        return _fail(str(exc))
    except RecursionError:
        return _fail("input.data is nested too deeply to walk or print")
    sys.stdout.write(text + "\n")
    return 0


def _fail(message: str) -> int:
    sys.stderr.write(json.dumps({"error": message}) + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
