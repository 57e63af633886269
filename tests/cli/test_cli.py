"""The CLI: bad input gives one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.cli.state_dir import actor
from runtime.core.snapshots import SNAPSHOTS_BASE
from runtime.util import paths
from tests.skill_fixture import make_skill


def skillrt(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        timeout=120,
        check=False,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], text: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert text in proc.stderr, proc.stderr


def test_malformed_profile_toml(tmp_path: Path) -> None:
    """A profile with broken TOML is named with its file and the parse error."""
    (tmp_path / "broken.toml").write_text("[limits\n")
    proc = skillrt("--profiles", str(tmp_path), "exec", "--profile", "broken", "--", "/bin/true")
    assert_one_line_error(proc, "broken.toml: invalid TOML")


def test_unknown_profile() -> None:
    """An unknown profile name is a one-line error listing the known ones."""
    proc = skillrt("exec", "--profile", "nope", "--", "/bin/true")
    assert_one_line_error(proc, "unknown profile 'nope'")


def test_invalid_json_input(reachable_tmp: Path) -> None:
    """Input that is not JSON is refused before anything runs."""
    folder = make_skill(reachable_tmp)
    proc = skillrt("run", str(folder), "--tool", "echo", "--input", "{nope")
    assert_one_line_error(proc, "input: not valid JSON")
    assert proc.returncode == 2


def test_schema_mismatch(reachable_tmp: Path) -> None:
    """Input that breaks the tool's schema names the field."""
    folder = make_skill(reachable_tmp)
    proc = skillrt("run", str(folder), "--tool", "echo", "--input", '{"n": "x"}')
    assert_one_line_error(proc, "input['n']: 'x' is not of type 'integer'")


def test_bad_size_flag() -> None:
    """A malformed --memory value is named with the flag."""
    proc = skillrt("exec", "--memory", "lots", "--", "/bin/true")
    assert_one_line_error(proc, "--memory")
    assert proc.returncode == 2


def test_looser_flag_is_refused() -> None:
    """A flag may tighten a profile's limit but never loosen it."""
    proc = skillrt("exec", "--memory", "1GiB", "--", "/bin/true")
    assert_one_line_error(proc, "memory 1GiB exceeds the profile's 256MiB")


def test_run_json_result(reachable_tmp: Path) -> None:
    """run --json prints one object with the documented keys and the parsed output."""
    folder = make_skill(reachable_tmp)
    proc = skillrt("run", str(folder), "--tool", "echo", "--input", '{"n": 4}', "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) >= {
        "status",
        "exit_code",
        "signal",
        "stdout",
        "stderr",
        "stdout_truncated",
        "stderr_truncated",
        "usage",
        "violations",
        "output",
    }
    assert (result["status"], result["output"]) == ("ok", {"got": {"n": 4}})
    assert set(result["usage"]) == {"wall_ms", "cpu_ms", "peak_memory_bytes"}


def test_exec_passes_exit_code_through() -> None:
    """Without --json, exec prints the command's output and exits with its code."""
    proc = skillrt("exec", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 7")
    assert (proc.returncode, proc.stdout, proc.stderr) == (7, "out\n", "err\n")


def test_exec_signal_exit_code() -> None:
    """A command killed by a signal exits 128+signal, and the reason is printed."""
    proc = skillrt("exec", "--wall-time", "300ms", "--", "/bin/sleep", "10")
    assert proc.returncode == 128 + 9
    assert "skillrt: timeout: wall time limit: 300 ms reached" in proc.stderr


def test_exec_reads_stdin_input() -> None:
    """exec --input @- feeds the caller's stdin to the sandboxed command."""
    proc = skillrt("exec", "--input", "@-", "--", "/bin/cat", stdin="hello")
    assert (proc.returncode, proc.stdout) == (0, "hello")


def test_private_skill_folder_runs(tmp_path: Path) -> None:
    """run serves a skill folder the sandbox user cannot reach (tmp_path is 0700) from its
    snapshot, and leaves no snapshot behind."""
    tmp_path.chmod(0o700)
    folder = make_skill(tmp_path)
    before = _local_stores()
    proc = skillrt("run", str(folder), "--tool", "echo", "--input", '{"n": 1}', "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["output"] == {"got": {"n": 1}}
    assert _local_stores() <= before


def _local_stores() -> set[Path]:
    # Only a command's own stores: daemons running on the host meanwhile keep folders there too.
    return set(SNAPSHOTS_BASE.glob("local-*")) if SNAPSHOTS_BASE.exists() else set()


SECRET_TOML = """\
version = "1.0.0"
profile = "default"

[permissions]
secrets = ["API_KEY"]

[[tools]]
name = "echo"
entrypoint = ["/usr/bin/python3", "/skill/echo.py"]
input_schema.type = "object"
"""
# Says only whether its secret arrived whole: the secret itself is never printed.
SECRET_CODE = (
    "import json, os, sys\njson.load(sys.stdin)\n"
    "print(json.dumps({'ok': os.environ.get('API_KEY') == 's3cret value'}))\n"
)


def test_run_gives_a_declared_secret_read_from_a_file(reachable_tmp: Path) -> None:
    folder = make_skill(reachable_tmp, toml=SECRET_TOML, code=SECRET_CODE)
    secret = reachable_tmp / "api-key"
    secret.write_text("s3cret value\n")
    proc = skillrt("run", str(folder), "--tool", "echo", "--secret", f"API_KEY=@{secret}", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["output"] == {"ok": True}
    piped = skillrt(
        "run",
        str(folder),
        "--tool",
        "echo",
        "--secret",
        "API_KEY=@-",
        "--json",
        stdin="s3cret value",
    )
    assert json.loads(piped.stdout)["output"] == {"ok": True}, piped.stderr


def test_run_refuses_a_secret_value_on_the_command_line(reachable_tmp: Path) -> None:
    folder = make_skill(reachable_tmp, toml=SECRET_TOML, code=SECRET_CODE)
    proc = skillrt("run", str(folder), "--tool", "echo", "--secret", "API_KEY=s3cret")
    assert_one_line_error(proc, "--secret API_KEY: give the value in a file (NAME=@FILE)")
    assert proc.returncode == 2 and "s3cret" not in proc.stderr


def test_run_refuses_a_secret_the_skill_does_not_declare(reachable_tmp: Path) -> None:
    folder = make_skill(reachable_tmp, toml=SECRET_TOML, code=SECRET_CODE)
    other = reachable_tmp / "other"
    other.write_text("x")
    proc = skillrt("run", str(folder), "--tool", "echo", "--secret", f"OTHER=@{other}")
    assert_one_line_error(proc, "--secret OTHER: the skill does not declare it")


def test_a_user_without_a_passwd_entry_is_named_by_uid(monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit names a CLI actor by uid when the user has no passwd entry (no traceback)."""

    def no_entry(uid: int) -> None:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr("runtime.cli.state_dir.os.getuid", lambda: 4242)
    monkeypatch.setattr("runtime.cli.state_dir.pwd.getpwuid", no_entry)
    assert actor() == "cli:uid 4242"
