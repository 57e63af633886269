"""Shared fixtures: the real launcher on this host, the bundled profiles and catalog."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.core.catalog import Catalog
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.profiles import LimitOverrides, ProfileStore, SandboxProfile
from runtime.sandbox.result import SandboxResult
from runtime.util import paths

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def profiles() -> ProfileStore:
    return ProfileStore(paths.PROJECT_ROOT / "sandbox_profiles")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog(paths.PROJECT_ROOT / "skills_catalog")


@pytest.fixture
def reachable_tmp() -> Iterator[Path]:
    """A temporary folder the sandbox user can reach (pytest's own tmp_path is mode 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="skillrt-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def launcher() -> Launcher:
    return Launcher.for_host("skillrt-test")


class Jail:
    """Runs one command in a fresh sandbox and returns its result (a sync helper for tests)."""

    def __init__(self, launcher: Launcher, profile: SandboxProfile) -> None:
        self.launcher = launcher
        self.profile = profile

    def spec(self, argv: Sequence[str], **overrides: int | float) -> SandboxSpec:
        wanted = LimitOverrides(**overrides)  # type: ignore[arg-type]
        limits = self.profile.limits.tighten(wanted, source="test")
        return SandboxSpec(argv=tuple(argv), profile=self.profile, limits=limits)

    def run(
        self,
        argv: Sequence[str],
        stdin: bytes = b"",
        *,
        name: str | None = None,
        **overrides: int | float,
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
