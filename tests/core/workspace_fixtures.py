"""Workspaces for the workspace-file tests: a plain directory, or a real size-capped tmpfs."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from runtime.core.workspace_files import WorkspaceFiles

SANDBOX_UID = 65534
SANDBOX_GID = 65534
MAX_READ = 64 * 1024
MAX_WRITE = 4 * 1024 * 1024  # more than the small tmpfs holds, so its quota is what stops a write


def files_at(root: Path) -> WorkspaceFiles:
    return WorkspaceFiles(
        root, uid=SANDBOX_UID, gid=SANDBOX_GID, max_read_bytes=MAX_READ, max_write_bytes=MAX_WRITE
    )


@contextlib.contextmanager
def small_tmpfs(size: str = "1m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on a fresh directory, unmounted and removed afterwards."""
    mountpoint = Path(tempfile.mkdtemp(prefix="skillrt-ws-test-"))
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mountpoint)],
        check=True,
    )
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=True)
        mountpoint.rmdir()
