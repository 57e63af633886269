"""Authentication over the real daemon: who gets in, who is locked out, how tokens rotate."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import grpc
import pytest

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.util import paths
from tests.api.conftest import Daemon
from tests.auth.conftest import LOCKOUT_MS, MAX_FAILURES

LOCKOUT = LOCKOUT_MS / 1000
_POLL_SECONDS = 0.02


def whoami(daemon: Daemon, token: str | None) -> pb.Principal:
    channel = daemon.channel(token) if token is not None else grpc.insecure_channel(daemon.target)
    with channel:
        stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        principal: pb.Principal = stub.Whoami(pb.WhoamiRequest(), timeout=10)
        return principal


def refused(daemon: Daemon, token: str | None) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        whoami(daemon, token)
    return info.value


def refused_within(daemon: Daemon, token: str, seconds: float) -> grpc.RpcError:
    """Poll with a working ``token`` until it is refused, failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            whoami(daemon, token)
        except grpc.RpcError as error:
            return error
        time.sleep(_POLL_SECONDS)
    raise AssertionError(f"token still accepted after {seconds} s")


def lock_out(daemon: Daemon, token: str) -> tuple[float | None, float]:
    """Lock ``token`` out with wrong secrets, then poll with it until it is let in again.

    Returns bounds on the lock's length as seen from here: it lasted more than the first
    (None: no call was refused), and less than the second. Calls refused during a lock do not
    count as failures, so polling does not extend it.
    """
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for _ in range(MAX_FAILURES - 1):
        refused(daemon, forged)
    before = time.monotonic()
    refused(daemon, forged)
    locked = time.monotonic()  # the lock began between ``before`` and now
    at_least: float | None = None
    while time.monotonic() - before < 10:
        sent = time.monotonic()
        try:
            whoami(daemon, token)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            at_least = sent - locked
            time.sleep(_POLL_SECONDS)
        else:
            return at_least, time.monotonic() - before
    raise AssertionError("the token was still locked out after 10 s")


ISSUED: list[str] = []  # every secret this module saw, for the log check at the end


def new_token(daemon: Daemon, role: str, name: str, ttl_seconds: int = 0) -> pb.CreatedToken:
    with daemon.channel() as channel:
        stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        created: pb.CreatedToken = stub.CreateToken(
            pb.CreateTokenRequest(name=name, role=role, ttl_seconds=ttl_seconds), timeout=10
        )
        ISSUED.append(created.token)
        return created


def admin(daemon: Daemon) -> pb_grpc.AdminStub:
    return pb_grpc.AdminStub(daemon.channel())  # type: ignore[no-untyped-call]


def test_owner_token_authenticates(daemon: Daemon) -> None:
    """The owner token from `skillrt init` authenticates as the owner."""
    principal = whoami(daemon, daemon.owner_token)
    assert (principal.name, principal.role, principal.authenticated_by) == (
        "owner",
        "owner",
        "token",
    )


def test_no_token_is_unauthenticated(daemon: Daemon) -> None:
    """A call without credentials is UNAUTHENTICATED."""
    error = refused(daemon, None)
    assert (error.code(), error.details()) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "invalid or missing credentials",
    )


def test_garbage_token_is_unauthenticated(daemon: Daemon) -> None:
    """A malformed token gets the same answer as every other failure."""
    error = refused(daemon, "not-a-token")
    assert (error.code(), error.details()) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "invalid or missing credentials",
    )


def test_wrong_secret_is_unauthenticated(daemon: Daemon) -> None:
    """A real token id with a wrong secret gets the same answer: no hint which part was wrong."""
    created = new_token(daemon, "viewer", "wrong-secret")
    forged = created.token[:-4] + ("AAAA" if not created.token.endswith("AAAA") else "BBBB")
    error = refused(daemon, forged)
    assert (error.code(), error.details()) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "invalid or missing credentials",
    )


def test_expired_token_is_unauthenticated(daemon: Daemon) -> None:
    """A token past its expiry stops working."""
    created = new_token(daemon, "viewer", "short-lived", ttl_seconds=1)
    assert whoami(daemon, created.token).name == "short-lived"
    assert refused_within(daemon, created.token, 1.2).code() == grpc.StatusCode.UNAUTHENTICATED


def test_revoked_token_is_unauthenticated(daemon: Daemon) -> None:
    """A revoked token stops working at once."""
    created = new_token(daemon, "agent", "revoked-agent")
    assert whoami(daemon, created.token).role == "agent"
    admin(daemon).RevokeToken(pb.RevokeTokenRequest(id=created.info.id), timeout=10)
    assert refused(daemon, created.token).code() == grpc.StatusCode.UNAUTHENTICATED


def test_lockout_after_failures_then_recovery(daemon: Daemon) -> None:
    """Repeated failures on a token id lock it out, even with the right secret; it recovers."""
    created = new_token(daemon, "viewer", "locked")
    at_least, at_most = lock_out(daemon, created.token)
    assert at_least is not None, "the right secret was let in at once"
    assert at_most < 2 * LOCKOUT
    assert whoami(daemon, created.token).name == "locked"


