"""Shared fixtures: the real launcher on this host, the bundled profiles and catalog."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from runtime import paths
from runtime.catalog import Catalog
from runtime.profiles import LimitOverrides, ProfileStore, SandboxProfile
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.result import SandboxResult

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def profiles() -> ProfileStore:
    return ProfileStore(paths.PROJECT_ROOT / "sandbox_profiles")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog(paths.PROJECT_ROOT / "skills_catalog")


@pytest.fixture(scope="session")
def launcher() -> Launcher:
    return Launcher.for_host()


class Jail:
    """Runs one command in a fresh sandbox and returns its result (a sync helper for tests)."""

    def __init__(self, launcher: Launcher, profile: SandboxProfile) -> None:
        self.launcher = launcher
        self.profile = profile

    def spec(self, argv: Sequence[str], **overrides: int | float) -> SandboxSpec:
        limits = self.profile.limits.tighten(LimitOverrides(**overrides), source="test")  # type: ignore[arg-type]
        return SandboxSpec(argv=tuple(argv), profile=self.profile, limits=limits)

    def run(
        self, argv: Sequence[str], stdin: bytes = b"", *, name: str | None = None, **overrides: int | float
    ) -> SandboxResult:
        async def go() -> SandboxResult:
            sandbox = await self.launcher.start(self.spec(argv, **overrides), name=name)
            return await sandbox.run(stdin)

        return asyncio.run(go())

    def python(self, code: str, stdin: bytes = b"", **overrides: int | float) -> SandboxResult:
        return self.run(["/usr/bin/python3", "-c", code], stdin, **overrides)

    def with_profile(self, **changes: object) -> Jail:
        return Jail(self.launcher, replace(self.profile, **changes))  # type: ignore[arg-type]


@pytest.fixture
def jail(launcher: Launcher, profiles: ProfileStore) -> Jail:
    """The default profile, ready to run commands."""
    return Jail(launcher, profiles.get("default"))


@pytest.fixture
def minimal_jail(launcher: Launcher, profiles: ProfileStore) -> Jail:
    return Jail(launcher, profiles.get("minimal"))
