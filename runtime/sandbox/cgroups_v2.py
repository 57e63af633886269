"""cgroup v2 delegation: which cgroup skillrt makes its groups in, and claiming it.

On cgroup v2 skillrt's groups live below the cgroup the process was started in, the subtree a
service manager delegates to it (a systemd unit with ``Delegate=yes``, a container's own
cgroup): the service manager's accounting and its stop then reach every sandbox too. Claiming
that cgroup takes three things the kernel enforces:

- its parent must have delegated the memory, pids and cpu controllers (they are listed in its
  ``cgroup.controllers``): systemd does so only for a unit with ``Delegate=yes``;
- it must be writable (a read-only cgroupfs, as containers often mount it, is not delegated);
- it must hold no process once it gives controllers to child groups: the "no internal
  processes" rule (only the root cgroup is exempt). skillrt moves itself, when it is alone
  there, into a ``supervisor`` leaf, the name systemd's ``DelegateSubgroup=`` uses; any other
  process there makes it refuse, since moving another program's processes is not its to do.

A process in a ``supervisor`` leaf (skillrt after it moved, its children, or a unit with
``DelegateSubgroup=supervisor``) uses the leaf's parent as its delegated cgroup.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from runtime.errors import IsolationUnavailable

__all__ = ["SUPERVISOR", "claim", "delegated_dir", "own_cgroup"]

SUPERVISOR = "supervisor"
_HOW = (
    "run skillrt in a cgroup of its own with the controllers delegated: a systemd unit needs "
    "Delegate=yes (for a command line, systemd-run --scope -p Delegate=yes skillrt ...)"
)


def own_cgroup(proc_self_cgroup: str) -> str | None:
    """This process's cgroup v2 path (``/proc/self/cgroup``'s ``0::`` line), if it has one."""
    for line in proc_self_cgroup.splitlines():
        if line.startswith("0::"):
            return line[3:].strip() or "/"
    return None


def delegated_dir(mount: Path, mount_root: str, own: str) -> Path | str:
    """The directory of the cgroup delegated to this process, or why there is none.

    ``mount_root`` is the cgroup the mount shows at ``mount`` (mountinfo's fourth field: ``/``
    unless the mount is of a subtree); ``own`` is this process's cgroup.
    """
    path, root = PurePosixPath(own), PurePosixPath(mount_root)
    if path.name == SUPERVISOR:
        path = path.parent
    if path != root and root not in path.parents:
        return f"this process's cgroup {own} is not below the cgroup2 mount {mount} ({mount_root})"
    return mount / path.relative_to(root)


def claim(base: Path, controllers: Iterable[str], pid: int) -> None:
    """Enable ``controllers`` for ``base``'s child groups, moving process ``pid`` (this one) into
    the supervisor leaf first when it is there; IsolationUnavailable says why it cannot."""
    wanted = list(controllers)
    available = _words(base / "cgroup.controllers")
    missing = [c for c in wanted if c not in available]
    if missing:
        raise IsolationUnavailable(
            f"cgroup v2: {base} lacks the {', '.join(missing)} controller(s): its parent cgroup "
            f"does not delegate them to skillrt; {_HOW}"
        )
    enabled = _words(base / "cgroup.subtree_control")
    if all(c in enabled for c in wanted):
        return  # claimed already (by this process, or an earlier skillrt in the same cgroup)
    # The root cgroup alone has no cgroup.type, and alone may hold processes and give controllers.
    if (base / "cgroup.type").exists():
        procs = [int(p) for p in _words(base / "cgroup.procs")]
        others = [p for p in procs if p != pid]
        if others:
            raise _internal_processes(base, others)
        if pid in procs:
            leaf = base / SUPERVISOR
            _write(leaf, lambda: leaf.mkdir(exist_ok=True))
            _write(leaf, lambda: (leaf / "cgroup.procs").write_text(str(pid)))
    control = base / "cgroup.subtree_control"
    try:
        control.write_text(" ".join(f"+{c}" for c in wanted if c not in enabled))
    except OSError as exc:
        if exc.errno == errno.EBUSY:  # a process joined it meanwhile
            joined = [int(p) for p in _words(base / "cgroup.procs")]
            raise _internal_processes(base, joined) from exc
        raise _not_delegated(control, exc) from exc


def _words(file: Path) -> list[str]:
    try:
        return file.read_text().split()
    except OSError as exc:
        raise IsolationUnavailable(f"cgroup v2: cannot read {file}: {exc.strerror}") from exc


def _write(path: Path, write: Callable[[], object]) -> None:
    try:
        write()
    except OSError as exc:
        raise _not_delegated(path, exc) from exc


def _not_delegated(path: Path, exc: OSError) -> IsolationUnavailable:
    return IsolationUnavailable(
        f"cgroup v2: cannot write {path} ({exc.strerror}): the cgroup is not delegated to "
        f"skillrt (a read-only cgroupfs, or a service without delegation); {_HOW}"
    )


def _internal_processes(base: Path, pids: list[int]) -> IsolationUnavailable:
    shown = ", ".join(str(p) for p in pids[:5]) + (", ..." if len(pids) > 5 else "")
    return IsolationUnavailable(
        f"cgroup v2: {base} holds other processes (pids {shown}): a cgroup that holds processes "
        f"cannot give controllers to child groups (cgroup v2's no internal processes rule), so "
        f"skillrt cannot make its groups there; {_HOW}"
    )
