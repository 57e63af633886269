"""Whether this host can give a skill what it needs, and if not, why (one line).

What SKILL.md requires: programs are looked up on the PATH that commands in sessions search, the
way the sandbox's own shell would find them (a program elsewhere on the host is of no use
inside), and ``os`` names the systems the skill runs on. A tool skill also needs, for each of
its tools, a sandbox from its profile, exactly as an invocation would build it.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass

from runtime.core.manifest import SkillSpec
from runtime.core.skillmd import Requirements
from runtime.core.spec import build_spec
from runtime.errors import SkillRuntimeError
from runtime.sandbox.profiles import LimitOverrides, ProfileStore

__all__ = ["SESSION_PATH", "Host", "missing_secret", "unmet_requirement", "unrunnable"]

SESSION_PATH = "/usr/local/bin:/usr/bin:/bin"


def _platform() -> str:
    """This system under the names SKILL.md uses (Node's process.platform)."""
    return "linux" if sys.platform.startswith("linux") else sys.platform


@dataclass(frozen=True, kw_only=True)
class Host:
    search_path: str = SESSION_PATH
    os: str = _platform()

    def has(self, program: str) -> bool:
        return shutil.which(program, path=self.search_path) is not None


def unmet_requirement(requires: Requirements, host: Host) -> str | None:
    """Why this host cannot run a skill with ``requires`` (secrets aside), or None."""
    if requires.os and host.os not in requires.os:
        return f"runs only on {', '.join(requires.os)}; this host is {host.os}"
    for program in requires.bins:
        if not host.has(program):
            return f"needs the program {program}, which this host lacks"
    if requires.any_bins and not any(host.has(p) for p in requires.any_bins):
        return f"needs one of the programs {', '.join(requires.any_bins)}, which this host lacks"
    return None


def missing_secret(requires: Requirements, secrets: tuple[str, ...]) -> str | None:
    """The first secret ``requires`` names that is not among those the skill may receive."""
    return next((name for name in requires.env if name not in secrets), None)


def unrunnable(skill: SkillSpec, profiles: ProfileStore) -> str | None:
    """Why a tool of ``skill`` would get no sandbox from its profile, or None."""
    try:
        profile = profiles.get(skill.profile)
    except SkillRuntimeError as exc:
        return f"{skill.directory / 'skill.toml'}: profile: {exc}"
    try:
        for tool in skill.tools:
            build_spec(skill, tool, profile, LimitOverrides())
    except SkillRuntimeError as exc:
        return str(exc)
    return None
