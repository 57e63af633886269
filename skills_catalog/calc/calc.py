"""calc/evaluate: a safe arithmetic evaluator.

The expression is parsed with ``ast`` and evaluated by walking a whitelist of node types; nothing
of the input is ever handed to eval or exec. Every intermediate value is checked, and powers and
factorials are sized before they are computed, so ``9**9**9`` is refused at once instead of
burning the CPU limit.

Input (JSON on stdin): {"expression": str, "variables": {name: number}}.
Output (JSON on stdout): {"result": number | bool}; on an error, {"error": str} on stderr, exit 1.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# An integer result may have at most this many bits (about 3,000 decimal digits): big enough for
# exact arithmetic, small enough to compute instantly and to print as JSON.
MAX_INT_BITS = 10_000
MAX_DIGITS = int(MAX_INT_BITS * math.log10(2))
MAX_EXPRESSION = 2_000
MAX_FACTORIAL = 1_000
MAX_ROUND_DIGITS = 4_000
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Number = int | float


class CalcError(Exception):
    """A problem with the expression or its input, reported to the caller as one line."""


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        digits = exponent * math.log10(abs(base))
        if digits > MAX_DIGITS:
            raise CalcError(
                f"{_short(base)} ** {_short(exponent)} is too large: about {digits:.3g} digits "
                f"(the limit is {MAX_DIGITS})"
            )
    result: Any = base**exponent
    if isinstance(result, complex):
        raise CalcError(f"{_short(base)} ** {_short(exponent)} is not a real number")
    return result  # type: ignore[no-any-return]


def _round(value: Number, ndigits: Number | None = None) -> Number:
    if ndigits is None:
        return round(value)
    if not isinstance(ndigits, int):
        raise CalcError("round: the number of digits must be an integer")
    if abs(ndigits) > MAX_ROUND_DIGITS:
        raise CalcError(f"round: the number of digits must be within ±{MAX_ROUND_DIGITS}")
    return round(value, ndigits)


def _factorial(value: Number) -> int:
    if isinstance(value, float):
        if not value.is_integer():
            raise CalcError("factorial: needs a whole number")
        value = int(value)
    if not 0 <= value <= MAX_FACTORIAL:
        raise CalcError(f"factorial: the argument must be between 0 and {MAX_FACTORIAL}")
    return math.factorial(value)


def _log(value: Number, base: Number | None = None) -> float:
    return math.log(value) if base is None else math.log(value, base)


def _min(*values: Number) -> Number:
    return min(values)


def _max(*values: Number) -> Number:
    return max(values)


# name -> (function, fewest arguments, most arguments or None for any number)
FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int | None]] = {
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "min": (_min, 1, None),
    "max": (_max, 1, None),
    "sqrt": (math.sqrt, 1, 1),
    "cbrt": (math.cbrt, 1, 1),
    "exp": (math.exp, 1, 1),
    "log": (_log, 1, 2),
    "log2": (math.log2, 1, 1),
    "log10": (math.log10, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "asin": (math.asin, 1, 1),
    "acos": (math.acos, 1, 1),
    "atan": (math.atan, 1, 1),
    "atan2": (math.atan2, 2, 2),
    "sinh": (math.sinh, 1, 1),
    "cosh": (math.cosh, 1, 1),
    "tanh": (math.tanh, 1, 1),
    "degrees": (math.degrees, 1, 1),
    "radians": (math.radians, 1, 1),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "hypot": (math.hypot, 1, None),
    "factorial": (_factorial, 1, 1),
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Number, Number], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_OPERATOR_TEXT = {
    ast.BitXor: "'^' (use ** for powers)",
    ast.BitOr: "'|'",
    ast.BitAnd: "'&'",
    ast.LShift: "'<<'",
    ast.RShift: "'>>'",
    ast.MatMult: "'@'",
    ast.Invert: "'~'",
    ast.Not: "'not'",
    ast.In: "'in'",
    ast.NotIn: "'not in'",
    ast.Is: "'is'",
    ast.IsNot: "'is not'",
}
_SYNTAX_TEXT = {
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "indexing (a[b])",
    ast.Lambda: "lambda",
    ast.BoolOp: "'and' / 'or'",
    ast.IfExp: "conditional expressions",
    ast.NamedExpr: "assignment (:=)",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.JoinedStr: "f-strings",
    ast.Starred: "unpacking (*)",
}
_LITERAL_TEXT = {
    str: "strings",
    bytes: "bytes",
    bool: "True and False",
    complex: "complex numbers",
    type(None): "None",
    type(...): "ellipses",
}


def evaluate(expression: str, variables: dict[str, Number]) -> Number | bool:
    """The value of ``expression``; raises CalcError for anything outside the whitelist."""
    # Python refuses leading blanks as an indent; positions in messages still count them.
    source = expression.lstrip(" \t")
    place = _Place(indent=len(expression) - len(source), multiline="\n" in source.strip())
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        where = f" at {place(exc.lineno or 1, exc.offset - 1)}" if exc.offset else ""
        raise CalcError(f"syntax error{where}: {exc.msg}") from exc
    try:
        return _Evaluator(variables, place).visit(tree.body)
    except RecursionError as exc:
        raise CalcError("the expression is nested too deeply") from exc


@dataclass(frozen=True)
class _Place:
    """Names a position of the expression as the caller wrote it."""

    indent: int
    multiline: bool

    def __call__(self, line: int, col_offset: int) -> str:
        column = col_offset + 1 + (self.indent if line == 1 else 0)
        return f"line {line}, column {column}" if self.multiline else f"column {column}"


class _Evaluator:
    def __init__(self, variables: dict[str, Number], place: _Place) -> None:
        self.variables = variables
        self.place = place

    def at(self, node: ast.expr) -> str:
        return self.place(node.lineno, node.col_offset)

    def visit(self, node: ast.expr) -> Number | bool:
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.BinOp):
            return self._binary(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        what = _SYNTAX_TEXT.get(type(node), type(node).__name__)
        raise CalcError(f"not allowed: {what} ({self.at(node)})")

    def number(self, node: ast.expr) -> Number:
        value = self.visit(node)
        if isinstance(value, bool):
            raise CalcError(f"a comparison result cannot be used as a number ({self.at(node)})")
        return value

    def _constant(self, node: ast.Constant) -> Number:
        value = node.value
        if type(value) not in (int, float):
            kind = _LITERAL_TEXT.get(type(value), type(value).__name__)
            raise CalcError(f"not allowed: {kind}, only numbers ({self.at(node)})")
        return _checked(value, "a number literal")

    def _name(self, node: ast.Name) -> Number:
        if node.id in self.variables:
            return self.variables[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise CalcError(f"{node.id} is a function: call it, as in {node.id}(x)")
        known = ", ".join([*sorted(self.variables), *CONSTANTS])
        raise CalcError(f"unknown name {node.id!r} (known names: {known})")

    def _binary(self, node: ast.BinOp) -> Number:
        apply = _BINARY.get(type(node.op))
        if apply is None:
            raise CalcError(f"not supported: operator {_OPERATOR_TEXT.get(type(node.op), '?')}")
        left, right = self.number(node.left), self.number(node.right)
        return _checked(_call_math(apply, left, right), "the result")

    def _unary(self, node: ast.UnaryOp) -> Number:
        apply = _UNARY.get(type(node.op))
        if apply is None:
            raise CalcError(f"not supported: operator {_OPERATOR_TEXT.get(type(node.op), '?')}")
        return apply(self.number(node.operand))

    def _compare(self, node: ast.Compare) -> bool:
        left = self.number(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            apply = _COMPARE.get(type(op))
            if apply is None:
                raise CalcError(f"not supported: operator {_OPERATOR_TEXT.get(type(op), '?')}")
            right = self.number(right_node)
            if not apply(left, right):
                return False
            left = right
        return True

    def _call(self, node: ast.Call) -> Number:
        if not isinstance(node.func, ast.Name):
            what = _SYNTAX_TEXT.get(type(node.func), "calling an expression")
            raise CalcError(f"not allowed: {what} ({self.at(node.func)})")
        name = node.func.id
        if name not in FUNCTIONS:
            raise CalcError(f"unknown function {name!r} (functions: {', '.join(FUNCTIONS)})")
        function, fewest, most = FUNCTIONS[name]
        if node.keywords:
            raise CalcError(f"{name}: not allowed: keyword arguments")
        count = len(node.args)
        if count < fewest or (most is not None and count > most):
            wanted = (
                f"at least {fewest}"
                if most is None
                else f"{fewest}"
                if fewest == most
                else f"{fewest} or {most}"
            )
            plural = "" if wanted.endswith("1") else "s"
            raise CalcError(f"{name}() takes {wanted} argument{plural}, got {count}")
        args = [self.number(arg) for arg in node.args]
        return _checked(_call_math(function, *args, name=name), f"{name}(...)")


def _call_math(function: Callable[..., Any], *args: Number, name: str = "") -> Any:
    """Call ``function``, turning Python's arithmetic exceptions into one-line CalcErrors."""
    prefix = f"{name}: " if name else ""
    try:
        return function(*args)
    except ZeroDivisionError as exc:
        raise CalcError(f"{prefix}division by zero") from exc
    except OverflowError as exc:
        raise CalcError(f"{prefix}number too large ({exc})") from exc
    except (ValueError, TypeError) as exc:
        raise CalcError(f"{prefix}{exc}") from exc


