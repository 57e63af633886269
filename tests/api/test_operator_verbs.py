"""The operator verbs against the real daemon: CPU and memory of running calls (ps, top), output
watched live and masked (logs --follow), usage over a window, and reload over the API, with
their role checks.

A gated tool prints, then waits until the test creates a file in a folder bound into its sandbox
read-only: whatever a watcher has received before that was sent while the call ran.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.util import paths
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.approvals.conftest import create_token

SKILLRT = (sys.executable, "-m", "runtime.cli.main")
SECRET = "live-secret-3f9d1c7a"
GATED_MD = "---\nname: gated\ndescription: Prints, then waits for a file, for tests.\n---\n"
GATED_TOML = """version = "1.0.0"
profile = "default"

[permissions]
secrets = ["API_KEY"]
readonly_paths = ["{gate}"]

[[tools]]
name = "wait"
entrypoint = ["/usr/bin/python3", "/skill/wait.py"]
input_schema = {{ type = "object" }}
"""
WAIT = """import json, os, sys, time
data = json.load(sys.stdin)
print("waiting with " + os.environ.get("API_KEY", ""), file=sys.stderr, flush=True)
while not os.path.exists(os.path.join({gate!r}, data["gate"])):
    time.sleep(0.01)
print("gate opened", file=sys.stderr, flush=True)
print(json.dumps({{"opened": data["gate"]}}))
"""


@dataclass
class Env:
    daemon: Daemon
    gate: Path
    config: Path
    agent: str  # tokens
    other: str
    viewer: str

    def open(self, name: str) -> None:
        (self.gate / name).touch()


def _config(gate: Path, extra: str = "") -> str:
    return f'[catalog]\nallowed_readonly_paths = ["{gate}"]\n{extra}'


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    daemon = make_daemon()
    gate = Path(tempfile.mkdtemp(prefix="skillrt-gate-"))
    gate.chmod(0o755)
    folder = daemon.catalog / "gated"
    folder.mkdir()
    (folder / "SKILL.md").write_text(GATED_MD)
    (folder / "skill.toml").write_text(GATED_TOML.format(gate=gate))
    (folder / "wait.py").write_text(WAIT.format(gate=str(gate)))
    (daemon.root / "skills-policy.toml").write_text('[skills.gated]\nsecrets = ["API_KEY"]\n')
    config = daemon.root / "skillrt.toml"
    config.write_text(_config(gate))
    set_secret = subprocess.run(
        [*SKILLRT, "secrets", "set", "API_KEY", "--state-dir", str(daemon.state_dir)],
        input=SECRET,
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        check=False,
    )
    assert set_secret.returncode == 0, set_secret.stderr
    daemon.start("--config", str(config))
    try:
        yield Env(
            daemon=daemon,
            gate=gate,
            config=config,
            agent=create_token(daemon, "watcher", "agent"),
            other=create_token(daemon, "stranger", "agent"),
            viewer=create_token(daemon, "onlooker", "viewer"),
        )
    finally:
        cleanup(daemon)
        shutil.rmtree(gate, ignore_errors=True)


def cli(env: Env, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SKILLRT, *args, "--target", env.daemon.target],
        env={**os.environ, "SKILLRT_TOKEN": token},
        cwd=paths.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def invoke(env: Env, token: str, skill: str, tool: str, value: object) -> pb.Invocation:
    with env.daemon.channel(token) as channel:
        request = pb.InvokeRequest(skill=skill, tool=tool, input_json=json.dumps(value))
        done: pb.Invocation = env.daemon.stub(channel).Invoke(request, timeout=60)
        return done


class Gated:
    """A gated call running in a thread until its gate opens."""

    def __init__(self, env: Env, token: str, gate: str) -> None:
        self.env, self.token, self.gate = env, token, gate
        self.ended: list[pb.Invocation] = []
        self.thread = threading.Thread(
            target=lambda: self.ended.append(invoke(env, token, "gated", "wait", {"gate": gate}))
        )
        self.thread.start()

    def running(self) -> pb.Invocation:
        """The call as listed once its sandbox has used some CPU and memory."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with self.env.daemon.channel(self.token) as channel:
                page = self.env.daemon.stub(channel).ListInvocations(
                    pb.ListInvocationsRequest(states=[pb.INVOCATION_STATE_RUNNING], tool="wait"),
                    timeout=10,
                )
            for found in page.invocations:
                if found.usage.cpu_ms > 0 and found.memory_bytes > 0:
                    return found
            time.sleep(0.05)
        raise AssertionError(f"the call never ran with usage:\n{self.env.daemon.logs()}")

    def finish(self) -> pb.Invocation:
        self.env.open(self.gate)
        self.thread.join(timeout=60)
        assert self.ended, "the call did not end"
        return self.ended[0]


