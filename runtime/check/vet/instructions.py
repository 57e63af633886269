"""The commands SKILL.md tells the model to run: every line of a shell code block, and the
inline code spans that read as a command line.

A fenced block in a shell language (or a ``console`` block's ``$`` lines) is commands. A span
of inline code, or a line of a block with no language, is a command when its first word is a
program: one the skill requires, a path (``{baseDir}/run.sh``, ``./x``) or one on this host's
PATH, followed by its arguments. The frontmatter is not instructions; the body's lines are all
returned too, since prose tells a model what to run as well.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass

import re2

__all__ = ["Command", "Instructions", "read_instructions"]

_SHELL_LANGUAGES = frozenset({"sh", "bash", "shell", "zsh", "ksh", "dash", "fish"})
_CONSOLE_LANGUAGES = frozenset({"console", "terminal", "shell-session", "shellsession"})
_FENCE = re2.compile(r"^\s{0,3}(```+|~~~+)\s*([A-Za-z0-9_+-]*)")
_SPAN = re2.compile(r"(`+)([^`]+)(`+)")
_PROGRAM = re2.compile(r"^(\{baseDir\}/|\./|/|~/)?[A-Za-z][A-Za-z0-9._+/-]*$")
_PROMPT = re2.compile(r"^\s*[$#>]\s+")


@dataclass(frozen=True, kw_only=True)
class Command:
    line: int  # in SKILL.md
    text: str


@dataclass(frozen=True, kw_only=True)
class Instructions:
    commands: tuple[Command, ...]
    body: tuple[tuple[int, str], ...]  # (line, text) of every line after the frontmatter


def read_instructions(text: str, programs: Iterable[str] = ()) -> Instructions:
    """``text`` is SKILL.md; ``programs``: those it requires (its own words are commands)."""
    known = frozenset(programs)
    lines = text.split("\n")
    first = _body_start(lines)
    body = [(number, line) for number, line in enumerate(lines, 1) if number > first]
    commands: list[Command] = []
    fence = ""  # the fence of the open block, "" outside one
    language = ""
    pending: Command | None = None  # a command continued on the next line ("\")
    for number, line in body:
        opened = _FENCE.match(line)
        if fence and opened and opened.group(1).startswith(fence) and not opened.group(2):
            fence = ""
            continue
        if not fence and opened:
            fence, language = opened.group(1), opened.group(2).lower()
            continue
        if fence:
            command = _block_command(line, language, known)
            if pending is not None:
                pending = Command(line=pending.line, text=f"{pending.text[:-1]} {line.strip()}")
            elif command:
                pending = Command(line=number, text=command)
            if pending is not None and not pending.text.endswith("\\"):
                commands.append(pending)
                pending = None
        else:
            commands += [
                Command(line=number, text=span.group(2).strip())
                for span in _SPAN.finditer(line)
                if span.group(1) == span.group(3) and _is_command(span.group(2), known)
            ]
    return Instructions(commands=tuple(commands), body=tuple(body))


def _body_start(lines: list[str]) -> int:
    """The number of the frontmatter's closing ``---`` line (0 without frontmatter)."""
    if not lines or lines[0].strip() != "---":
        return 0
    for number, line in enumerate(lines[1:], 2):
        if line.strip() == "---":
            return number
    return 0


def _block_command(line: str, language: str, known: frozenset[str]) -> str:
    """The command on a line of a fenced block, or "" for output, comments and blank lines."""
    text = line.strip()
    if not text or (text.startswith("#") and language not in _CONSOLE_LANGUAGES):
        return ""
    if language in _SHELL_LANGUAGES:
        return text
    if language in _CONSOLE_LANGUAGES:
        prompt = _PROMPT.match(line)
        return line[prompt.end() :].strip() if prompt else ""
    if not language and _is_command(text, known):
        return text
    return ""


def _is_command(text: str, known: frozenset[str]) -> bool:
    words = text.split()
    if len(words) < 2 or not _PROGRAM.match(words[0]) or words[1][:1] in "=:(":
        return False
    program = words[0]
    return (
        program in known
        or program.startswith(("{baseDir}/", "./", "/", "~/"))
        or shutil.which(program) is not None
    )
