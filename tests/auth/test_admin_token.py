"""The daemon's own admin token is rotated on schedule, with an overlap."""

from __future__ import annotations

import time

import grpc

from runtime.audit.query import entries
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from tests.api.conftest import cleanup, make_daemon


def test_admin_token_rotates_on_schedule() -> None:
    """With a 1 s schedule the token file changes, and the previous token still works."""
    daemon = make_daemon()
    config = daemon.root / "skillrt.toml"
    config.write_text('[auth]\nadmin_token_rotation = "1s"\ntoken_overlap = "1h"\n')
    try:
        daemon.start("--config", str(config))
        file = daemon.state_dir / "admin.token"
        first = file.read_text().strip()
        deadline = time.monotonic() + 10
        while file.read_text().strip() == first and time.monotonic() < deadline:
            time.sleep(0.1)
        second = file.read_text().strip()
        assert second != first
        assert file.stat().st_mode & 0o777 == 0o600
        for token in (first, second):
            with daemon.channel(token) as channel:
                stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
                assert stub.Whoami(pb.WhoamiRequest(), timeout=10).role == "admin"
    except grpc.RpcError as exc:
        raise AssertionError(f"{exc.code()}: {exc.details()}\\n{daemon.logs()}") from exc
    finally:
        cleanup(daemon)


def test_the_daemons_own_token_changes_are_audited() -> None:
    """A daemon started on an empty state directory makes the owner and its admin token, and
    rotates the admin token on schedule; each change is in the audit log, which verifies."""
    daemon = make_daemon()
    daemon.owner_token = "-"  # no `skillrt init`: the daemon makes the owner token itself
    config = daemon.root / "skillrt.toml"
    config.write_text('[auth]\nadmin_token_rotation = "1s"\ntoken_overlap = "1h"\n')
    try:
        daemon.start("--config", str(config))
        deadline = time.monotonic() + 15
        while "token.rotated" not in [e.event for e in entries(daemon.state_dir / "audit.log")]:
            assert time.monotonic() < deadline, "the admin token's rotation was never audited"
            time.sleep(0.1)
        made = [
            (e.fields["name"], e.actor)
            for e in entries(daemon.state_dir / "audit.log")
            if e.event == "token.created"
        ]
        assert made == [("owner", "skillrt"), ("daemon-admin", "skillrt")]
        assert "skillrt: owner token (shown once" in daemon.logs()
        verified = daemon.audit_verify()
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        cleanup(daemon)
