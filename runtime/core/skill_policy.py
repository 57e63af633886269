"""The operator's grants to instruction skills: ``skills-policy.toml``, beside the catalog folder.

    [skills.weather]
    network = ["wttr.in:443"]               # egress allowlist, as permissions.network
    readonly_paths = ["/etc/ssl/certs"]     # host paths mounted read-only, as permissions
    secrets = ["WEATHER_API_KEY"]           # secrets it may receive (its requires.env)
    principals = ["my-agent"]               # who may mount it; required when it has secrets

A skill never grants itself anything: what its SKILL.md asks for is a requirement, met only when
this file grants it. A tool skill's ``[permissions] secrets`` are requests too: of this file only
``secrets`` applies to a tool skill, and a secret its skill.toml declares reaches it only when
listed here for it (otherwise the skill is unavailable, naming the secret). No file means no
grants. The file is policy, so it is read strictly: an
unknown key or a wrong type is an error naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runtime.core.permissions import NO_PERMISSIONS, Permissions, parse_permissions
from runtime.core.skillmd import SKILL_NAME
from runtime.util.tomlfields import Table

__all__ = ["POLICY_FILE", "SkillPolicy", "default_policy_file", "load_policy"]

POLICY_FILE = "skills-policy.toml"


@dataclass(frozen=True, kw_only=True)
class SkillPolicy:
    source: Path
    grants: Mapping[str, Permissions] = field(default_factory=dict)
    principals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def granted(self, skill: str) -> Permissions:
        return self.grants.get(skill, NO_PERMISSIONS)

    def may_mount(self, skill: str, principal: str) -> bool:
        """Whether ``principal``'s sessions may mount ``skill``. A session's commands can read
        whatever the skill receives, so a skill granted secrets goes only to the principals
        listed for it; one without secrets goes to anyone unless a list narrows it."""
        listed = self.principals.get(skill)
        if listed is None:
            return not self.granted(skill).secrets
        return principal in listed


def default_policy_file(catalog_dir: Path) -> Path:
    return catalog_dir.parent / POLICY_FILE


def load_policy(file: Path) -> SkillPolicy:
    """The grants in ``file``; none when it does not exist."""
    if not file.exists():
        return SkillPolicy(source=file)
    doc = Table.load(file)
    skills = doc.table("skills")
    grants = {}
    principals = {}
    for name in skills.names():
        if not SKILL_NAME.match(name):
            raise skills.error(name, f"not a skill name (names match {SKILL_NAME.pattern})")
        entry = skills.table(name)
        if entry.has("principals"):
            principals[name] = entry.str_list("principals")
        grants[name] = parse_permissions(entry)
    skills.finish()
    doc.finish()
    return SkillPolicy(source=file, grants=grants, principals=principals)
