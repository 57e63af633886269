"""The approvals page of a real daemon: what an approver sees, the live stream, and decisions
made through the daemon's gate (with its checks), over HTTP."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator

import pytest

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from tests.console.conftest import Browser, ConsoleDaemon
from tests.timing import scaled


@pytest.fixture(scope="module")
def agent(console: ConsoleDaemon) -> str:
    return console.token("console-agent", "agent")


@pytest.fixture(scope="module")
def approver(console: ConsoleDaemon) -> Browser:
    """An approver signed in with a password."""
    password = console.add_account("appro", "approver")
    browser = console.browser()
    assert browser.sign_in(name="appro", password=password).status == 303
    return browser


def _decide(browser: Browser, approval_id: str, decision: str, **extra: str) -> int:
    form = {"csrf": browser.csrf(), "decision": decision, "reason": "looks fine", **extra}
    return browser.post(f"/approvals/{approval_id}/decide", form).status


def _events(browser: Browser) -> Iterator[tuple[str, dict[str, object]]]:
    """The approvals stream as (event, data) pairs, read as they come."""
    connection = http.client.HTTPConnection(browser.host, browser.port, timeout=30)
    cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    connection.request("GET", "/approvals/events", headers={"Cookie": cookie})
    response = connection.getresponse()
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    event = ""
    try:
        while True:
            line = response.readline().decode()
            assert line, "the stream ended"
            if line.startswith("event: "):
                event = line[7:].strip()
            elif line.startswith("data: "):
                yield event, json.loads(line[6:])
    finally:
        connection.close()


def test_a_pending_request_shows_what_an_approver_needs(
    console: ConsoleDaemon, agent: str, approver: Browser
) -> None:
    """Skill and version, tool, the full input, who asked, limits and the expiry are shown."""
    pending = console.invoke(agent, {"city": "Lyon", "note": "hello <b>there</b>"})
    page = approver.get("/approvals").body
    assert f'id="{pending.approval_id}"' in page
    for shown in ("gated", "2.5.0", "echo", "&#34;city&#34;: &#34;Lyon&#34;", "console-agent"):
        assert shown in page
    assert "hello &lt;b&gt;there&lt;/b&gt;" in page  # the input is text, never markup
    assert "Memory" in page and "CPU time" in page and "data-expires=" in page


def test_input_that_would_reorder_text_is_shown_escaped(
    console: ConsoleDaemon, agent: str, approver: Browser
) -> None:
    """A bidi override in the input is written out, so the approver reads what will run."""
    pending = console.invoke(agent, {"file": "invoice\u202egpj.exe"})
    page = approver.get("/approvals").body
    assert pending.approval_id in page
    assert "invoice\\u202egpj.exe" in page and "\u202e" not in page


def test_the_stream_sends_pending_new_and_settled_requests(
    console: ConsoleDaemon, agent: str, approver: Browser
) -> None:
    """The stream starts with what is pending, then sends a new request as it is filed and
    its settlement once decided."""
    first = console.invoke(agent, {"n": "first"})
    stream = _events(approver)
    seen: set[object] = set()
    while first.approval_id not in seen:
        kind, data = next(stream)
        assert kind == "pending"
        seen.add(data["id"])
    second = console.invoke(agent, {"n": "second"})
    kind, data = next(stream)
    assert (kind, data["id"]) == ("pending", second.approval_id)
    assert "second" in str(data["html"])
    assert _decide(approver, second.approval_id, "deny") == 303
    kind, data = next(stream)
    assert (kind, data["id"], data["state"]) == ("settled", second.approval_id, "denied")
    assert data["decided_by"] == "console:appro"
    stream.close()


def test_approving_in_the_console_completes_the_waiting_call(
    console: ConsoleDaemon, agent: str, approver: Browser
) -> None:
    """An agent waiting on its call gets the result once the approver approves it here; the
    decision is audited with the approver's name and reason."""
    answers: list[pb.Invocation] = []
    caller = threading.Thread(
        target=lambda: answers.append(console.invoke(agent, {"wait": "me"}, wait=True))
    )
    caller.start()
    stream = _events(approver)
    approval_id = ""
    while not approval_id:
        kind, data = next(stream)
        if kind == "pending" and "wait" in str(data["html"]):
            approval_id = str(data["id"])
    stream.close()
    assert _decide(approver, approval_id, "approve") == 303
    caller.join(timeout=120)
    assert answers and answers[0].result.status == pb.STATUS_OK
    assert json.loads(answers[0].result.output_json) == {"echo": {"wait": "me"}}
    decided = [e for e in console.audit("approval.decided") if e["approval_id"] == approval_id]
    assert decided[0]["actor"] == "console:appro" and decided[0]["reason"] == "looks fine"


