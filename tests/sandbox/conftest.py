"""Session workspaces for the sandbox tests, unmounted and removed even when a test fails."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.sandbox.identity import HostIdentity
from runtime.sandbox.launcher import Launcher
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
def identity(launcher: Launcher) -> Iterator[HostIdentity]:
    """A host uid held for the test, as a session holds one (specs name it as identity)."""
    held = launcher.identities.acquire()
    try:
        yield held
    finally:
        held.release()


@pytest.fixture
def workspace(workspace_root: Path, identity: HostIdentity) -> Iterator[Workspace]:
    """An 8 MiB workspace owned by ``identity``, as a session's is."""
    created = Workspace.create(
        workspace_root, "session-1", WORKSPACE_BYTES, uid=identity.uid, gid=identity.gid
    )
    try:
        yield created
    finally:
        created.remove()
