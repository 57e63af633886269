"""What a tool skill's entrypoints run: the one program each tool's call starts.

An entrypoint is code as much as any file: ``["/bin/sh", "-c", "curl ... | sh"]`` runs what
it holds, and ``["/usr/bin/python3", "/skill/notes.txt"]`` makes ``notes.txt`` a Python
program whatever its name says. Code written inline in the manifest is read by no analyser:
it is reported "not analysed" (medium) and its text checked against the dangerous patterns.
A file of the folder named as the script an interpreter runs is reviewed in that
interpreter's language.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Sequence
from dataclasses import replace

from runtime.check.vet.files import Language, SkillFile
from runtime.check.vet.patterns import line_findings
from runtime.core.manifest import SKILL_MOUNT, SkillSpec
from runtime.core.vetting import Severity, VetFinding

__all__ = ["entrypoint_findings", "run_as_written"]

_MANIFEST = "skill.toml"
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")
_SHELLS = frozenset({"sh", "bash", "dash", "ksh", "mksh", "zsh"})
# Interpreters that take a program as a string (its option) rather than a file.
_INLINE = {
    **dict.fromkeys(("sh", "bash", "dash", "ksh", "mksh", "zsh", "fish", "python"), "-c"),
    **dict.fromkeys(("perl", "ruby", "node", "lua"), "-e"),
    "php": "-r",
}
# Options whose value is the next argument, so that it is not taken for the script; after
# python's -m comes a module's arguments, no script.
_VALUED = {"python": {"-W", "-X"}, "shell": {"-o", "+o", "-O", "+O", "--rcfile"}}
_NO_SCRIPT = frozenset({"-m"})


def entrypoint_findings(skill: SkillSpec) -> list[VetFinding]:
    """Inline code in each tool's entrypoint: not analysed, and its patterns."""
    findings: list[VetFinding] = []
    for tool in skill.tools:
        program, arguments = _program(tool.entrypoint)
        flag = _INLINE.get("python" if _PYTHON.match(program) else program)
        if flag is None or not any(_is_flag(argument, flag) for argument in arguments):
            continue
        findings.append(
            VetFinding(
                severity=Severity.MEDIUM,
                check="coverage",
                message=f"not analysed (tool {tool.name}'s entrypoint runs code written inline, "
                f"{program} {flag}): no analyser reads it; put it in a file of the skill",
                file=_MANIFEST,
            )
        )
        text = shlex.join(tool.entrypoint)
        findings += [replace(f, line=None) for f in line_findings([(0, text)], _MANIFEST)]
    return findings


def run_as_written(skill: SkillSpec, files: Sequence[SkillFile]) -> tuple[SkillFile, ...]:
    """``files``, each script an entrypoint's interpreter runs in that interpreter's
    language."""
    languages: dict[str, tuple[Language, str]] = {}
    for tool in skill.tools:
        program, arguments = _program(tool.entrypoint)
        if _PYTHON.match(program):
            language, kind, valued = Language.PYTHON, "python", _VALUED["python"]
        elif program in _SHELLS:
            language, kind, valued = Language.SHELL, "shell", _VALUED["shell"]
        else:
            continue
        script = _script(arguments, valued)
        if script is not None:
            languages[script] = (language, kind)
    return tuple(
        replace(f, language=languages[f.relative][0], kind=languages[f.relative][1])
        if f.relative in languages
        else f
        for f in files
    )


def _program(entrypoint: Sequence[str]) -> tuple[str, list[str]]:
    """The program's base name and its arguments, looking through ``env``."""
    program, arguments = posixpath.basename(entrypoint[0]), list(entrypoint[1:])
    if program == "env":
        while arguments and (arguments[0].startswith("-") or "=" in arguments[0]):
            arguments.pop(0)
        if arguments:
            program, arguments = posixpath.basename(arguments[0]), arguments[1:]
    return program, arguments


def _is_flag(argument: str, flag: str) -> bool:
    """``-c`` alone or among short options (``-ec``, ``-Ic``), never inside an option's value
    (``-Wignore``)."""
    return argument == flag or (
        re.fullmatch(r"-[A-Za-z]+", argument) is not None
        and argument[1] not in "WXo"
        and flag[1] in argument
    )


def _script(arguments: Sequence[str], valued: set[str]) -> str | None:
    """The folder's file named where the interpreter takes its script (the first argument
    that is no option), relative to the folder; None when it is none of the folder's."""
    skip = False
    for argument in arguments:
        if skip:
            skip = False
            continue
        if argument in _NO_SCRIPT:
            return None
        if argument in valued:
            skip = True
            continue
        if argument.startswith(("-", "+")):
            continue
        path = posixpath.normpath(argument)
        prefix = SKILL_MOUNT + "/"
        return path[len(prefix) :] if path.startswith(prefix) else None
    return None
