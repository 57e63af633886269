"""The catalog folders: every skill in them, of either kind, and whether this host can use it.

A folder with ``skill.toml`` is a tool skill (runtime/core/manifest.py): tools skillrt runs. A
folder with SKILL.md alone is an instruction skill (runtime/core/instructions.py), an OpenClaw
skill as it is published, mounted into sessions. Each folder is judged on its own: one that is
broken or unavailable is listed with the reason and never hides or breaks the others.

Availability is decided on this host (runtime/core/availability.py): SKILL.md's ``os`` and
programs; the secrets it needs, which a skill gets only from the operator's grants
(runtime/core/skill_policy.py): an instruction skill the ones granted to it, a tool skill the ones
its manifest declares and the operator granted to it (a declared secret not granted makes it
unavailable, and NOT_FOUND when invoked); and, when the catalog is given the profiles, a sandbox
for each tool of a tool skill.

The daemon may serve several catalog folders (the bundled one and the operator's own, say). A
skill's name is its identity (grants, standing rules, approvals and audit entries name it), so a
name found in two folders is never served from either: it is listed unavailable, naming both,
until one is renamed or removed. Folders are read anew at each listing, so a skill dropped into
any of them is served without a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from runtime.core.availability import Host, missing_secret, unmet_requirement, unrunnable
from runtime.core.host_paths import unallowed_path
from runtime.core.instructions import InstructionSkill, load_instruction_skill
from runtime.core.manifest import SkillSpec, load_skill
from runtime.core.permissions import NO_PERMISSIONS
from runtime.core.skill_files import skill_files
from runtime.core.skill_policy import SkillPolicy, default_policy_file, load_policy
from runtime.core.skillmd import SKILL_NAME, Requirements, read_skill_md
from runtime.core.snapshots import SkillSnapshots
from runtime.errors import BadRequest, NoSuchEntity, SkillRuntimeError, WrongState
from runtime.sandbox.profiles import ProfileStore
from runtime.util.filecache import FileCache

__all__ = ["Catalog", "Gate", "Notice", "SkillEntry", "SkillKind", "secret_users"]

Notice = Callable[[str, str], None]  # (folder, reason) for a folder skipped or unavailable


class SkillKind(StrEnum):
    TOOL = "tool"  # skill.toml: tools skillrt runs
    INSTRUCTION = "instruction"  # SKILL.md alone: mounted into sessions


@dataclass(frozen=True, kw_only=True)
class SkillEntry:
    """One folder of the catalog, in whatever state it is."""

    name: str
    kind: SkillKind
    directory: Path
    description: str  # empty when SKILL.md cannot be read
    requires: Requirements = field(default_factory=Requirements)
    skill: SkillSpec | InstructionSkill | None = None  # None: the folder is broken
    unavailable_reason: str | None = None  # one line; None: available

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None


# A check the operator's policy adds to every loaded skill (a signature required, a quarantine):
# why the skill may not be served as it is, or None. Asked only of a skill otherwise available.
Gate = Callable[[SkillEntry], str | None]


class Catalog:
    """The skills of one or more catalog folders, each loaded from disk when asked for."""

    def __init__(
        self,
        directories: Path | Sequence[Path],
        *,
        policy_file: Path | None = None,
        allowed_paths: tuple[Path, ...] | None = None,
        host: Host | None = None,
        profiles: ProfileStore | None = None,
        notice: Notice | None = None,
        snapshots: SkillSnapshots | None = None,
        gates: Sequence[Gate] = (),
    ) -> None:
        self.directories = (directories,) if isinstance(directories, Path) else tuple(directories)
        if not self.directories:
            raise BadRequest("catalog: no skills folder given")
        # Where loaded skills are copied for sandboxes to bind; None: the process's own store.
        self.snapshots = snapshots
        # Several folders share one policy file: by default, the one beside the first.
        self.policy_file = policy_file or default_policy_file(self.directories[0])
        # The daemon's allowlist of host paths; None (a local run) leaves them to the author.
        self.allowed_paths = allowed_paths
        self.host = host or Host()
        self.profiles = profiles
        self._notice = notice
        self.gates = tuple(gates)
        self._noticed: set[tuple[str, str]] = set()
        self._tools: FileCache[SkillSpec] = FileCache()
        self._instructions: FileCache[InstructionSkill] = FileCache()
        self._policy: FileCache[SkillPolicy] = FileCache()

    def names(self) -> list[str]:
        """Every skill folder's name, sorted."""
        return [name for name in self._places() if SKILL_NAME.match(name)]

    def listing(self) -> list[SkillEntry]:
        """Every skill folder, sorted by name, each available or not with the reason."""
        entries = []
        kinds: dict[SkillKind, list[Path]] = {kind: [] for kind in SkillKind}
        for name, folders in self._places().items():
            if SKILL_NAME.match(name):
                entries.append(self._entry(folders))
                if len(folders) == 1:  # a name in two folders is not served: nothing to keep
                    kinds[entries[-1].kind].append(folders[0])
            else:
                reason = f"skipped: the name is not a skill name ({SKILL_NAME.pattern})"
                self._tell(name, reason)
        # Skills no longer in the folder (or of the other kind now) let go of their snapshots.
        self._tools.retain(kinds[SkillKind.TOOL])
        self._instructions.retain(kinds[SkillKind.INSTRUCTION])
        return entries

    def entry(self, name: str) -> SkillEntry:
        """One skill folder, available or not."""
        if not SKILL_NAME.match(name):
            raise BadRequest(f"skill name {name!r} is not valid")
        folders = [directory / name for directory in self.directories]
        found = [folder for folder in folders if folder.is_dir()]
        if not found:
            raise NoSuchEntity(f"unknown skill {name!r}")
        return self._entry(found)

    def get(self, name: str) -> SkillSpec:
        """A tool skill this host can run; WrongState with the reason when it cannot."""
        entry = self.entry(name)
        if entry.kind is not SkillKind.TOOL:
            raise NoSuchEntity(
                f"skill {name!r} has no tools: it is an instruction skill (SKILL.md without "
                "skill.toml), which sessions mount"
            )
        if isinstance(entry.skill, SkillSpec):
            secret = self._unbound_secret(entry.skill)
            if secret is not None:
                raise NoSuchEntity(f"secret {secret} is not granted to skill {name!r}")
        _check_available(entry)
        assert isinstance(entry.skill, SkillSpec)  # an available tool skill was loaded
        return entry.skill

    def instruction(self, name: str) -> InstructionSkill:
        """An instruction skill this host can mount; WrongState with the reason when it cannot."""
        entry = self.entry(name)
        if entry.kind is not SkillKind.INSTRUCTION:
            raise NoSuchEntity(
                f"skill {name!r} is a tool skill (it has skill.toml): invoke its tools instead"
            )
        _check_available(entry)
        assert isinstance(entry.skill, InstructionSkill)  # an available one was loaded
        return entry.skill

    def resolve(self, name_or_path: str) -> SkillSpec:
        """A skill folder given as a path (it holds skill.toml), else a catalog name."""
        path = Path(name_or_path)
        if "/" in name_or_path or name_or_path.startswith("."):
            if (path / "skill.toml").is_file():
                return load_skill(path, self.snapshots)
            if (path / "SKILL.md").is_file():
                raise NoSuchEntity(
                    f"{name_or_path}: an instruction skill (SKILL.md without skill.toml) has no "
                    "tools to run; sessions mount it"
                )
            raise NoSuchEntity(f"{name_or_path}: not a skill folder (no skill.toml)")
        return self.get(name_or_path)

    def policy(self) -> SkillPolicy:
        """The operator's grants, read again whenever the file changes."""
        file = self.policy_file
        return self._policy.get(file, [file] if file.exists() else [], lambda: load_policy(file))

    def _places(self) -> dict[str, list[Path]]:
        """Each name, sorted, with its folders in the order the catalog folders are given."""
        places: dict[str, list[Path]] = {}
        for directory in self.directories:
            if directory.is_dir():
                # Files beside the skills (a README, say) are not skills.
                for folder in (p for p in directory.iterdir() if p.is_dir()):
                    places.setdefault(folder.name, []).append(folder)
        return dict(sorted(places.items()))

    def _entry(self, folders: list[Path]) -> SkillEntry:
        folder = folders[0]
        if len(folders) > 1:
            places = " and ".join(str(f.parent) for f in folders)
            reason = f"defined in more than one catalog folder ({places}); rename or remove one"
            entry = _broken(folder, _kind(folder), reason)
        elif (folder / "skill.toml").is_file():
            entry = self._tool_entry(folder)
        else:
            entry = self._instruction_entry(folder)
        entry = self._gated(entry)
        if entry.unavailable_reason is not None:
            self._tell(entry.name, entry.unavailable_reason)
        return entry

    def _gated(self, entry: SkillEntry) -> SkillEntry:
        """The entry as the operator's gates leave it: the first one that refuses says why."""
        if entry.skill is None or entry.unavailable_reason is not None:
            return entry
        for gate in self.gates:
            reason = gate(entry)
            if reason is not None:
                return replace(entry, unavailable_reason=reason)
        return entry

    def _tool_entry(self, folder: Path) -> SkillEntry:
        try:
            skill = self._tools.get(
                folder, skill_files(folder), lambda: load_skill(folder, self.snapshots)
            )
        except (SkillRuntimeError, OSError) as exc:  # OSError: a file unreadable or just gone
            return _broken(folder, SkillKind.TOOL, str(exc))
        reason = unmet_requirement(skill.requires, self.host)
        secret = missing_secret(skill.requires, skill.permissions.secrets)
        if reason is None and secret is not None:
            reason = f"needs secret {secret}, which its skill.toml does not declare"
        if reason is None:
            try:
                unbound = self._unbound_secret(skill)
            except SkillRuntimeError as exc:  # the policy file is broken
                return _broken(folder, SkillKind.TOOL, str(exc))
            if unbound is not None:
                reason = (
                    f"declares secret {unbound}, which the operator has not granted to it "
                    f"(skills.{skill.name}.secrets in {self.policy_file})"
                )
        if reason is None and self.allowed_paths is not None:
            path = unallowed_path(skill.permissions.readonly_paths, self.allowed_paths)
            if path is not None:
                reason = (
                    f"reads host path {path}, which the operator does not allow "
                    "([catalog] allowed_readonly_paths)"
                )
        if reason is None and self.profiles is not None:
            reason = unrunnable(skill, self.profiles)
        return SkillEntry(
            name=skill.name,
            kind=SkillKind.TOOL,
            directory=skill.directory,
            description=skill.description,
            requires=skill.requires,
            skill=skill,
            unavailable_reason=reason,
        )

    def _unbound_secret(self, skill: SkillSpec) -> str | None:
        """The first secret the manifest declares that the operator has not granted the skill:
        a manifest asks, only the operator's policy gives."""
        if not skill.permissions.secrets:
            return None  # the policy file is not read for skills that need nothing from it
        granted = self.policy().granted(skill.name).secrets
        return next((name for name in skill.permissions.secrets if name not in granted), None)

    def _instruction_entry(self, folder: Path) -> SkillEntry:
        try:
            # Cached without grants: the policy file changes on its own.
            loaded = self._instructions.get(
                folder,
                skill_files(folder),
                lambda: load_instruction_skill(folder, NO_PERMISSIONS, self.snapshots),
            )
            skill = replace(loaded, grants=self.policy().granted(loaded.name))
        except (SkillRuntimeError, OSError) as exc:
            return _broken(folder, SkillKind.INSTRUCTION, str(exc))
        reason = unmet_requirement(skill.requires, self.host)
        secret = missing_secret(skill.requires, skill.grants.secrets)
        if reason is None and secret is not None:
            reason = f"needs secret {secret}, which the operator has not granted"
        return SkillEntry(
            name=skill.name,
            kind=SkillKind.INSTRUCTION,
            directory=skill.directory,
            description=skill.description,
            requires=skill.requires,
            skill=skill,
            unavailable_reason=reason,
        )

    def _tell(self, folder: str, reason: str) -> None:
        """Tell of a folder that cannot be used, once for each reason."""
        if self._notice is not None and (folder, reason) not in self._noticed:
            self._noticed.add((folder, reason))
            self._notice(folder, reason)


