"""The daemon under stress: vanished clients, deadlines, overload, crashes and shutdown."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import psutil
import pytest

from runtime.audit.entry import Entry
from runtime.audit.query import entries
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.sandbox.cgroups import CgroupLimits, Cgroups, detect_layout
from runtime.util import paths
from tests.api.conftest import Daemon, cleanup, make_daemon


def sleep_request(seconds: float) -> pb.InvokeRequest:
    return pb.InvokeRequest(
        skill="probe", tool="sleep", input_json=json.dumps({"seconds": seconds})
    )


def sandbox_processes(daemon: Daemon) -> list[psutil.Process]:
    """The processes in the daemon's sandbox cgroups right now (nsjail and the jail)."""
    found = []
    for directory in daemon.cgroup_dirs():
        for pid in (directory / "cgroup.procs").read_text().split():
            try:
                found.append(psutil.Process(int(pid)))
            except psutil.NoSuchProcess:
                continue
    return found


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of ``processes`` still running (psutil checks the pid was not reused)."""
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def eventually(check: Callable[[], bool], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def wait_running(daemon: Daemon) -> list[psutil.Process]:
    """Wait until a sandbox runs its command; returns its processes."""
    assert eventually(lambda: len(sandbox_processes(daemon)) >= 2), "no sandbox started"
    return sandbox_processes(daemon)


CLIENT = """
import sys
from runtime.client import Client
from runtime.audit.entry import Entry
from runtime.audit.query import entries
with Client(sys.argv[1], token=sys.argv[2]) as client:
    client.invoke("probe", "sleep", {"seconds": 30}, timeout=60)
