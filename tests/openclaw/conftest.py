"""The OpenClaw lane: a skillrt daemon, a scripted model and the real OpenClaw gateway.

``make test-openclaw`` installs Node 24 and OpenClaw into a cache directory and names it in
``$SKILLRT_OPENCLAW_CACHE``; without it (``make test``) these tests are skipped. The gateway is
set up by following the README's "Use with OpenClaw" steps as written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.util import paths
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.openclaw.fake_model import FakeModel, serve
from tests.openclaw.gateway import Gateway, free_port
from tests.openclaw.readme import follow_readme

__all__ = ["Lane", "lane"]

CACHE_VARIABLE = "SKILLRT_OPENCLAW_CACHE"

# The operator's command policy for sessions: `git push` waits for a person.
DAEMON_CONFIG = """
[sessions.commands.workspace]
approve = ["*git push*"]
"""


@dataclass
class Lane:
    daemon: Daemon
    approver: str  # a token
    model: FakeModel
    model_port: int
    gateway: Gateway


def _token(daemon: Daemon, name: str, role: str) -> str:
    with daemon.channel() as channel:
        stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        token: str = stub.CreateToken(pb.CreateTokenRequest(name=name, role=role)).token
        return token


@pytest.fixture(scope="session")
def lane() -> Iterator[Lane]:
    cache = os.environ.get(CACHE_VARIABLE)
    if not cache:
        pytest.skip(f"needs the OpenClaw lane (make test-openclaw sets ${CACHE_VARIABLE})")
    daemon = make_daemon()
    # An elevated tool: it runs only once a person approves it.
    shutil.copytree(
        paths.PROJECT_ROOT / "skills_catalog" / "python-exec", daemon.catalog / "python-exec"
    )
    config = daemon.root / "skillrt.toml"
    config.write_text(DAEMON_CONFIG)
    gateway = Gateway(
        root=Path(tempfile.mkdtemp(prefix="skillrt-openclaw-")), cache=Path(cache), port=free_port()
    )
    model = FakeModel()
    try:
        daemon.start("--config", str(config))
        with serve(model) as model_port:
            gateway.configure(model_port)
            owner = {**gateway.env, "SKILLRT_TOKEN": daemon.owner_token}
            follow_readme(owner, str(daemon.socket))
            gateway.start()
            yield Lane(
                daemon=daemon,
                approver=_token(daemon, "approver-1", "approver"),
                model=model,
                model_port=model_port,
                gateway=gateway,
            )
    finally:
        gateway.stop()
        gateway.remove()
        cleanup(daemon)
