"""calc/evaluate, run in the strict (minimal) sandbox: right answers, and nothing but maths."""

from __future__ import annotations

import json

import pytest

from runtime.errors import InputValidationError
from tests.skills.runner import Cli, SkillRunner, assert_one_line_error, tool_error


def calc(skills: SkillRunner, expression: str, **variables: float) -> object:
    value = {"expression": expression, **({"variables": variables} if variables else {})}
    output = skills.output("calc", "evaluate", value)
    assert set(output) == {"result"}
    return output["result"]


def refused(skills: SkillRunner, expression: str, **variables: float) -> str:
    value = {"expression": expression, **({"variables": variables} if variables else {})}
    return skills.error("calc", "evaluate", value)


def test_operator_precedence_follows_maths(skills: SkillRunner) -> None:
    """** binds tighter than * and /, which bind tighter than + and -."""
    assert calc(skills, "2 + 3 * 4 ** 2 / 8 - 1") == 7.0


def test_integers_are_exact(skills: SkillRunner) -> None:
    """Integer arithmetic is exact beyond 64 bits."""
    assert calc(skills, "2**100 + 1") == 1267650600228229401496703205377


def test_floor_division_and_modulo_round_towards_minus_infinity(skills: SkillRunner) -> None:
    """-7 // 2 is -4 and -7 % 2 is 1, as in Python."""
    assert calc(skills, "(-7 // 2) * 10 + -7 % 2") == -39


def test_variables_are_substituted(skills: SkillRunner) -> None:
    """Names given in ``variables`` take their values."""
    assert calc(skills, "sqrt(x**2 + y**2)", x=3, y=4) == 5.0


def test_functions_and_constants(skills: SkillRunner) -> None:
    """Trigonometry, logarithms, roots and the constants pi and e work together."""
    result = calc(skills, "sin(pi / 2) + log(e) + log(8, 2) + sqrt(16) + max(1, 7, 3)")
    assert result == pytest.approx(16.0)


def test_round_takes_a_number_of_digits(skills: SkillRunner) -> None:
    """round(x, 2) rounds to two decimals: compound interest to the cent."""
    assert calc(skills, "round(1000 * (1 + 0.05 / 12) ** 12, 2)") == 1051.16


def test_chained_comparison_gives_a_boolean(skills: SkillRunner) -> None:
    """0 <= x < 10 is true for x = 3."""
    assert calc(skills, "0 <= x < 10", x=3) is True


def test_deep_nesting_within_the_length_limit_evaluates(skills: SkillRunner) -> None:
    """1,999 unary minus signs (the deepest 2,000 characters allow) do not crash the walker."""
    assert calc(skills, "-" * 1999 + "1") == -1


def test_huge_power_is_refused_at_once(skills: SkillRunner) -> None:
    """9**9**9 is refused by size before computing, well inside the CPU limit."""
    run = skills.run("calc", "evaluate", {"expression": "9**9**9"})
    assert "9 ** 387420489 is too large" in tool_error(run.result)
    assert run.result.usage.cpu_ms < 1000


def test_huge_factorial_is_refused(skills: SkillRunner) -> None:
    """factorial is limited to arguments up to 1000."""
    assert refused(skills, "factorial(100000)") == (
        "factorial: the argument must be between 0 and 1000"
    )


def test_float_overflow_is_an_error_not_infinity(skills: SkillRunner) -> None:
    """A result that overflows to infinity is refused rather than printed as invalid JSON."""
    assert "not a finite number" in refused(skills, "1e308 * 10")


def test_division_by_zero_is_an_error(skills: SkillRunner) -> None:
    """x / 0 is a clear error."""
    assert refused(skills, "1 / (2 - 2)") == "division by zero"


def test_math_domain_error_names_the_function(skills: SkillRunner) -> None:
    """sqrt(-1) is an error that names sqrt."""
    assert refused(skills, "sqrt(-1)") == "sqrt: math domain error"


def test_complex_result_is_an_error(skills: SkillRunner) -> None:
    """A negative number to a fractional power has no real value."""
    assert refused(skills, "(-8) ** 0.5") == "(-8) ** 0.5 is not a real number"


def test_caret_is_not_power_and_says_so(skills: SkillRunner) -> None:
    """2 ^ 3 is refused with a hint to use **."""
    assert "use ** for powers" in refused(skills, "2 ^ 3")


