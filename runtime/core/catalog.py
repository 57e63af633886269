"""The catalog folder: the skills in it, each loaded from disk when asked for."""

from __future__ import annotations

from pathlib import Path

from runtime.core.manifest import SkillSpec, load_skill
from runtime.core.skill_files import skill_files
from runtime.core.skillmd import SKILL_NAME
from runtime.errors import BadRequest, NoSuchEntity, SkillRuntimeError
from runtime.util.filecache import FileCache

__all__ = ["Catalog", "secret_users"]


class Catalog:
    """The skills of one catalog folder, each loaded from disk when asked for."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: FileCache[SkillSpec] = FileCache()

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.name for p in self.directory.iterdir() if (p / "skill.toml").is_file())

    def get(self, name: str) -> SkillSpec:
        if not SKILL_NAME.match(name):
            raise BadRequest(f"skill name {name!r} is not valid")
        folder = self.directory / name
        if not (folder / "skill.toml").is_file():
            raise NoSuchEntity(f"unknown skill {name!r}")
        return self._cache.get(folder, skill_files(folder), lambda: load_skill(folder))

    def resolve(self, name_or_path: str) -> SkillSpec:
        """A skill folder given as a path (it holds skill.toml), else a catalog name."""
        path = Path(name_or_path)
        if "/" in name_or_path or name_or_path.startswith("."):
            if not (path / "skill.toml").is_file():
                raise NoSuchEntity(f"{name_or_path}: not a skill folder (no skill.toml)")
            return load_skill(path)
        return self.get(name_or_path)


def secret_users(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """Secret name -> the skills whose manifest declares it."""
    users: dict[str, list[str]] = {}
    for skill_name in catalog.names():
        try:
            skill = catalog.get(skill_name)
        except SkillRuntimeError:
            continue  # a broken manifest is reported where it is used; list the rest
        for secret in skill.permissions.secrets:
            users.setdefault(secret, []).append(skill.name)
    return {name: tuple(skills) for name, skills in users.items()}