"""


def test_killed_client_kills_its_sandbox(daemon: Daemon) -> None:
    """A client killed mid-invocation leaves no sandbox process or cgroup behind."""
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, daemon.target, daemon.owner_token], cwd=paths.PROJECT_ROOT
    )
    try:
        processes = wait_running(daemon)
        client.kill()
        client.wait()
        assert eventually(lambda: not daemon.cgroup_dirs())
    finally:
        client.kill()
    assert eventually(lambda: not alive(processes))


def test_deadline_kills_sandbox(daemon: Daemon, channel: grpc.Channel) -> None:
    """A gRPC deadline ends the invocation at once and it is recorded as cancelled."""
    stub = daemon.stub(channel)
    future = stub.Invoke.future(sleep_request(31), timeout=1.5)
    processes = wait_running(daemon)
    with pytest.raises(grpc.RpcError) as info:
        future.result()
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert eventually(lambda: not daemon.cgroup_dirs(), timeout=5)
    assert eventually(lambda: not alive(processes), timeout=5)


def test_overload_is_refused_at_once(daemon: Daemon, channel: grpc.Channel) -> None:
    """Past 2 running + 1 queued, callers get RESOURCE_EXHAUSTED; admitted ones still finish."""
    stub = daemon.stub(channel)
    streams = [stub.InvokeStream(sleep_request(1.5), timeout=60) for _ in range(3)]
    for stream in streams:
        assert next(stream).WhichOneof("event") == "accepted"
    refused_at = time.monotonic()
    with pytest.raises(grpc.RpcError) as info:
        stub.Invoke(sleep_request(1), timeout=30)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "retry later" in (info.value.details() or "")
    assert time.monotonic() - refused_at < 1
    finals = [[e for e in stream][-1].finished for stream in streams]
    assert [f.result.status for f in finals] == [pb.STATUS_OK] * 3
    assert [json.loads(f.result.output_json) for f in finals] == [{"slept": 1.5}] * 3


def follow_in_background(daemon: Daemon, seconds: float, ids: list[str]) -> threading.Thread:
    """Stream a long sleep in a thread that notes its invocation id and ignores how it ends."""

    def call() -> None:
        with daemon.channel() as channel:
            stream = daemon.stub(channel).InvokeStream(sleep_request(seconds), timeout=60)
            ids.append(next(stream).accepted.invocation_id)
            try:
                for _ in stream:
                    pass
            except grpc.RpcError:
                pass

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def test_a_crash_takes_its_sandboxes_with_it(fresh_daemon: Daemon) -> None:
    """SIGKILL of the daemon kills its sandboxes at once (they die with their parent); the
    restart removes their cgroups and fails the invocation."""
    fresh_daemon.start()
    ids: list[str] = []
    thread = follow_in_background(fresh_daemon, 44, ids)
    processes = wait_running(fresh_daemon)
    assert eventually(lambda: bool(ids))
    fresh_daemon.stop(signal.SIGKILL)
    thread.join(timeout=30)
    assert eventually(lambda: not alive(processes), timeout=15), "the sandbox outlived its daemon"

    fresh_daemon.start()
    assert not fresh_daemon.cgroup_dirs()
    with fresh_daemon.channel() as channel:
        record = fresh_daemon.stub(channel).GetInvocation(pb.GetInvocationRequest(id=ids[0]))
    assert record.state == pb.INVOCATION_STATE_FINISHED
    assert record.result.status == pb.STATUS_SANDBOX_ERROR
    assert "interrupted" in record.result.error


def test_start_reaps_a_leftover_sandbox_group(fresh_daemon: Daemon) -> None:
    """A process left in a sandbox group under the daemon's cgroup root (by a daemon that died)
    is killed at start, its group removed, and the recovery says so."""
    fresh_daemon.start()
    fresh_daemon.stop(signal.SIGKILL)
    group = Cgroups(detect_layout(), fresh_daemon.cgroup_root).create(
        "sbx-leftover", CgroupLimits(memory_bytes=64 * 2**20, pids=4, cpus=1)
    )
    orphan = subprocess.Popen(["/bin/sleep", "300"])
    try:
        for tasks in group.attach_files:
            Path(tasks).write_text(str(orphan.pid))
        fresh_daemon.start()
        assert orphan.wait(timeout=30) == -signal.SIGKILL
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()
    assert not fresh_daemon.cgroup_dirs()
    assert eventually(lambda: bool(_recovered(fresh_daemon)), timeout=20)
    assert _recovered(fresh_daemon)[-1].fields["sandboxes_killed"] >= 1


def _recovered(daemon: Daemon) -> list[Entry]:
    return [e for e in entries(daemon.state_dir / "audit.log") if e.event == "daemon.recovered"]


def test_crash_recovery_is_audited(fresh_daemon: Daemon) -> None:
    """The start after a crash audits each interrupted invocation's end and the recovery."""
    fresh_daemon.start()
    ids: list[str] = []
    thread = follow_in_background(fresh_daemon, 44, ids)
    wait_running(fresh_daemon)
    assert eventually(lambda: bool(ids))
    fresh_daemon.stop(signal.SIGKILL)
    thread.join(timeout=30)
    fresh_daemon.start()

    def logged() -> list[Entry]:
        return list(entries(fresh_daemon.state_dir / "audit.log"))

    assert eventually(lambda: any(e.event == "daemon.recovered" for e in logged()), timeout=20)
    recovered = next(e for e in logged() if e.event == "daemon.recovered")
    assert recovered.fields["invocations_failed"] == [ids[0]]
    assert recovered.fields["sandboxes_killed"] >= 1
    finished = [
        e
        for e in logged()
        if e.event == "invocation.finished" and e.fields.get("invocation_id") == ids[0]
    ]
    assert finished and finished[-1].fields["status"] == "sandbox_error"