def _checked(value: Any, what: str) -> Number:
    if isinstance(value, complex):
        raise CalcError(f"{what} is not a real number")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalcError(f"{what} is not a finite number (it overflowed or is undefined)")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise CalcError(f"{what} is too large (more than {MAX_DIGITS} digits)")
    return value  # type: ignore[no-any-return]


def _short(value: Number) -> str:
    if isinstance(value, int) and value.bit_length() > 64:
        return "a huge number"
    return f"({value!r})" if value < 0 else repr(value)


def _parse_request(request: Any) -> tuple[str, dict[str, Number]]:
    if not isinstance(request, dict):
        raise CalcError("input must be a JSON object")
    expression = request.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        raise CalcError("input.expression must be a non-empty string")
    if len(expression) > MAX_EXPRESSION:
        raise CalcError(f"input.expression is longer than {MAX_EXPRESSION} characters")
    variables = request.get("variables", {})
    if not isinstance(variables, dict):
        raise CalcError("input.variables must be an object of name: number")
    for name, value in variables.items():
        if not _IDENTIFIER.fullmatch(name):
            raise CalcError(f"input.variables: {name!r} is not a valid name")
        if name in FUNCTIONS or name in CONSTANTS:
            raise CalcError(f"input.variables: {name!r} is a built-in name and cannot be set")
        if type(value) not in (int, float):
            raise CalcError(f"input.variables.{name} must be a number")
        _checked(value, f"input.variables.{name}")
    return expression, variables


def main() -> int:
    # 2,000 characters nest at most 2,000 deep ("----1"), three Python frames per level.
    sys.setrecursionlimit(10_000)
    try:
        request = json.loads(sys.stdin.buffer.read())
    except ValueError as exc:
        return _fail(f"input is not valid JSON: {exc}")
    except RecursionError:
        return _fail("input is nested too deeply")
    try:
        result = evaluate(*_parse_request(request))
    except CalcError as exc:
        return _fail(str(exc))
    sys.stdout.write(json.dumps({"result": result}, allow_nan=False) + "\n")
    return 0


def _fail(message: str) -> int:
    sys.stderr.write(json.dumps({"error": message}) + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
