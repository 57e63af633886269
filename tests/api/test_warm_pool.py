"""The warm pool over the real daemon: one call per warm sandbox, never a stale one, never ahead
of an approval, within its memory budget, and nothing left behind by a stop or a crash."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import psutil
import pytest

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.util import paths
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.approvals.conftest import create_token

SKILL_MD = "---\nname: warm\ndescription: Tools for the warm pool's tests.\n---\n"
SKILL_TOML = """version = "1.0.0"
profile = "default"

[[tools]]
name = "fresh"
entrypoint = ["/usr/bin/python3", "/skill/fresh.py"]
input_schema = { type = "object" }

[[tools]]
name = "gated"
entrypoint = ["/usr/bin/python3", "/skill/gated.py"]
input_schema = { type = "object" }
approval = "before_run"
"""
# Reads its input first, then looks for what an earlier call in the same sandbox would have left.
FRESH = """
import json, os, sys
data = json.load(sys.stdin)
reused = os.path.exists("/tmp/served")
open("/tmp/served", "w").close()
print(json.dumps({{"reused": reused, "version": {version}}}))
"""
GATED = "import json, sys\njson.load(sys.stdin)\nprint('{}')\n"
MIB = 1024 * 1024


def add_warm_skill(daemon: Daemon) -> Path:
    folder = daemon.catalog / "warm"
    folder.mkdir()
    (folder / "SKILL.md").write_text(SKILL_MD)
    (folder / "skill.toml").write_text(SKILL_TOML)
    (folder / "fresh.py").write_text(FRESH.format(version=1))
    (folder / "gated.py").write_text(GATED)
    return folder


def start_pooled(daemon: Daemon, pool: str = "") -> None:
    add_warm_skill(daemon)
    config = daemon.root / "skillrt.toml"
    config.write_text(f'[pool]\nenabled = true\nidle = "30s"\n{pool}')
    daemon.start("--config", str(config))


@pytest.fixture(scope="module")
def pooled() -> Iterator[Daemon]:
    instance = make_daemon()
    start_pooled(instance)
    yield instance
    cleanup(instance)


def status(daemon: Daemon) -> pb.PoolStatus:
    with daemon.channel() as channel:
        found: pb.PoolStatus = pb_grpc.AdminStub(channel).GetPoolStatus(  # type: ignore[no-untyped-call]
            pb.GetPoolStatusRequest(), timeout=10
        )
        return found


def entry(daemon: Daemon, tool: str) -> pb.PoolEntry | None:
    found = [e for e in status(daemon).pools if e.tool == tool]
    assert len(found) <= 1, found
    return found[0] if found else None


def wait_for(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def wait_warm(daemon: Daemon, tool: str) -> None:
    wait_for(lambda: (found := entry(daemon, tool)) is not None and found.ready >= 1)


def invoke(daemon: Daemon, tool: str, token: str | None = None) -> pb.Invocation:
    with daemon.channel(token) as channel:
        done: pb.Invocation = daemon.stub(channel).Invoke(
            pb.InvokeRequest(skill="warm", tool=tool, input_json="{}"), timeout=60
        )
        return done


def output(invocation: pb.Invocation) -> dict[str, object]:
    assert invocation.result.status == pb.STATUS_OK, invocation.result
    value: dict[str, object] = json.loads(invocation.result.output_json)
    return value


def tool_processes(script: str) -> list[psutil.Process]:
    """Processes on this host whose command line runs ``script`` (inside any sandbox)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(script in arg for arg in process.info["cmdline"] or ()):
            found.append(process)
    return found


def test_each_warm_sandbox_serves_exactly_one_call(pooled: Daemon) -> None:
    before = entry(pooled, "fresh")
    hits_before = before.hits if before else 0
    calls = 6
    for _ in range(calls):
        assert output(invoke(pooled, "fresh"))["reused"] is False
        wait_warm(pooled, "fresh")
    after = entry(pooled, "fresh")
    assert after is not None
    assert after.hits - hits_before >= calls - 1  # every call after the first found one warm
    assert after.ready >= 1 and after.memory_bytes > 0


def test_a_skill_changed_on_disk_is_never_served_from_its_old_sandboxes(pooled: Daemon) -> None:
    output(invoke(pooled, "fresh"))
    wait_warm(pooled, "fresh")
    old = entry(pooled, "fresh")
    assert old is not None
    (pooled.catalog / "warm" / "fresh.py").write_text(FRESH.format(version=2))
    for _ in range(3):
        assert output(invoke(pooled, "fresh"))["version"] == 2
        wait_warm(pooled, "fresh")
    new = entry(pooled, "fresh")
    assert new is not None and new.content_hash != old.content_hash
    assert [e.content_hash for e in status(pooled).pools if e.tool == "fresh"] == [new.content_hash]


