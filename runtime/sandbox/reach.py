"""Whether the sandbox user can reach a host path that a sandbox binds."""

from __future__ import annotations

import os

from runtime.errors import IsolationUnavailable

__all__ = ["check_reachable"]


def check_reachable(path: str, *, what: str, uid: int | None = None) -> None:
    """nsjail mounts as the sandbox's host uid (and gid of the same number), so every parent of
    ``path`` must be searchable by it; None: by any sandbox, as others. ``what`` names the path
    in the error (``read-only bind``, say)."""
    parent = os.path.dirname(os.path.abspath(path))
    while True:
        refused = _refused_search(os.stat(parent), uid)
        if refused is not None:
            raise IsolationUnavailable(
                f"{what} {path} is not reachable by the sandbox user: "
                f"{parent} is not searchable by {refused}"
            )
        if parent == "/":
            return
        parent = os.path.dirname(parent)


def _refused_search(info: os.stat_result, uid: int | None) -> str | None:
    """Whose search permission refuses the sandbox user, as the kernel picks the bits to check:
    the owner's if it owns the directory (a session's workspace), else the group's, else others'.
    """
    if info.st_uid == uid:
        return None if info.st_mode & 0o100 else "its owner, the sandbox user (needs u+x)"
    if info.st_gid == uid:
        return None if info.st_mode & 0o010 else "its group, the sandbox group (needs g+x)"
    return None if info.st_mode & 0o001 else "others (needs o+x)"
