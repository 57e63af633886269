"""The README's "Use with OpenClaw" set-up commands, to be run by the tests exactly as written."""

from __future__ import annotations

import re
import subprocess

from runtime.util import paths

__all__ = ["DEFAULT_SOCKET", "follow_readme", "readme_steps"]

DEFAULT_SOCKET = "/run/skillrt/skillrt.sock"
_SECTION = "## Use with OpenClaw"


def readme_steps() -> list[str]:
    """The commands of the section's first ``sh`` block, comments and blank lines left out."""
    text = (paths.PROJECT_ROOT / "README.md").read_text()
    section = text.split(_SECTION, 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "README: no sh block under 'Use with OpenClaw'"
    lines = (line.split(" #", 1)[0].strip() for line in block.group(1).splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def follow_readme(env: dict[str, str], socket: str) -> None:
    """Runs each step in the project's root, on the test daemon's socket instead of the default."""
    for step in readme_steps():
        done = subprocess.run(
            ["/bin/sh", "-c", step.replace(DEFAULT_SOCKET, socket)],
            cwd=paths.PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"README step failed: {step}\n{done.stdout}\n{done.stderr}"