def test_a_tool_needing_approval_never_starts_before_it(pooled: Daemon) -> None:
    agent = create_token(pooled, "agent-warm", "agent")
    approver = create_token(pooled, "approver-warm", "approver")
    pending = [invoke(pooled, "gated", agent) for _ in range(3)]
    assert all(p.result.status == pb.STATUS_PENDING_APPROVAL for p in pending)
    time.sleep(1.5)  # a background start would have had time to run
    assert tool_processes("/skill/gated.py") == []
    assert entry(pooled, "gated") is None
    with pooled.channel(approver) as channel:
        pb_grpc.ApprovalsStub(channel).Decide(  # type: ignore[no-untyped-call]
            pb.DecideRequest(id=pending[0].approval_id, approve=True, reason="test"), timeout=30
        )

    def finished() -> bool:
        with pooled.channel(agent) as channel:
            found = pooled.stub(channel).GetInvocation(
                pb.GetInvocationRequest(id=pending[0].id), timeout=10
            )
        return found.state == pb.INVOCATION_STATE_FINISHED and found.result.status == pb.STATUS_OK

    wait_for(finished)
    time.sleep(1.5)
    assert tool_processes("/skill/gated.py") == []
    assert entry(pooled, "gated") is None


def pool_cli(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", "pool", "--target", daemon.target, *args],
        env={**os.environ, "SKILLRT_TOKEN": daemon.owner_token},
        cwd=paths.PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_operators_see_sizes_hits_misses_and_evictions(pooled: Daemon) -> None:
    output(invoke(pooled, "fresh"))
    shown = pool_cli(pooled, "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["enabled"] is True
    (fresh,) = [p for p in data["pools"] if p["tool"] == "fresh"]
    assert int(fresh["hits"]) + int(fresh["misses"]) >= 1
    assert {"ready", "target", "evictions", "memory_bytes"} <= set(fresh)
    table = pool_cli(pooled)
    assert table.returncode == 0, table.stderr
    assert "warm/fresh" in table.stdout and "HITS" in table.stdout


def test_agents_may_not_read_the_pool(pooled: Daemon) -> None:
    agent = create_token(pooled, "agent-peek", "agent")
    with pooled.channel(agent) as channel, pytest.raises(grpc.RpcError) as denied:
        stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        stub.GetPoolStatus(pb.GetPoolStatusRequest(), timeout=10)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


def warm_groups_memory(daemon: Daemon) -> int:
    """What every sandbox cgroup of the daemon holds (only warm ones exist between calls)."""
    return sum(
        int((d / "memory.usage_in_bytes").read_text())
        for d in daemon.cgroup_dirs()
        if (d / "memory.usage_in_bytes").exists()
    )


def test_the_pool_stays_inside_its_memory_budget(fresh_daemon: Daemon) -> None:
    budget = 40 * MIB
    start_pooled(fresh_daemon, f'memory_budget = "{budget // MIB}MiB"\nmax_per_key = 8\n')
    for _ in range(4):  # bursts of calls: demand for more warm sandboxes than fit
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: invoke(fresh_daemon, "fresh"), range(8)))
        assert all(r.result.status == pb.STATUS_OK for r in results)
        for _ in range(20):
            shown = status(fresh_daemon)
            assert shown.memory_bytes <= budget
            assert shown.ready >= 0
            time.sleep(0.05)
    wait_warm(fresh_daemon, "fresh")
    time.sleep(1.5)  # measured again by the pool's upkeep
    assert 0 < status(fresh_daemon).memory_bytes <= budget
    assert warm_groups_memory(fresh_daemon) <= budget


def test_a_budget_too_small_for_one_sandbox_keeps_none(fresh_daemon: Daemon) -> None:
    start_pooled(fresh_daemon, 'memory_budget = "1MiB"\n')
    for _ in range(3):
        assert output(invoke(fresh_daemon, "fresh"))["reused"] is False
        time.sleep(0.3)
    found = entry(fresh_daemon, "fresh")
    assert found is not None and found.ready == 0 and found.hits == 0
    assert fresh_daemon.cgroup_dirs() == []


def warm_processes(daemon: Daemon) -> list[psutil.Process]:
    found = []
    for directory in daemon.cgroup_dirs():
        for pid in (directory / "cgroup.procs").read_text().split():
            with contextlib.suppress(psutil.NoSuchProcess):
                found.append(psutil.Process(int(pid)))
    return found


def gone(processes: list[psutil.Process]) -> bool:
    return not [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_a_stop_or_a_crash_leaves_no_warm_sandbox_behind(
    fresh_daemon: Daemon, stop: signal.Signals
) -> None:
    start_pooled(fresh_daemon)
    output(invoke(fresh_daemon, "fresh"))
    wait_warm(fresh_daemon, "fresh")
    processes = warm_processes(fresh_daemon)
    assert len(processes) >= 2  # nsjail and the tool, waiting for a call
    fresh_daemon.stop(stop)
    wait_for(lambda: gone(processes))
    if stop == signal.SIGKILL:
        fresh_daemon.start()  # what a crash leaves, the next start reaps
    wait_for(lambda: fresh_daemon.cgroup_dirs() == [])
    assert not any(fresh_daemon.snapshot_root.glob("[0-9a-f]*")) or stop == signal.SIGKILL