def test_lockout_grows(daemon: Daemon) -> None:
    """A second lockout of the same key lasts longer than the first."""
    created = new_token(daemon, "viewer", "twice-locked")
    _, first_at_most = lock_out(daemon, created.token)
    second_at_least, second_at_most = lock_out(daemon, created.token)
    assert second_at_least is not None and second_at_least > max(first_at_most, LOCKOUT)
    assert second_at_most < 3 * LOCKOUT  # doubled, not more
    assert whoami(daemon, created.token).name == "twice-locked"


def test_rotation_overlap_then_end(daemon: Daemon) -> None:
    """After rotation both tokens work for the overlap window; then only the new one."""
    old = new_token(daemon, "viewer", "rotating")
    new = admin(daemon).RotateToken(
        pb.RotateTokenRequest(id=old.info.id, overlap_seconds=1), timeout=10
    )
    ISSUED.append(new.token)
    assert whoami(daemon, new.token).name == "rotating"
    assert whoami(daemon, old.token).name == "rotating"
    assert refused_within(daemon, old.token, 1.3).code() == grpc.StatusCode.UNAUTHENTICATED
    assert whoami(daemon, new.token).name == "rotating"


def test_token_list_never_shows_secrets(daemon: Daemon) -> None:
    """ListTokens shows ids, names and roles, and no token secret."""
    created = new_token(daemon, "agent", "listed")
    listing = admin(daemon).ListTokens(pb.ListTokensRequest(), timeout=10)
    assert "listed" in {t.name for t in listing.tokens}
    text = str(listing)
    assert created.token not in text and daemon.owner_token not in text
    assert created.token.split("_", 2)[2] not in text


def test_admin_token_file_is_private_and_valid(daemon: Daemon) -> None:
    """The daemon keeps its own admin token in a 0600 file, and it authenticates as admin."""
    file = daemon.state_dir / "admin.token"
    assert file.stat().st_mode & 0o777 == 0o600
    assert whoami(daemon, file.read_text().strip()).role == "admin"


def test_token_names_are_unique(daemon: Daemon) -> None:
    """A name is one identity: a second live token with the same name is refused."""
    new_token(daemon, "agent", "one-of-a-kind")
    with pytest.raises(grpc.RpcError) as info:
        new_token(daemon, "owner", "one-of-a-kind")
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_query_audit_rejects_absurd_times(daemon: Daemon) -> None:
    """A time range no date can hold is INVALID_ARGUMENT, not INTERNAL."""
    with pytest.raises(grpc.RpcError) as info:
        admin(daemon).QueryAudit(pb.QueryAuditRequest(since_ms=2**62), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def _token_cli(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", "token", *args, "--target", daemon.target],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        env={**os.environ, "SKILLRT_TOKEN": daemon.owner_token},
        timeout=60,
        check=False,
    )


def test_token_create_shows_id_and_role_and_the_token_once(daemon: Daemon) -> None:
    """`token create` prints the token alone on stdout (so `> file` keeps just it) and its id
    and role on stderr; `token list` has a header and the new token's row, not its secret."""
    made = _token_cli(daemon, "create", "--role", "agent", "--name", "cli-made")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    ISSUED.append(token)
    assert made.stdout == token + "\n" and token.startswith("skrt_")
    token_id = whoami(daemon, token).token_id
    assert f"token {token_id}: role agent, name cli-made" in made.stderr
    listed = _token_cli(daemon, "list")
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["ID", "ROLE", "NAME", "STATE", "EXPIRES"]
    assert [token_id, "agent", "cli-made", "active", "never"] in [row.split() for row in rows]
    assert token.split("_", 2)[2] not in listed.stdout


def test_no_secret_in_logs_or_cli_output(daemon: Daemon) -> None:
    """No token, admin token or server key appears in the daemon's logs or `token list`."""
    import base64
    import os
    import subprocess
    import sys

    from runtime.util import paths

    listing = subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", "token", "list", "--json"],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        env={
            **os.environ,
            "SKILLRT_SOCKET": str(daemon.socket),
            "SKILLRT_TOKEN": daemon.owner_token,
        },
        timeout=60,
        check=True,
    )
    key = (daemon.state_dir / "server.key").read_bytes()
    secrets = [
        daemon.owner_token,
        (daemon.state_dir / "admin.token").read_text().strip(),
        *ISSUED,
    ]
    secret_parts = [s.split("_", 2)[2] for s in secrets]
    texts = {"logs": daemon.logs(), "token list": listing.stdout + listing.stderr}
    assert len(ISSUED) >= 5
    for where, text in texts.items():
        for part in secret_parts:
            assert part not in text, f"a token secret appears in {where}"
        for form in (key.hex(), base64.b64encode(key).decode()):
            assert form not in text, f"the server key appears in {where}"
