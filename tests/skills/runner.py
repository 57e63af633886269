"""Running bundled skills in tests: through ``run_tool`` and the real sandbox, or the real CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from typing import Any

from runtime.core.catalog import Catalog
from runtime.core.execute import ToolRun, run_tool
from runtime.core.spec import build_spec
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.profiles import LimitOverrides, ProfileStore
from runtime.sandbox.result import SandboxResult, Status


class SkillRunner:
    """Runs bundled tools the way the runtime does: schema check, sandbox, JSON output."""

    def __init__(self, catalog: Catalog, profiles: ProfileStore, launcher: Launcher) -> None:
        self.catalog = catalog
        self.profiles = profiles
        self.launcher = launcher

    def run(self, skill: str, tool: str, value: Any) -> ToolRun:
        return asyncio.run(
            run_tool(
                skill=self.catalog.get(skill),
                tool_name=tool,
                input_value=value,
                profiles=self.profiles,
                launcher=self.launcher,
            )
        )

    def output(self, skill: str, tool: str, value: Any) -> Any:
        """The tool's JSON output; fails the test unless the run was ok."""
        run = self.run(skill, tool, value)
        assert run.result.status is Status.OK, run.result
        return run.output

    def error(self, skill: str, tool: str, value: Any) -> str:
        """The tool's one-line error; fails the test unless the tool refused with exit code 1."""
        return tool_error(self.run(skill, tool, value).result)

    def raw(self, skill: str, tool: str, stdin: bytes) -> SandboxResult:
        """Feed ``stdin`` to the tool's sandbox as is, skipping the schema check."""
        spec = self.catalog.get(skill)
        tool_spec = spec.tool(tool)
        sandbox_spec = build_spec(
            spec, tool_spec, self.profiles.get(spec.profile), LimitOverrides()
        )

        async def go() -> SandboxResult:
            sandbox = await self.launcher.start(sandbox_spec)
            return await sandbox.run(stdin)

        return asyncio.run(go())


def tool_error(result: SandboxResult) -> str:
    """The message of a tool that refused its input: exit 1, nothing on stdout, JSON on stderr."""
    assert result.status is Status.NONZERO_EXIT, result
    assert result.exit_code == 1
    assert result.stdout == b""
    message = json.loads(result.stderr)["error"]
    assert isinstance(message, str)
    return message


Cli = Callable[..., subprocess.CompletedProcess[str]]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], text: str) -> None:
    """A refused command: non-zero exit, one line on stderr naming the problem, no traceback."""
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert text in proc.stderr, proc.stderr
