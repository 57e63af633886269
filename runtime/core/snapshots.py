"""Content-addressed, read-only snapshots of skill folders: what sandboxes bind.

A sandbox never binds an author's folder. Loading a skill copies its files into
``<root>/<content hash>/`` (a staging folder renamed into place, so a snapshot is whole or
absent), and the hash is computed from the bytes copied (runtime/core/skill_files.py). So where
an author keeps a skill does not matter (a private home, a 0700 checkout), the sandbox learns
only the hash from its mount table, and what runs is exactly what was hashed: a folder edited
after load changes nothing until it is loaded again, as a new snapshot with a new hash, while a
run already started keeps the one it was given.

A snapshot is in use while anything holds its handle (``Snapshot``): a skill loaded in the
catalog, a prepared invocation, a running one. Handles are tracked weakly, so no path of the
pipeline (refusal, approval, cancellation) has to remember to let go; ``collect`` removes what
nothing holds.

The root must be reachable by the sandbox user (nsjail mounts as that user: every parent needs
o+x, measured; 0711 lets it search without listing), and only the daemon may write into it,
or another user could plant a snapshot under a hash it expects to be served.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import secrets
import shutil
import stat
import tempfile
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from runtime.core.skill_files import copy_skill
from runtime.errors import IsolationUnavailable, SkillRuntimeError
from runtime.sandbox.reach import check_reachable
from runtime.util.fsio import hold_exclusive

__all__ = ["SNAPSHOTS_BASE", "SkillSnapshots", "Snapshot", "local_snapshots"]

# The stores by default: one folder per daemon (named like its cgroup root), and one for each
# process that runs skills without a daemon (``skillrt run``).
SNAPSHOTS_BASE = Path("/run/skillrt-skills")
_HASH = re.compile(r"^[0-9a-f]{64}$")
_DIR_MODE = 0o711


@dataclass(frozen=True, kw_only=True, eq=False)  # eq=False: each handle is tracked on its own
class Snapshot:
    """One snapshot of a skill folder; holding this handle keeps it on disk."""

    content_hash: str
    path: Path

    @contextlib.contextmanager
    def read_as(self, folder: Path) -> Iterator[Path]:
        """The snapshot's path to parse a skill from, with errors naming the author's ``folder``
        instead (an author edits their files, never the daemon's copy)."""
        try:
            yield self.path
        except SkillRuntimeError as exc:
            exc.message = exc.message.replace(str(self.path), str(folder))
            exc.args = (exc.message,)
            raise


class SkillSnapshots:
    """The snapshots under one root, owned by one daemon (or one local process)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()  # the paths of snapshots are compared with resolved ones
        self._lock = threading.Lock()
        self._held: weakref.WeakValueDictionary[str, Snapshot] = weakref.WeakValueDictionary()
        self._opened = False
        self._owner = -1  # a lock on the root while open: one store per root on the host

    def open(self) -> None:
        """Create the root (and missing parents) 0711, refuse one others may write into, and
        empty it: before the first load nothing is held. Once; ``take`` calls it too."""
        with self._lock:
            if self._opened:
                return
            _make_root(self.root)
            # Opening empties the root, which would pull another store's snapshots from under
            # its running sandboxes.
            busy = f"skill snapshot folder {self.root}: another skillrt process is using it"
            self._owner = hold_exclusive(self.root, busy=busy)
            for entry in os.scandir(self.root):
                _remove(Path(entry.path))
            self._opened = True

    def take(self, folder: Path) -> Snapshot:
        """The snapshot of ``folder`` as it is now: copied, hashed, and served from then on."""
        self.open()
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            digest = copy_skill(folder, staging)
            _seal(staging)
            with self._lock:
                path = self.root / digest
                if not path.exists():  # else the same bytes, held or not yet collected
                    staging.rename(path)
                snapshot = self._held.get(digest)
                if snapshot is None:
                    snapshot = Snapshot(content_hash=digest, path=path)
                    self._held[digest] = snapshot
                return snapshot
        finally:
            if staging.exists():
                _remove(staging)

    def collect(self) -> list[str]:
        """Remove every snapshot no handle holds; the hashes removed."""
        doomed: list[tuple[str, Path]] = []
        with self._lock:
            if not self._opened:
                return []
            for entry in os.scandir(self.root):
                if _HASH.match(entry.name) and entry.name not in self._held:
                    # Renamed first: a snapshot is whole or absent, even if removal is cut short.
                    trash = self.root / f".trash-{secrets.token_hex(8)}"
                    os.rename(entry.path, trash)
                    doomed.append((entry.name, trash))
        for _, trash in doomed:
            _remove(trash)
        return [name for name, _ in doomed]

    def close(self) -> None:
        """The daemon stops: remove the root and everything in it."""
        with self._lock:
            if self.root.exists():
                _remove(self.root)
            if self._owner >= 0:
                os.close(self._owner)
                self._owner = -1
            self._opened = False


@functools.cache
def local_snapshots() -> SkillSnapshots:
    """A process's own store when no daemon serves it: a fresh folder, removed at exit."""
    try:
        _make_dirs(SNAPSHOTS_BASE)
        root = Path(tempfile.mkdtemp(prefix="local-", dir=SNAPSHOTS_BASE))
    except PermissionError:  # not root: a temporary folder, if the sandbox user can reach it
        root = Path(tempfile.mkdtemp(prefix="skillrt-skills-"))
    root.chmod(_DIR_MODE)
    store = SkillSnapshots(root)
    weakref.finalize(store, _remove, root)
    return store


def _make_root(root: Path) -> None:
    _make_dirs(root)
    check_reachable(str(root / "x"), what="skill snapshot folder")
    info = root.stat()
    if info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise IsolationUnavailable(
            f"skill snapshot folder {root}: must belong to the daemon's user and be writable by "
            f"no one else (it is mode {stat.S_IMODE(info.st_mode):04o}, uid {info.st_uid})"
        )
    parent = root.parent
    while True:
        info = parent.stat()
        sticky = info.st_mode & stat.S_ISVTX
        if info.st_uid not in (0, os.geteuid()) or (info.st_mode & 0o022 and not sticky):
            raise IsolationUnavailable(
                f"skill snapshot folder {root}: {parent} may be changed by another user"
            )
        if parent == parent.parent:
            return
        parent = parent.parent


def _make_dirs(path: Path) -> None:
    """``path`` and its missing parents, each 0711 (search, not list, for the sandbox user)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=_DIR_MODE, exist_ok=True)
        folder.chmod(_DIR_MODE)  # mkdir's mode is cut by the umask


def _seal(folder: Path) -> None:
    """Every folder of a snapshot read-only (files were written read-only)."""
    for parent, dirs, _ in os.walk(folder, topdown=False):
        for name in dirs:
            os.chmod(os.path.join(parent, name), 0o555, follow_symlinks=False)
    folder.chmod(0o555)


def _remove(path: Path) -> None:
    """Remove a snapshot (or anything under the root), read-only folders and all."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
        return
    # Read-only folders stop a daemon that does not run as root from removing their entries.
    for parent, dirs, _ in os.walk(path):
        for name in dirs:
            child = os.path.join(parent, name)
            if not os.path.islink(child):
                os.chmod(child, 0o700)
    path.chmod(0o700)
    shutil.rmtree(path, ignore_errors=True)