def test_sigterm_lets_short_invocations_finish(fresh_daemon: Daemon) -> None:
    """On SIGTERM, an invocation that ends within the grace period returns its result."""
    fresh_daemon.start("--shutdown-grace", "10s")
    results: list[pb.Invocation] = []

    def call() -> None:
        with fresh_daemon.channel() as channel:
            results.append(fresh_daemon.stub(channel).Invoke(sleep_request(1), timeout=60))

    thread = threading.Thread(target=call)
    thread.start()
    wait_running(fresh_daemon)
    assert fresh_daemon.stop(signal.SIGTERM) == 0
    thread.join(timeout=30)
    assert results and results[0].result.status == pb.STATUS_OK


def test_sigterm_cancels_after_grace(fresh_daemon: Daemon) -> None:
    """On SIGTERM, invocations still running after the grace period are killed and cancelled."""
    fresh_daemon.start("--shutdown-grace", "500ms")
    ids: list[str] = []
    thread = follow_in_background(fresh_daemon, 45, ids)
    processes = wait_running(fresh_daemon)
    stopping = time.monotonic()
    assert fresh_daemon.stop(signal.SIGTERM) == 0
    assert time.monotonic() - stopping < 10
    thread.join(timeout=30)
    assert not alive(processes)
    assert not fresh_daemon.cgroup_dirs()
    fresh_daemon.start()
    with fresh_daemon.channel() as channel:
        record = fresh_daemon.stub(channel).GetInvocation(pb.GetInvocationRequest(id=ids[0]))
    assert record.result.status == pb.STATUS_CANCELLED


def test_sigterm_answers_waiting_callers_with_their_final_record(fresh_daemon: Daemon) -> None:
    """Callers still waiting when the grace runs out get their invocation's cancelled record
    (with its id, even without an idempotency key), not UNAVAILABLE."""
    fresh_daemon.start("--shutdown-grace", "500ms", "--max-running", "4")
    answers: dict[str, pb.Invocation] = {}

    def unary() -> None:
        with fresh_daemon.channel() as channel:
            answers["invoke"] = fresh_daemon.stub(channel).Invoke(sleep_request(45), timeout=60)

    def streamed() -> None:
        with fresh_daemon.channel() as channel:
            stream = fresh_daemon.stub(channel).InvokeStream(sleep_request(46), timeout=60)
            answers["stream"] = [event for event in stream][-1].finished

    threads = [threading.Thread(target=unary), threading.Thread(target=streamed)]
    for thread in threads:
        thread.start()
    assert eventually(lambda: len(sandbox_processes(fresh_daemon)) >= 4), "sandboxes not started"
    assert fresh_daemon.stop(signal.SIGTERM) == 0
    for thread in threads:
        thread.join(timeout=30)
    assert set(answers) == {"invoke", "stream"}
    for answer in answers.values():
        assert answer.id.startswith("inv_")
        assert answer.state == pb.INVOCATION_STATE_FINISHED
        assert answer.result.status == pb.STATUS_CANCELLED
    fresh_daemon.start()
    with fresh_daemon.channel() as channel:
        for answer in answers.values():
            stored = fresh_daemon.stub(channel).GetInvocation(
                pb.GetInvocationRequest(id=answer.id), timeout=10
            )
            assert stored.result.status == pb.STATUS_CANCELLED


def test_a_second_daemon_on_the_same_state_dir_is_refused(fresh_daemon: Daemon) -> None:
    """Two daemons never share a state directory: the second exits with one line naming it,
    and the first keeps serving."""
    fresh_daemon.start()
    other = dataclasses.replace(
        make_daemon(), state_dir=fresh_daemon.state_dir, owner_token=fresh_daemon.owner_token
    )
    try:
        with pytest.raises(AssertionError, match="daemon exited early"):
            other.start()
        logs = other.logs()
    finally:
        cleanup(other)
    assert f"{fresh_daemon.state_dir}: another skillrt daemon is using this state directory" in logs
    assert "Traceback" not in logs
    with fresh_daemon.channel() as channel:
        assert fresh_daemon.stub(channel).Invoke(sleep_request(0), timeout=60).result.status == (
            pb.STATUS_OK
        )
