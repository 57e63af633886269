"""The warm pool at its edges: scarce host uids, rules that change, reloads, stops mid-start."""

from __future__ import annotations

import secrets
import signal
import time
from concurrent.futures import ThreadPoolExecutor

from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.api.conftest import Daemon
from tests.api.test_reload import wait_for_event
from tests.api.test_warm_pool import (
    entry,
    invoke,
    output,
    start_pooled,
    tool_processes,
    wait_for,
    wait_warm,
)
from tests.approvals.conftest import approvals_stub


def uid_range(count: int) -> str:
    """A range of host uids no other test draws from (uids are held host-wide)."""
    first = 1_600_000_000 + secrets.randbelow(100_000) * 100
    return f"{first}-{first + count - 1}"


def test_warm_starts_never_take_the_uid_a_call_needs(fresh_daemon: Daemon) -> None:
    # Two uids: as many calls may run at once as without the pool, whatever it is starting.
    start_pooled(
        fresh_daemon,
        f'[sandboxes]\nhost_uids = "{uid_range(2)}"\nmax_running = 2\n',
    )
    invoke(fresh_daemon, "fresh")
    for _ in range(3):
        wait_warm(fresh_daemon, "fresh")
        with ThreadPoolExecutor(2) as calls:
            done = list(calls.map(lambda _: invoke(fresh_daemon, "fresh"), range(2)))
        assert [d.result.status for d in done] == [pb.STATUS_OK] * 2, done


def add_rule(daemon: Daemon, effect: str, tool: str) -> str:
    with daemon.channel() as channel:
        rule: pb.Rule = approvals_stub(channel).CreateRule(
            pb.CreateRuleRequest(effect=effect, skill="warm", tool=tool, reason="test"),
            timeout=10,
        )
        return rule.id


def test_a_tool_needing_approval_is_never_warm_even_while_a_rule_lets_it_run(
    fresh_daemon: Daemon,
) -> None:
    # The rule may go at any moment; a warm sandbox would then be running ahead of approval.
    start_pooled(fresh_daemon)
    add_rule(fresh_daemon, "allow", "gated")
    for _ in range(2):
        output(invoke(fresh_daemon, "gated"))
    time.sleep(1.5)  # a background start would have had time to run
    assert tool_processes("/skill/gated.py") == []


def test_a_deny_rule_stops_the_tools_warm_sandboxes(fresh_daemon: Daemon) -> None:
    start_pooled(fresh_daemon)
    output(invoke(fresh_daemon, "fresh"))
    wait_warm(fresh_daemon, "fresh")
    add_rule(fresh_daemon, "deny", "fresh")
    wait_for(lambda: tool_processes("/skill/fresh.py") == [], timeout=10)
    assert invoke(fresh_daemon, "fresh").result.status == pb.STATUS_DENIED


def test_sighup_turns_the_pool_off_and_its_sandboxes_go(fresh_daemon: Daemon) -> None:
    start_pooled(fresh_daemon)
    output(invoke(fresh_daemon, "fresh"))
    wait_warm(fresh_daemon, "fresh")
    (fresh_daemon.root / "skillrt.toml").write_text("[pool]\nenabled = false\n")
    assert fresh_daemon.process is not None
    fresh_daemon.process.send_signal(signal.SIGHUP)
    wait_for_event(fresh_daemon, "configuration reloaded")
    wait_for(lambda: tool_processes("/skill/fresh.py") == [], timeout=10)
    output(invoke(fresh_daemon, "fresh"))
    time.sleep(1.5)  # a background start would have had time to run
    assert tool_processes("/skill/fresh.py") == []
    assert entry(fresh_daemon, "fresh") is None


def test_warm_sandboxes_never_take_the_uid_a_session_needs(fresh_daemon: Daemon) -> None:
    # Two uids: two sessions fit, as they do without the pool.
    start_pooled(fresh_daemon, f'[sandboxes]\nhost_uids = "{uid_range(2)}"\n')
    output(invoke(fresh_daemon, "fresh"))
    wait_warm(fresh_daemon, "fresh")
    with Client(fresh_daemon.target, token=fresh_daemon.owner_token) as client:
        for _ in range(2):
            client.create_session()
