"""The command line's credentials against a real daemon: the admin token only when asked for,
saved targets and what wins over them, refusals that say who the caller was taken to be, and
the recovery of a lost owner token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from runtime.audit import events
from runtime.cli.connect import NO_TOKEN
from runtime.cli.main import main
from runtime.client import Client
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.approvals.conftest import create_token


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    instance = make_daemon()
    instance.start()
    yield instance
    cleanup(instance)


@pytest.fixture
def cli(
    daemon: Daemon,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[CommandLine]:
    """The command line of an operator of this daemon's host, with no credential set."""
    monkeypatch.setenv("SKILLRT_CLIENT_CONFIG", str(tmp_path / "client.toml"))
    monkeypatch.setenv("SKILLRT_STATE_DIR", str(daemon.state_dir))
    for variable in ("SKILLRT_TOKEN", "SKILLRT_TOKEN_FILE", "SKILLRT_SOCKET"):
        monkeypatch.delenv(variable, raising=False)
    yield CommandLine(capsys, tmp_path)


class CommandLine:
    def __init__(self, capsys: pytest.CaptureFixture[str], folder: Path) -> None:
        self.capsys = capsys
        self.folder = folder

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        return code, out, err

    def token_file(self, token: str, name: str = "token") -> Path:
        file = self.folder / name
        file.write_text(token + "\n")
        file.chmod(0o600)
        return file


def test_the_admin_token_is_used_only_when_asked(daemon: Daemon, cli: CommandLine) -> None:
    """With the daemon's state directory readable and no token given, nothing is sent and the
    line says how to give one; --admin-token uses the daemon's own."""
    code, _, err = cli("whoami", "--target", daemon.target)
    assert (code, err) == (2, f"skillrt: error: {NO_TOKEN}\n")
    code, out, err = cli("whoami", "--target", daemon.target, "--admin-token")
    assert code == 0, err
    assert out == f"daemon-admin (role admin, by token) at {daemon.target}\n"


def _use_owner_target(daemon: Daemon, cli: CommandLine) -> None:
    """A saved target `mine`, made current, that reaches the daemon with the owner's token file."""
    owner = cli.token_file(daemon.owner_token)
    added = cli(
        "target", "add", "mine", "--socket", str(daemon.socket), "--token-file", str(owner), "--use"
    )
    assert added[0] == 0, added


def test_a_saved_target_brings_its_token_file(daemon: Daemon, cli: CommandLine) -> None:
    """A target, chosen as current or with the global --target, reaches its daemon with its
    token file; a target may name the daemon's admin token file."""
    _use_owner_target(daemon, cli)
    admin = str(daemon.state_dir / "admin.token")
    assert (
        cli("target", "add", "adm", "--socket", str(daemon.socket), "--token-file", admin)[0] == 0
    )
    assert cli("whoami")[1].startswith("owner (role owner, by token)")
    assert cli("--target", "adm", "whoami")[1].startswith("daemon-admin (role admin, by token)")
    assert cli("whoami", "--target", "adm")[1].startswith("daemon-admin ")


def test_flags_and_the_environment_win_over_the_target(
    daemon: Daemon, cli: CommandLine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--token-file, then $SKILLRT_TOKEN, win over the current target's token file."""
    _use_owner_target(daemon, cli)
    monkeypatch.setenv("SKILLRT_TOKEN", create_token(daemon, "env-viewer", "viewer"))
    assert cli("whoami")[1].startswith("env-viewer (role viewer, by token)")
    agent = cli.token_file(create_token(daemon, "flag-agent", "agent"), "agent")
    assert cli("whoami", "--token-file", str(agent))[1].startswith("flag-agent (role agent,")


def test_a_refusal_names_the_caller_and_what_was_sent(daemon: Daemon, cli: CommandLine) -> None:
    """PERMISSION_DENIED through the command line names the principal, its role, how it
    authenticated, and which credential the command line sent."""
    viewer = cli.token_file(create_token(daemon, "eyes", "viewer"))
    code, _, err = cli("token", "list", "--target", daemon.target, "--token-file", str(viewer))
    assert code == 1
    assert err == (
        "skillrt: error: PERMISSION_DENIED: 'eyes' (role viewer, by token): may not call "
        f"/skillrt.v1.Admin/ListTokens (sent: token from --token-file {viewer})\n"
    )


def test_init_twice_says_how_to_recover(daemon: Daemon, cli: CommandLine) -> None:
    code, _, err = cli("init", "--state-dir", str(daemon.state_dir))
    assert code == 2 and "already initialised" in err and "init --recover-owner" in err


def test_recovery_is_for_the_keyholder(
    daemon: Daemon, cli: CommandLine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone who is neither root nor the owner of the server key is refused."""
    monkeypatch.setattr("runtime.cli.init.os.geteuid", lambda: 4242)
    code, out, err = cli("init", "--recover-owner", "--state-dir", str(daemon.state_dir))
    assert (code, out) == (1, "") and "is for root or the owner of" in err
    assert _owner_works(daemon, daemon.owner_token)


def test_a_lost_owner_token_is_replaced(daemon: Daemon, cli: CommandLine) -> None:
    """--recover-owner revokes the owner token, prints a new one that works, and is audited."""
    old = daemon.owner_token
    code, out, err = cli("init", "--recover-owner", "--state-dir", str(daemon.state_dir))
    assert code == 0, err
    daemon.owner_token = out.strip()
    assert _owner_works(daemon, daemon.owner_token) and not _owner_works(daemon, old)
    log = [json.loads(line) for line in (daemon.state_dir / "audit.log").read_text().splitlines()]
    recovery = [e for e in log if e.get("reason") == "owner recovery"]
    assert [e["event"] for e in recovery] == [events.TOKEN_REVOKED, events.TOKEN_CREATED]
    assert all(e["actor"].startswith("cli:") for e in recovery)


def _owner_works(daemon: Daemon, token: str) -> bool:
    with Client(daemon.target, token=token) as client:
        try:
            return client.whoami().role == "owner"
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
            return False