def test_the_script_gets_the_decision_as_json(
    console: ConsoleDaemon, agent: str, approver: Browser
) -> None:
    """Asked for JSON with the CSRF header (the page's script), a decision answers its state."""
    pending = console.invoke(agent, {"via": "script"})
    answer = approver.request(
        "POST",
        f"/approvals/{pending.approval_id}/decide",
        "decision=deny&reason=no",
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "X-CSRF-Token": approver.csrf(),
        },
    )
    assert answer.status == 200
    assert answer.json() == {
        "id": pending.approval_id,
        "state": "denied",
        "decided_by": "console:appro",
        "reason": "no",
    }


def test_a_second_decision_is_refused(
    console: ConsoleDaemon, agent: str, approver: Browser
) -> None:
    """The first decision wins; a second is 409 and changes nothing."""
    pending = console.invoke(agent, {"twice": True})
    assert _decide(approver, pending.approval_id, "deny") == 303
    assert _decide(approver, pending.approval_id, "approve") == 409


def test_a_viewer_sees_no_approvals_and_cannot_decide(console: ConsoleDaemon, agent: str) -> None:
    """A viewer's role may not list approvals: no page, no approve button, and a POST with the
    viewer's own session and token is refused, leaving the request pending."""
    pending = console.invoke(agent, {"viewer": "tries"})
    password = console.add_account("vic", "viewer")
    viewer = console.browser()
    assert viewer.sign_in(name="vic", password=password).status == 303
    page = viewer.get("/approvals")
    assert page.status == 403 and "Approve" not in page.body
    token = viewer.csrf("/approvals")  # the refusal page's sign-out form carries it
    refused = viewer.post(
        f"/approvals/{pending.approval_id}/decide", {"csrf": token, "decision": "approve"}
    )
    assert refused.status == 403
    with console.daemon.channel() as channel:
        stub = pb_grpc.ApprovalsStub(channel)  # type: ignore[no-untyped-call]
        listed = stub.ListApprovals(pb.ListApprovalsRequest(), timeout=10).approvals
    assert [a.state for a in listed if a.id == pending.approval_id] == [pb.APPROVAL_STATE_PENDING]


def test_nobody_approves_their_own_request(console: ConsoleDaemon) -> None:
    """The owner signed in with the token that asked may not decide its own request, as over
    gRPC."""
    pending = console.invoke(console.daemon.owner_token, {"self": "approval"})
    owner = console.browser()
    assert owner.sign_in(token=console.daemon.owner_token).status == 303
    refused = _decide(owner, pending.approval_id, "approve")
    assert refused == 403


def test_the_stream_tells_nothing_more_once_the_password_is_reset(
    console: ConsoleDaemon, agent: str
) -> None:
    """An open stream whose account's password is then reset sends no later request: it
    ends, as the session did."""
    password = console.add_account("streamer", "approver")
    browser = console.browser()
    assert browser.sign_in(name="streamer", password=password).status == 303
    first = console.invoke(agent, {"n": "before the reset"})
    stream = _events(browser)
    while next(stream)[1]["id"] != first.approval_id:
        pass
    assert console.cli("console", "reset", "streamer").returncode == 0
    second = console.invoke(agent, {"n": "after the reset"})
    with pytest.raises(AssertionError, match="the stream ended"):
        for _, data in stream:
            assert data["id"] != second.approval_id, "sent after the reset"


def test_one_principal_holds_a_bounded_number_of_streams(approver: Browser) -> None:
    """A fifth approvals stream of the same principal is refused (429) while four are open;
    once one closes, a new one opens."""
    cookie = "; ".join(f"{k}={v}" for k, v in approver.cookies.items())

    def open_stream() -> tuple[http.client.HTTPConnection, int]:
        connection = http.client.HTTPConnection(approver.host, approver.port, timeout=30)
        connection.request("GET", "/approvals/events", headers={"Cookie": cookie})
        return connection, connection.getresponse().status

    held = [open_stream() for _ in range(4)]
    try:
        assert [status for _, status in held] == [200] * 4
        refused, status = open_stream()
        refused.close()
        assert status == 429
        held.pop()[0].close()
        deadline = time.monotonic() + scaled(10)
        while True:  # the server sees the close on its next write (a heartbeat at the latest)
            again, status = open_stream()
            held.append((again, status))
            if status == 200:
                break
            held.pop()[0].close()
            assert time.monotonic() < deadline, "a closed stream was never let go"
            time.sleep(0.2)
    finally:
        for connection, _ in held:
            connection.close()
