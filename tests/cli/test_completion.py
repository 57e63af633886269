"""`skillrt completion bash|zsh` prints a script generated from the parser: valid shell that
completes every verb and every action under a verb."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest

from runtime.cli.main import VERB_MODULES, build_parser, main


def completion(shell: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


def _actions(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Verb -> its actions (``token`` -> create, list, ...), from the parser itself."""
    found: dict[str, list[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for verb, sub in action.choices.items():
                for inner in sub._actions:
                    if isinstance(inner, argparse._SubParsersAction):
                        found[verb] = list(inner.choices)
    return found


def test_bash_completion_is_valid_and_names_every_verb(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bash -n accepts the script, and it completes each verb and each verb's actions."""
    script = completion("bash", capsys)
    file = tmp_path / "skillrt.bash"
    file.write_text(script)
    checked = subprocess.run(["bash", "-n", str(file)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    verbs = next(line for line in script.splitlines() if line.startswith("_shtab_skillrt_sub"))
    assert set(verbs.partition("=(")[2].rstrip(")").split()) == set(VERB_MODULES)
    for verb, actions in _actions(build_parser()).items():
        line = f"_shtab_skillrt_{verb}_subparsers=({' '.join(actions)})"
        assert line in script, f"{verb}: {actions} not all completed"


def test_bash_completion_completes_in_bash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Loaded into bash, the script offers the verbs that start with what was typed."""
    file = tmp_path / "skillrt.bash"
    file.write_text(completion("bash", capsys))
    probe = (
        f"source {file}; COMP_WORDS=(skillrt va); COMP_CWORD=1; COMP_LINE='skillrt va'; "
        'COMP_POINT=${#COMP_LINE}; _shtab_skillrt skillrt va skillrt; echo "${COMPREPLY[@]}"'
    )
    shell = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30)
    assert shell.stdout.split() == ["validate"], shell.stderr


def test_zsh_completion_is_a_zsh_completion_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The zsh script declares itself for skillrt (and zsh -n accepts it where zsh exists)."""
    script = completion("zsh", capsys)
    assert script.startswith("#compdef skillrt")
    assert all(f"    {verb}:'" in script for verb in VERB_MODULES)
    if shutil.which("zsh"):
        file = tmp_path / "_skillrt"
        file.write_text(script)
        checked = subprocess.run(["zsh", "-n", str(file)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