def watch(env: Env, token: str, invocation_id: str) -> list[pb.InvocationEvent]:
    with env.daemon.channel(token) as channel:
        request = pb.WatchInvocationRequest(id=invocation_id, follow=True)
        return list(env.daemon.stub(channel).WatchInvocation(request, timeout=30))


def test_ps_and_top_show_cpu_and_memory_of_a_running_call(env: Env) -> None:
    """A running call is listed with CPU and memory so far (ps --json, ps, top --once); once
    it ends its listed usage is its result's."""
    call = Gated(env, env.agent, "ps")
    running = call.running()
    rows = [json.loads(line) for line in cli(env, env.agent, "ps", "--json").stdout.splitlines()]
    (row,) = [r for r in rows if r["invocation_id"] == running.id]
    assert row["cpu_ms"] > 0 and row["memory_bytes"] > 0 and row["peak_memory_bytes"] > 0
    table = cli(env, env.agent, "ps").stdout.splitlines()
    assert table[0].split() == ["INVOCATION", "STATE", "TOOL", "AGE", "CPU", "MEM", "STATUS"]
    (line,) = [cells.split() for cells in table if cells.startswith(running.id)]
    assert line[1] == "running" and line[4].endswith("s") and line[5].endswith("iB")
    top = cli(env, env.daemon.owner_token, "top", "--once")
    assert top.returncode == 0, top.stderr
    assert "1 running" in top.stdout.splitlines()[0] and running.id in top.stdout
    done = call.finish()
    assert done.result.status == pb.STATUS_OK
    with env.daemon.channel(env.agent) as channel:
        seen = env.daemon.stub(channel).GetInvocation(pb.GetInvocationRequest(id=done.id))
    assert seen.usage == done.result.usage and seen.memory_bytes == 0