def test_unknown_name_lists_the_known_ones(skills: SkillRunner) -> None:
    """A name that is neither a variable nor a constant is an error listing both."""
    assert refused(skills, "z + 1", x=1) == "unknown name 'z' (known names: x, pi, e, tau)"


def test_error_columns_count_leading_blanks(skills: SkillRunner) -> None:
    """Leading blanks are accepted, and an error's column is where the caller sees it."""
    assert refused(skills, "  2 + 'x'") == "not allowed: strings, only numbers (column 7)"


def test_syntax_error_is_reported(skills: SkillRunner) -> None:
    """An unbalanced expression is a syntax error, not a crash."""
    assert refused(skills, "(1 + 2").startswith("syntax error")


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os').system('id')", "not allowed: attribute access (a.b)"),
        ("__import__('os')", "unknown function '__import__'"),
        ("eval('1+1')", "unknown function 'eval'"),
        ("().__class__.__bases__[0].__subclasses__()", "not allowed: attribute access (a.b)"),
        ("(lambda: 1)()", "not allowed: lambda"),
        ("lambda: 0", "not allowed: lambda"),
        ("[c for c in (1, 2)]", "not allowed: comprehensions"),
        ("'a' * 10", "not allowed: strings"),
        ("__builtins__", "unknown name '__builtins__'"),
        ("(x := 1)", "not allowed: assignment (:=)"),
        ("sqrt.__self__", "not allowed: attribute access (a.b)"),
    ],
)
def test_escape_attempts_are_refused(skills: SkillRunner, expression: str, reason: str) -> None:
    """Anything beyond numbers, operators and the listed functions is an error, never run."""
    assert refused(skills, expression).startswith(reason)


def test_variable_may_not_shadow_a_builtin_name(skills: SkillRunner) -> None:
    """A variable named like a constant passes the schema but is refused by the tool."""
    assert refused(skills, "pi * 2", pi=3) == (
        "input.variables: 'pi' is a built-in name and cannot be set"
    )


def test_non_finite_variable_is_refused_by_the_tool(skills: SkillRunner) -> None:
    """NaN passes the schema's "number" type (the runtime accepts NaN); calc refuses it."""
    assert refused(skills, "x + 1", x=float("nan")) == (
        "input.variables.x is not a finite number (it overflowed or is undefined)"
    )


def test_schema_rejects_an_expression_over_2000_characters(skills: SkillRunner) -> None:
    """Expressions longer than 2,000 characters are refused before any sandbox starts."""
    with pytest.raises(InputValidationError, match=r"input\['expression'\]"):
        skills.run("calc", "evaluate", {"expression": "1+" * 1000 + "1"})


def test_schema_rejects_a_non_numeric_variable(skills: SkillRunner) -> None:
    """A variable whose value is a string is refused before any sandbox starts."""
    with pytest.raises(InputValidationError, match=r"input\['variables'\]\['x'\]"):
        skills.run("calc", "evaluate", {"expression": "x", "variables": {"x": "1"}})


def test_tool_refuses_stdin_that_is_not_an_object(skills: SkillRunner) -> None:
    """Run outside the runtime's schema check, the tool answers a bare string with an error."""
    result = skills.raw("calc", "evaluate", b'"1+1"')
    assert tool_error(result) == "input must be a JSON object"


def test_cli_run_prints_the_result_as_json(cli: Cli) -> None:
    """``skillrt run calc --json`` exits 0 with the result in ``output``."""
    value = {"expression": "2 ** 10 - n", "variables": {"n": 24}}
    proc = cli("run", "calc", "--tool", "evaluate", "--input", json.dumps(value), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["output"] == {"result": 1000}


def test_cli_escape_attempt_exits_non_zero_without_a_result(cli: Cli) -> None:
    """Through the CLI, an os.system call is refused: exit 1, no output, the reason on stderr."""
    value = {"expression": "__import__('os').system('id')"}
    proc = cli("run", "calc", "--tool", "evaluate", "--input", json.dumps(value), "--json")
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert (result["status"], result["exit_code"], result["output"]) == ("nonzero_exit", 1, None)
    assert json.loads(result["stderr"]) == {
        "error": "not allowed: attribute access (a.b) (column 1)"
    }


def test_cli_refuses_an_unknown_input_key(cli: Cli) -> None:
    """An input key the schema does not know is a one-line error and exit code 2."""
    proc = cli("run", "calc", "--tool", "evaluate", "--input", '{"expr": "1"}')
    assert_one_line_error(proc, "skillrt: error: input")
    assert proc.returncode == 2
