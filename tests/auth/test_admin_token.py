"""The daemon's own admin token is rotated on schedule, with an overlap."""

from __future__ import annotations

import time

import grpc

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
