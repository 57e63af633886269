"""A real daemon in a subprocess, on a temporary socket, state directory and cgroup root."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from runtime.api import config
from runtime.core.snapshots import SNAPSHOTS_BASE
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.sandbox.cgroups import Cgroups, detect_layout
from runtime.sandbox.workspace import remove_stale
from runtime.util import paths
from tests.api.probe_skill import make_probe_skill
from tests.timing import scaled


class BearerToken(  # type: ignore[misc]
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds ``authorization: Bearer <token>`` to every call of a channel."""

    def __init__(self, token: str) -> None:
        self.token = token

    def _with_token(self, details: Any) -> Any:
        metadata = [*(details.metadata or ()), ("authorization", f"Bearer {self.token}")]
        return details._replace(metadata=metadata)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._with_token(details), requests)


@dataclass
class Daemon:
    root: Path
    socket: Path
    state_dir: Path
    catalog: Path
    cgroup_root: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    owner_token: str = ""

    @property
    def target(self) -> str:
        return f"unix:{self.socket}"

    def init(self, *extra: str) -> str:
        """Create the owner token (once per state directory); ``extra`` may name the config."""
        if not self.owner_token:
            made = self.cli("init", "--state-dir", str(self.state_dir), *extra, check=True)
            self.owner_token = made.stdout.strip()
        return self.owner_token

    def cli(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """The real command line, as an operator on this host runs it."""
        return subprocess.run(
            [sys.executable, "-m", "runtime.cli.main", *args],
            cwd=paths.PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=check,
        )

    def audit_verify(self) -> subprocess.CompletedProcess[str]:
        return self.cli("audit", "verify", "--state-dir", str(self.state_dir))

    def channel(self, token: str | None = None) -> grpc.Channel:
        """A channel whose calls carry ``token`` (the owner's by default)."""
        return grpc.intercept_channel(
            grpc.insecure_channel(self.target), BearerToken(token or self.owner_token)
        )

    def start(self, *extra: str, catalog_flag: bool = True) -> None:
        """Serve; ``catalog_flag=False`` leaves the catalog to the configuration file."""
        # The owner token's audit entry is keyed with the key the daemon will use.
        config = extra.index("--config") if "--config" in extra else None
        self.init(*(extra[config : config + 2] if config is not None else ()))
        self.log_path = self.root / f"daemon-{secrets.token_hex(3)}.log"
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runtime.cli.main",
                *(["--catalog", str(self.catalog)] if catalog_flag else []),
                "serve",
                "--socket",
                str(self.socket),
                "--state-dir",
                str(self.state_dir),
                "--cgroup-root",
                self.cgroup_root,
                *extra,
            ],
            cwd=paths.PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._wait_serving()

    def _wait_serving(self) -> None:
        deadline = time.monotonic() + scaled(30)
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"daemon exited early:\n{self.logs()}")
            if self.socket.exists():
                with grpc.insecure_channel(self.target) as channel:
                    try:
                        response = health_pb2_grpc.HealthStub(channel).Check(
                            health_pb2.HealthCheckRequest(), timeout=2
                        )
                    except grpc.RpcError:
                        pass
                    else:
                        if response.status == health_pb2.HealthCheckResponse.SERVING:
                            return
            time.sleep(0.05)
        raise AssertionError(f"daemon did not start serving:\n{self.logs()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self.process = None
        return code

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stub(self, channel: grpc.Channel) -> pb_grpc.SkillRuntimeStub:
        return pb_grpc.SkillRuntimeStub(channel)  # type: ignore[no-untyped-call]

    @property
    def snapshot_root(self) -> Path:
        """Where the daemon keeps its skill snapshots (the default for its cgroup root)."""
        return SNAPSHOTS_BASE / self.cgroup_root

    def cgroup_dirs(self) -> list[Path]:
        """Invocation cgroups present under this daemon's root, in every hierarchy."""
        groups = Cgroups(detect_layout(), self.cgroup_root).existing()
        return [d for g in groups for d in g.dirs]


def make_daemon() -> Daemon:
    root = Path(tempfile.mkdtemp(prefix="skillrt-daemon-"))
    root.chmod(0o755)
    catalog = root / "catalog"
    make_probe_skill(catalog)
    shutil.copytree(paths.PROJECT_ROOT / "skills_catalog" / "text-stats", catalog / "text-stats")
    return Daemon(
        root=root,
        socket=root / "run" / "skillrt.sock",
        state_dir=root / "state",
        catalog=catalog,
        cgroup_root=f"skillrt-test-{secrets.token_hex(4)}",
    )


def cleanup(daemon: Daemon) -> None:
    if daemon.process is not None:
        daemon.stop(signal.SIGKILL)
    cgroups = Cgroups(detect_layout(), daemon.cgroup_root)
    for group in cgroups.existing():
        group.kill()
        group.remove()
    for mount in set(cgroups.layout.mounts.values()):
        root = mount / daemon.cgroup_root
        if root.exists():
            os.rmdir(root)
    sessions = config.defaults().sessions.root.parent / daemon.cgroup_root
    if sessions.exists():  # a killed daemon leaves its session workspaces mounted
        remove_stale(sessions)
        sessions.rmdir()
    shutil.rmtree(daemon.snapshot_root, ignore_errors=True)  # a killed daemon leaves them
    shutil.rmtree(daemon.root, ignore_errors=True)


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    """One daemon shared by a test module: 2 sandboxes at once, 1 queued."""
    instance = make_daemon()
    instance.start("--max-running", "2", "--max-queued", "1")
    yield instance
    cleanup(instance)


@pytest.fixture
def fresh_daemon() -> Iterator[Daemon]:
    """A daemon of its own, not started, for tests that stop or kill it."""
    instance = make_daemon()
    yield instance
    cleanup(instance)


@pytest.fixture
def channel(daemon: Daemon) -> Iterator[grpc.Channel]:
    """A channel authenticated as the owner."""
    with daemon.channel() as ch:
        yield ch
