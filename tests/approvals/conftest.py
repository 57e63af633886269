"""A daemon with a skill whose tools need approval, and tokens for an agent and two approvers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from tests.api.conftest import Daemon, cleanup, make_daemon

SKILL_MD = """---
name: gated
description: Tools that need a person's approval, for tests.
---
# gated
"""

SKILL_TOML = """version = "1.0.0"
profile = "default"

[permissions]
readonly_paths = ["{marker_dir}"]

[[tools]]
name = "mark"
elevated = true
entrypoint = ["/usr/bin/python3", "/skill/gated.py", "mark"]
input_schema = {{ type = "object" }}

[[tools]]
name = "held"
approval = "before_return"
entrypoint = ["/usr/bin/python3", "/skill/gated.py", "held"]
input_schema = {{ type = "object" }}

[[tools]]
name = "hasty"
elevated = true
approval_timeout = "1s"
entrypoint = ["/usr/bin/python3", "/skill/gated.py", "held"]
input_schema = {{ type = "object" }}
"""

CODE = """
import json, socket, sys
mode = sys.argv[1]
data = json.load(sys.stdin)
if mode == "mark":
    # Leaves a marker outside the sandbox: a line on the test's Unix socket.
    with socket.socket(socket.AF_UNIX) as s:
        s.connect("{marker_dir}/marker.sock")
        s.sendall(json.dumps(data).encode() + b"\\n")
print(json.dumps({{"secret_report": data}}))
"""


@dataclass
class Marker:
    """A Unix socket outside the sandbox; each connection to it is one run of `mark`."""

    directory: Path
    lines: list[bytes] = field(default_factory=list)

    def serve(self) -> None:
        server = socket.socket(socket.AF_UNIX)
        path = self.directory / "marker.sock"
        server.bind(str(path))
        path.chmod(0o777)
        server.listen()

        def accept() -> None:
            while True:
                try:
                    connection, _ = server.accept()
                except OSError:
                    return
                with connection:
                    self.lines.append(connection.makefile("rb").readline())

        threading.Thread(target=accept, daemon=True).start()


@dataclass
class Gate:
    daemon: Daemon
    marker: Marker
    agent: str
    approver: str
    second_approver: str


def add_gated_skill(daemon: Daemon, marker_dir: Path) -> Path:
    folder = daemon.catalog / "gated"
    folder.mkdir()
    (folder / "SKILL.md").write_text(SKILL_MD)
    (folder / "skill.toml").write_text(SKILL_TOML.format(marker_dir=marker_dir))
    (folder / "gated.py").write_text(CODE.format(marker_dir=marker_dir))
    return folder


def create_token(daemon: Daemon, name: str, role: str) -> str:
    with daemon.channel() as channel:
        stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        token: str = stub.CreateToken(pb.CreateTokenRequest(name=name, role=role)).token
        return token


def make_gate() -> Gate:
    daemon = make_daemon()
    marker = Marker(daemon.root / "marker")
    marker.directory.mkdir(mode=0o755)
    marker.serve()
    add_gated_skill(daemon, marker.directory)
    config = daemon.root / "skillrt.toml"
    config.write_text(f'[catalog]\nallowed_readonly_paths = ["{marker.directory}"]\n')
    daemon.start("--config", str(config))
    return Gate(
        daemon=daemon,
        marker=marker,
        agent=create_token(daemon, "agent-7", "agent"),
        approver=create_token(daemon, "alice", "approver"),
        second_approver=create_token(daemon, "bob", "approver"),
    )


@pytest.fixture(scope="module")
def gate() -> Iterator[Gate]:
    instance = make_gate()
    yield instance
    cleanup(instance.daemon)


@pytest.fixture
def fresh_gate() -> Iterator[Gate]:
    instance = make_gate()
    yield instance
    cleanup(instance.daemon)


def approvals_stub(channel: grpc.Channel) -> pb_grpc.ApprovalsStub:
    return pb_grpc.ApprovalsStub(channel)  # type: ignore[no-untyped-call]
