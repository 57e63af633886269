"""A configuration mistake reaches the agent as one line that names the setting to fix."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tests.openclaw.conftest import Lane
from tests.openclaw.fake_model import ToolCall

SETTING = "plugins.entries.skillrt.config"


@contextmanager
def _plugin_config(lane: Lane, **changes: str) -> Iterator[None]:
    """The plugin's config with ``changes`` while in the block, then as it was."""
    gateway = lane.gateway
    path = gateway.state_dir / "openclaw.json"
    original = json.loads(path.read_text())["plugins"]["entries"]["skillrt"]["config"]
    for key, value in changes.items():
        done = gateway.openclaw("config", "set", f"{SETTING}.{key}", value)
        assert done.returncode == 0, done.stderr
    try:
        yield
    finally:
        done = gateway.openclaw("config", "set", SETTING, json.dumps(original), "--strict-json")
        assert done.returncode == 0, done.stderr
        _wait_until(lambda: lane.gateway.tools_invoke("skillrt_skills", {})[0] == 200)


def _wait_until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the gateway did not pick up the configuration"
        time.sleep(0.5)


def _agent_error(lane: Lane, key: str) -> str:
    trigger = f"TRIGGER-{key}"
    lane.model.script(trigger, ToolCall(name="exec", arguments={"command": "true"}))
    answer = lane.gateway.agent(key, f"{trigger}: go")
    return json.dumps(answer) + "\n".join(lane.model.results(trigger))


def test_a_wrong_socket_is_named(lane: Lane) -> None:
    """A socket path nothing listens on: the agent's exec fails naming the socket setting."""
    with _plugin_config(lane, socket="/nonexistent/skillrt.sock"):
        _wait_until(lambda: lane.gateway.tools_invoke("skillrt_skills", {})[0] == 500)
        error = _agent_error(lane, "bad-socket")
    assert (
        f"cannot reach the skillrt daemon at unix:/nonexistent/skillrt.sock ({SETTING}.socket)"
        in error
    ), error
    assert "    at " not in error  # no stack trace
