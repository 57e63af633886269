"""One sandbox's egress, from start to cleanup: the proxy, its socket and the bridge.

``EgressSession.open`` starts an invocation's proxy on a Unix socket in a fresh directory that
only the given owner (the sandbox user) can enter. Its ``attachment`` is what the sandbox must
add to use it: the directory bound read-only at ``SANDBOX_SOCKET_DIR``, the tool started behind
the bridge, the proxy variables set; the sandbox applies it to its own spec, so that this
package knows nothing of specs. The proxy serves nobody until ``admit`` names the sandbox's
processes; once the sandbox has mounted the directory, ``hide`` renames it to a name that
appears nowhere (nsjail's argv shows the first). ``close`` stops the proxy, cutting whatever is
still open, removes the directory and reports every attempt.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import ipaddress
import os
import secrets
import shutil
import socket
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil
import structlog

from runtime.errors import IsolationUnavailable, SandboxError
from runtime.sandbox.egress import BRIDGE_INTERPRETER, BRIDGE_PORT, PROXY_VARIABLES
from runtime.sandbox.egress.peer import Members
from runtime.sandbox.egress.policy import EgressRule, EgressSettings, IPAddress, settings_from_env
from runtime.sandbox.egress.proxy import AttemptCallback, EgressLimits, EgressProxy, EgressReport

__all__ = [
    "SANDBOX_SOCKET_DIR",
    "SOCKET_NAME",
    "Attachment",
    "EgressSession",
    "host_addresses",
    "load_settings",
    "proxy_env",
    "remove_stale_sessions",
]

SANDBOX_SOCKET_DIR = "/run/skillrt-egress"
SOCKET_NAME = "proxy.sock"
_PROXY_URL = f"http://127.0.0.1:{BRIDGE_PORT}"
# Passed with -c rather than bound as a file: the package may live where the sandbox user
# cannot reach (/root is 0700), and an argument needs no mount.
_BRIDGE_SOURCE = Path(__file__).with_name("bridge.py").read_text(encoding="utf-8")
_BRIDGE_ARGV = (
    BRIDGE_INTERPRETER,
    "-I",
    "-S",
    "-c",
    _BRIDGE_SOURCE,
    f"{SANDBOX_SOCKET_DIR}/{SOCKET_NAME}",
    str(BRIDGE_PORT),
    "--",
)


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """What a sandbox adds to reach its session's proxy."""

    argv_prefix: tuple[str, ...]  # the bridge, which runs the argv that follows it
    env: tuple[tuple[str, str], ...]  # the proxy variables
    socket_dir: str  # the session's directory on the host, bound read-only at mount_point
    mount_point: str


def load_settings() -> EgressSettings:
    """The test-only egress settings of this process's environment (normally none)."""
    settings = settings_from_env(os.environ)
    if settings.active:
        # Loud on purpose: these settings let sandboxes reach addresses that are refused in
        # production, such as a test server on the host's loopback.
        structlog.wrap_logger(structlog.PrintLogger(sys.stderr)).warning(
            settings.describe(), logger="skillrt.egress"
        )
    return settings


def proxy_env() -> tuple[tuple[str, str], ...]:
    return tuple((name, _PROXY_URL) for name in PROXY_VARIABLES)


def host_addresses() -> frozenset[IPAddress]:
    """Every address of this host's interfaces: a sandbox must not reach the host through them."""
    found: set[IPAddress] = set()
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family in (socket.AF_INET, socket.AF_INET6):
                found.add(ipaddress.ip_address(address.address.split("%")[0]))
    return frozenset(found)


class EgressSession:
    def __init__(self, *, proxy: EgressProxy, directory: str) -> None:
        self.proxy = proxy
        self.directory = directory
        # Held while the session lives (a lock on the directory itself, which moves with it on
        # ``hide``): how a sweep tells a live session from one whose process died, without
        # connecting to its proxy.
        self._alive = _lock_directory(directory)

    @classmethod
    async def open(
        cls,
        *,
        rules: Sequence[EgressRule],
        limits: EgressLimits,
        settings: EgressSettings,
        owner_uid: int,
        owner_gid: int,
        on_attempt: AttemptCallback | None = None,
    ) -> EgressSession:
        """A listening proxy whose socket only ``owner_uid``/``owner_gid`` can reach."""
        proxy = EgressProxy(
            rules=rules,
            limits=limits,
            settings=settings,
            host_addresses=host_addresses(),
            on_attempt=on_attempt,
        )
        try:
            directory = tempfile.mkdtemp(prefix="s-", dir=_sessions_dir())
        except OSError as exc:
            raise SandboxError(f"cannot create the egress socket directory: {exc}") from exc
        session = cls(proxy=proxy, directory=directory)
        try:
            # Owned by the sandbox user, mode 0700: no other unprivileged user can connect.
            os.chown(directory, owner_uid, owner_gid)
            path = os.path.join(directory, SOCKET_NAME)
            proxy.start(path)
            os.chown(path, owner_uid, owner_gid)
            os.chmod(path, 0o600)
        except OSError as exc:
            await session.close()
            raise SandboxError(f"cannot start the egress proxy: {exc}") from exc
        except BaseException:
            await session.close()
            raise
        return session

    @property
    def attachment(self) -> Attachment:
        return Attachment(
            argv_prefix=_BRIDGE_ARGV,
            env=proxy_env(),
            socket_dir=self.directory,
            mount_point=SANDBOX_SOCKET_DIR,
        )

    def admit(self, members: Members) -> None:
        """Let the processes ``members`` lists (the sandbox's own) use the proxy."""
        self.proxy.admit(members)

    def hide(self) -> None:
        """Move the directory to a fresh name, once the sandbox has it mounted: a host process
        that read the old name (in nsjail's argv) finds nothing there."""
        # Only root can create entries in the sessions directory, so nobody can take the name.
        hidden = os.path.join(_SESSIONS, f"s-{secrets.token_hex(16)}")
        try:
            os.rename(self.directory, hidden)
        except OSError as exc:
            raise SandboxError(f"cannot move the egress socket directory: {exc}") from exc
        self.directory = hidden

    async def close(self) -> EgressReport:
        """Stop the proxy and remove its directory; safe to call again."""
        report = await self.proxy.close()
        shutil.rmtree(self.directory, ignore_errors=True)
        if self._alive >= 0:
            os.close(self._alive)
            self._alive = -1
        return report


def _lock_directory(directory: str) -> int:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


# Sessions live in a root-owned directory that others may traverse but not list (0711): a host
# process running as the sandbox user cannot find a live session's socket to borrow its allowlist.
_SESSIONS = os.path.join(tempfile.gettempdir(), "skillrt-egress")


def _sessions_dir() -> str:
    os.makedirs(_SESSIONS, mode=0o711, exist_ok=True)
    status = os.stat(_SESSIONS)
    if status.st_uid != os.geteuid():
        raise IsolationUnavailable(f"{_SESSIONS} belongs to another user; refusing to use it")
    os.chmod(_SESSIONS, 0o711)
    return _SESSIONS


def remove_stale_sessions() -> int:
    """Remove egress directories whose proxy is gone (left by a process that died).

    A directory whose lock is held belongs to a live run (another daemon's, a CLI run) and is
    left alone. Returns how many were removed.
    """
    removed = 0
    for directory in glob.glob(os.path.join(_SESSIONS, "s-*")):
        try:
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            continue  # gone meanwhile
        try:
            with contextlib.suppress(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(directory, ignore_errors=True)
                removed += 1
        finally:
            os.close(fd)
    return removed