def test_logs_follow_streams_masked_output_while_the_call_runs(env: Env) -> None:
    """logs --follow prints what the call printed before it came, then what it prints live,
    masked like the result, and exits 0 once the call has succeeded."""
    call = Gated(env, env.agent, "follow")
    running = call.running()
    follower = subprocess.Popen(
        [*SKILLRT, "logs", "--follow", running.id, "--target", env.daemon.target],
        env={**os.environ, "SKILLRT_TOKEN": env.agent},
        cwd=paths.PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stderr is not None
        first = follower.stderr.readline()  # the call waits for its gate: this came live
        assert first == "waiting with [REDACTED:API_KEY]\n"
        assert follower.poll() is None
        call.finish()
        out, rest = follower.communicate(timeout=60)
    finally:
        follower.kill()
    assert follower.returncode == 0, rest
    assert json.loads(out) == {"opened": "follow"}
    assert rest == "gate opened\n" and SECRET not in first + out + rest


def test_logs_of_a_finished_call_print_its_output_and_exit_as_status_does(env: Env) -> None:
    """logs prints a finished call's stderr and exits 1 for a failed call; --stdout-only
    leaves stderr out."""
    failed = invoke(env, env.agent, "probe", "fail", {})
    shown = cli(env, env.agent, "logs", failed.id)
    assert shown.returncode == 1 and shown.stderr == "failing on purpose\n"
    only_out = cli(env, env.agent, "logs", failed.id, "--stdout-only")
    assert only_out.returncode == 1 and only_out.stderr == "" and only_out.stdout == ""


def test_only_its_agent_or_an_operator_reads_a_calls_output(env: Env) -> None:
    """Another agent cannot watch an invocation (NOT_FOUND); a viewer sees how it ended but
    not its output; the owner reads it."""
    done = invoke(env, env.agent, "probe", "echo", {"word": "private"})
    with pytest.raises(grpc.RpcError) as refused:
        watch(env, env.other, done.id)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    seen = watch(env, env.viewer, done.id)
    assert [e.WhichOneof("event") for e in seen] == ["finished"]
    assert seen[-1].finished.result.status == pb.STATUS_OK
    owned = watch(env, env.daemon.owner_token, done.id)
    assert b"private" in b"".join(e.output.data for e in owned if e.HasField("output"))


def test_a_viewer_may_neither_reload_nor_read_usage(env: Env) -> None:
    """Reload and GetUsage are PERMISSION_DENIED to a viewer."""
    with env.daemon.channel(env.viewer) as channel:
        admin = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        for rpc, request in (
            (admin.Reload, pb.ReloadRequest()),
            (admin.GetUsage, pb.GetUsageRequest()),
        ):
            with pytest.raises(grpc.RpcError) as denied:
                rpc(request, timeout=10)
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_usage_adds_up_the_calls_made(env: Env) -> None:
    """Usage per principal counts the calls by status, sums their CPU and takes their peak;
    an agent asking gets its own calls only."""
    counter = create_token(env.daemon, "counter", "agent")
    made = [invoke(env, counter, "probe", tool, {}) for tool in ("echo", "echo", "fail")]
    shown = cli(env, env.daemon.owner_token, "usage", "--by", "principal", "--json")
    assert shown.returncode == 0, shown.stderr
    rows = {row["key"]: row for row in json.loads(shown.stdout)["rows"]}
    assert rows["counter"]["calls"] == 3
    assert rows["counter"]["statuses"] == {"nonzero_exit": 1, "ok": 2}
    assert rows["counter"]["cpu_ms"] == sum(i.result.usage.cpu_ms for i in made)
    peak = max(i.result.usage.peak_memory_bytes for i in made)
    assert rows["counter"]["peak_memory_bytes"] == peak > 0
    with env.daemon.channel(counter) as channel:
        own = pb_grpc.AdminStub(channel).GetUsage(pb.GetUsageRequest(), timeout=10)  # type: ignore[no-untyped-call]
    assert [(row.key, row.calls) for row in own.rows] == [("probe", 3)]


def test_reload_over_the_api_applies_a_rate_limit_and_a_broken_file_changes_nothing(
    env: Env,
) -> None:
    """skillrt reload applies a new per-token limit as SIGHUP does; a broken file is refused
    naming its error, and the limit in force stays."""
    limited = create_token(env.daemon, "limited", "agent")
    limit = "[rate_limits.tokens.limited]\ninvocations_per_minute = 1\n"
    env.config.write_text(_config(env.gate, limit))
    try:
        reloaded = cli(env, env.daemon.owner_token, "reload")
        assert reloaded.returncode == 0, reloaded.stderr
        assert "rate_limits_by_token" in reloaded.stdout
        invoke(env, limited, "probe", "echo", {})
        with pytest.raises(grpc.RpcError) as over:
            invoke(env, limited, "probe", "echo", {})
        assert over.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        env.config.write_text(_config(env.gate, "[rate_limits.tokens.limited\n"))
        with env.daemon.channel() as channel, pytest.raises(grpc.RpcError) as broken:
            pb_grpc.AdminStub(channel).Reload(pb.ReloadRequest(), timeout=10)  # type: ignore[no-untyped-call]
        assert broken.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        details = str(broken.value.details())
        assert "invalid TOML" in details and "\n" not in details
        with pytest.raises(grpc.RpcError) as still:
            invoke(env, limited, "probe", "echo", {})  # defaults would allow 600 a minute
        assert still.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        env.config.write_text(_config(env.gate))
        with env.daemon.channel() as channel:
            pb_grpc.AdminStub(channel).Reload(pb.ReloadRequest(), timeout=10)  # type: ignore[no-untyped-call]


def test_a_principal_follows_a_few_invocations_at_once(env: Env) -> None:
    """A fifth stream following the same agent's running call is RESOURCE_EXHAUSTED: each
    watcher that does not read holds a copy of the output in the daemon, so their number is
    capped rather than the daemon's memory left to a caller."""
    call = Gated(env, env.agent, "watchers")
    running = call.running()
    with env.daemon.channel(env.agent) as channel:
        stub = env.daemon.stub(channel)
        request = pb.WatchInvocationRequest(id=running.id, follow=True)
        open_streams = [stub.WatchInvocation(request, timeout=30) for _ in range(4)]
        try:
            for stream in open_streams:
                assert next(stream).HasField("output")  # being served: its place is taken
            with pytest.raises(grpc.RpcError) as refused:
                next(stub.WatchInvocation(request, timeout=30))
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "4 invocations followed at once" in str(refused.value.details())
        finally:
            for stream in open_streams:
                stream.cancel()
    assert call.finish().result.status == pb.STATUS_OK
