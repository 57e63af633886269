"""ListInvocations, `skillrt ps` and `skillrt cancel` against the real daemon, with their role
checks: an agent sees only its own invocations, a viewer cannot cancel."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time

import grpc
import pytest

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util import paths
from tests.api.conftest import Daemon
from tests.approvals.conftest import create_token


def invoke(daemon: Daemon, token: str, tool: str = "echo", data: str = "{}") -> pb.Invocation:
    with daemon.channel(token) as channel:
        done: pb.Invocation = daemon.stub(channel).Invoke(
            pb.InvokeRequest(skill="probe", tool=tool, input_json=data), timeout=60
        )
        return done


def listing(daemon: Daemon, token: str, **fields: object) -> pb.ListInvocationsResponse:
    with daemon.channel(token) as channel:
        page: pb.ListInvocationsResponse = daemon.stub(channel).ListInvocations(
            pb.ListInvocationsRequest(**fields), timeout=10
        )
        return page


def cli(daemon: Daemon, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", *args, "--target", daemon.target],
        env={**os.environ, "SKILLRT_TOKEN": token},
        cwd=paths.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_agent_lists_only_its_own_invocations(daemon: Daemon) -> None:
    alice, bob = create_token(daemon, "alice-l", "agent"), create_token(daemon, "bob-l", "agent")
    mine = invoke(daemon, alice).id
    theirs = invoke(daemon, bob).id
    seen = {i.id for i in listing(daemon, alice, page_size=500).invocations}
    assert mine in seen and theirs not in seen
    asked_for_bob = listing(daemon, alice, principal="bob-l", page_size=500).invocations
    assert theirs not in {i.id for i in asked_for_bob}
    everyone = {i.id for i in listing(daemon, daemon.owner_token, page_size=500).invocations}
    assert {mine, theirs} <= everyone


def test_pages_are_newest_first_and_cover_every_invocation_once(daemon: Daemon) -> None:
    agent = create_token(daemon, "pager", "agent")
    made = [invoke(daemon, agent).id for _ in range(5)]
    seen: list[str] = []
    token = ""
    while True:
        page = listing(daemon, agent, page_size=2, page_token=token)
        assert len(page.invocations) <= 2
        seen += [i.id for i in page.invocations]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(made))


def test_filters_narrow_the_list(daemon: Daemon) -> None:
    agent = create_token(daemon, "filterer", "agent")
    echoed = invoke(daemon, agent, "echo").id
    failed = invoke(daemon, agent, "fail").id
    only_fail = {i.id for i in listing(daemon, agent, tool="fail", page_size=500).invocations}
    assert failed in only_fail and echoed not in only_fail
    live = listing(daemon, agent, states=[pb.INVOCATION_STATE_RUNNING], page_size=500)
    assert {echoed, failed}.isdisjoint(i.id for i in live.invocations)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"page_token": "not-a-token"}, "page_token"),
        # A time past SQLite's 64-bit integers was an INTERNAL error with a traceback logged.
        ({"page_token": base64.urlsafe_b64encode(b"9" * 40 + b":inv_x").decode()}, "page_token"),
        ({"page_size": 501}, "page_size"),
    ],
    ids=["not-a-token", "time-too-large", "page-too-large"],
)
def test_a_bad_request_names_its_field(
    daemon: Daemon, fields: dict[str, object], field: str
) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        listing(daemon, daemon.owner_token, **fields)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in str(refused.value.details())


def test_a_viewer_sees_how_others_calls_went_but_cannot_cancel(daemon: Daemon) -> None:
    agent, viewer = create_token(daemon, "seen", "agent"), create_token(daemon, "eyes", "viewer")
    done = invoke(daemon, agent, "echo", '{"secret": "words"}')
    (shown,) = [i for i in listing(daemon, viewer, page_size=500).invocations if i.id == done.id]
    assert shown.result.status == pb.STATUS_OK and not shown.result.output_json
    with daemon.channel(viewer) as channel, pytest.raises(grpc.RpcError) as denied:
        daemon.stub(channel).CancelInvocation(pb.CancelInvocationRequest(id=done.id), timeout=10)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_ps_shows_a_running_call_and_cancel_stops_it(daemon: Daemon) -> None:
    agent = create_token(daemon, "sleeper", "agent")
    ended: list[pb.Invocation] = []
    caller = threading.Thread(
        target=lambda: ended.append(invoke(daemon, agent, "sleep", '{"seconds": 30}'))
    )
    caller.start()
    deadline = time.monotonic() + 30
    running: list[dict[str, object]] = []
    while not running:
        assert time.monotonic() < deadline, "the call never showed as running"
        shown = cli(daemon, agent, "ps", "--json")
        assert shown.returncode == 0, shown.stderr
        rows = [json.loads(line) for line in shown.stdout.splitlines()]
        running = [r for r in rows if r["tool"] == "sleep" and r["state"] == "running"]
        time.sleep(0.1)
    table = cli(daemon, agent, "ps")
    assert str(running[0]["invocation_id"]) in table.stdout and "probe/sleep" in table.stdout
    stopped = cli(daemon, agent, "cancel", str(running[0]["invocation_id"]))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "status: cancelled" in stopped.stdout
    caller.join(timeout=30)
    assert ended and ended[0].result.status == pb.STATUS_CANCELLED
    after = cli(daemon, agent, "ps", "--json").stdout
    assert str(running[0]["invocation_id"]) not in after


def test_a_refusal_names_the_principal_and_role_used(daemon: Daemon) -> None:
    viewer = create_token(daemon, "eyes-only", "viewer")
    with daemon.channel(viewer) as channel, pytest.raises(grpc.RpcError) as denied:
        daemon.stub(channel).CancelInvocation(pb.CancelInvocationRequest(id="inv_x"), timeout=10)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "'eyes-only' (role viewer, by token): may not call" in str(denied.value.details())


def test_a_listing_leaves_out_what_each_call_printed(daemon: Daemon) -> None:
    """Listed invocations carry how they went but not their stdout, stderr or output, which
    GetInvocation has: 500 calls printing 1 MiB each made one page of about 1 GiB, built whole
    in the daemon's memory (and past the 4 MiB a client takes, so `ps --all` failed)."""
    agent = create_token(daemon, "printer", "agent")
    done = invoke(daemon, agent, "echo", json.dumps({"text": "x" * 200_000}))
    assert done.result.status == pb.STATUS_OK and len(done.result.stdout) > 200_000
    (listed,) = [i for i in listing(daemon, agent, page_size=500).invocations if i.id == done.id]
    assert listed.result.status == pb.STATUS_OK and listed.result.exit_code == 0
    assert listed.result.usage == done.result.usage
    assert (listed.result.stdout, listed.result.stderr, listed.result.output_json) == (b"", b"", "")
    with daemon.channel(agent) as channel:
        got = daemon.stub(channel).GetInvocation(pb.GetInvocationRequest(id=done.id), timeout=10)
    assert got.result.stdout == done.result.stdout and got.result.output_json
