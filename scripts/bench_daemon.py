"""The daemon under test, and the skill it serves: the tools every row of the benchmark runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc

from runtime.client.core import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.sandbox.cgroups import detect_layout
from runtime.util.paths import PROJECT_ROOT as ROOT

__all__ = [
    "COMMANDS",
    "PYTHON",
    "Call",
    "CallFailed",
    "DaemonUnderTest",
    "read_rss",
    "write_skill",
]

# Debian's interpreter, named in full: the first python3 on PATH may be a slower shim.
PYTHON = "/usr/bin/python3"
_PY_CODE = "import json, sys; json.dump({'n': len(sys.stdin.read())}, sys.stdout)"
COMMANDS = {"python": [PYTHON, "-c", _PY_CODE], "true": ["/bin/true"]}
_SKILL_MD = "---\nname: bench\ndescription: Benchmark tools.\n---\n"
_ESCAPED_CODE = _PY_CODE.replace('"', '\\"')
_SKILL_TOML = f"""version = "1.0.0"
profile = "default"

[[tools]]
name = "true"
entrypoint = ["/bin/true"]
input_schema = {{ type = "object" }}

[[tools]]
name = "python"
entrypoint = ["{PYTHON}", "-c", "{_ESCAPED_CODE}"]
input_schema = {{ type = "object" }}
"""

Call = Callable[[], None]  # one call; raises when it fails: a failure's time means nothing


class CallFailed(Exception):
    pass


def write_skill(catalog: Path) -> None:
    """The ``bench`` skill, whose tools are COMMANDS, in a new catalog folder."""
    (catalog / "bench").mkdir(parents=True)
    (catalog / "bench" / "SKILL.md").write_text(_SKILL_MD)
    (catalog / "bench" / "skill.toml").write_text(_SKILL_TOML)


def read_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise SystemExit(f"bench: no VmRSS for pid {pid}")


class DaemonUnderTest:
    """One daemon on its own socket, state directory and cgroup root, serving the bench skill."""

    def __init__(self, work: Path, catalog: Path, name: str, config: Path | None) -> None:
        home = work / name
        home.mkdir()
        self.socket = home / "skillrt.sock"
        self.log = home / "daemon.log"
        cli = [sys.executable, "-m", "runtime.cli.main"]
        token = subprocess.run(
            [*cli, "init", "--state-dir", str(home / "state")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        self.metadata = (("authorization", f"Bearer {token.stdout.strip()}"),)
        serve = ["serve", "--socket", str(self.socket), "--state-dir", str(home / "state")]
        self.cgroup_root = f"skillrt-bench-{os.getpid()}-{name}"
        serve += ["--cgroup-root", self.cgroup_root]
        serve += ["--max-running", "16", "--max-queued", "64"]
        serve += ["--config", str(config)] if config else []
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*cli, "--catalog", str(catalog), *serve],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.channels: list[grpc.Channel] = []
        self._wait_serving()
        self.admin = self.channel()

    def _wait_serving(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.socket.exists():
                with Client(f"unix:{self.socket}", token="") as client:
                    try:
                        if client.health(timeout=2) == "SERVING":
                            return
                    except grpc.RpcError:
                        pass
            time.sleep(0.05)
        self.stop()
        raise SystemExit(f"bench: the daemon did not start:\n{self.log.read_text()[-2000:]}")

    def channel(self) -> grpc.Channel:
        channel = grpc.insecure_channel(f"unix:{self.socket}")
        grpc.channel_ready_future(channel).result(timeout=10)
        self.channels.append(channel)
        return channel

    def caller(self, tool: str) -> Call:
        stub = pb_grpc.SkillRuntimeStub(self.channel())  # type: ignore[no-untyped-call]
        request = pb.InvokeRequest(skill="bench", tool=tool, input_json="{}")

        def call() -> None:
            # Exit code 0, as for the host rows: /bin/true's empty stdout is "invalid output".
            result = stub.Invoke(request, timeout=60, metadata=self.metadata).result
            if not result.HasField("exit_code") or result.exit_code != 0:
                raise CallFailed(f"{tool}: {pb.Status.Name(result.status)} {result.error}")

        return call

    def pool_status(self) -> pb.PoolStatus:
        stub = pb_grpc.AdminStub(self.admin)  # type: ignore[no-untyped-call]
        status: pb.PoolStatus = stub.GetPoolStatus(
            pb.GetPoolStatusRequest(), metadata=self.metadata, timeout=10
        )
        return status

    def pool_counts(self, tool: str) -> tuple[int, int]:
        """Hits and misses so far of the bench skill's ``tool``, over all its pools."""
        status = self.pool_status()
        entries = [e for e in status.pools if e.skill == "bench" and e.tool == tool]
        return sum(e.hits for e in entries), sum(e.misses for e in entries)

    def rss(self) -> int:
        return read_rss(self.process.pid)

    def stop(self) -> None:
        for channel in self.channels:
            channel.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        # The daemon empties its cgroup root but leaves it; runs would pile them up.
        for mount in set(detect_layout().mounts.values()):
            try:
                (mount / self.cgroup_root).rmdir()
            except FileNotFoundError:
                pass
            except OSError as exc:  # a group left inside: say so, and keep the run's results
                print(f"bench: {mount / self.cgroup_root} stays: {exc}", file=sys.stderr)
