"""What a skill prints reaches an operator's terminal only as text: control sequences a tool
writes (the clipboard through OSC 52, the window title, the cursor moved up to hide lines, C1
controls, bidi overrides) are shown escaped by the verbs that show results to a person, against
the real daemon and sandbox. ``--json`` keeps the exact bytes.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util import paths
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.approvals.conftest import create_token

SKILLRT = (sys.executable, "-m", "runtime.cli.main")
# A description reads the other way round past its bidi override (YAML refuses C0 and C1).
NOISY_MD = "---\nname: noisy\ndescription: Prints what it is given \u202etxt.exe\n---\n"
NOISY_TOML = """version = "1.0.0"
profile = "default"

[[tools]]
name = "say"
entrypoint = ["/usr/bin/python3", "/skill/say.py"]
input_schema = { type = "object" }

[[tools]]
name = "ask"
elevated = true
entrypoint = ["/usr/bin/python3", "/skill/say.py"]
input_schema = { type = "object" }
"""
SAY = """import json, sys
data = json.load(sys.stdin)
sys.stdout.write(data["out"])
sys.stderr.write(data["err"])
sys.exit(data["code"])
"""
# Sets the clipboard and the window title, moves the cursor up and erases the line; the same
# through C1 controls (as UTF-8); and a bidi override that reverses what follows it.
OUT = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;owned\x07fine\x1b[1A\x1b[2K\n"
ERR = "\u009d52;c;cm0gLXJmIH4=\u009c\u009b1A done \u202eexe.lmth\n"
RAW = ("\x1b", "\x07", "\u009b", "\u009c", "\u009d", "\u202e")


@dataclass
class Env:
    daemon: Daemon
    agent: str
    approver: str

    def cli(self, token: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SKILLRT, *args, "--target", self.daemon.target],
            env={**os.environ, "SKILLRT_TOKEN": token},
            cwd=paths.PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def noisy_call(self) -> pb.Invocation:
        """A failed call of the agent's whose stdout and stderr carry control sequences."""
        with self.daemon.channel(self.agent) as channel:
            request = pb.InvokeRequest(
                skill="noisy",
                tool="say",
                input_json=json.dumps({"out": OUT, "err": ERR, "code": 3}),
            )
            done: pb.Invocation = self.daemon.stub(channel).Invoke(request, timeout=60)
        assert done.result.stdout == OUT.encode() and done.result.stderr == ERR.encode()
        return done


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    daemon = make_daemon()
    folder = daemon.catalog / "noisy"
    folder.mkdir()
    (folder / "SKILL.md").write_text(NOISY_MD)
    (folder / "skill.toml").write_text(NOISY_TOML)
    (folder / "say.py").write_text(SAY)
    daemon.start()
    try:
        yield Env(
            daemon=daemon,
            agent=create_token(daemon, "loud", "agent"),
            approver=create_token(daemon, "judge", "approver"),
        )
    finally:
        cleanup(daemon)


def _unescaped(text: str) -> list[str]:
    return [char for char in RAW if char in text]


def test_status_shows_what_a_tool_printed_with_its_control_characters_escaped(env: Env) -> None:
    """`skillrt status` of a failed call shows its stdout and stderr tails with every control
    sequence written out (\\x1b, \\u009d, \\u202e), none raw; `--json` keeps the exact text."""
    done = env.noisy_call()
    shown = env.cli(env.daemon.owner_token, "status", done.id)
    assert shown.returncode == 1, shown.stderr
    assert _unescaped(shown.stdout) == []
    assert "\\x1b]52;c;cm0gLXJmIH4=\\x07" in shown.stdout
    assert "\\x9d52;c;" in shown.stdout and "\\u202eexe.lmth" in shown.stdout
    exact = json.loads(env.cli(env.daemon.owner_token, "status", done.id, "--json").stdout)
    assert (exact["result"]["stdout"], exact["result"]["stderr"]) == (OUT, ERR)


