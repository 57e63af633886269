"""Tool input and output are strict JSON: nothing a caller or a tool sends can crash the host."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from runtime.core.execute import ToolRun, run_tool
from runtime.core.manifest import load_skill
from runtime.errors import BadRequest
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.profiles import ProfileStore
from runtime.sandbox.result import Status
from runtime.util.canonical import parse_input
from tests.skill_fixture import make_skill


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"n": NaN}', "NaN is not a JSON value"),
        ('{"n": -Infinity}', "-Infinity is not a JSON value"),
        ('{"n": 1e400}', "the number 1e400 is too large"),
        ("{'n': 1}", "Expecting property name"),
    ],
    ids=["deep", "nan", "infinity", "overflow", "python-literal"],
)
def test_input_must_be_strict_json(text: str, reason: str) -> None:
    """Input JSON that is not standard JSON is INVALID_ARGUMENT with the reason."""
    with pytest.raises(BadRequest, match=reason):
        parse_input(text)


def _run_with_output(
    root: Path, printed: str, profiles: ProfileStore, launcher: Launcher
) -> ToolRun:
    code = f"import sys\nsys.stdin.read()\nsys.stdout.write({printed})\n"
    skill = load_skill(make_skill(root, code=code))
    return asyncio.run(
        run_tool(
            skill=skill,
            tool_name="echo",
            input_value={"n": 1},
            profiles=profiles,
            launcher=launcher,
        )
    )


@pytest.mark.parametrize(
    "printed",
    ["'[' * 100000 + ']' * 100000", "'{\"x\": NaN}'", "'not json'", "''"],
    ids=["deep", "nan", "text", "empty"],
)
def test_tool_output_must_be_strict_json(
    reachable_tmp: Path, profiles: ProfileStore, launcher: Launcher, printed: str
) -> None:
    """A tool that exits 0 with output that is not standard JSON gives invalid_output."""
    run = _run_with_output(reachable_tmp, printed, profiles, launcher)
    assert run.result.status is Status.INVALID_OUTPUT
    assert run.output is None
    assert "stdout is not a JSON value" in run.result.violations
