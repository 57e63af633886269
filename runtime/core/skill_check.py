"""One skill folder checked as the daemon's catalog loads it, with every problem, one line each.

The catalog stops at the first reason a skill cannot be used (runtime/core/catalog.py); an author
wants them all. The folder is loaded by the catalog's own loaders (snapshot, SKILL.md,
skill.toml), so whatever the daemon would refuse is refused here with the same message; a
manifest's parse stops at its first error, since the keys after it mean nothing until it is
fixed. Once the manifest loads, each tool is checked on its own: the sandbox an invocation would
get from the profile (the profile exists, limits only tighten, network entries fit its mode),
and its entrypoint: the program is inside that sandbox and executable (a script's ``#!``
interpreter too), and every file of the skill it names exists (a Python file compiles).

What only the operator decides (secrets granted, host paths allowed) is no problem of the
folder; the caller shows it beside the result.
"""

from __future__ import annotations

import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path

from runtime.core.availability import Host, missing_secret, unmet_requirement
from runtime.core.catalog import SkillKind
from runtime.core.instructions import InstructionSkill, load_instruction_skill
from runtime.core.manifest import SKILL_MOUNT, SkillSpec, ToolSpec, load_skill
from runtime.core.permissions import NO_PERMISSIONS
from runtime.core.spec import build_spec
from runtime.errors import BadRequest, SkillRuntimeError
from runtime.sandbox.filesystem import Bind, is_within
from runtime.sandbox.profiles import LimitOverrides, Limits, ProfileStore, SandboxProfile

__all__ = ["FolderCheck", "check_folder"]

# Links in a profile's filesystem resolve within a few hops; more is a loop.
_MAX_LINK_HOPS = 16


@dataclass(frozen=True, kw_only=True)
class FolderCheck:
    """What checking one folder found: problems (empty: it loads and every tool can run)."""

    directory: Path
    kind: SkillKind
    problems: tuple[str, ...]
    skill: SkillSpec | InstructionSkill | None  # None: it did not load
    limits: tuple[tuple[str, Limits], ...] = ()  # (tool, effective limits) of tools that fit

    @property
    def ok(self) -> bool:
        return not self.problems


def check_folder(directory: Path, profiles: ProfileStore, host: Host | None = None) -> FolderCheck:
    """Check ``directory``; BadRequest when it is no skill folder at all."""
    if not directory.is_dir():
        raise BadRequest(f"{directory}: not a folder")
    if not (directory / "skill.toml").is_file() and not (directory / "SKILL.md").is_file():
        raise BadRequest(f"{directory}: not a skill folder (neither SKILL.md nor skill.toml)")
    host = host or Host()
    if not (directory / "skill.toml").is_file():
        return _instruction(directory, host)
    try:
        skill = load_skill(directory)
    except (SkillRuntimeError, OSError) as exc:  # OSError: a file unreadable or just gone
        return FolderCheck(
            directory=directory, kind=SkillKind.TOOL, problems=(str(exc),), skill=None
        )
    problems = _requirement_problems(skill, host)
    limits: list[tuple[str, Limits]] = []
    try:
        profile = profiles.get(skill.profile)
    except SkillRuntimeError as exc:
        problems.append(f"{skill.directory / 'skill.toml'}: profile: {exc}")
    else:
        for tool in skill.tools:
            try:
                spec = build_spec(skill, tool, profile, LimitOverrides())
            except SkillRuntimeError as exc:
                problems.append(str(exc))
            else:
                limits.append((tool.name, spec.limits))
            problems += _entrypoint_problems(skill, tool, profile)
    return FolderCheck(
        directory=directory,
        kind=SkillKind.TOOL,
        problems=tuple(dict.fromkeys(problems)),  # a skill-wide problem is found once per tool
        skill=skill,
        limits=tuple(limits),
    )


def _instruction(directory: Path, host: Host) -> FolderCheck:
    try:
        skill = load_instruction_skill(directory, NO_PERMISSIONS)
    except (SkillRuntimeError, OSError) as exc:
        return FolderCheck(
            directory=directory, kind=SkillKind.INSTRUCTION, problems=(str(exc),), skill=None
        )
    reason = unmet_requirement(skill.requires, host)
    problems = (f"{skill.directory / 'SKILL.md'}: {reason}",) if reason else ()
    return FolderCheck(
        directory=directory, kind=SkillKind.INSTRUCTION, problems=problems, skill=skill
    )


