"""Fixtures for the bundled skills: run a tool in its real sandbox, or through the real CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest

from runtime.core.catalog import Catalog
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.profiles import ProfileStore
from runtime.util import paths
from tests.skills.runner import Cli, SkillRunner


@pytest.fixture
def skills(catalog: Catalog, profiles: ProfileStore, launcher: Launcher) -> SkillRunner:
    return SkillRunner(catalog, profiles, launcher)


@pytest.fixture
def cli(catalog: Catalog, profiles: ProfileStore) -> Cli:
    """``skillrt --catalog ... --profiles ... ARGS`` as a subprocess."""

    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "runtime.cli.main",
                "--catalog",
                str(catalog.directories[0]),
                "--profiles",
                str(profiles.directory),
                *args,
            ],
            capture_output=True,
            text=True,
            cwd=paths.PROJECT_ROOT,
            timeout=120,
            check=False,
        )

    return invoke
