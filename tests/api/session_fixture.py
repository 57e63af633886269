"""A real daemon for session tests: a command policy in its config, an agent and an approver."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from tests.api.conftest import Daemon, cleanup, make_daemon

__all__ = ["SessionDaemon", "mounts_under", "session_daemon"]

CONFIG = """
[sessions]
max_per_principal = 100
max_total_size = "64GiB"  # tests keep their sessions; they write little

[sessions.commands.workspace]
deny = ["*rm -rf /workspace*"]
approve = ["*git push*"]
"""


@dataclass
class SessionDaemon:
    daemon: Daemon
    agent: str  # tokens
    other_agent: str
    approver: str

    def client(self, token: str | None = None) -> Client:
        return Client(self.daemon.target, token=token or self.agent)

    @property
    def sessions_root(self) -> Path:
        return Path("/run/skillrt-sessions") / self.daemon.cgroup_root


def _token(daemon: Daemon, name: str, role: str) -> str:
    with daemon.channel() as channel:
        stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        token: str = stub.CreateToken(pb.CreateTokenRequest(name=name, role=role)).token
        return token


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root``, from this process's mount table."""
    with open("/proc/self/mountinfo", encoding="utf-8") as table:
        points = [line.split()[4] for line in table]
    return [p for p in points if p == str(root) or p.startswith(f"{root}/")]


@pytest.fixture(scope="module")
def session_daemon() -> Iterator[SessionDaemon]:
    daemon = make_daemon()
    config = daemon.root / "skillrt.toml"
    config.write_text(CONFIG)
    daemon.start("--config", str(config))
    try:
        yield SessionDaemon(
            daemon=daemon,
            agent=_token(daemon, "agent-1", "agent"),
            other_agent=_token(daemon, "agent-2", "agent"),
            approver=_token(daemon, "approver-1", "approver"),
        )
    finally:
        cleanup(daemon)
