"""Instruction skills: OpenClaw skills as they are published, a folder with SKILL.md and no
skill.toml.

Such a skill has no tools for skillrt to run: its instructions tell the agent which programs to
drive, and its files (scripts, references) are mounted read-only into the sessions that ask for
it. What it may reach beyond the session (network, host paths, secrets) comes from the
operator's grants, never from the skill.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runtime.core.permissions import Permissions
from runtime.core.skillmd import Requirements, read_skill_md
from runtime.core.snapshots import SkillSnapshots, Snapshot, local_snapshots

__all__ = ["InstructionSkill", "load_instruction_skill"]


@dataclass(frozen=True, kw_only=True)
class InstructionSkill:
    name: str
    description: str
    directory: Path  # the author's folder, which messages name
    snapshot: Snapshot  # what was parsed, and what sessions bind
    requires: Requirements  # from SKILL.md
    grants: Permissions  # the operator's, from the skills policy file

    @property
    def content_hash(self) -> str:
        """sha256 over every file of the folder, as for tool skills."""
        return self.snapshot.content_hash

    @property
    def requires_bins(self) -> tuple[str, ...]:
        return self.requires.bins

    @property
    def requires_any_bins(self) -> tuple[str, ...]:
        return self.requires.any_bins

    @property
    def requires_env(self) -> tuple[str, ...]:
        """Secrets it needs: all among ``grants.secrets`` when the skill is available."""
        return self.requires.env

    @property
    def os(self) -> tuple[str, ...]:
        return self.requires.os


def load_instruction_skill(
    directory: Path, grants: Permissions, snapshots: SkillSnapshots | None = None
) -> InstructionSkill:
    """Snapshot one instruction skill folder and parse the snapshot; errors name the author's
    file and key. Without ``snapshots``, the process's own store."""
    directory = directory.resolve()
    snapshot = (snapshots or local_snapshots()).take(directory)
    with snapshot.read_as(directory) as source:
        front = read_skill_md(source, name=directory.name)
    return InstructionSkill(
        name=front.name,
        description=front.description,
        directory=directory,
        snapshot=snapshot,
        requires=front.requires,
        grants=grants,
    )
