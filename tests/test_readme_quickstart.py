"""The README's quickstart, run as a new operator runs it: command by command, in a fresh state.

`make run` starts the real daemon (on a temporary socket and state directory, through the same
environment variables an operator may set), then every `$ ` line of the quickstart runs in bash
from the checkout, each after the `export` lines before it. Each must exit 0, and each output line
the README shows must appear in what the command printed, except lines with an id or `...` in them.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runtime.api.config import DEFAULT_SOCKET
from runtime.util import paths

README = paths.PROJECT_ROOT / "README.md"
_TOKEN = re.compile(r"skrt_[A-Za-z0-9_-]+")
# Output that differs on every run: ids, tokens, and what the README elides.
_VARIES = re.compile(r"\.\.\.|inv_[0-9a-f]|apr_[0-9a-f]|skrt_|\btok_")


@dataclass
class Step:
    command: str
    shown: list[str] = field(default_factory=list)


def quickstart_blocks() -> tuple[str, list[Step]]:
    """The set-up block (with `make run`) and the steps of the session that follows it."""
    text = README.read_text()
    section = text.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    setup = next(b for b in blocks if re.search(r"^make run\b", b, flags=re.MULTILINE))
    session = next(b for b in blocks if b.startswith("$ "))
    steps: list[Step] = []
    for line in session.splitlines():
        if line.startswith("$ "):
            steps.append(Step(line[2:]))
        elif line.strip():
            steps[-1].shown.append(line.strip())
    return setup, steps


def test_the_quickstart_is_what_the_readme_says() -> None:
    """The parts this test relies on are there: `make run`, the token, and commands to run."""
    setup, steps = quickstart_blocks()
    assert "make run" in setup
    assert any("SKILLRT_TOKEN=skrt_..." in s.command for s in steps)
    assert sum(1 for s in steps if not s.command.startswith("export ")) >= 4


@dataclass
class Started:
    socket: Path
    state_dir: Path
    env: dict[str, str]
    token: str


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[Started]:
    socket = tmp_path / "run" / "skillrt.sock"
    state_dir = tmp_path / "state"
    env = {
        **os.environ,
        "SKILLRT_SOCKET": str(socket),
        "SKILLRT_STATE_DIR": str(state_dir),
    }
    for name in ("SKILLRT_TOKEN", "SKILLRT_TOKEN_FILE", "SKILLRT_CATALOG", "SKILLRT_PROFILES"):
        env.pop(name, None)
    log_path = tmp_path / "make-run.log"
    cgroup_root = f"quickstart-{secrets.token_hex(3)}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"ARGS=--cgroup-root {cgroup_root}"],
            cwd=paths.PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        token = _wait_ready(process, socket, log_path)
        yield Started(socket=socket, state_dir=state_dir, env=env, token=token)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_ready(process: subprocess.Popen[bytes], socket: Path, log_path: Path) -> str:
    deadline = time.monotonic() + 300  # a first `make run` may install the environment
    while time.monotonic() < deadline:
        printed = log_path.read_text(errors="replace")
        token = _TOKEN.search(printed)
        if socket.exists() and token and "skillrt: listening on" in printed:
            return token.group(0)
        if process.poll() is not None:
            raise AssertionError(f"make run ended ({process.returncode}):\n{printed}")
        time.sleep(0.2)
    raise AssertionError(f"make run did not get ready:\n{log_path.read_text(errors='replace')}")


def test_the_quickstart_runs_command_by_command(make_run: Started) -> None:
    """Every quickstart command works as written, and prints what the README shows."""
    _, steps = quickstart_blocks()
    exports: list[str] = []
    for step in steps:
        command = step.command.replace("skrt_...", make_run.token)
        script = "\n".join([*exports, command])
        done = subprocess.run(
            ["bash", "-c", f"set -e -o pipefail\n{script}"],
            cwd=paths.PROJECT_ROOT,
            env=make_run.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"$ {step.command}\n{done.stdout}{done.stderr}"
        printed = [line.strip() for line in done.stdout.splitlines()]
        for line in step.shown:
            if _VARIES.search(line):
                continue
            expected = line.replace(str(DEFAULT_SOCKET), str(make_run.socket))
            assert expected in printed, f"$ {step.command}: no {expected!r} in:\n{done.stdout}"
        if command.startswith("export "):
            exports.append(command)
