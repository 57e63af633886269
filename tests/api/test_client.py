"""The Python clients and the CLI verbs that use them, against a real daemon."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import grpc
import pytest

from runtime.client import AsyncClient, Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.sandbox.profiles import LimitOverrides
from runtime.util import paths
from tests.api.conftest import Daemon


def test_sync_client_invoke(daemon: Daemon) -> None:
    """Client.invoke runs a bundled skill and returns its parsed output."""
    with Client(daemon.target, token=daemon.owner_token) as client:
        invocation = client.invoke("text-stats", "analyze", {"text": "one two two"})
    assert invocation.result.status == pb.STATUS_OK
    assert json.loads(invocation.result.output_json)["words"] == 3


def test_sync_client_errors_are_grpc_statuses(daemon: Daemon) -> None:
    """A bad request surfaces as an RpcError carrying the daemon's status."""
    with (
        Client(daemon.target, token=daemon.owner_token) as client,
        pytest.raises(grpc.RpcError) as info,
    ):
        client.invoke("probe", "echo", limits=LimitOverrides(pids=10_000))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_async_client_stream(daemon: Daemon) -> None:
    """AsyncClient.invoke_stream yields the events of one invocation in order."""

    async def go() -> list[str]:
        async with AsyncClient(daemon.target, token=daemon.owner_token) as client:
            return [
                e.WhichOneof("event")
                async for e in client.invoke_stream("probe", "chatter", {"lines": 2})
            ]

    kinds = asyncio.run(go())
    assert kinds == ["accepted", "started", "output", "output", "finished"]


def test_async_client_get_and_cancel_finished(daemon: Daemon) -> None:
    """Cancelling a finished invocation leaves its result as it was."""

    async def go() -> tuple[pb.Invocation, pb.Invocation]:
        async with AsyncClient(daemon.target, token=daemon.owner_token) as client:
            done = await client.invoke("probe", "echo", {"k": 1})
            return done, await client.cancel(done.id)

    done, after = asyncio.run(go())
    assert after.result.status == done.result.status == pb.STATUS_OK


def cli(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        env={
            **os.environ,
            "SKILLRT_SOCKET": str(daemon.socket),
            "SKILLRT_TOKEN": daemon.owner_token,
        },
        timeout=60,
        check=False,
    )


def test_cli_invoke_json(daemon: Daemon) -> None:
    """`skillrt invoke --json` prints the result object with the invocation id."""
    proc = cli(daemon, "invoke", "text-stats", "analyze", "--input", '{"text": "a b"}', "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "ok" and result["invocation_id"].startswith("inv_")
    assert result["output"]["words"] == 2


def test_cli_invoke_not_found(daemon: Daemon) -> None:
    """An unknown skill through the CLI is one line with the daemon's status."""
    proc = cli(daemon, "invoke", "nope", "x")
    assert proc.returncode == 1
    assert proc.stderr == "skillrt: error: NOT_FOUND: unknown skill 'nope'\n"


def test_cli_skills_and_status(daemon: Daemon) -> None:
    """`skillrt skills` lists the catalog and `skillrt status` reports SERVING."""
    skills = cli(daemon, "skills", "--json")
    assert {s["name"] for s in json.loads(skills.stdout)} == {"probe", "text-stats"}
    status = cli(daemon, "status")
    assert (status.returncode, status.stdout.strip()) == (0, f"unix:{daemon.socket}: SERVING")


def test_cli_daemon_unreachable(tmp_path: object) -> None:
    """With no daemon listening, the CLI says so in one line."""
    proc = subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", "status", "--target", "unix:/nonexistent.sock"],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("skillrt: error: daemon not reachable at unix:/nonexistent.sock")
    assert proc.stderr.count("\n") == 1


def test_cli_invoke_plain_says_why_a_call_failed(daemon: Daemon) -> None:
    """Without --json a failed call shows its status, exit code and the tail of its stderr, and
    the command exits 1."""
    proc = cli(daemon, "invoke", "probe", "fail")
    assert proc.returncode == 1, proc.stderr
    assert "status: nonzero_exit (exit code 3)" in proc.stdout
    assert "stderr:\n  failing on purpose" in proc.stdout


def test_cli_status_plain_shows_the_output_and_exits_as_invoke_does(daemon: Daemon) -> None:
    """`skillrt status INV` shows what `invoke` showed, and fails when the call failed."""
    done = json.loads(
        cli(daemon, "invoke", "probe", "echo", "--input", '{"a": 1}', "--json").stdout
    )
    shown = cli(daemon, "status", done["invocation_id"])
    assert shown.returncode == 0, shown.stderr
    assert "status: ok (exit code 0)" in shown.stdout and '"a": 1' in shown.stdout
    failed = json.loads(cli(daemon, "invoke", "probe", "fail", "--json").stdout)
    again = cli(daemon, "status", failed["invocation_id"])
    assert again.returncode == 1
    assert "failing on purpose" in again.stdout
    as_json = cli(daemon, "status", failed["invocation_id"], "--json")
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["result"]["exit_code"] == 3
