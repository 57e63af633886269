"""``skillrt session``: create, exec, cp, ls, rm and destroy against the real daemon."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runtime.util import paths
from tests.api.session_fixture import SessionDaemon, session_daemon

__all__ = ["session_daemon"]


def _skillrt(
    sd: SessionDaemon, tmp_path: Path, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    token = tmp_path / "token"
    token.write_text(sd.agent)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "runtime.cli.main",
            "session",
            args[0],
            "--target",
            sd.daemon.target,
            "--token-file",
            str(token),
            *args[1:],
        ],
        cwd=paths.PROJECT_ROOT,
        input=stdin,
        capture_output=True,
        timeout=60,
    )


def test_session_verbs_round_trip(session_daemon: SessionDaemon, tmp_path: Path) -> None:
    """A file copied in is changed by a command, listed, copied out, removed; then the end."""
    created = _skillrt(session_daemon, tmp_path, "create")
    assert created.returncode == 0, created.stderr
    session = created.stdout.decode().strip()
    local = tmp_path / "in.txt"
    local.write_text("hello\n")
    assert _skillrt(session_daemon, tmp_path, "cp", str(local), f"{session}:in.txt").returncode == 0
    ran = _skillrt(
        session_daemon,
        tmp_path,
        "exec",
        session,
        "--",
        "/bin/sh",
        "-c",
        "tr a-z A-Z < in.txt > out.txt",
    )
    assert ran.returncode == 0, ran.stderr
    listed = _skillrt(session_daemon, tmp_path, "ls", f"{session}:")
    assert b"out.txt" in listed.stdout and b"in.txt" in listed.stdout
    out = tmp_path / "out.txt"
    assert _skillrt(session_daemon, tmp_path, "cp", f"{session}:out.txt", str(out)).returncode == 0
    assert out.read_text() == "HELLO\n"
    assert _skillrt(session_daemon, tmp_path, "rm", f"{session}:out.txt").returncode == 0
    gone = _skillrt(session_daemon, tmp_path, "cp", f"{session}:out.txt", str(out))
    assert gone.returncode == 1 and b"NOT_FOUND" in gone.stderr
    assert _skillrt(session_daemon, tmp_path, "destroy", session).returncode == 0


def test_exec_passes_stdin_and_exit_status(session_daemon: SessionDaemon, tmp_path: Path) -> None:
    """exec feeds its own stdin to the command and exits with the command's status."""
    session = _skillrt(session_daemon, tmp_path, "create").stdout.decode().strip()
    ran = _skillrt(
        session_daemon,
        tmp_path,
        "exec",
        session,
        "--",
        "/bin/sh",
        "-c",
        "cat; exit 7",
        stdin=b"piped\n",
    )
    assert (ran.returncode, ran.stdout) == (7, b"piped\n")


def test_exec_without_command_is_a_usage_error(
    session_daemon: SessionDaemon, tmp_path: Path
) -> None:
    """exec with no command says so in one line and exits 2."""
    ran = _skillrt(session_daemon, tmp_path, "exec", "ses_x")
    assert ran.returncode == 2
    assert ran.stderr.decode().count("\n") == 1 and b"COMMAND" in ran.stderr


def test_ls_shows_a_file_name_with_its_control_characters_escaped(
    session_daemon: SessionDaemon, tmp_path: Path
) -> None:
    """A command names its files as it likes; `session ls` never writes such a name raw (an
    OSC 52 sequence in a name would set the operator's clipboard)."""
    session = _skillrt(session_daemon, tmp_path, "create").stdout.decode().strip()
    made = _skillrt(
        session_daemon,
        tmp_path,
        "exec",
        session,
        "--",
        "/bin/sh",
        "-c",
        "touch \"$(printf 'a\\033]52;c;aGk=\\007b')\"",
    )
    assert made.returncode == 0, made.stderr
    listed = _skillrt(session_daemon, tmp_path, "ls", f"{session}:")
    assert listed.returncode == 0, listed.stderr
    assert b"\x1b" not in listed.stdout and b"\x07" not in listed.stdout
    assert b"a\\x1b]52;c;aGk=\\x07b" in listed.stdout
    assert _skillrt(session_daemon, tmp_path, "destroy", session).returncode == 0
