"""Shared fixtures: the real launcher on this host, the bundled profiles and catalog."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.core.catalog import Catalog
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.pool import PoolLabel, PoolSettings, WarmPool
from runtime.sandbox.profiles import LimitOverrides, ProfileStore, SandboxProfile
from runtime.sandbox.result import SandboxResult
from runtime.util import paths

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def no_saved_targets() -> Iterator[None]:
    """The command lines the tests run (in process or as subprocesses, which inherit this
    environment) never read the saved targets of whoever runs the tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKILLRT_CLIENT_CONFIG", "/nonexistent/skillrt-client.toml")
        yield


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
        return type(self)(self.launcher, replace(self.profile, **changes))  # type: ignore[arg-type]


# A warm sandbox's tool waits for its call's input: the code runs only once stdin is readable.
_WAIT_FOR_INPUT = "import select; select.select([0], [], [])\n"


class WarmJail(Jail):
    """Runs Python code in a warm sandbox: started by the pool ahead of its input, then taken by
    a call (the pool reports the hit), as the daemon's warm pool serves calls."""

    def python(self, code: str, stdin: bytes = b"", **overrides: int | float) -> SandboxResult:
        spec = self.spec(["/usr/bin/python3", "-c", _WAIT_FOR_INPUT + code], **overrides)
        label = PoolLabel(skill="test", tool="jail", profile=self.profile.name, content_hash="-")

        async def go() -> SandboxResult:
            pool = WarmPool(self.launcher, PoolSettings(enabled=True, max_per_key=1))
            try:
                await (await pool.take(spec, label, ())).close()  # a miss: now it is in demand
                deadline = time.monotonic() + 30
                while pool.status().ready < 1:
                    assert time.monotonic() < deadline, "no warm sandbox started"
                    await asyncio.sleep(0.01)
                sandbox = await pool.take(spec, label, ())
                assert [k.hits for k in pool.status().keys] == [1]
                return await sandbox.run(stdin)
            finally:
                await pool.close()

        return asyncio.run(go())


@pytest.fixture(params=["cold", "warm"])
def jail(request: pytest.FixtureRequest, launcher: Launcher, profiles: ProfileStore) -> Jail:
    """The default profile, ready to run commands: each test runs in a sandbox started for it,
    and again in a warm one (isolation must be the same)."""
    kind = WarmJail if request.param == "warm" else Jail
    return kind(launcher, profiles.get("default"))


@pytest.fixture(params=["cold", "warm"])
def minimal_jail(
    request: pytest.FixtureRequest, launcher: Launcher, profiles: ProfileStore
) -> Jail:
    kind = WarmJail if request.param == "warm" else Jail
    return kind(launcher, profiles.get("minimal"))
