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
from runtime.core.skill_files import content_hash
from runtime.core.skillmd import Requirements, read_skill_md

__all__ = ["InstructionSkill", "load_instruction_skill"]


@dataclass(frozen=True, kw_only=True)
class InstructionSkill:
    name: str
    description: str
    directory: Path
    content_hash: str  # sha256 over every file of the folder, as for tool skills
    requires: Requirements  # from SKILL.md
    grants: Permissions  # the operator's, from the skills policy file

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


def load_instruction_skill(directory: Path, grants: Permissions) -> InstructionSkill:
    """Parse one instruction skill folder; errors name the file and key."""
    directory = directory.resolve()
    front = read_skill_md(directory)
    return InstructionSkill(
        name=front.name,
        description=front.description,
        directory=directory,
        content_hash=content_hash(directory),
        requires=front.requires,
        grants=grants,
    )
