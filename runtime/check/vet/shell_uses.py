"""Shell read with a small tokenizer: the variables a script reads from its environment, the
hosts and paths its words name, and its logical lines (comments out, continuations joined).

Quoting is followed as the shell does: nothing expands in single quotes, ``$VAR`` does in
double quotes and bare words. A variable the script assigns (``X=``, ``read X``, ``for X``,
``local X``...) anywhere is its own; any other is read from the environment. The same reader
takes the commands SKILL.md tells the model to run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import re2

from runtime.check.vet.uses import Use, UseKind, credential_location, hosts_in, paths_in

__all__ = ["ShellScan", "scan_shell"]

# Variables the shell sets itself: never read from the environment the sandbox gives.
_SHELL_SET = frozenset(
    {
        *("IFS", "PWD", "OLDPWD", "PPID", "RANDOM", "LINENO", "SECONDS", "REPLY", "OPTARG"),
        *("OPTIND", "OPTERR", "UID", "EUID", "GROUPS", "HOSTNAME", "HOSTTYPE", "OSTYPE"),
        *("MACHTYPE", "SHLVL", "SHELLOPTS", "BASHOPTS", "FUNCNAME", "PIPESTATUS", "PS1"),
        *("PS2", "PS3", "PS4", "EPOCHSECONDS", "EPOCHREALTIME", "SRANDOM", "COLUMNS", "LINES"),
    }
)
_NAME = re2.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re2.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?\+?=")
_DECLARING = frozenset({"local", "declare", "export", "readonly", "typeset"})
_SEPARATORS = frozenset(";&|()<>\n")
# <<WORD, <<-WORD, <<'WORD', <<"WORD", <<\WORD (not <<<, a here-string).
_HEREDOC = re2.compile(r"<<-?[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|\\?([A-Za-z0-9_.-]+))")


@dataclass(frozen=True, kw_only=True)
class ShellScan:
    uses: tuple[Use, ...]
    lines: tuple[tuple[int, str], ...]  # (first line, text) of each logical line


@dataclass(frozen=True, kw_only=True)
class _Heredoc:
    delimiter: str
    expands: bool  # an unquoted delimiter: $X in the body expands
    strip_tabs: bool  # <<-

    @classmethod
    def of(cls, found: Any) -> _Heredoc:
        bare = found.group(3)
        return cls(
            delimiter=found.group(1) or found.group(2) or bare or "",
            expands=bool(bare) and "\\" not in found.group(),
            strip_tabs=found.group().startswith("<<-"),
        )


@dataclass
class _Reader:
    """One pass over the text: words split into commands, references, logical lines."""

    line: int
    commands: list[list[tuple[int, str]]] = field(default_factory=lambda: [[]])
    references: list[tuple[int, str]] = field(default_factory=list)
    lines: list[tuple[int, str]] = field(default_factory=list)
    word: list[str] = field(default_factory=list)
    word_line: int = 0
    logical: list[str] = field(default_factory=list)
    logical_line: int = 0
    heredocs: list[_Heredoc] = field(default_factory=list)  # opened on the current line

    def add(self, char: str) -> None:
        if not self.word:
            self.word_line = self.line
        self.word.append(char)

    def end_word(self) -> None:
        if self.word:
            self.commands[-1].append((self.word_line, "".join(self.word)))
            self.word = []

    def end_command(self) -> None:
        self.end_word()
        if self.commands[-1]:
            self.commands.append([])

    def end_line(self) -> None:
        self.end_command()
        text = "".join(self.logical).strip()
        if text:
            self.lines.append((self.logical_line, text))
        self.logical = []

    def raw(self, text: str) -> None:
        if not self.logical:
            self.logical_line = self.line
        self.logical.append(text)


def scan_shell(text: str, file: str, *, first_line: int = 1, command: bool = True) -> ShellScan:
    """What ``text`` (a script, or one command, starting at ``first_line`` of ``file``)
    reads and names."""
    reader = _read(text, first_line)
    assigned = _assigned(reader.commands)
    uses = [
        Use(kind=UseKind.ENV, value=name, file=file, line=line, command=command)
        for line, name in reader.references
        if name not in assigned and name not in _SHELL_SET
    ]
    for words in reader.commands:
        for line, word in words:
            uses += [
                Use(kind=UseKind.HOST, value=host, file=file, line=line, command=command)
                for host in hosts_in(word)
            ]
            paths = paths_in(word)
            if not paths and credential_location(word):
                paths = [word]
            uses += [
                Use(kind=UseKind.PATH, value=path, file=file, line=line, command=command)
                for path in paths
            ]
    return ShellScan(uses=tuple(uses), lines=tuple(reader.lines))


def _read(text: str, first_line: int) -> _Reader:
    reader = _Reader(line=first_line)
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        following = text[index + 1] if index + 1 < len(text) else ""
        if char == "\\" and quote != "'":
            index += 2
            if following == "\n":  # a continuation: the logical line goes on
                reader.line += 1
                reader.raw(" ")
            elif following:
                reader.add(following)
                reader.raw(char + following)
            continue
        if char == "$" and quote != "'":
            reader.references += _reference(text, index + 1, reader.line)
        if quote:
            if char == quote:
                quote = ""
            else:
                reader.add(char)
        elif char in "'\"":
            quote = char
            reader.add("")  # an empty quoted word is still a word
        elif char == "#" and not reader.word:
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        elif char == "<" and (heredoc := _heredoc_at(text, index)):
            reader.end_word()
            reader.raw(heredoc.group())
            reader.heredocs.append(_Heredoc.of(heredoc))
            index = heredoc.end()
            continue
        elif char in _SEPARATORS:
            reader.end_command()
        elif char.isspace():
            reader.end_word()
        else:
            reader.add(char)
        index += 1
        if char != "\n":
            reader.raw(char)
        elif quote:
            reader.raw(char)
            reader.line += 1
        else:
            reader.end_line()
            reader.line += 1
            index = _bodies(reader, text, index)
    reader.end_line()
    return reader


def _heredoc_at(text: str, index: int) -> Any:
    """The here-document operator at ``index``, or None (``<<<`` is a here-string)."""
    if text.startswith("<<<", index) or text[index - 1 : index] == "<":
        return None
    return _HEREDOC.match(text, index)


def _bodies(reader: _Reader, text: str, index: int) -> int:
    """Read the bodies of the here-documents the line that just ended opened, from ``index``;
    where the text goes on after them. A body is data for its command (``cat <<EOF | sh`` runs
    it): its lines are the script's lines, and its ``$X`` expand unless the word was quoted."""
    for heredoc in reader.heredocs:
        while index < len(text):
            end = text.find("\n", index)
            end = len(text) if end < 0 else end
            line, number = text[index:end], reader.line
            index, reader.line = end + 1, reader.line + 1
            if (line.lstrip("\t") if heredoc.strip_tabs else line) == heredoc.delimiter:
                break
            if heredoc.expands:
                for dollar in range(len(line)):
                    if line[dollar] == "$":
                        reader.references += _reference(line, dollar + 1, number)
            if line.strip():
                reader.lines.append((number, line.strip()))
                # Its words name hosts and paths as a command's do; before the command under way.
                reader.commands.insert(-1, [(number, word) for word in line.split()])
    reader.heredocs = []
    return index


def _reference(text: str, start: int, line: int) -> list[tuple[int, str]]:
    """The variable ``$`` at ``start - 1`` expands: ``$X``, ``${X}``, ``${#X}``, ``${X:-y}``;
    positional and special parameters are not variables."""
    if text.startswith("{", start):
        start += 1
        if text[start : start + 1] in ("#", "!"):
            start += 1
    found = _NAME.match(text, start)
    return [(line, found.group())] if found else []


def _assigned(commands: list[list[tuple[int, str]]]) -> set[str]:
    """Every variable the script sets: an assignment word, or the names ``read``, ``for``,
    ``getopts`` and the declaring builtins take (wherever they stand: ``while read X``)."""
    names: set[str] = set()
    for words in commands:
        texts = [word for _, word in words]
        for index, word in enumerate(texts):
            assignment = _ASSIGNMENT.match(word)
            rest = texts[index + 1 :]
            if assignment:
                names.add(assignment.group(1))
            elif word == "read" or word in _DECLARING:
                names.update(w for w in rest if _NAME.fullmatch(w))
            elif word in ("for", "select") and rest:
                names.add(rest[0])
            elif word == "getopts" and len(rest) > 1:
                names.add(rest[1])
    return names
