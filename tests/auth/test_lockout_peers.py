"""Lockout abuse over the real daemon: whoever guesses locks out itself, never a token's holder.

Callers on this host are told apart by the uid the kernel gives for their socket, over the Unix
socket (made reachable by every user here, as an operator may) and over loopback TCP alike.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest

from runtime.audit.events import AUTH_FAILED
from runtime.audit.query import Query, entries
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from tests.api.conftest import BearerToken, Daemon, cleanup, make_daemon
from tests.auth.as_user import calls_as
from tests.auth.test_tls import free_port

MAX_FAILURES = 3
# Locks far longer than any test, so that "still locked out" never depends on timing.
CONFIG = f"""
[auth]
max_failures = {MAX_FAILURES}
failure_window = "1h"
lockout = "1h"
max_lockout = "1h"
"""
# Each test locks out a user of its own, for good: the module shares one daemon.
SOCKET_GUESSER = 65534
TCP_GUESSER = 65533
BYSTANDER = 65532
_POLL_SECONDS = 0.1


@pytest.fixture(scope="module")
def daemon() -> Iterator[tuple[Daemon, str]]:
    instance = make_daemon()
    config = instance.root / "skillrt.toml"
    config.write_text(CONFIG)
    address = f"127.0.0.1:{free_port()}"
    instance.start("--config", str(config), "--tcp", address, "--insecure-tcp")
    instance.socket.parent.chmod(0o755)
    instance.socket.chmod(0o666)
    yield instance, address
    cleanup(instance)


def token(daemon: Daemon, name: str) -> str:
    with daemon.channel() as channel:
        stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        created: pb.CreatedToken = stub.CreateToken(
            pb.CreateTokenRequest(name=name, role="viewer"), timeout=10
        )
        return created.token


def forge(token: str) -> str:
    """The token's public id with a wrong secret."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def whoami(target: str, token: str) -> str:
    channel = grpc.intercept_channel(grpc.insecure_channel(target), BearerToken(token))
    with channel:
        stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        principal: pb.Principal = stub.Whoami(pb.WhoamiRequest(), timeout=10)
        return principal.name


def test_guesses_over_the_socket_lock_out_the_guesser_not_the_holder(
    daemon: tuple[Daemon, str],
) -> None:
    """Another user's wrong secrets for a token id lock out that user, not the token's holder."""
    instance, _ = daemon
    victim = token(instance, "socket-victim")
    own = token(instance, "socket-guesser")
    guesses = [forge(victim)] * (MAX_FAILURES + 2)
    assert calls_as(SOCKET_GUESSER, instance.target, *guesses) == ["UNAUTHENTICATED"] * len(guesses)
    assert whoami(instance.target, victim) == "socket-victim"
    assert calls_as(SOCKET_GUESSER, instance.target, own, victim) == ["UNAUTHENTICATED"] * 2


def test_unauthenticated_loopback_calls_lock_out_only_their_user(
    daemon: tuple[Daemon, str],
) -> None:
    """Calls without credentials, or guessing a holder's secret, over loopback TCP lock out
    their user, no other local user."""
    instance, address = daemon
    own = token(instance, "tcp-guesser")
    holder = token(instance, "tcp-holder")
    refused = [None, forge(holder)] * MAX_FAILURES
    assert calls_as(TCP_GUESSER, address, *refused) == ["UNAUTHENTICATED"] * len(refused)
    assert whoami(address, holder) == "tcp-holder"
    assert calls_as(BYSTANDER, address, holder) == ["OK"]
    assert calls_as(TCP_GUESSER, address, own) == ["UNAUTHENTICATED"]


def test_refusals_are_audited_with_the_callers_uid(daemon: tuple[Daemon, str]) -> None:
    """Each refused attempt is in the audit log under the uid that made it."""
    instance, _ = daemon
    calls_as(BYSTANDER, instance.target, "skrt_not_a_token")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = entries(instance.state_dir / "audit.log", Query(events=[AUTH_FAILED]))
        if any(str(e.fields.get("peer", "")).startswith(f"uid:{BYSTANDER} ") for e in found):
            return
        time.sleep(_POLL_SECONDS)
    raise AssertionError(f"no {AUTH_FAILED} entry names uid {BYSTANDER}")


def test_a_call_around_the_listeners_is_refused(daemon: tuple[Daemon, str]) -> None:
    """A call that reaches gRPC's private socket directly, unnamed by a listener, is refused."""
    instance, _ = daemon
    with pytest.raises(grpc.RpcError) as info:
        whoami(f"unix:{instance.state_dir / 'grpc.sock'}", instance.owner_token)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
