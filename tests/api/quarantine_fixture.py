"""A daemon that quarantines after 2 trips, skills that trip its sandbox on demand, and the
watchers that hear of it (for tests/api/test_quarantine.py)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.util import paths
from tests.api.conftest import Daemon, make_daemon
from tests.approvals.conftest import create_token
from tests.timing import scaled

__all__ = ["TRIPPER_NAMES", "Watcher", "World", "make_world"]

SKILLRT = (sys.executable, "-m", "runtime.cli.main")
# One skill per behaviour under test, so that no test finds another's quarantine.
TRIPPER_NAMES = ("trip-a", "trip-b", "trip-c", "trip-d", "trip-e", "trip-g", "trip-h", "trip-i")

TRIPPER_MD = "---\nname: {name}\ndescription: Trips the sandbox on demand, for tests.\n---\n"
TRIPPER_TOML = """version = "1.0.0"
profile = "default"
""" + "".join(
    f"""
[[tools]]
name = "{tool}"
entrypoint = ["/usr/bin/python3", "/skill/trip.py", "{tool}"]
input_schema = {{ type = "object" }}
"""
    for tool in ("echo", "syscall", "sleep")
)
# syscall: unshare(2), which the default profile's seccomp policy kills.
TRIPPER = """import ctypes, json, sys, time
mode = sys.argv[1]
data = json.load(sys.stdin)
if mode == "syscall":
    ctypes.CDLL(None).unshare(0)
elif mode == "sleep":
    time.sleep(data.get("seconds", 30))
print(json.dumps({"mode": mode}))
"""
ASKS_MD = "---\nname: asks\ndescription: A tool that waits for a person.\n---\n"
ASKS_TOML = """version = "1.0.0"
profile = "default"

[[tools]]
name = "run"
approval = "before_run"
entrypoint = ["/usr/bin/python3", "-c", "print('{}')"]
input_schema = { type = "object" }
"""
# Two slots: a test can fill them and keep a call waiting.
CONFIG = """[sandboxes]
max_running = 2
[quarantine]
window = "10m"
seccomp_kills = 2
egress_denials = 2
[metrics]
listen = "127.0.0.1:{port}"
"""


@dataclass
class Watcher:
    """``skillrt approvals watch`` as an operator runs it, its lines read as they come."""

    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.put(line.rstrip("\n"))

        threading.Thread(target=read, daemon=True).start()

    def next_line(self) -> str:
        try:
            return self.lines.get(timeout=scaled(30))
        except queue.Empty:
            raise AssertionError("the watcher printed nothing more") from None

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)


@dataclass
class World:
    daemon: Daemon
    config: Path
    metrics_port: int
    ops: str  # tokens: an admin's,
    viewer: str
    agent: str

    def invoke(self, skill: str, tool: str, value: object = None) -> pb.Invocation:
        request = pb.InvokeRequest(skill=skill, tool=tool, input_json=json.dumps(value or {}))
        with self.daemon.channel() as channel:
            done: pb.Invocation = self.daemon.stub(channel).Invoke(request, timeout=60)
            return done

    def refusal(self, skill: str, tool: str = "echo") -> grpc.RpcError:
        """The error a call of ``skill`` is refused with (none: AssertionError)."""
        try:
            self.invoke(skill, tool)
        except grpc.RpcError as exc:
            return exc
        raise AssertionError(f"a call of {skill} ran")

    def trip(self, skill: str, times: int = 2) -> list[pb.Invocation]:
        return [self.invoke(skill, "syscall") for _ in range(times)]

    @contextlib.contextmanager
    def admin(self, token: str | None = None) -> Iterator[pb_grpc.AdminStub]:
        """The Admin service, called as ``token`` (the owner by default)."""
        with self.daemon.channel(token) as channel:
            yield pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]

    def audited(self, event: str, skill: str) -> list[tuple[str, dict[str, object]]]:
        """(actor, fields) of each ``event`` entry naming ``skill``, oldest first."""
        with self.admin() as admin:
            found = admin.QueryAudit(pb.QueryAuditRequest(events=[event]), timeout=30)
        entries = [(e.actor, json.loads(e.fields_json)) for e in found.entries]
        return [(actor, fields) for actor, fields in entries if fields.get("skill") == skill]

    def cli(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SKILLRT, *args, "--target", self.daemon.target],
            env={**os.environ, "SKILLRT_TOKEN": token or self.daemon.owner_token},
            cwd=paths.PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def watch(self) -> Watcher:
        process = subprocess.Popen(
            [*SKILLRT, "approvals", "watch", "--target", self.daemon.target],
            env={**os.environ, "SKILLRT_TOKEN": self.daemon.owner_token},
            cwd=paths.PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        return Watcher(process)

    def metrics(self) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=10)
        try:
            connection.request("GET", "/metrics")
            return connection.getresponse().read().decode()
        finally:
            connection.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _add_skill(catalog: Path, name: str, md: str, toml: str, code: str | None = None) -> None:
    folder = catalog / name
    folder.mkdir()
    (folder / "SKILL.md").write_text(md)
    (folder / "skill.toml").write_text(toml)
    if code is not None:
        (folder / "trip.py").write_text(code)


def make_world() -> World:
    """A started daemon quarantining after 2 seccomp kills or 2 egress denials in 10 minutes,
    with the tripper skills, the http-fetch skill, a tool that needs approval, and tokens."""
    daemon = make_daemon()
    for name in TRIPPER_NAMES:
        _add_skill(daemon.catalog, name, TRIPPER_MD.format(name=name), TRIPPER_TOML, TRIPPER)
    _add_skill(daemon.catalog, "asks", ASKS_MD, ASKS_TOML)
    shutil.copytree(
        paths.PROJECT_ROOT / "skills_catalog" / "http-fetch", daemon.catalog / "http-fetch"
    )
    port = _free_port()
    config = daemon.root / "skillrt.toml"
    config.write_text(CONFIG.format(port=port))
    daemon.start("--config", str(config))
    return World(
        daemon=daemon,
        config=config,
        metrics_port=port,
        ops=create_token(daemon, "ops", "admin"),
        viewer=create_token(daemon, "onlooker", "viewer"),
        agent=create_token(daemon, "agent-1", "agent"),
    )
