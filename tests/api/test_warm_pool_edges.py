"""The warm pool at its edges: scarce host uids, rules and profiles that change, reloads, tools
that do not wait for their input, keys contending for room, and what operators see."""

from __future__ import annotations

import json
import secrets
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util import paths
from tests.api.conftest import Daemon
from tests.api.test_reload import wait_for_event
from tests.api.test_warm_pool import (
    FRESH,
    entry,
    invoke,
    output,
    start_pooled,
    status,
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


RESTLESS = {
    # Never reads its input: it keeps a core busy from its start.
    "spin": "while True:\n    pass\n",
    # Answers without its input: it has ended before any call could take it.
    "early": "print('{}')\n",
}


def add_restless_skill(daemon: Daemon) -> None:
    folder = daemon.catalog / "restless"
    folder.mkdir()
    (folder / "SKILL.md").write_text(
        "---\nname: restless\ndescription: Tools that do not wait for input.\n---\n"
    )
    manifest = 'version = "1.0.0"\nprofile = "default"\n'
    for name, source in RESTLESS.items():
        (folder / f"{name}.py").write_text(source)
        manifest += (
            f'\n[[tools]]\nname = "{name}"\n'
            f'entrypoint = ["/usr/bin/python3", "/skill/{name}.py"]\n'
            'input_schema = { type = "object" }\n'
        )
    (folder / "skill.toml").write_text(manifest)


@pytest.mark.parametrize("tool", sorted(RESTLESS))
def test_a_tool_that_does_not_wait_for_its_input_is_not_kept_warm(
    fresh_daemon: Daemon, tool: str
) -> None:
    # Kept warm, it would run (and use the CPU) between calls, charged to no one.
    add_restless_skill(fresh_daemon)
    start_pooled(fresh_daemon)
    with fresh_daemon.channel() as channel:
        fresh_daemon.stub(channel).Invoke(
            pb.InvokeRequest(
                skill="restless", tool=tool, input_json="{}", limits=pb.Limits(cpu_time_ms=2000)
            ),
            timeout=60,
        )
    wait_for(lambda: (found := entry(fresh_daemon, tool)) is not None and found.evictions >= 1)
    time.sleep(2.5)  # upkeep would have replaced it by now
    assert tool_processes(f"/skill/{tool}.py") == []
    found = entry(fresh_daemon, tool)
    assert found is not None and found.evictions == 1 and found.ready == found.starting == 0


def test_what_retired_keys_counted_stays_visible(fresh_daemon: Daemon) -> None:
    start_pooled(fresh_daemon)
    output(invoke(fresh_daemon, "fresh"))
    wait_warm(fresh_daemon, "fresh")
    (fresh_daemon.catalog / "warm" / "fresh.py").write_text(FRESH.format(version=2))
    output(invoke(fresh_daemon, "fresh"))  # its old key goes, with the sandbox warm for it
    shown = status(fresh_daemon)
    assert [e.evictions for e in shown.pools] == [0]
    assert (shown.hits, shown.misses, shown.evictions) == (0, 2, 1)


def test_warm_room_goes_to_the_key_in_more_demand(fresh_daemon: Daemon) -> None:
    # Two keys used once each hold the pool's only room; a third called more wants it more.
    start_pooled(fresh_daemon, "max_total = 2\n")
    with fresh_daemon.channel() as channel:
        for wall_ms in (20_000, 21_000):
            limits = pb.Limits(wall_time_ms=wall_ms)
            request = pb.InvokeRequest(skill="warm", tool="fresh", input_json="{}", limits=limits)
            output(fresh_daemon.stub(channel).Invoke(request, timeout=60))
    wait_for(lambda: status(fresh_daemon).ready == 2)
    for _ in range(2):
        output(invoke(fresh_daemon, "fresh"))
    wait_for(lambda: (s := status(fresh_daemon)).ready == 2 and s.evictions >= 1, timeout=10)
    output(invoke(fresh_daemon, "fresh"))
    assert status(fresh_daemon).hits == 1


def test_a_profile_edited_on_disk_is_never_served_from_its_old_sandboxes(
    fresh_daemon: Daemon,
) -> None:
    profiles = fresh_daemon.root / "profiles"
    shutil.copytree(paths.PROJECT_ROOT / "sandbox_profiles", profiles)
    default = profiles / "default.toml"
    marked = default.read_text().replace("[env]\n", '[env]\nMARK = "1"\n')
    default.write_text(marked)
    start_pooled(fresh_daemon, f'[catalog]\nprofiles = "{profiles}"\n')
    (fresh_daemon.catalog / "warm" / "fresh.py").write_text(
        "import json, os, sys\njson.load(sys.stdin)\nprint(json.dumps(os.environ['MARK']))\n"
    )
    output(invoke(fresh_daemon, "fresh"))
    wait_warm(fresh_daemon, "fresh")
    default.write_text(marked.replace('MARK = "1"', 'MARK = "2"'))
    for _ in range(3):
        done = invoke(fresh_daemon, "fresh")
        assert done.result.status == pb.STATUS_OK, done.result
        assert json.loads(done.result.output_json) == "2"
        wait_warm(fresh_daemon, "fresh")
    assert status(fresh_daemon).hits == 2


HEAVY = "x = bytearray(40 * 1024 * 1024)\nimport sys\nsys.stdin.read()\nprint('{}')\n"


def test_tools_that_load_after_their_start_keep_the_pool_inside_its_budget(
    fresh_daemon: Daemon,
) -> None:
    # Measured when nsjail starts the tool, a warm sandbox holds little: what the tool loads
    # next must be counted before more start, not a second later.
    budget = 64 * 1024 * 1024
    folder = fresh_daemon.catalog / "heavy"
    folder.mkdir()
    (folder / "SKILL.md").write_text("---\nname: heavy\ndescription: Loads 40 MiB.\n---\n")
    (folder / "heavy.py").write_text(HEAVY)
    (folder / "skill.toml").write_text(
        'version = "1.0.0"\nprofile = "default"\n\n[[tools]]\nname = "load"\n'
        'entrypoint = ["/usr/bin/python3", "/skill/heavy.py"]\n'
        'input_schema = { type = "object" }\n'
    )
    start_pooled(fresh_daemon, f'memory_budget = "{budget // (1024 * 1024)}MiB"\n')
    with fresh_daemon.channel() as channel:
        stub = fresh_daemon.stub(channel)
        for wall in (20_000, 21_000, 22_000, 23_000):  # four keys that differ in limits only
            done = stub.Invoke(
                pb.InvokeRequest(
                    skill="heavy", tool="load", input_json="{}", limits=pb.Limits(wall_time_ms=wall)
                ),
                timeout=60,
            )
            assert done.result.status == pb.STATUS_OK, done.result
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        held = sum(
            int((d / "memory.usage_in_bytes").read_text())
            for d in fresh_daemon.cgroup_dirs()
            if (d / "memory.usage_in_bytes").exists()
        )
        assert held <= budget, f"warm sandboxes hold {held} bytes"
        time.sleep(0.05)