def _kind(folder: Path) -> SkillKind:
    return SkillKind.TOOL if (folder / "skill.toml").is_file() else SkillKind.INSTRUCTION


def _broken(folder: Path, kind: SkillKind, reason: str) -> SkillEntry:
    """A folder that is not served, with what its SKILL.md says if that much can be read."""
    try:
        front = read_skill_md(folder.resolve())
    except SkillRuntimeError:
        return SkillEntry(
            name=folder.name,
            kind=kind,
            directory=folder,
            description="",
            unavailable_reason=reason,
        )
    return SkillEntry(
        name=folder.name,
        kind=kind,
        directory=folder,
        description=front.description,
        requires=front.requires,
        unavailable_reason=reason,
    )


def _check_available(entry: SkillEntry) -> None:
    if entry.unavailable_reason is not None:
        raise WrongState(f"skill {entry.name!r} is unavailable: {entry.unavailable_reason}")


def secret_users(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """Secret name -> the skills that may receive it: tool skills whose manifest declares it,
    instruction skills the operator granted it to."""
    users: dict[str, list[str]] = {}
    for entry in catalog.listing():
        if isinstance(entry.skill, SkillSpec):
            secrets = entry.skill.permissions.secrets
        elif isinstance(entry.skill, InstructionSkill):
            secrets = entry.skill.grants.secrets
        else:
            continue  # a broken folder is reported where it is used; list the rest
        for secret in secrets:
            users.setdefault(secret, []).append(entry.name)
    return {name: tuple(skills) for name, skills in users.items()}
