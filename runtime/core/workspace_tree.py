"""Removing a directory tree that a sandboxed command may be changing at the same time.

shutil.rmtree's descriptor-based walk would do, but it recurses once per level: a command can
nest directories deeper than the interpreter's recursion limit. This walk is a loop, holds one
descriptor per level, never follows a link, and stops at a path's maximum length.
"""

from __future__ import annotations

import contextlib
import os

from runtime.core.workspace_paths import DIR_FLAGS, PATH_MAX, Location
from runtime.errors import OverLimit

__all__ = ["remove_tree"]


def remove_tree(at: Location, path: str) -> None:
    """Remove a directory and everything under it through descriptors, never following a link,
    one open descriptor per level (so depth is bounded like a path's length)."""
    assert at.name is not None
    chain: list[tuple[int, str, int]] = []  # (parent's fd, name, own fd) per level entered
    depth = len(os.fsencode(at.path))
    try:
        chain.append((at.dir_fd, at.name, os.open(at.name, DIR_FLAGS, dir_fd=at.dir_fd)))
        while chain:
            parent, name, fd = chain[-1]
            child = _clear_files(fd)
            if child is None:
                chain.pop()
                os.close(fd)
                os.rmdir(name, dir_fd=parent)
                depth -= len(os.fsencode(name)) + 1
            elif depth + len(os.fsencode(child)) + 1 >= PATH_MAX:
                raise OverLimit(f"{path!r}: too deep to remove here; remove it with a command")
            else:
                with contextlib.suppress(FileNotFoundError):  # removed meanwhile: scan again
                    chain.append((fd, child, os.open(child, DIR_FLAGS, dir_fd=fd)))
                    depth += len(os.fsencode(child)) + 1
    finally:
        for _, _, fd in chain:
            os.close(fd)


def _clear_files(fd: int) -> str | None:
    """Unlink everything but directories in ``fd``; the first subdirectory met, if any."""
    with os.scandir(fd) as scan:
        for entry in scan:
            if entry.is_dir(follow_symlinks=False):
                return entry.name
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.name, dir_fd=fd)
    return None
