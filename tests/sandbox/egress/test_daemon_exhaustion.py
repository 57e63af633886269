"""A network tool that floods its egress proxy with silent connections, over the real daemon:
the daemon takes its hard NOFILE at start, the flood ends in violations on that invocation,
another caller is answered meanwhile, and the flooder's cgroup is gone afterwards."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.sandbox.egress.guard import CAPS
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.skill_fixture import make_skill

FLOOD_TOML = """\
version = "1.0.0"
profile = "network"

[permissions]
network = ["allowed.test:80"]

[[tools]]
name = "flood"
entrypoint = ["/usr/bin/python3", "/skill/echo.py"]
input_schema.type = "object"
"""

# Opens connections straight to the proxy's socket, sending nothing, until one is refused or the
# sandbox's descriptors run out; holds them a while, then reports.
FLOOD = """\
import errno, json, socket, sys, time
held, outcome = [], "all connected"
for _ in range(1000):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect("/run/skillrt-egress/proxy.sock")
    except OSError as exc:
        outcome = errno.errorcode.get(exc.errno, str(exc.errno))
        conn.close()
        break
    held.append(conn)
time.sleep(json.load(sys.stdin)["hold"])
print(json.dumps({"held": len(held), "outcome": outcome}))
"""


def _soft_nofile(pid: int) -> tuple[str, str]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return soft, hard
    raise AssertionError("no open files limit")


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    """A daemon started the way systemd starts services: at a soft NOFILE of 1024."""
    instance = make_daemon()
    make_skill(instance.catalog, "flood", toml=FLOOD_TOML, code=FLOOD)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        instance.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    yield instance
    cleanup(instance)


def test_daemon_takes_its_hard_open_files_limit(daemon: Daemon) -> None:
    """Started at a soft 1024, the daemon raises its soft NOFILE to the hard limit."""
    assert daemon.process is not None
    soft, hard = _soft_nofile(daemon.process.pid)
    assert soft == hard


def test_flood_of_silent_connections_is_contained(daemon: Daemon) -> None:
    """The flood ends with the caps as violations, another call is answered meanwhile, and the
    flooder's cgroup is removed."""
    flood = pb.InvokeRequest(skill="flood", tool="flood", input_json=json.dumps({"hold": 3}))
    echo = pb.InvokeRequest(skill="probe", tool="echo", input_json="{}")
    with daemon.channel() as channel, ThreadPoolExecutor(1) as pool:
        stub = daemon.stub(channel)
        flooding = pool.submit(stub.Invoke, flood, timeout=60)
        deadline = time.monotonic() + 30
        while not daemon.cgroup_dirs() and not flooding.done():
            assert time.monotonic() < deadline, "the flood never started"
            time.sleep(0.02)
        answered = stub.Invoke(echo, timeout=30)
        flooded = flooding.result()
    assert answered.result.status == pb.STATUS_OK
    assert flooded.result.status == pb.STATUS_OK, flooded
    assert json.loads(flooded.result.output_json)["outcome"] == "ECONNREFUSED"
    violations = list(flooded.result.violations)
    assert f"egress denied: 32 connection(s) refused: more than {CAPS.max_open} open at once" in (
        violations
    )
    deadline = time.monotonic() + 30
    while daemon.cgroup_dirs():
        assert time.monotonic() < deadline, daemon.cgroup_dirs()
        time.sleep(0.05)
    assert "Traceback" not in daemon.logs()
