"""The review of one skill folder: load it as the daemon would, then run every check over the
snapshot that was hashed, so that the verdict is about exactly the content it is recorded for.

The analysers that are programs (bandit, shellcheck, detect-secrets) run at once, in threads
that wait on them, while skillrt's own checks (patterns, declared versus used, instructions)
read the files here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from runtime import __version__
from runtime.check.vet import bandit, secret_scan, shellcheck
from runtime.check.vet.declared import Declared, declared_findings
from runtime.check.vet.entrypoints import entrypoint_findings, run_as_written
from runtime.check.vet.files import Language, SkillFile, skill_files
from runtime.check.vet.instructions import Command, read_instructions
from runtime.check.vet.model import not_analysed
from runtime.check.vet.patterns import line_findings, python_findings
from runtime.check.vet.python_uses import parse_python, scan_python
from runtime.check.vet.shell_uses import scan_shell
from runtime.check.vet.uses import Use, UseKind, hosts_in
from runtime.core.instructions import InstructionSkill, load_instruction_skill
from runtime.core.manifest import SKILL_MOUNT, SkillSpec, load_skill
from runtime.core.permissions import NO_PERMISSIONS
from runtime.core.scope import Scope, tool_scope
from runtime.core.skillmd import Requirements
from runtime.core.spec import build_spec
from runtime.core.vetting import VetFinding
from runtime.errors import BadRequest, SkillRuntimeError
from runtime.sandbox.egress import PROXY_VARIABLES
from runtime.sandbox.profiles import LimitOverrides, ProfileStore, SandboxProfile

__all__ = ["Review", "review"]

_OWN = "skillrt"  # the checks of this package: patterns, declared, instructions
_MANIFEST = ("SKILL.md", "skill.toml")  # read by the loader and the instructions check
_AS_DECLARED = LimitOverrides()  # the limits of a call that asks for no tighter ones


@dataclass(frozen=True, kw_only=True)
class Review:
    skill: str
    kind: str  # "tool" or "instruction"
    version: str  # a tool skill's; "" for an instruction skill
    directory: Path
    content_hash: str
    findings: tuple[VetFinding, ...]  # the most severe first
    analysers: dict[str, str]  # name -> version, or why it did not run
    scopes: tuple[tuple[str, Scope], ...]  # (tool, what it may reach) of a tool skill
    requires: Requirements
    commands: tuple[Command, ...]  # what SKILL.md tells the model to run


def review(directory: Path, profiles: ProfileStore) -> Review:
    """Review ``directory``; BadRequest, one line naming the file, when it is not a skill
    folder or does not load."""
    skill, scopes, declared = _load(directory, profiles)
    root = skill.snapshot.path
    files = skill_files(root)
    if isinstance(skill, SkillSpec):
        files = run_as_written(skill, files)  # what its entrypoints run is read as they run it
    with ThreadPoolExecutor(max_workers=3) as pool:
        running = [pool.submit(m.analyse, root, files) for m in (bandit, shellcheck, secret_scan)]
        own, commands = _own_checks(skill, files, declared)
        analyses = [future.result() for future in running]
    findings = [*own, *(f for analysis in analyses for f in analysis.findings)]
    findings.sort(key=lambda f: (-f.severity, f.file or "", f.line or 0, f.check, f.message))
    return Review(
        skill=skill.name,
        kind="tool" if isinstance(skill, SkillSpec) else "instruction",
        version=skill.version if isinstance(skill, SkillSpec) else "",
        directory=skill.directory,
        content_hash=skill.content_hash,
        findings=tuple(dict.fromkeys(findings)),
        analysers={**{a.analyser: a.version for a in analyses}, _OWN: __version__},
        scopes=scopes,
        requires=skill.requires,
        commands=commands,
    )


def _load(
    directory: Path, profiles: ProfileStore
) -> tuple[SkillSpec | InstructionSkill, tuple[tuple[str, Scope], ...], Declared]:
    if not directory.is_dir():
        raise BadRequest(f"{directory}: not a folder")
    if not any((directory / name).is_file() for name in _MANIFEST):
        raise BadRequest(f"{directory}: not a skill folder (neither SKILL.md nor skill.toml)")
    try:
        if not (directory / "skill.toml").is_file():
            instruction = load_instruction_skill(directory, NO_PERMISSIONS)
            return instruction, (), _instruction_declared(instruction, profiles)
        skill = load_skill(directory)
        try:
            profile = profiles.get(skill.profile)
        except SkillRuntimeError as exc:
            raise BadRequest(f"{skill.directory / 'skill.toml'}: profile: {exc}") from None
        scopes = tuple(
            (
                tool.name,
                tool_scope(skill, tool, build_spec(skill, tool, profile, _AS_DECLARED).limits),
            )
            for tool in skill.tools
        )
    except BadRequest:
        raise
    except (SkillRuntimeError, OSError) as exc:  # OSError: a file unreadable or just gone
        raise BadRequest(" ".join(str(exc).split())) from None
    return skill, scopes, _tool_declared(skill, profile)


def _tool_declared(skill: SkillSpec, profile: SandboxProfile) -> Declared:
    fs = profile.filesystem
    environment = {name for name, _ in profile.env}
    if profile.network.mode == "allowlist":
        environment |= set(PROXY_VARIABLES)
    return Declared(
        manifest=True,
        secrets=skill.permissions.secrets,
        network=(
            *skill.permissions.network,
            *(entry for tool in skill.tools for entry in tool.network or ()),
        ),
        readonly_paths=skill.permissions.readonly_paths,
        environment=frozenset(environment),
        filesystem=(
            *(bind.target for bind in fs.readonly_binds),
            *(tmpfs.path for tmpfs in fs.tmpfs),
            *fs.devices,
            *(link for link, _ in fs.symlinks),
            fs.work_dir,
            SKILL_MOUNT,
            "/proc",
        ),
        home=dict(profile.env).get("HOME", fs.work_dir),
        profile=profile.name,
    )


def _instruction_declared(skill: InstructionSkill, profiles: ProfileStore) -> Declared:
    """An instruction skill runs in sessions: what any session profile sets is there."""
    environment: set[str] = set()
    for name in profiles.names():
        try:
            profile = profiles.get(name)
        except SkillRuntimeError:
            continue  # a broken profile is `skillrt profile check`'s to report
        if profile.session is not None:
            environment |= {key for key, _ in profile.env}
    return Declared(
        manifest=False,
        secrets=skill.requires.env,
        network=(),
        readonly_paths=(),
        environment=frozenset(environment),
        filesystem=(),
        home="",
        profile="",
    )


def _own_checks(
    skill: SkillSpec | InstructionSkill, files: tuple[SkillFile, ...], declared: Declared
) -> tuple[list[VetFinding], tuple[Command, ...]]:
    findings: list[VetFinding] = []
    uses: list[Use] = []
    texts: list[str] = []
    whole_environment = False
    commands: tuple[Command, ...] = ()
    for file in files:
        data = file.path.read_bytes()
        text = data.decode("utf-8", "replace")
        if file.relative == "SKILL.md":
            needs = skill.requires
            instructions = read_instructions(text, (*needs.bins, *needs.any_bins))
            commands = instructions.commands
            for command in commands:
                scan = scan_shell(command.text, file.relative, first_line=command.line)
                uses += scan.uses
            uses += [
                Use(kind=UseKind.HOST, value=host, file=file.relative, line=line, command=False)
                for line, prose in instructions.body
                for host in hosts_in(prose)
            ]
            # Every line, the frontmatter's too (its metadata may hold install commands).
            findings += line_findings(enumerate(text.split("\n"), 1), file.relative)
            texts.append("\n".join(line for _, line in instructions.body))
        elif file.relative == "skill.toml":
            continue
        elif file.language is Language.PYTHON:
            tree = parse_python(data, file.relative)
            if tree is not None:
                python = scan_python(tree, file.relative)
                uses += python.uses
                whole_environment |= python.whole_environment
                findings += line_findings(python.strings, file.relative)
                findings += python_findings(tree, file.relative)
            texts.append(text)
        elif file.language is Language.SHELL:
            shell = scan_shell(text, file.relative)
            uses += shell.uses
            findings += line_findings(shell.lines, file.relative)
            texts.append(text)
        else:
            findings.append(_unread(file))
            texts.append(text)
    if isinstance(skill, SkillSpec):
        findings += entrypoint_findings(skill)
    findings += declared_findings(declared, uses, texts, whole_environment=whole_environment)
    return findings, commands


def _unread(file: SkillFile) -> VetFinding:
    if file.language is Language.CODE:
        return not_analysed(file, "no analyser here reads it")
    return not_analysed(file, "only scanned for secrets")
