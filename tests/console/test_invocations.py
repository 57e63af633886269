"""The invocations pages of a real daemon: the list and its filters, one call in detail, and
what each role may read there (GetInvocation's rules)."""

from __future__ import annotations

import pytest

from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.console.conftest import Browser, ConsoleDaemon


@pytest.fixture(scope="module")
def ran(console: ConsoleDaemon) -> pb.Invocation:
    """A finished call of text-stats by an agent."""
    agent = console.token("stats-agent", "agent")
    with Client(console.daemon.target, token=agent) as client:
        done = client.invoke("text-stats", "analyze", {"text": "one two three"}, timeout=120)
    assert done.result.status == pb.STATUS_OK
    return done


@pytest.fixture(scope="module")
def owner(console: ConsoleDaemon) -> Browser:
    browser = console.browser()
    assert browser.sign_in(token=console.daemon.owner_token).status == 303
    return browser


def test_the_list_shows_a_finished_call(ran: pb.Invocation, owner: Browser) -> None:
    """A finished call is listed with its skill, tool, principal and status, linking to it."""
    page = owner.get("/invocations").body
    assert f'href="/invocations/{ran.id}"' in page
    assert "text-stats / analyze" in page and "stats-agent" in page
    assert '<span class="badge ok">ok</span>' in page


@pytest.mark.parametrize(
    ("query", "listed"),
    [("skill=text-stats", True), ("skill=gated", False), ("status=ok", True)],
    ids=["skill", "other-skill", "status"],
)
def test_filters_narrow_the_list(
    ran: pb.Invocation, owner: Browser, query: str, listed: bool
) -> None:
    """Filtering by skill or status lists the call only when it matches."""
    assert (ran.id in owner.get(f"/invocations?{query}").body) is listed


def test_a_status_filter_that_names_nothing_is_refused(owner: Browser) -> None:
    """An unknown status is a 400 naming the field, not an empty list."""
    answer = owner.get("/invocations?status=fine")
    assert answer.status == 400 and "status:" in answer.body


def test_the_detail_shows_usage_and_output_to_the_owner(ran: pb.Invocation, owner: Browser) -> None:
    """The owner reads a call's status, usage, output and stdout."""
    page = owner.get(f"/invocations/{ran.id}").body
    assert "Peak memory" in page and "CPU time" in page
    assert 'class="output"' in page and 'class="stdout"' in page


def test_a_viewer_reads_how_a_call_went_not_what_it_said(
    console: ConsoleDaemon, ran: pb.Invocation
) -> None:
    """A viewer sees another's call and its status, but not its output or stdout."""
    password = console.add_account("wren", "viewer")
    viewer = console.browser()
    viewer.sign_in(name="wren", password=password)
    page = viewer.get(f"/invocations/{ran.id}")
    assert page.status == 200 and ">ok</span>" in page.body
    assert 'class="output"' not in page.body and 'class="stdout"' not in page.body


def test_an_agent_sees_only_its_own_calls(console: ConsoleDaemon, ran: pb.Invocation) -> None:
    """Another agent signed in with its token finds the call absent, as over gRPC."""
    other = console.browser()
    other.sign_in(token=console.token("other-agent", "agent"))
    assert other.get(f"/invocations/{ran.id}").status == 404
    assert ran.id not in other.get("/invocations").body


def test_an_approver_may_not_list_invocations(console: ConsoleDaemon) -> None:
    """The role table keeps ListInvocations from approvers: so does the console."""
    password = console.add_account("xan", "approver")
    approver = console.browser()
    approver.sign_in(name="xan", password=password)
    assert approver.get("/invocations").status == 403