def _on_a_terminal(env: Env, *args: str) -> tuple[int, bytes]:
    """A verb run with its stdout and stderr on a terminal (raw: no newline translation), and
    everything the terminal received."""
    main, side = pty.openpty()
    tty.setraw(side)
    proc = subprocess.Popen(
        [*SKILLRT, *args, "--target", env.daemon.target],
        env={**os.environ, "SKILLRT_TOKEN": env.daemon.owner_token},
        cwd=paths.PROJECT_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=side,
        stderr=side,
    )
    os.close(side)
    received = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: every holder of the terminal's other side has closed it
            break
        if not chunk:
            break
        received += chunk
    os.close(main)
    return proc.wait(timeout=60), received


def test_logs_escape_control_characters_on_a_terminal_and_pass_bytes_to_a_pipe(env: Env) -> None:
    """`skillrt logs` writes an invocation's output escaped when it goes to a terminal, and
    byte for byte when it goes to a file or a pipe."""
    done = env.noisy_call()
    code, shown = _on_a_terminal(env, "logs", done.id)
    assert code == 1
    text = shown.decode()
    assert _unescaped(text) == [] and "\\x1b]0;owned\\x07fine" in text
    assert "\\u202eexe.lmth\n" in text
    piped = env.cli(env.daemon.owner_token, "logs", done.id)
    assert (piped.returncode, piped.stdout, piped.stderr) == (1, OUT, ERR)


def test_an_approver_sees_the_input_of_a_request_with_bidi_and_c1_controls_escaped(
    env: Env,
) -> None:
    """`approvals list` shows a pending call's input with its bidi overrides and C1 controls
    written out: reordered text would show the approver something other than what will run."""
    code = "import os; os.system('echo ok') # \u202e)'~ fr- mr'(metsys.so\u202c \u009b2K"
    with env.daemon.channel(env.agent) as channel:
        stub = env.daemon.stub(channel)
        asked = pb.InvokeRequest(skill="noisy", tool="ask", input_json=json.dumps({"code": code}))
        pending = stub.Invoke(asked, timeout=60)
        try:
            assert pending.result.status == pb.STATUS_PENDING_APPROVAL
            listed = env.cli(env.approver, "approvals", "list", "--state", "pending")
        finally:
            stub.CancelInvocation(pb.CancelInvocationRequest(id=pending.id), timeout=30)
    assert listed.returncode == 0, listed.stderr
    assert pending.approval_id in listed.stdout
    assert _unescaped(listed.stdout) == [] and "\\u202e)'~ fr- mr'(metsys.so" in listed.stdout


def test_skills_and_validate_show_a_skills_text_with_its_controls_escaped(
    env: Env, tmp_path: Path
) -> None:
    """`skillrt skills` shows a description's bidi override escaped, and `skillrt validate` of
    a folder from anywhere the C1 controls and bidi overrides its manifest quotes."""
    listed = env.cli(env.agent, "skills")
    assert listed.returncode == 0, listed.stderr
    assert _unescaped(listed.stdout) == [] and "given \\u202etxt.exe" in listed.stdout
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "SKILL.md").write_text("---\nname: odd\ndescription: An odd one.\n---\n")
    (folder / "main.py").write_text("")
    entrypoint = ["/usr/bin/python3", "/skill/main.py", "\u009d52;c;eA==\u009c \u202e"]
    (folder / "skill.toml").write_text(
        'version = "1.0.0"\nprofile = "default"\n[[tools]]\nname = "t"\n'
        f'entrypoint = {json.dumps(entrypoint)}\ninput_schema = {{ type = "object" }}\n'
    )
    shown = subprocess.run(
        [*SKILLRT, "validate", str(folder)],
        cwd=paths.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert _unescaped(shown.stdout) == [] and "\\x9d52;c;eA==\\x9c \\u202e" in shown.stdout
