"""Published OpenClaw skills in sessions: mounted read-only, their scripts run, grants applied."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.secrets.keys import KeyFile
from runtime.secrets.store import SecretStore
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.core.openclaw_skills import write_catalog

SECRET = b"places-secret-value-1234"


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    instance = make_daemon()
    write_catalog(instance.catalog)
    instance.init()
    store = SecretStore(
        instance.state_dir / "secrets.db", KeyFile(instance.state_dir / "secrets.key")
    )
    store.set("PLACES_API_KEY", SECRET)
    store.close()
    instance.start()
    yield instance
    cleanup(instance)


@pytest.fixture
def client(daemon: Daemon) -> Iterator[Client]:
    with Client(daemon.target, token=daemon.owner_token) as opened:
        yield opened


def test_available_skills_script_runs_in_a_session(client: Client) -> None:
    """A session that asks for a skill finds it at /skills/<name>, and its script runs."""
    session = client.create_session(skills=["hello-script", "plain-notes"])
    outcome = client.exec(
        session.id, ["/bin/sh", "-c", "sh /skills/hello-script/scripts/hello.sh sandbox"]
    )
    listing = client.exec(session.id, ["/bin/sh", "-c", "ls /skills"])
    assert (outcome.exit_status, outcome.stdout) == (0, b"hello, sandbox\n")
    assert listing.stdout.split() == [b"hello-script", b"plain-notes"]


def test_skill_folder_is_read_only(client: Client) -> None:
    """A command cannot change the skill it was given."""
    session = client.create_session(skills=["hello-script"])
    outcome = client.exec(session.id, ["/bin/sh", "-c", "echo x > /skills/hello-script/SKILL.md"])
    assert outcome.exit_status != 0 and b"Read-only" in outcome.stderr


def test_skills_not_asked_for_are_absent(client: Client) -> None:
    """Only the skills a session asked for are mounted."""
    session = client.create_session()
    outcome = client.exec(session.id, ["/bin/sh", "-c", "test -e /skills/hello-script"])
    assert outcome.exit_status == 1


@pytest.mark.parametrize("name", ["mac-notes", "absent-program", "forecast-api", "broken-front"])
def test_unavailable_skill_is_refused_by_name(client: Client, name: str) -> None:
    """Asking for an unavailable skill is FAILED_PRECONDITION naming the skill and the reason."""
    with pytest.raises(grpc.RpcError) as raised:
        client.create_session(skills=[name])
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # type: ignore[attr-defined]
    assert name in raised.value.details()  # type: ignore[attr-defined]


def test_unknown_or_tool_skill_is_not_found(client: Client) -> None:
    """Only instruction skills mount into sessions; other names are NOT_FOUND."""
    for name in ("no-such-skill", "text-stats"):
        with pytest.raises(grpc.RpcError) as raised:
            client.create_session(skills=[name])
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


def test_granted_paths_are_bound_read_only(client: Client) -> None:
    """A path the operator grants a skill is there, read-only, in sessions that mount it."""
    session = client.create_session(skills=["place-search"])
    outcome = client.exec(
        session.id, ["/bin/sh", "-c", "test -d /etc/ssl/certs && touch /etc/ssl/certs/x"]
    )
    assert outcome.exit_status == 1 and b"Read-only" in outcome.stderr


def test_granted_secret_reaches_commands_masked(client: Client) -> None:
    """A secret the operator grants a mounted skill is in commands' environment, and masked in
    everything that comes back."""
    session = client.create_session(skills=["place-search"])
    outcome = client.exec(
        session.id,
        ["/bin/sh", "-c", 'test "$PLACES_API_KEY" = "$(cat)" && echo "$PLACES_API_KEY"'],
        stdin=SECRET,
    )
    assert outcome.exit_status == 0
    assert SECRET not in outcome.stdout and b"PLACES_API_KEY" in outcome.stdout


def test_secret_is_absent_without_the_skill(client: Client) -> None:
    """A session without the skill has no such variable."""
    session = client.create_session()
    outcome = client.exec(session.id, ["/bin/sh", "-c", 'echo "[$PLACES_API_KEY]"'])
    assert outcome.stdout == b"[]\n"


def test_skill_with_secrets_is_only_for_listed_principals(daemon: Daemon) -> None:
    """A principal the operator did not list may not mount a skill that receives secrets."""
    with daemon.channel() as channel:
        stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        token = stub.CreateToken(pb.CreateTokenRequest(name="stranger", role="agent")).token
    with Client(daemon.target, token=token) as stranger:
        with pytest.raises(grpc.RpcError) as raised:
            stranger.create_session(skills=["place-search"])
        assert stranger.create_session(skills=["hello-script"]).id  # no secrets: anyone
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    assert "principals" in raised.value.details()  # type: ignore[attr-defined]