def _requirement_problems(skill: SkillSpec, host: Host) -> list[str]:
    skill_md = skill.directory / "SKILL.md"
    problems = []
    reason = unmet_requirement(skill.requires, host)
    if reason is not None:
        problems.append(f"{skill_md}: {reason}")
    secret = missing_secret(skill.requires, skill.permissions.secrets)
    if secret is not None:
        problems.append(
            f"{skill_md}: needs secret {secret}, which skill.toml does not declare "
            "(permissions.secrets)"
        )
    return problems


def _entrypoint_problems(skill: SkillSpec, tool: ToolSpec, profile: SandboxProfile) -> list[str]:
    """The entrypoint's program is in the sandbox and executable; the skill files it names
    exist. Read from the snapshot: exactly what a sandbox would bind."""
    where = f"{skill.directory / 'skill.toml'}: tools.{tool.name}.entrypoint"
    binds = (
        Bind(source=str(skill.snapshot.path), target=SKILL_MOUNT),
        *(Bind(source=p, target=p) for p in skill.permissions.readonly_paths),
        *profile.filesystem.readonly_binds,
        *(Bind(source=d, target=d) for d in profile.filesystem.devices),
    )
    program = tool.entrypoint[0]
    problems = _program_problems(program, binds, profile, where)
    for index, argument in enumerate(tool.entrypoint):
        if is_within(argument, SKILL_MOUNT) and not (index == 0 and problems):
            problems += _skill_file_problems(argument, skill, where)
    return problems


def _program_problems(
    program: str, binds: tuple[Bind, ...], profile: SandboxProfile, where: str
) -> list[str]:
    found = _host_path(program, binds, profile)
    if found is None:
        bound = ", ".join(b.target for b in profile.filesystem.readonly_binds)
        return [
            f"{where}: {program} is not inside the sandbox of profile {profile.name!r} "
            f"(it binds {bound}, and the skill at {SKILL_MOUNT})"
        ]
    try:
        info = found.stat()
    except OSError:
        return [f"{where}: {program} does not exist"]
    if not stat.S_ISREG(info.st_mode):
        return [f"{where}: {program} is not a file"]
    if not info.st_mode & 0o111:
        return [
            f"{where}: {program} is not executable (chmod +x it, or name an interpreter first, "
            f"such as /usr/bin/python3 -I -S {program})"
        ]
    interpreter = _shebang(found)
    if interpreter and _host_path(interpreter, binds, profile) is None:
        return [
            f"{where}: {program} starts with #!{interpreter}, which is not inside the sandbox "
            f"of profile {profile.name!r}"
        ]
    return []


def _skill_file_problems(argument: str, skill: SkillSpec, where: str) -> list[str]:
    relative = posixpath.relpath(argument, SKILL_MOUNT)
    copy = skill.snapshot.path / relative
    if not copy.is_file():
        return [f"{where}: {argument} is not a file of the skill ({relative} is missing)"]
    if copy.suffix == ".py":
        try:
            compile(copy.read_bytes(), str(skill.directory / relative), "exec", dont_inherit=True)
        except SyntaxError as exc:
            return [f"{skill.directory / relative}:{exc.lineno}: {exc.msg}"]
        except ValueError as exc:  # NUL bytes in the source
            return [f"{skill.directory / relative}: {exc}"]
    return []


def _host_path(path: str, binds: tuple[Bind, ...], profile: SandboxProfile) -> Path | None:
    """Where the file at ``path`` inside the sandbox comes from on the host, through the
    profile's symlinks and binds; None when nothing puts it there."""
    path = posixpath.normpath(path)
    for _ in range(_MAX_LINK_HOPS):
        link = next((lk for lk in profile.filesystem.symlinks if is_within(path, lk[0])), None)
        if link is None:
            break
        rest = posixpath.relpath(path, link[0])
        path = posixpath.normpath(posixpath.join(posixpath.dirname(link[0]), link[1], rest))
    else:
        return None
    # The deepest bind wins, as a later mount over an earlier one does.
    for bind in sorted(binds, key=lambda b: len(b.target), reverse=True):
        if is_within(path, bind.target):
            rest = posixpath.relpath(path, bind.target)
            return Path(os.path.normpath(os.path.join(bind.source, rest)))
    return None


def _shebang(file: Path) -> str | None:
    """The interpreter a script names after ``#!``; None for anything else."""
    try:
        with file.open("rb") as stream:
            head = stream.readline(256)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    words = head[2:].decode("utf-8", "replace").split()
    return words[0] if words else None
