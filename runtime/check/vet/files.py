"""The files of a skill under review, each with the language it is written in.

A file's language is read from its ``#!`` line first (that is what runs when it is executed),
then from its name. Python and shell have an analyser; code in any other language, a binary or
an archive is reported "not analysed", never passed in silence; plain data (JSON, Markdown,
text, ...) is only scanned for secrets.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath

__all__ = ["Language", "SkillFile", "skill_files"]


class Language(StrEnum):
    PYTHON = "python"
    SHELL = "shell"  # sh, bash, dash, ksh: what shellcheck reads
    MARKDOWN = "markdown"  # SKILL.md and other instructions
    DATA = "data"
    CODE = "code"  # a language no analyser here reads (named in ``SkillFile.kind``)


@dataclass(frozen=True, kw_only=True)
class SkillFile:
    path: Path  # where it is read from
    relative: str  # as the report names it
    language: Language
    kind: str  # what it is, in words: "python", "JavaScript", "an ELF binary", ...
    executable: bool


# Interpreters named on a #! line (or after env), by the language they run.
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")
_SHELLS = frozenset({"sh", "bash", "dash", "ksh", "mksh"})
_SUFFIXES: dict[str, tuple[Language, str]] = {
    ".py": (Language.PYTHON, "python"),
    ".pyw": (Language.PYTHON, "python"),
    ".pyi": (Language.PYTHON, "python"),
    ".sh": (Language.SHELL, "shell"),
    ".bash": (Language.SHELL, "shell"),
    ".ksh": (Language.SHELL, "shell"),
    ".dash": (Language.SHELL, "shell"),
    ".md": (Language.MARKDOWN, "Markdown"),
    **{
        suffix: (Language.DATA, "data")
        for suffix in (
            *(".json", ".toml", ".yaml", ".yml", ".txt", ".csv", ".tsv", ".ini", ".cfg"),
            *(".rst", ".xml", ".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico"),
            *(".pdf", ".lock", ".license", ".typed"),
        )
    },
    **{
        suffix: (Language.CODE, kind)
        for kind, suffixes in {
            "JavaScript": (".js", ".mjs", ".cjs", ".jsx"),
            "TypeScript": (".ts", ".tsx", ".mts", ".cts"),
            "Ruby": (".rb",),
            "Perl": (".pl", ".pm"),
            "PHP": (".php",),
            "Lua": (".lua",),
            "zsh": (".zsh",),
            "fish": (".fish",),
            "PowerShell": (".ps1", ".psm1"),
            "a Windows batch file": (".bat", ".cmd"),
            "HTML (it may hold scripts)": (".html", ".htm"),
            "compiled Python": (".pyc", ".pyo"),
            "a native library": (".so", ".dylib", ".dll"),
            "a native executable": (".exe", ".bin"),
            "WebAssembly": (".wasm",),
            "an archive (code inside is not reviewed)": (
                *(".zip", ".whl", ".egg", ".jar", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst"),
            ),
            "C or C++": (".c", ".h", ".cc", ".cpp", ".hpp"),
            "Go": (".go",),
            "Rust": (".rs",),
            "Java": (".java", ".class"),
        }.items()
        for suffix in suffixes
    },
}
_MAGIC = {
    b"\x7fELF": "an ELF binary",
    b"MZ": "a Windows executable",
    b"\xcf\xfa\xed\xfe": "a Mach-O binary",
    b"\xfe\xed\xfa\xcf": "a Mach-O binary",
    b"\xca\xfe\xba\xbe": "a Mach-O or Java binary",
    b"\0asm": "WebAssembly",
    b"PK\x03\x04": "a zip archive (code inside is not reviewed)",
    b"\x1f\x8b": "a gzip archive (code inside is not reviewed)",
}
_HEAD_BYTES = 8192


def skill_files(root: Path) -> tuple[SkillFile, ...]:
    """Every regular file under ``root`` (links lead to files listed on their own), sorted."""
    found = []
    for parent, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(parent) / name
            info = path.lstat()
            if stat.S_ISREG(info.st_mode):
                relative = str(PurePosixPath(path.relative_to(root)))
                found.append(_classified(path, relative, bool(info.st_mode & 0o111)))
    return tuple(sorted(found, key=lambda f: f.relative))


def _classified(path: Path, relative: str, executable: bool) -> SkillFile:
    with path.open("rb") as stream:
        head = stream.read(_HEAD_BYTES)
    language, kind = _language(path, head, executable)
    return SkillFile(
        path=path, relative=relative, language=language, kind=kind, executable=executable
    )


def _language(path: Path, head: bytes, executable: bool) -> tuple[Language, str]:
    if head.startswith(b"#!"):
        interpreter = _interpreter(head)
        if _PYTHON.match(interpreter):
            return Language.PYTHON, "python"
        if interpreter in _SHELLS:
            return Language.SHELL, "shell"
        return Language.CODE, f"a script for {interpreter or 'an unnamed interpreter'}"
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return Language.CODE, kind
    known = _SUFFIXES.get(path.suffix.lower())
    if known is not None:
        return known
    if executable:  # run as a program, yet in no language named here
        return Language.CODE, "an executable file"
    if b"\0" in head:
        return Language.DATA, "binary data"
    return Language.DATA, "data"


def _interpreter(head: bytes) -> str:
    """The program a ``#!`` line runs: its base name, or the one ``env`` is asked for."""
    words = head[2:].split(b"\n", 1)[0].decode("utf-8", "replace").split()
    if not words:
        return ""
    program = words[0].rsplit("/", 1)[-1]
    if program == "env":
        rest = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        program = rest[0].rsplit("/", 1)[-1] if rest else ""
    return program
