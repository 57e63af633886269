"""Session workspaces for the sandbox tests, unmounted and removed even when a test fails."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.sandbox.nsjail import SANDBOX_GID, SANDBOX_UID
from runtime.sandbox.workspace import Workspace, prepare_root, remove_stale

WORKSPACE_BYTES = 8 * 1024 * 1024


@pytest.fixture
def workspace_root() -> Iterator[Path]:
    """A prepared workspace root in a fresh temp dir; whatever a test leaves mounted goes."""
    parent = Path(tempfile.mkdtemp(prefix="skillrt-sessions-"))
    parent.chmod(0o755)
    root = parent / "workspaces"
    prepare_root(root)
    try:
        yield root
    finally:
        remove_stale(root)
        # Only once nothing is mounted under it: rmtree must never reach into a mount.
        shutil.rmtree(parent)


@pytest.fixture
def workspace(workspace_root: Path) -> Iterator[Workspace]:
    """An 8 MiB workspace for the sandbox user."""
    created = Workspace.create(
        workspace_root, "session-1", WORKSPACE_BYTES, uid=SANDBOX_UID, gid=SANDBOX_GID
    )
    try:
        yield created
    finally:
        created.remove()
