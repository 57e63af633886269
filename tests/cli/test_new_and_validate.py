"""`skillrt new` makes a skill that validates and runs as it is; `skillrt validate` names every
problem of a broken folder, one line each, with its file and key."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.cli.main import main
from runtime.cli.scaffold import scaffold
from runtime.util import paths


def skillrt(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The command line in this process (no sandbox runs here): exit code, stdout, stderr."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_new_skill_validates_and_runs_in_the_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """new, then validate says ok, then `skillrt run` of the scaffold is ok in the real sandbox."""
    code, out, _ = skillrt(capsys, "new", "greeter", "--dir", str(tmp_path))
    assert code == 0 and "created" in out
    folder = tmp_path / "greeter"
    code, out, _ = skillrt(capsys, "validate", str(folder))
    assert (code, out.splitlines()[0]) == (0, f"{folder}: ok")
    assert "tool hello: /usr/bin/python3 -I -S /skill/main.py" in out
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "runtime.cli.main",
            "run",
            str(folder),
            "--tool",
            "hello",
            "--input",
            '{"name": "Ada"}',
            "--json",
        ],
        cwd=paths.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert (result["status"], result["output"]) == ("ok", {"greeting": "Hello, Ada!"})


@pytest.mark.parametrize("profile", ["minimal", "network"])
def test_every_profile_scaffold_validates(
    profile: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scaffold of each profile passes validation, under that profile."""
    folder = scaffold("greeter", tmp_path, profile)
    code, out, _ = skillrt(capsys, "validate", str(folder))
    assert code == 0, out
    assert f"profile {profile}" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["new", "Not_A_Name"], "'Not_A_Name' is not a skill name"),
        (["new", "greeter", "--dir", "/nonexistent-parent"], "no such folder"),
    ],
)
def test_new_refuses_bad_input_in_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad name or parent is one line on stderr and exit 2."""
    code, _, err = skillrt(capsys, *args)
    assert code == 2 and err.count("\n") == 1 and message in err


def test_new_never_writes_over_an_existing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A target that exists is refused (exit 2) and left as it was."""
    (tmp_path / "greeter").mkdir()
    (tmp_path / "greeter" / "mine.txt").write_text("keep")
    code, _, err = skillrt(capsys, "new", "greeter", "--dir", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "already exists" in err
    assert [p.name for p in (tmp_path / "greeter").iterdir()] == ["mine.txt"]


def _edit(file: str, old: str, new: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        text = (folder / file).read_text()
        assert old in text
        (folder / file).write_text(text.replace(old, new))

    return change


def _append(file: str, text: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        with (folder / file).open("a") as stream:
            stream.write(text)

    return change


def _both(*changes: Callable[[Path], None]) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        for one in changes:
            one(folder)

    return change


def _remove(file: str) -> Callable[[Path], None]:
    return lambda folder: (folder / file).unlink()


_TOOL = '\n[[tools]]\nname = "{name}"\nentrypoint = {argv}\ninput_schema = {{ type = "object" }}\n'
BROKEN = {
    "script missing": (
        _remove("main.py"),
        "skill.toml: tools.hello.entrypoint: /skill/main.py is not a file of the skill",
    ),
    "syntax error": (_append("main.py", "\ndef broken(:\n"), "main.py:21: invalid syntax"),
    "limits loosened": (
        _edit("skill.toml", 'wall_time = "5s"', 'wall_time = "5s"\nmemory = "1GiB"'),
        "skill.toml: limits: memory 1GiB exceeds the profile's 256MiB",
    ),
    "unknown profile": (
        _edit("skill.toml", 'profile = "default"', 'profile = "nosuch"'),
        "skill.toml: profile: unknown profile 'nosuch'",
    ),
    "frontmatter name": (
        _edit("SKILL.md", "name: greeter", "name: other"),
        "SKILL.md: name 'other' must match the folder name",
    ),
    "schema": (
        lambda folder: (folder / "hello.schema.json").write_text('{"type": 5}'),
        "skill.toml: tools[0].input_schema: not a valid JSON Schema",
    ),
    "program outside the sandbox": (
        _both(
            _edit("skill.toml", 'profile = "default"', 'profile = "minimal"'),
            _append("skill.toml", _TOOL.format(name="shell", argv='["/bin/sh", "-c", "true"]')),
        ),
        "tools.shell.entrypoint: /bin/sh is not inside the sandbox of profile",
    ),
    "not executable": (
        _append("skill.toml", _TOOL.format(name="direct", argv='["/skill/main.py"]')),
        "tools.direct.entrypoint: /skill/main.py is not executable",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_folder_fails_with_the_right_message(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each kind of breakage is one line naming the file and key, and exit 1."""
    break_it, message = BROKEN[case]
    folder = scaffold("greeter", tmp_path, "default")
    break_it(folder)
    code, out, _ = skillrt(capsys, "validate", str(folder))
    lines = out.splitlines()
    assert code == 1
    assert any(message in line and str(folder) in line for line in lines[:-1]), out
    assert lines[-1] == f"{folder}: {len(lines) - 1} problem" + "s" * (len(lines) > 2)


def test_every_problem_is_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Problems of several tools and of the skill are all listed, not only the first."""
    folder = scaffold("greeter", tmp_path, "minimal")
    _append("skill.toml", _TOOL.format(name="shell", argv='["/bin/sh", "/skill/run.sh"]'))(folder)
    _edit("skill.toml", 'wall_time = "5s"', 'wall_time = "1h"')(folder)
    code, out, _ = skillrt(capsys, "validate", str(folder), "--json")
    report = json.loads(out)
    assert (code, report["ok"], report["kind"]) == (1, False, "tool")
    problems = "\n".join(report["problems"])
    assert len(report["problems"]) == 3, problems
    expected = ("limits: wall_time 3600s exceeds", "/bin/sh is not inside", "run.sh is missing")
    assert all(one in problems for one in expected)


def test_an_instruction_skill_is_checked_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder with SKILL.md alone validates as an instruction skill; a program it needs that
    the host lacks is a problem, as the catalog would list it."""
    folder = tmp_path / "notes"
    folder.mkdir()
    skill_md = "---\nname: notes\ndescription: Take notes.\n---\n# notes\n"
    (folder / "SKILL.md").write_text(skill_md)
    code, out, _ = skillrt(capsys, "validate", str(folder))
    assert code == 0 and "instruction skill notes" in out
    needs = 'metadata: {"openclaw": {"requires": {"bins": ["no-such-program-xyz"]}}}\n---'
    (folder / "SKILL.md").write_text(skill_md.replace("---\n#", f"{needs}\n#", 1))
    code, out, _ = skillrt(capsys, "validate", str(folder))
    assert code == 1 and "needs the program no-such-program-xyz" in out


def test_validate_of_something_else_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder with neither SKILL.md nor skill.toml is refused in one line, exit 2."""
    code, _, err = skillrt(capsys, "validate", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "not a skill folder" in err
