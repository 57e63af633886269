"""Another user floods the daemon's loopback TCP listener with idle connections, over the real
daemon at a NOFILE of 1024: the flooder's connections past its cap are closed at once, the daemon
keeps its reserve of descriptors, the owner's Invoke over the Unix socket is answered, and the log
stays JSON lines, with the refusals counted instead of a traceback per connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import grpc
import pytest

from runtime.api.relayguard import CAPS
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util import paths
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.auth.test_tls import free_port

FLOODER = 65534
CONNECTIONS = 2000  # twice the daemon's descriptors
# Raises its own NOFILE as root, becomes FLOODER, opens CONNECTIONS to the daemon sending
# nothing, reports how many it holds, and holds them until its stdin closes.
FLOOD = """
import json, os, resource, socket, sys
resource.setrlimit(resource.RLIMIT_NOFILE, ({n} + 100, {n} + 100))
os.setgroups([]); os.setresgid({uid}, {uid}, {uid}); os.setresuid({uid}, {uid}, {uid})
held = []
for _ in range({n}):
    conn = socket.socket()
    conn.settimeout(5)
    try:
        conn.connect(("127.0.0.1", {port}))
    except OSError:
        conn.close()
        continue
    held.append(conn)
print(json.dumps(len(held)), flush=True)
sys.stdin.read()
"""


@pytest.fixture
def daemon() -> Iterator[tuple[Daemon, int]]:
    instance = make_daemon()
    port = free_port()
    instance.start("--tcp", f"127.0.0.1:{port}", "--insecure-tcp")
    assert instance.process is not None
    # The daemon takes its hard limit at start; a host whose hard limit is 1024 is the worst case.
    subprocess.run(["prlimit", f"--pid={instance.process.pid}", "--nofile=1024:1024"], check=True)
    yield instance, port
    cleanup(instance)


def invoke(daemon: Daemon) -> str:
    request = pb.InvokeRequest(skill="probe", tool="echo", input_json="{}")
    try:
        with daemon.channel() as channel:
            response: pb.Invocation = daemon.stub(channel).Invoke(request, timeout=60)
    except grpc.RpcError as error:
        return error.code().name
    return pb.Status.Name(response.result.status)


def open_descriptors(daemon: Daemon) -> int:
    assert daemon.process is not None
    return len(os.listdir(f"/proc/{daemon.process.pid}/fd"))


def test_a_flood_of_idle_connections_leaves_the_owner_served(
    daemon: tuple[Daemon, int],
) -> None:
    instance, port = daemon
    assert invoke(instance) == "STATUS_OK"
    start = len(instance.logs())  # past the daemon's start, which talks to a terminal too
    flooder = subprocess.Popen(
        [sys.executable, "-c", FLOOD.format(n=CONNECTIONS, uid=FLOODER, port=port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=paths.PROJECT_ROOT,
    )
    try:
        assert flooder.stdout is not None
        assert json.loads(flooder.stdout.readline()) > CAPS.per_caller
        # While the flood is held the daemon never runs short: without the caps it sat at its
        # limit, and its own work (sandboxes, snapshots, SQLite) failed with EMFILE.
        assert open_descriptors(instance) < 1024 - CAPS.descriptor_reserve // 2
        assert [invoke(instance) for _ in range(3)] == ["STATUS_OK"] * 3
    finally:
        flooder.kill()
        flooder.wait()
    assert invoke(instance) == "STATUS_OK"
    # The refusals are logged as counts, once their interval is over.
    deadline = time.monotonic() + 30
    while '"relay.refused"' not in instance.logs():
        assert time.monotonic() < deadline, instance.logs()[-3000:]
        time.sleep(0.5)
    logs = instance.logs()[start:]
    assert "Traceback" not in logs
    assert "Too many open files" not in logs
    refused = [json.loads(line) for line in logs.splitlines() if '"relay.refused"' in line]
    assert sum(line["count"] for line in refused) > 0
    for line in logs.splitlines():
        json.loads(line)
